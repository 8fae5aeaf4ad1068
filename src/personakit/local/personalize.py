"""The Personalize twin: ``boto3.client("personalize")``'s operations on the local engine.

:class:`PersonalizeTwin` answers each request as the service does
(https://docs.aws.amazon.com/personalize/latest/dg/API_Operations.html): it checks the
request against the service's rules and the resources it names, then hands the
resource to the control plane (:mod:`personakit.local.control`), which walks it
through its statuses, runs its job and enforces the quotas. Recipes are those of
:data:`personakit.rules.facts.ALL_RECIPES`; ``DescribeRecipe`` knows each of them, and
training one without a local algorithm (:data:`personakit.local.recipes.RECIPES`:
``aws-next-best-action``) or ``performAutoML`` is answered with
``InvalidInputException`` saying the local engine does not implement it (a modeled
error the caller's code already handles, rather than an exception no client raises).
Metric attributions are :class:`~personakit.local.attribution.AttributionOps`;
``THEME_GENERATION`` batch jobs are :mod:`personakit.local.themes`.
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Mapping
from typing import Any

from personakit.errors import ValidationError
from personakit.local.attribution import AttributionOps
from personakit.local.control import (
    ACTIVE_CAMPAIGN_LIMIT,
    BATCH_JOB_LIMIT,
    FILTER_LIMIT,
    IN_FLIGHT,
    PENDING_IMPORT_LIMIT,
    PENDING_VERSION_LIMIT,
    RECOMMENDER_LIMIT,
)
from personakit.local.data import GroupData
from personakit.local.errors import in_use, invalid, limit, not_found
from personakit.local.recipes import RECIPES, recipe_domain, recipe_name, recipe_type
from personakit.local.resources import deep_keep
from personakit.local.store import TRANSITIONAL, Resource
from personakit.local.themes import theme_fields_problem
from personakit.local.twin import TwinError, from_epoch, page
from personakit.rules.facts import (
    ALL_RECIPES,
    BATCH_MAX_RESULTS,
    DEFAULT_RESULTS,
    NO_BATCH_RECIPES,
    RECIPE_PREFIX,
    SEGMENT_MAX_USERS,
    THEME_RECIPES,
    THEMES_GUIDE,
    UPDATE_RECIPES,
)
from personakit.rules.filters import Filter, group_field_problems
from personakit.rules.schema import DatasetType, Schema

__all__ = ["PersonalizeTwin", "validate_filter_expression"]


class PersonalizeTwin(AttributionOps):
    """Offline twin of ``boto3.client("personalize")``; see the module docstring."""

    # ------------------------------------------------------------------ dataset groups
    def _op_CreateDatasetGroup(self, p: dict[str, Any]) -> dict[str, Any]:
        if p.get("kmsKeyArn") and not p.get("roleArn"):
            raise invalid("A roleArn that can use the KMS key is required with kmsKeyArn.")
        body = {k: p[k] for k in ("roleArn", "kmsKeyArn", "domain") if p.get(k)}
        arn = self._create("dataset-group", p, parent=None, body=body)
        out: dict[str, Any] = {"datasetGroupArn": arn}
        if p.get("domain"):
            out["domain"] = p["domain"]
        return out

    def _op_DescribeDatasetGroup(self, p: dict[str, Any]) -> dict[str, Any]:
        return self._describe("dataset-group", p["datasetGroupArn"])

    def _op_ListDatasetGroups(self, p: dict[str, Any]) -> dict[str, Any]:
        return self._list("dataset-group", p)

    def _op_DeleteDatasetGroup(self, p: dict[str, Any]) -> dict[str, Any]:
        res = self._get(p["datasetGroupArn"], "dataset-group")
        self._plane.check_deletable(res, "dataset group")
        blocking = []
        for kind, label in (
            ("dataset", "datasets"),
            ("solution", "solutions"),
            ("event-tracker", "event trackers"),
            ("recommender", "recommenders"),
            ("filter", "filters"),
            ("metric-attribution", "metric attributions"),
        ):
            n = len(self._store.find(kind, parent=res.arn))
            if n:
                blocking.append(f"{n} {label}")
        if blocking:
            raise in_use(
                f"Cannot delete the dataset group {res.arn} because it still has "
                f"{', '.join(blocking)}. Delete them first."
            )
        self._plane.delete(res.arn)
        return {}

    # ------------------------------------------------------------------ schemas
    def _op_CreateSchema(self, p: dict[str, Any]) -> dict[str, Any]:
        try:
            schema = Schema.from_json(p["schema"], domain=p.get("domain"))
        except ValidationError as exc:
            raise invalid(f"Invalid schema: {exc}") from None
        report = schema.check()
        if report.errors:
            raise invalid(
                "Invalid schema: " + "; ".join(problem.message for problem in report.errors)
            )
        body = {"schema": p["schema"], "_datasetType": schema.dataset_type.value}
        if p.get("domain"):
            body["domain"] = p["domain"]
        arn = self._create("schema", p, parent=None, body=body, status=None)
        return {"schemaArn": arn}

    def _op_DescribeSchema(self, p: dict[str, Any]) -> dict[str, Any]:
        return self._describe("schema", p["schemaArn"])

    def _op_ListSchemas(self, p: dict[str, Any]) -> dict[str, Any]:
        return self._list("schema", p)

    def _op_DeleteSchema(self, p: dict[str, Any]) -> dict[str, Any]:
        res = self._get(p["schemaArn"], "schema")
        with self._store.tx():
            users = [
                d.arn
                for d in self._store.find("dataset")
                if d.body.get("schemaArn") == res.arn
                or (d.body.get("_update") or {}).get("changes", {}).get("schemaArn") == res.arn
            ]
            if users:
                raise in_use(
                    f"Cannot delete the schema {res.arn} because datasets use it: "
                    f"{', '.join(users)}."
                )
            self._store.delete(res.arn)
        return {}

    # ------------------------------------------------------------------ datasets
    def _op_CreateDataset(self, p: dict[str, Any]) -> dict[str, Any]:
        group = self._active(p["datasetGroupArn"], "dataset-group", "dataset group")
        schema_res = self._get(p["schemaArn"], "schema")
        try:
            dtype = DatasetType.parse(p["datasetType"])
        except ValidationError:
            raise invalid(
                f"Invalid datasetType {p['datasetType']!r}; expected one of "
                f"{', '.join(t.value for t in DatasetType)}."
            ) from None
        if DatasetType.parse(schema_res.body["_datasetType"]) is not dtype:
            raise invalid(
                f"The schema {schema_res.arn} is for {schema_res.body['_datasetType']} datasets, "
                f"not {p['datasetType']}."
            )
        group_domain = group.body.get("domain")
        if schema_res.body.get("domain") != group_domain:
            raise invalid(
                f"The schema's domain ({schema_res.body.get('domain') or 'none'}) does not match "
                f"the dataset group's ({group_domain or 'none, a custom dataset group'})."
            )
        body = {
            "datasetGroupArn": group.arn,
            "datasetType": p["datasetType"],
            "schemaArn": schema_res.arn,
        }
        arn = self._create(
            "dataset",
            p,
            parent=group.arn,
            body=body,
            arn=self._plane.arn("dataset", group.name, dtype.name),
        )
        return {"datasetArn": arn}

    def _op_DescribeDataset(self, p: dict[str, Any]) -> dict[str, Any]:
        return self._describe("dataset", p["datasetArn"])

    def _op_ListDatasets(self, p: dict[str, Any]) -> dict[str, Any]:
        return self._list("dataset", p, parent=p.get("datasetGroupArn"))

    def _op_UpdateDataset(self, p: dict[str, Any]) -> dict[str, Any]:
        res = self._active(p["datasetArn"], "dataset", "dataset")
        if res.sub_status in TRANSITIONAL:
            raise in_use(f"An update of the dataset {res.arn} is already in progress.")
        schema_res = self._get(p["schemaArn"], "schema")
        if DatasetType.parse(schema_res.body["_datasetType"]) is not DatasetType.parse(
            res.body["datasetType"]
        ):
            raise invalid(f"The schema {schema_res.arn} is for another dataset type.")
        self._plane.update(res, {"schemaArn": schema_res.arn})
        return {"datasetArn": res.arn}

    def _op_DeleteDataset(self, p: dict[str, Any]) -> dict[str, Any]:
        res = self._get(p["datasetArn"], "dataset")
        self._plane.check_deletable(res, "dataset")
        jobs = self._store.find("dataset-import-job", parent=res.arn, statuses=IN_FLIGHT)
        if jobs:
            raise in_use(
                f"Cannot delete the dataset {res.arn} while the dataset import job "
                f"{jobs[0].arn} is {jobs[0].status}."
            )
        group = str(res.body["datasetGroupArn"])
        versions = [
            v
            for v in self._store.find("solution-version", statuses=IN_FLIGHT)
            if v.body.get("datasetGroupArn") == group
        ]
        if versions:
            raise in_use(
                f"Cannot delete the dataset {res.arn} while the solution version "
                f"{versions[0].arn} is {versions[0].status}."
            )
        self._plane.delete(res.arn)
        return {}

    # ------------------------------------------------------------------ import jobs
    def _op_CreateDatasetImportJob(self, p: dict[str, Any]) -> dict[str, Any]:
        dataset = self._active(p["datasetArn"], "dataset", "dataset")
        location = p["dataSource"].get("dataLocation") or ""
        if not location.startswith("s3://") or not location[5:].split("/", 1)[0]:
            raise invalid("Invalid Data location.")
        mode = p.get("importMode") or "FULL"
        if mode == "INCREMENTAL":
            prior = self._store.find(
                "dataset-import-job",
                parent=dataset.arn,
                statuses=("ACTIVE", *IN_FLIGHT),
            )
            if not prior and not dataset.body.get("_data"):
                raise invalid(
                    "You haven't imported bulk records into this dataset yet: the import mode "
                    "can only be FULL."
                )
        body: dict[str, Any] = {
            "datasetArn": dataset.arn,
            "dataSource": {"dataLocation": location},
            "importMode": mode,
        }
        for key in ("roleArn", "publishAttributionMetricsToS3"):
            if p.get(key) is not None:
                body[key] = p[key]

        check = self._plane.in_flight_limit("dataset-import-job", PENDING_IMPORT_LIMIT)
        arn = self._create("dataset-import-job", p, parent=dataset.arn, body=body, check=check)
        return {"datasetImportJobArn": arn}

    def _op_DescribeDatasetImportJob(self, p: dict[str, Any]) -> dict[str, Any]:
        return self._describe("dataset-import-job", p["datasetImportJobArn"])

    def _op_ListDatasetImportJobs(self, p: dict[str, Any]) -> dict[str, Any]:
        return self._list("dataset-import-job", p, parent=p.get("datasetArn"))

    # ------------------------------------------------------------------ recipes
    @staticmethod
    def _known_recipe(arn: str) -> str:
        """The name of the recipe ``arn`` (any Personalize recipe); ResourceNotFound else."""
        name = arn.removeprefix(RECIPE_PREFIX) if arn.startswith(RECIPE_PREFIX) else None
        if name is None or name not in ALL_RECIPES:
            raise not_found(arn)
        return name

    def _recipe(self, arn: str) -> str:
        """The local recipe name of ``arn``: ResourceNotFoundException for no recipe,
        InvalidInputException for one the engine cannot train."""
        name = self._known_recipe(arn)
        if name not in RECIPES:
            raise invalid(
                f"The recipe {name} is not implemented by the personakit local engine "
                f"(supported: {', '.join(sorted(RECIPES))}); use Session.aws(...) for it."
            )
        return name

    def _recipe_view(self, name: str) -> dict[str, Any]:
        domain = recipe_domain(name)
        epoch = from_epoch(1_546_300_800)  # 2019-01-01
        out: dict[str, Any] = {
            "name": name,
            "recipeArn": RECIPE_PREFIX + name,
            "algorithmArn": f"arn:aws:personalize:::algorithm/{name}",
            "status": "ACTIVE",
            "description": f"{name} (served by the personakit local engine)"
            if name in RECIPES
            else f"{name} (not implemented by the personakit local engine)",
            "recipeType": ALL_RECIPES[name],
            "creationDateTime": epoch,
            "lastUpdatedDateTime": epoch,
        }
        if domain:
            out["domain"] = domain
        return out

    def _op_ListRecipes(self, p: dict[str, Any]) -> dict[str, Any]:
        names = sorted(RECIPES)
        domain = p.get("domain")
        names = [n for n in names if recipe_domain(n) == domain] if domain else names
        shape = self._shape("ListRecipes", "recipes").member
        chunk, token = page(names, p, salt=f"recipes|{domain}")
        out: dict[str, Any] = {"recipes": [deep_keep(self._recipe_view(n), shape) for n in chunk]}
        if token:
            out["nextToken"] = token
        return out

    def _op_DescribeRecipe(self, p: dict[str, Any]) -> dict[str, Any]:
        name = self._known_recipe(p["recipeArn"])
        return {
            "recipe": deep_keep(self._recipe_view(name), self._shape("DescribeRecipe", "recipe"))
        }

    # ------------------------------------------------------------------ solutions
    def _op_CreateSolution(self, p: dict[str, Any]) -> dict[str, Any]:
        group = self._active(p["datasetGroupArn"], "dataset-group", "dataset group")
        if p.get("performAutoML"):
            raise invalid(
                "performAutoML is not implemented by the personakit local engine "
                "(AWS does not recommend it either): pass a recipeArn."
            )
        if not p.get("recipeArn"):
            raise invalid("recipeArn is required unless performAutoML is true.")
        recipe = self._recipe(p["recipeArn"])
        if recipe_domain(recipe):
            raise invalid(
                f"The recipe {p['recipeArn']} is a domain use case: create a recommender with it."
            )
        # https://docs.aws.amazon.com/personalize/latest/dg/API_CreateSolution.html
        if p.get("performIncrementalUpdate") and recipe != "aws-semantic-similarity":
            raise invalid("performIncrementalUpdate is supported only for aws-semantic-similarity.")
        config = dict(p.get("solutionConfig") or {})
        threshold = config.get("eventValueThreshold")
        if threshold is not None:
            try:
                float(threshold)
            except ValueError:
                raise invalid(f"eventValueThreshold {threshold!r} is not a number.") from None
        body: dict[str, Any] = {
            "datasetGroupArn": group.arn,
            "recipeArn": p["recipeArn"],
            "performHPO": bool(p.get("performHPO", False)),
            "performAutoML": False,
            "performAutoTraining": bool(p.get("performAutoTraining", True)),
            "performIncrementalUpdate": bool(p.get("performIncrementalUpdate", False)),
        }
        if p.get("eventType"):
            body["eventType"] = p["eventType"]
        if config:
            body["solutionConfig"] = config
        arn = self._create("solution", p, parent=group.arn, body=body)
        return {"solutionArn": arn}

    def _op_DescribeSolution(self, p: dict[str, Any]) -> dict[str, Any]:
        return self._describe("solution", p["solutionArn"])

    def _op_ListSolutions(self, p: dict[str, Any]) -> dict[str, Any]:
        return self._list("solution", p, parent=p.get("datasetGroupArn"))

    def _op_UpdateSolution(self, p: dict[str, Any]) -> dict[str, Any]:
        res = self._active(p["solutionArn"], "solution", "solution")
        if res.sub_status in TRANSITIONAL:
            raise in_use(f"An update of the solution {res.arn} is already in progress.")
        changes: dict[str, Any] = {
            k: p[k]
            for k in ("performAutoTraining", "performIncrementalUpdate", "solutionUpdateConfig")
            if k in p
        }
        if not changes:
            raise invalid("Nothing to update: give performAutoTraining or solutionUpdateConfig.")
        self._plane.update(res, changes)
        return {"solutionArn": res.arn}

    def _op_DeleteSolution(self, p: dict[str, Any]) -> dict[str, Any]:
        res = self._get(p["solutionArn"], "solution")
        self._plane.check_deletable(res, "solution")
        campaigns = self._store.find("campaign", parent=res.arn)
        if campaigns:
            raise in_use(
                f"Cannot delete the solution {res.arn} because campaigns use it: "
                f"{', '.join(c.arn for c in campaigns)}. Delete the campaigns first."
            )
        busy = self._store.find(
            "solution-version", parent=res.arn, statuses=(*IN_FLIGHT, "CREATE STOPPING")
        )
        if busy:
            raise in_use(
                f"Cannot delete the solution {res.arn} while its solution version {busy[0].arn} "
                f"is {busy[0].status}."
            )
        versions = {v.arn for v in self._store.find("solution-version", parent=res.arn)}
        for kind in ("batch-inference-job", "batch-segment-job"):
            jobs = [j for j in self._store.find(kind, statuses=IN_FLIGHT) if j.parent in versions]
            if jobs:
                raise in_use(
                    f"Cannot delete the solution {res.arn} while the {kind.replace('-', ' ')} "
                    f"{jobs[0].arn} is {jobs[0].status}."
                )
        self._plane.delete(res.arn)
        return {}

    # ------------------------------------------------------------------ solution versions
    def _op_CreateSolutionVersion(self, p: dict[str, Any]) -> dict[str, Any]:
        solution = self._active(p["solutionArn"], "solution", "solution")
        mode = p.get("trainingMode") or "FULL"
        recipe = self._recipe(str(solution.body["recipeArn"]))
        if mode == "UPDATE":
            if recipe not in UPDATE_RECIPES:
                raise invalid(
                    "trainingMode UPDATE is supported only for "
                    f"{' and '.join(sorted(UPDATE_RECIPES))} solutions."
                )
            full = [
                v
                for v in self._store.find(
                    "solution-version", parent=solution.arn, statuses=("ACTIVE",)
                )
                if v.body.get("trainingMode") == "FULL"
            ]
            if not full:
                raise invalid(
                    "trainingMode UPDATE needs an ACTIVE solution version trained with FULL."
                )
        if mode == "AUTOTRAIN":
            raise invalid("trainingMode AUTOTRAIN is reserved for automatic training.")
        version_id = secrets.token_hex(4)
        arn = f"{solution.arn}/{version_id}"
        body: dict[str, Any] = {
            "solutionArn": solution.arn,
            "datasetGroupArn": solution.body["datasetGroupArn"],
            "recipeArn": solution.body["recipeArn"],
            "performHPO": solution.body.get("performHPO", False),
            "performAutoML": False,
            "performIncrementalUpdate": solution.body.get("performIncrementalUpdate", False),
            "trainingMode": mode,
            "trainingType": "MANUAL",
        }
        for key in ("eventType", "solutionConfig"):
            if solution.body.get(key):
                body[key] = solution.body[key]
        name = p.get("name") or version_id

        check = self._plane.in_flight_limit("solution-version", PENDING_VERSION_LIMIT)
        if p.get("name"):
            body["name"] = p["name"]
        self._create(
            "solution-version", p, parent=solution.arn, body=body, arn=arn, name=name, check=check
        )
        return {"solutionVersionArn": arn}

    def _op_DescribeSolutionVersion(self, p: dict[str, Any]) -> dict[str, Any]:
        out = self._describe("solution-version", p["solutionVersionArn"])
        res = self._get(p["solutionVersionArn"], "solution-version")
        if not res.body.get("name"):
            out["solutionVersion"].pop("name", None)
        return out

    def _op_ListSolutionVersions(self, p: dict[str, Any]) -> dict[str, Any]:
        if p.get("solutionArn"):
            self._get(p["solutionArn"], "solution")
        return self._list("solution-version", p, parent=p.get("solutionArn"))

    def _op_StopSolutionVersionCreation(self, p: dict[str, Any]) -> dict[str, Any]:
        arn = p["solutionVersionArn"]
        with self._store.tx():
            res = self._get(arn, "solution-version")
            if res.status == "CREATE PENDING":
                self._plane.set_status(res, "CREATE STOPPED")
            elif res.status == "CREATE IN_PROGRESS":
                self._plane.set_status(res, "CREATE STOPPING")
            else:
                raise in_use(
                    f"The solution version {arn} cannot be stopped: its status is {res.status}."
                )
            self._store.save(res)
        if res.status == "CREATE STOPPING":
            self._plane.schedule(arn)
        return {}

    def _op_GetSolutionMetrics(self, p: dict[str, Any]) -> dict[str, Any]:
        res = self._get(p["solutionVersionArn"], "solution-version")
        if res.status != "ACTIVE":
            raise in_use(
                f"The solution version {res.arn} is not ACTIVE (status: {res.status}); "
                "metrics exist once training has finished."
            )
        return {"solutionVersionArn": res.arn, "metrics": dict(res.body.get("_metrics") or {})}

    # ------------------------------------------------------------------ campaigns
    def resolve_version(self, arn: str) -> Resource:
        """A solution version ARN, or ``<solutionArn>/$LATEST`` (newest ACTIVE version)."""
        if arn.endswith("/$LATEST"):
            solution = self._get(arn[: -len("/$LATEST")], "solution")
            active = self._store.find("solution-version", parent=solution.arn, statuses=("ACTIVE",))
            if not active:
                raise in_use(f"The solution {solution.arn} has no ACTIVE solution version.")
            return active[0]
        return self._get(arn, "solution-version")

    def _check_version(self, arn: str, config: Mapping[str, Any]) -> Resource:
        version = self.resolve_version(arn)
        if version.status != "ACTIVE":
            raise in_use(
                f"The solution version {version.arn} is not ACTIVE (status: {version.status})."
            )
        if config.get("syncWithLatestSolutionVersion") and not arn.endswith("/$LATEST"):
            raise invalid(
                "syncWithLatestSolutionVersion needs solutionVersionArn in the form "
                "<solutionArn>/$LATEST."
            )
        kind = recipe_type(str(version.body["recipeArn"]))
        if kind == "USER_SEGMENTATION":
            raise invalid(
                "USER_SEGMENTATION solution versions cannot be deployed to a campaign; use a "
                "batch segment job."
            )
        return version

    def _op_CreateCampaign(self, p: dict[str, Any]) -> dict[str, Any]:
        config = dict(p.get("campaignConfig") or {})
        version = self._check_version(p["solutionVersionArn"], config)
        solution_arn = str(version.body["solutionArn"])
        group = str(version.body["datasetGroupArn"])
        body: dict[str, Any] = {
            "solutionVersionArn": p["solutionVersionArn"],
            "minProvisionedTPS": int(p.get("minProvisionedTPS") or 1),
            "_datasetGroupArn": group,
        }
        if config:
            body["campaignConfig"] = config

        def check() -> None:
            active = [
                c
                for c in self._store.find(
                    "campaign", statuses=("CREATE PENDING", "CREATE IN_PROGRESS", "ACTIVE")
                )
                if c.body.get("_datasetGroupArn") == group
            ]
            if len(active) >= ACTIVE_CAMPAIGN_LIMIT:
                raise limit(
                    f"Cannot create a campaign. More than {ACTIVE_CAMPAIGN_LIMIT} resources in "
                    "ACTIVE state. Please delete some and try again."
                )

        arn = self._create("campaign", p, parent=solution_arn, body=body, check=check)
        return {"campaignArn": arn}

    def _op_DescribeCampaign(self, p: dict[str, Any]) -> dict[str, Any]:
        return self._describe("campaign", p["campaignArn"])

    def _op_ListCampaigns(self, p: dict[str, Any]) -> dict[str, Any]:
        return self._list("campaign", p, parent=p.get("solutionArn"))

    def _op_UpdateCampaign(self, p: dict[str, Any]) -> dict[str, Any]:
        res = self._get(p["campaignArn"], "campaign")
        if res.status not in ("ACTIVE", "CREATE FAILED"):
            raise in_use(
                f"The campaign {res.arn} can be updated only when it is ACTIVE or CREATE FAILED "
                f"(status: {res.status})."
            )
        if res.sub_status in TRANSITIONAL:
            raise in_use(f"An update of the campaign {res.arn} is already in progress.")
        changes: dict[str, Any] = {}
        config = {**res.body.get("campaignConfig", {}), **(p.get("campaignConfig") or {})}
        if p.get("solutionVersionArn"):
            self._check_version(p["solutionVersionArn"], config)
            changes["solutionVersionArn"] = p["solutionVersionArn"]
        elif p.get("campaignConfig"):
            self._check_version(str(res.body["solutionVersionArn"]), config)
        if p.get("minProvisionedTPS") is not None:
            changes["minProvisionedTPS"] = int(p["minProvisionedTPS"])
        if p.get("campaignConfig") is not None:
            changes["campaignConfig"] = dict(p["campaignConfig"])
        self._plane.update(res, changes)
        return {"campaignArn": res.arn}

    def _op_DeleteCampaign(self, p: dict[str, Any]) -> dict[str, Any]:
        return self._delete(p["campaignArn"], "campaign", "campaign")

    # ------------------------------------------------------------------ recommenders
    def _op_CreateRecommender(self, p: dict[str, Any]) -> dict[str, Any]:
        group = self._active(p["datasetGroupArn"], "dataset-group", "dataset group")
        domain = group.body.get("domain")
        if not domain:
            raise invalid(
                f"The dataset group {group.arn} is a custom dataset group: recommenders need a "
                "Domain dataset group (ECOMMERCE or VIDEO_ON_DEMAND)."
            )
        recipe = self._recipe(p["recipeArn"])
        if recipe_domain(recipe) != domain:
            raise invalid(f"The recipe {p['recipeArn']} is not a {domain} use case.")
        config = {"minRecommendationRequestsPerSecond": 1, **(p.get("recommenderConfig") or {})}
        body = {
            "datasetGroupArn": group.arn,
            "recipeArn": p["recipeArn"],
            "recommenderConfig": config,
        }

        def check() -> None:
            mine = self._store.find("recommender", parent=group.arn)
            if len(mine) >= RECOMMENDER_LIMIT:
                raise limit(
                    f"Cannot create a recommender. More than {RECOMMENDER_LIMIT} recommenders "
                    "exist in the dataset group."
                )

        arn = self._create("recommender", p, parent=group.arn, body=body, check=check)
        return {"recommenderArn": arn}

    def _op_DescribeRecommender(self, p: dict[str, Any]) -> dict[str, Any]:
        return self._describe("recommender", p["recommenderArn"])

    def _op_ListRecommenders(self, p: dict[str, Any]) -> dict[str, Any]:
        return self._list("recommender", p, parent=p.get("datasetGroupArn"))

    def _op_UpdateRecommender(self, p: dict[str, Any]) -> dict[str, Any]:
        res = self._active(p["recommenderArn"], "recommender", "recommender")
        if res.sub_status in TRANSITIONAL:
            raise in_use(f"An update of the recommender {res.arn} is already in progress.")
        self._plane.update(res, {"recommenderConfig": dict(p["recommenderConfig"])})
        return {"recommenderArn": res.arn}

    def _op_StopRecommender(self, p: dict[str, Any]) -> dict[str, Any]:
        return self._recommender_step(p["recommenderArn"], "ACTIVE", "STOP PENDING")

    def _op_StartRecommender(self, p: dict[str, Any]) -> dict[str, Any]:
        return self._recommender_step(p["recommenderArn"], "INACTIVE", "START PENDING")

    def _recommender_step(self, arn: str, needed: str, to: str) -> dict[str, Any]:
        with self._store.tx():
            res = self._get(arn, "recommender")
            if res.status != needed:
                raise in_use(f"The recommender {arn} is not {needed} (status: {res.status}).")
            self._plane.set_status(res, to)
            self._store.save(res)
        self._plane.schedule(arn)
        return {"recommenderArn": arn}

    def _op_DeleteRecommender(self, p: dict[str, Any]) -> dict[str, Any]:
        return self._delete(p["recommenderArn"], "recommender", "recommender")

    # ------------------------------------------------------------------ event trackers
    def _op_CreateEventTracker(self, p: dict[str, Any]) -> dict[str, Any]:
        group = self._active(p["datasetGroupArn"], "dataset-group", "dataset group")
        tracking_id = str(uuid.uuid4())
        body = {
            "datasetGroupArn": group.arn,
            "trackingId": tracking_id,
            "accountId": self._engine.account_id,
        }

        def check() -> None:
            existing = self._store.find("event-tracker", parent=group.arn)
            if existing:
                raise TwinError(
                    "ResourceAlreadyExistsException",
                    f"The dataset group {group.arn} already has an event tracker "
                    f"({existing[0].arn}); only one is allowed per dataset group.",
                )

        arn = self._create("event-tracker", p, parent=group.arn, body=body, check=check)
        return {"eventTrackerArn": arn, "trackingId": tracking_id}

    def _op_DescribeEventTracker(self, p: dict[str, Any]) -> dict[str, Any]:
        return self._describe("event-tracker", p["eventTrackerArn"])

    def _op_ListEventTrackers(self, p: dict[str, Any]) -> dict[str, Any]:
        return self._list("event-tracker", p, parent=p.get("datasetGroupArn"))

    def _op_DeleteEventTracker(self, p: dict[str, Any]) -> dict[str, Any]:
        return self._delete(p["eventTrackerArn"], "event-tracker", "event tracker")

    # ------------------------------------------------------------------ filters
    def _op_CreateFilter(self, p: dict[str, Any]) -> dict[str, Any]:
        group = self._active(p["datasetGroupArn"], "dataset-group", "dataset group")
        data = GroupData(self._store, group.arn)
        schemas = {t: found for t in DatasetType if (found := data.schema(t)) is not None}
        problem = validate_filter_expression(p["filterExpression"], schemas)
        if problem:
            raise invalid(
                f"Could not create filter. Invalid Expression {p['filterExpression']}: {problem}"
            )
        body = {"datasetGroupArn": group.arn, "filterExpression": p["filterExpression"]}

        def check() -> None:
            filters = self._store.find("filter", parent=group.arn)
            if len(filters) >= FILTER_LIMIT:
                raise limit(
                    f"Cannot create a filter. More than {FILTER_LIMIT} filters exist in the "
                    "dataset group."
                )
            # distinct fields over all of the group's filters (the expression parsed above)
            others = [
                str(f.body.get("filterExpression", ""))
                for f in filters
                if not (f.status or "").startswith("DELETE") and "FAILED" not in (f.status or "")
            ]
            problems = group_field_problems(Filter.parse(p["filterExpression"]), others)
            if problems:
                raise invalid(f"Could not create filter. {problems[0].message}")

        arn = self._create("filter", p, parent=group.arn, body=body, check=check)
        return {"filterArn": arn}

    def _op_DescribeFilter(self, p: dict[str, Any]) -> dict[str, Any]:
        return self._describe("filter", p["filterArn"])

    def _op_ListFilters(self, p: dict[str, Any]) -> dict[str, Any]:
        return self._list("filter", p, parent=p.get("datasetGroupArn"))

    def _op_DeleteFilter(self, p: dict[str, Any]) -> dict[str, Any]:
        return self._delete(p["filterArn"], "filter", "filter")

    # ------------------------------------------------------------------ batch jobs
    def _batch_request(self, p: Mapping[str, Any], kind: str) -> tuple[Resource, dict[str, Any]]:
        """Checks common to both batch job kinds; the version and the stored body."""
        version = self.resolve_version(p["solutionVersionArn"])
        if version.status != "ACTIVE":
            raise in_use(
                f"The solution version {version.arn} is not ACTIVE (status: {version.status})."
            )
        recipe = recipe_name(str(version.body["recipeArn"]))
        recipe_kind = recipe_type(recipe)
        if kind == "batch-segment-job" and recipe_kind != "USER_SEGMENTATION":
            raise invalid(
                f"Batch segment jobs need a USER_SEGMENTATION solution version; {version.arn} "
                f"uses {recipe} ({recipe_kind}): create a batch inference job instead."
            )
        if kind == "batch-inference-job" and recipe_kind == "USER_SEGMENTATION":
            raise invalid(
                f"The solution version {version.arn} uses {recipe} (USER_SEGMENTATION): create "
                "a batch segment job instead."
            )
        if kind == "batch-inference-job" and recipe in NO_BATCH_RECIPES:
            raise invalid(f"Batch inference is not supported for the recipe {recipe}.")
        source = str(p["jobInput"]["s3DataSource"]["path"])
        target = str(p["jobOutput"]["s3DataDestination"]["path"])
        for what, path in (("jobInput", source), ("jobOutput", target)):
            if not path.startswith("s3://") or not path[5:].split("/", 1)[0]:
                raise invalid(f"{what} path {path!r} is not an S3 path (s3://bucket/key).")
        if source.rstrip("/") == target.rstrip("/"):
            raise invalid("The output path must be different from the input path.")
        n = p.get("numResults")
        cap = BATCH_MAX_RESULTS if kind == "batch-inference-job" else SEGMENT_MAX_USERS
        if n is not None and not 1 <= int(n) <= cap:
            raise invalid(f"numResults must be between 1 and {cap}, got {n}.")
        body: dict[str, Any] = {
            "solutionVersionArn": p["solutionVersionArn"],
            "numResults": int(n) if n is not None else DEFAULT_RESULTS,
            "jobInput": {"s3DataSource": dict(p["jobInput"]["s3DataSource"])},
            "jobOutput": {"s3DataDestination": dict(p["jobOutput"]["s3DataDestination"])},
            "roleArn": p["roleArn"],
            "_versionArn": version.arn,
            "_datasetGroupArn": version.body["datasetGroupArn"],
        }
        if p.get("filterArn"):
            body["filterArn"] = p["filterArn"]
        return version, body

    def _op_CreateBatchInferenceJob(self, p: dict[str, Any]) -> dict[str, Any]:
        kind = "batch-inference-job"
        mode = p.get("batchInferenceJobMode") or "BATCH_INFERENCE"
        config = p.get("themeGenerationConfig")
        if mode != "THEME_GENERATION" and config:
            raise invalid(
                "themeGenerationConfig is only valid with batchInferenceJobMode "
                f"THEME_GENERATION ({THEMES_GUIDE})."
            )
        version, body = self._batch_request(p, kind)
        body["batchInferenceJobMode"] = mode
        if mode == "THEME_GENERATION":
            body["themeGenerationConfig"] = self._theme_config(version, config)
        job_config = p.get("batchInferenceJobConfig")
        if job_config:
            body["batchInferenceJobConfig"] = dict(job_config)
        arn = self._create(
            kind,
            p,
            parent=version.arn,
            body=body,
            check=self._plane.in_flight_limit(kind, BATCH_JOB_LIMIT),
        )
        return {"batchInferenceJobArn": arn}

    def _theme_config(self, version: Resource, config: Any) -> dict[str, Any]:
        """The checked ``themeGenerationConfig`` of a THEME_GENERATION job: a Similar-Items
        solution version and an Items dataset with the item-name column and a textual
        field (https://docs.aws.amazon.com/personalize/latest/dg/themed-batch-recommendations.html)."""
        recipe = recipe_name(str(version.body["recipeArn"]))
        if recipe not in THEME_RECIPES:
            raise invalid(
                f"Batch recommendations with themes (THEME_GENERATION) need a solution version "
                f"of the Similar-Items recipe ({', '.join(sorted(THEME_RECIPES))}); "
                f"{version.arn} uses {recipe} ({THEMES_GUIDE})."
            )
        if not config:
            raise invalid(
                "themeGenerationConfig.fieldsForThemeGeneration.itemName is required with "
                f"batchInferenceJobMode THEME_GENERATION ({THEMES_GUIDE})."
            )
        item_name = str(config["fieldsForThemeGeneration"]["itemName"])
        group = str(version.body["datasetGroupArn"])
        schema = GroupData(self._store, group).schema(DatasetType.ITEMS)
        problem = theme_fields_problem(schema, item_name, group)
        if problem is not None:
            raise invalid(problem)
        return {"fieldsForThemeGeneration": {"itemName": item_name}}

    def _op_DescribeBatchInferenceJob(self, p: dict[str, Any]) -> dict[str, Any]:
        return self._describe("batch-inference-job", p["batchInferenceJobArn"])

    def _op_ListBatchInferenceJobs(self, p: dict[str, Any]) -> dict[str, Any]:
        return self._list("batch-inference-job", p, parent=p.get("solutionVersionArn"))

    def _op_CreateBatchSegmentJob(self, p: dict[str, Any]) -> dict[str, Any]:
        kind = "batch-segment-job"
        version, body = self._batch_request(p, kind)
        arn = self._create(
            kind,
            p,
            parent=version.arn,
            body=body,
            check=self._plane.in_flight_limit(kind, BATCH_JOB_LIMIT),
        )
        return {"batchSegmentJobArn": arn}

    def _op_DescribeBatchSegmentJob(self, p: dict[str, Any]) -> dict[str, Any]:
        return self._describe("batch-segment-job", p["batchSegmentJobArn"])

    def _op_ListBatchSegmentJobs(self, p: dict[str, Any]) -> dict[str, Any]:
        return self._list("batch-segment-job", p, parent=p.get("solutionVersionArn"))


def validate_filter_expression(
    expression: str, schemas: Mapping[DatasetType, Schema]
) -> str | None:
    """What is wrong with a filter expression (``personakit.rules.filters`` rules), or None.

    The expression is parsed and checked with :meth:`personakit.rules.filters.Filter.validate`
    against the schemas of the dataset group's datasets (fields must exist, no
    textual or boolean fields, numeric comparisons on numbers ...).
    """
    try:
        flt = Filter.parse(expression)
    except ValidationError as exc:
        return str(exc)
    report = flt.validate(list(schemas.values()))
    if report.errors:
        return "; ".join(problem.message for problem in report.errors)
    return None
