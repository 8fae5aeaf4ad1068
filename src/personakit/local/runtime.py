"""Twins of ``personalize-runtime`` (recommendations) and ``personalize-events`` (PutEvents...).

GetRecommendations and GetPersonalizedRanking serve the model a campaign (or a
recommender) deploys, loaded from the workspace; events recorded with PutEvents
after the model was trained are handed to it as the user's ``history``, so they
change the user's next recommendations as they do on AWS. PutItems and PutUsers
records (``properties`` JSON with camelCase keys of the schema's fields) are
stored and used by the next training; same-id records replace older ones.

Filters (and promotions' filters) are evaluated by
:func:`personakit.local.filtering.apply_filter` through one hook,
:func:`personakit.local.data.filter_item_sets`, on the dataset group's current data
(imports, Put* records and recorded events). ``context`` is accepted and ignored.

GetActionRecommendations answers as AWS does for a campaign whose recipe is not a
``PERSONALIZED_ACTIONS`` one (the engine trains none): ``InvalidInputException``.
"""

from __future__ import annotations

import json
import math
import time
import uuid
from collections.abc import Collection, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from personakit.local.data import GroupData, filter_item_sets, schema_of
from personakit.local.errors import FilterUnusable, in_use, invalid, not_found
from personakit.local.modeled import modeled_error
from personakit.local.recipes import recipe_name, recipe_type
from personakit.local.twin import EngineTwin, TwinError, to_epoch
from personakit.rules.facts import (
    DEFAULT_RESULTS,
    MAX_INPUT_LIST,
    MAX_RESULTS,
    MAX_RESULTS_WITH_METADATA,
    camel_case,
)
from personakit.rules.schema import RESERVED, DatasetType, Schema

if TYPE_CHECKING:
    from personakit.local.algorithms.base import Model, Scored
    from personakit.local.control import ControlHost
    from personakit.local.store import Resource

__all__ = ["PersonalizeEventsTwin", "PersonalizeRuntimeTwin", "map_properties"]

#: Recipes whose campaigns return item metadata without ``enableMetadataWithRecommendations``
#: (https://docs.aws.amazon.com/personalize/latest/dg/getting-recommendations-with-metadata.html).
_METADATA_RECIPES = frozenset({"aws-user-personalization-v2", "aws-semantic-similarity"})


class _Target:
    """What a runtime request is served by: a campaign's version or a recommender."""

    def __init__(
        self,
        resource: Resource,
        model_owner: Resource,
        recipe: str,
        group: str,
        config: Mapping[str, Any],
    ) -> None:
        self.resource = resource
        self.model_owner = model_owner
        self.recipe = recipe
        self.group = group
        self.config = config


class PersonalizeRuntimeTwin(EngineTwin):
    """Offline twin of ``boto3.client("personalize-runtime")``."""

    service_name = "personalize-runtime"

    def __init__(self, engine: ControlHost, *, region_name: str | None = None) -> None:
        super().__init__(engine, region_name=region_name)
        self._plane = engine.control

    # ------------------------------------------------------------------ helpers
    def _target(self, campaign_arn: str | None, recommender_arn: str | None) -> _Target:
        if campaign_arn:
            res = self._store.get(campaign_arn)
            if res is None or res.kind != "campaign":
                raise not_found(campaign_arn)
            if res.status != "ACTIVE":
                raise TwinError(
                    "ResourceNotFoundException",
                    f"Campaign {campaign_arn} is not ACTIVE (status: {res.status}).",
                )
            version = self._version(str(res.body["solutionVersionArn"]))
            return _Target(
                res,
                version,
                recipe_name(str(version.body["recipeArn"])),
                str(version.body["datasetGroupArn"]),
                res.body.get("campaignConfig") or {},
            )
        assert recommender_arn
        res = self._store.get(recommender_arn)
        if res is None or res.kind != "recommender":
            raise not_found(recommender_arn)
        if res.status != "ACTIVE":
            raise TwinError(
                "ResourceNotFoundException",
                f"Recommender {recommender_arn} is not ACTIVE (status: {res.status}).",
            )
        return _Target(
            res,
            res,
            recipe_name(str(res.body["recipeArn"])),
            str(res.body["datasetGroupArn"]),
            res.body.get("recommenderConfig") or {},
        )

    def _version(self, arn: str) -> Resource:
        if arn.endswith("/$LATEST"):
            active = self._store.find(
                "solution-version", parent=arn[: -len("/$LATEST")], statuses=("ACTIVE",)
            )
            if not active:
                raise not_found(arn)
            return active[0]
        version = self._store.get(arn)
        if version is None or version.status != "ACTIVE":
            raise not_found(arn)
        return version

    def _model(self, target: _Target) -> Model:
        return self._plane.model(target.model_owner)

    def _history(self, target: _Target, user_id: str | None) -> list[tuple[str, int]]:
        """Events recorded for the user after the model's training data was taken."""
        if not user_id:
            return []
        return self._plane.recorded_history(target.model_owner, user=user_id).get(user_id, [])

    def _filter(
        self,
        target: _Target,
        filter_arn: str | None,
        values: Mapping[str, str] | None,
        *,
        user_id: str | None,
        item_id: str | None,
    ) -> tuple[Collection[str], Collection[str] | None]:
        if not filter_arn:
            if values:
                raise invalid("filterValues were given without a filterArn.")
            return (), None
        try:
            expression = self._plane.resolve_filter(filter_arn, target.group)
        except FilterUnusable as exc:
            raise (
                not_found(filter_arn) if exc.reason == "missing" else invalid(str(exc))
            ) from None
        return filter_item_sets(
            expression,
            dict(values or {}),
            user_id=user_id,
            item_id=item_id,
            data=self._plane.group_data(target.group),
        )

    def _metadata_columns(
        self, target: _Target, p: Mapping[str, Any]
    ) -> tuple[list[str], dict[str, dict[str, str]]]:
        asked = p.get("metadataColumns")
        if not asked:
            return [], {}
        if not (
            target.config.get("enableMetadataWithRecommendations")
            or target.recipe in _METADATA_RECIPES
        ):
            raise invalid(
                "metadataColumns needs a campaign (or recommender) created with "
                "enableMetadataWithRecommendations."
            )
        unknown_keys = [k for k in asked if k != "ITEMS"]
        if unknown_keys:
            raise invalid(f"metadataColumns supports only ITEMS, not {', '.join(unknown_keys)}.")
        columns = list(asked.get("ITEMS") or [])
        table = self._plane.group_data(target.group).table(DatasetType.ITEMS)
        if table is None:
            raise invalid("metadataColumns needs an Items dataset.")
        missing = [c for c in columns if c not in table.column_names]
        if missing:
            raise invalid(f"The Items dataset has no columns {', '.join(missing)}.")
        ids = table.column("ITEM_ID").to_pylist()
        values = {
            c: {str(i): v for i, v in zip(ids, table.column(c).to_pylist(), strict=True)}
            for c in columns
        }
        lookup: dict[str, dict[str, str]] = {}
        for column, by_item in values.items():
            for item, value in by_item.items():
                if value is not None:
                    lookup.setdefault(item, {})[column] = str(value)
        return columns, lookup

    @staticmethod
    def _items(
        scored: Scored,
        metadata: tuple[list[str], dict[str, dict[str, str]]] | None = None,
        promoted: dict[str, str] | None = None,
    ) -> list[dict[str, Any]]:
        out = []
        for item, score in scored:
            entry: dict[str, Any] = {"itemId": item}
            if score is not None and math.isfinite(score):
                entry["score"] = float(score)
            if promoted and item in promoted:
                entry["promotionName"] = promoted[item]
            if metadata and metadata[0]:
                entry["metadata"] = dict(metadata[1].get(item, {}))
            out.append(entry)
        return out

    @staticmethod
    def _recommendation_id() -> str:
        return f"RID-{uuid.uuid4()}"

    # ------------------------------------------------------------------ operations
    def _op_GetRecommendations(self, p: dict[str, Any]) -> dict[str, Any]:
        campaign, recommender = p.get("campaignArn"), p.get("recommenderArn")
        if bool(campaign) == bool(recommender):
            raise invalid("Provide exactly one of campaignArn and recommenderArn.")
        target = self._target(campaign, recommender)
        kind = recipe_type(target.recipe)
        n = int(p.get("numResults") or DEFAULT_RESULTS)
        cap = MAX_RESULTS_WITH_METADATA if p.get("metadataColumns") else MAX_RESULTS
        if n > cap:
            raise invalid(f"numResults must be at most {cap}.")
        user_id, item_id = p.get("userId"), p.get("itemId")
        if kind == "PERSONALIZED_RANKING":
            raise invalid(
                "This campaign uses a PERSONALIZED_RANKING recipe: call GetPersonalizedRanking."
            )
        if kind == "USER_PERSONALIZATION" and not user_id:
            raise invalid("userId is required for a USER_PERSONALIZATION campaign.")
        if kind == "RELATED_ITEMS" and not item_id:
            raise invalid("itemId is required for a RELATED_ITEMS campaign.")
        metadata = self._metadata_columns(target, p)
        exclude, candidates = self._filter(
            target, p.get("filterArn"), p.get("filterValues"), user_id=user_id, item_id=item_id
        )
        model = self._model(target)
        history = self._history(target, user_id)

        def ask(count: int, exc: Collection[str], cand: Collection[str] | None) -> Scored:
            if count <= 0:
                return []
            if kind == "RELATED_ITEMS":
                return model.related(str(item_id), count, exclude=exc, candidates=cand)
            return model.recommend(user_id, count, history=history, exclude=exc, candidates=cand)

        promoted: dict[str, str] = {}
        promotions = p.get("promotions") or []
        scored: Scored
        if promotions:
            promo = promotions[0]
            share = int(promo.get("percentPromotedItems") or 0)
            count = math.ceil(n * share / 100) if share else 0
            pex, pcand = (
                self._filter(
                    target,
                    promo.get("filterArn"),
                    promo.get("filterValues"),
                    user_id=user_id,
                    item_id=item_id,
                )
                if promo.get("filterArn")
                else ((), None)
            )
            picked = ask(count, pex, pcand) if pcand is not None or pex else []
            promoted = {item: str(promo.get("name") or "") for item, _ in picked}
            rest = ask(n - len(picked), {*exclude, *promoted}, candidates)
            scored = _interleave(rest, picked, n)
        else:
            scored = ask(n, exclude, candidates)
        return {
            "itemList": self._items(scored, metadata, promoted),
            "recommendationId": self._recommendation_id(),
        }

    def _op_GetPersonalizedRanking(self, p: dict[str, Any]) -> dict[str, Any]:
        target = self._target(p["campaignArn"], None)
        kind = recipe_type(target.recipe)
        if kind != "PERSONALIZED_RANKING":
            raise invalid(
                f"GetPersonalizedRanking needs a PERSONALIZED_RANKING campaign; this one is {kind}."
            )
        items = [str(i) for i in p["inputList"]]
        cap = MAX_RESULTS_WITH_METADATA if p.get("metadataColumns") else MAX_INPUT_LIST
        if len(items) > cap:
            raise invalid(f"inputList can have at most {cap} items.")
        metadata = self._metadata_columns(target, p)
        exclude, candidates = self._filter(
            target, p.get("filterArn"), p.get("filterValues"), user_id=p["userId"], item_id=None
        )
        model = self._model(target)
        ranked = model.rank(p["userId"], items, history=self._history(target, p["userId"]))
        excluded = set(exclude)
        allowed = set(candidates) if candidates is not None else None
        kept = [
            (item, score)
            for item, score in ranked
            if item not in excluded and (allowed is None or item in allowed)
        ]
        return {
            "personalizedRanking": self._items(kept, metadata),
            "recommendationId": self._recommendation_id(),
        }

    def _op_GetActionRecommendations(self, p: dict[str, Any]) -> dict[str, Any]:
        """Next best actions: only campaigns of a PERSONALIZED_ACTIONS recipe answer
        (https://docs.aws.amazon.com/personalize/latest/dg/API_RS_GetActionRecommendations.html).

        The engine trains no such recipe (``aws-next-best-action`` needs Actions and
        Action interactions datasets), so an existing campaign is answered as AWS answers
        a campaign of another recipe type: ``InvalidInputException``; a missing or
        inactive one with ``ResourceNotFoundException`` (HTTP 404 in the model).
        """
        op = "GetActionRecommendations"

        def error(code: str, message: str) -> TwinError:
            return modeled_error(self.service_name, op, code, message)

        arn = p.get("campaignArn")
        if not arn:
            raise error("InvalidInputException", "campaignArn is required.")
        try:
            target = self._target(arn, None)
        except TwinError as exc:
            raise error(exc.code, exc.message) from None
        kind = recipe_type(target.recipe)
        if kind != "PERSONALIZED_ACTIONS":
            raise error(
                "InvalidInputException",
                f"GetActionRecommendations needs a campaign of a PERSONALIZED_ACTIONS recipe "
                f"(aws-next-best-action); the campaign {arn} uses {target.recipe} ({kind}): "
                "call GetRecommendations or GetPersonalizedRanking.",
            )
        raise error(  # pragma: no cover - no local recipe is PERSONALIZED_ACTIONS
            "InvalidInputException", f"{target.recipe} is not served by the local engine."
        )


def _interleave(rest: Scored, promoted: Scored, n: int) -> Scored:
    """Promoted items spread evenly among the others (Personalize places them for you)."""
    if not promoted:
        return rest[:n]
    out: Scored = []
    step = max(1, (len(rest) + len(promoted)) // len(promoted))
    queue_p, queue_r = list(promoted), list(rest)
    position = 0
    while (queue_p or queue_r) and len(out) < n:
        if queue_p and (position % step == 0 or not queue_r):
            out.append(queue_p.pop(0))
        elif queue_r:
            out.append(queue_r.pop(0))
        position += 1
    return out


# --------------------------------------------------------------------------- events


def map_properties(
    text: str | None,
    schema: Schema | None,
    *,
    reserved: Collection[str],
    what: str,
    require: bool = False,
) -> dict[str, Any]:
    """A ``properties`` JSON string -> {schema field: value}, checked against the schema."""
    if text is None:
        props: Any = {}
    else:
        try:
            props = json.loads(text)
        except ValueError:
            raise invalid(f"The properties of {what} are not valid JSON: {text!r}") from None
    if not isinstance(props, dict):
        raise invalid(f"The properties of {what} must be a JSON object.")
    if schema is None:
        return {str(k): v for k, v in props.items()}
    fields = {f.name: f for f in schema.fields if f.name not in reserved}
    by_key = {camel_case(name): f for name, f in fields.items()}
    out: dict[str, Any] = {}
    for key, value in props.items():
        field = by_key.get(key) or fields.get(key)
        if field is None:
            known = ", ".join(sorted(by_key)) or "none"
            raise invalid(
                f"{what} has the property {key!r}, which is not a field of the "
                f"{schema.dataset_type.value} schema (properties it takes: {known})."
            )
        out[field.name] = _coerce(value, field.type, field.name, what)
    if require:
        missing = [
            camel_case(name)
            for name, f in fields.items()
            if not f.nullable and out.get(name) is None
        ]
        if missing:
            raise invalid(f"{what} is missing the required properties: {', '.join(missing)}.")
    return out


def _coerce(value: Any, avro: str, name: str, what: str) -> Any:
    if value is None:
        return None
    if avro == "string":
        if isinstance(value, list):
            return "|".join(str(v) for v in value)
        return str(value)
    if avro == "boolean":
        if isinstance(value, bool):
            return value
        if str(value).lower() in ("true", "false"):
            return str(value).lower() == "true"
    else:
        try:
            number = float(value)
        except (TypeError, ValueError):
            pass
        else:
            if avro in ("int", "long"):
                if number != int(number):
                    raise invalid(f"{what}: the value {value!r} of {name} is not an integer.")
                return int(number)
            return number
    raise invalid(f"{what}: the value {value!r} of {name} is not a valid {avro}.")


class PersonalizeEventsTwin(EngineTwin):
    """Offline twin of ``boto3.client("personalize-events")``."""

    service_name = "personalize-events"

    def __init__(self, engine: ControlHost, *, region_name: str | None = None) -> None:
        super().__init__(engine, region_name=region_name)
        self._plane = engine.control

    def _op_PutEvents(self, p: dict[str, Any]) -> dict[str, Any]:
        tracking_id = p["trackingId"]
        trackers = [
            t for t in self._store.find("event-tracker") if t.body.get("trackingId") == tracking_id
        ]
        if not trackers:
            # PutEvents declares only InvalidInputException
            raise invalid(f"No event tracker has the tracking ID {tracking_id}.")
        tracker = trackers[0]
        if tracker.status != "ACTIVE":
            raise invalid(
                f"The event tracker {tracker.arn} is not ACTIVE (status: {tracker.status})."
            )
        group = str(tracker.body["datasetGroupArn"])
        schema = GroupData(self._store, group).schema(DatasetType.INTERACTIONS)
        # PutEvents sends the attribution source as metricAttribution, not a property
        reserved = set(RESERVED[(DatasetType.INTERACTIONS, None)]) - {"EVENT_ATTRIBUTION_SOURCE"}
        rows = []
        received = time.time()
        for i, event in enumerate(p["eventList"]):
            what = f"eventList[{i}]"
            if schema is not None and "ITEM_ID" in schema and not event.get("itemId"):
                raise invalid(f"{what} has no itemId, which the Interactions schema requires.")
            props = map_properties(event.get("properties"), schema, reserved=reserved, what=what)
            rows.append(
                {
                    "dataset_group": group,
                    "tracker": tracker.arn,
                    "user_id": p.get("userId"),
                    "session_id": p["sessionId"],
                    "item_id": event.get("itemId"),
                    "event_type": event["eventType"],
                    "event_value": event.get("eventValue"),
                    "sent_at": to_epoch(event["sentAt"]),
                    "properties": json.dumps(props),
                    "recommendation_id": event.get("recommendationId"),
                    "impression": "|".join(event["impression"])
                    if event.get("impression")
                    else None,
                    "event_id": event.get("eventId") or str(uuid.uuid4()),
                    "received": received,
                }
            )
        self._store.add_events(rows)
        return {}

    def _dataset(self, arn: str, dtype: DatasetType) -> tuple[Resource, Schema]:
        res = self._store.get(arn)
        if res is None or res.kind != "dataset":
            raise not_found(arn)
        if DatasetType.parse(res.body["datasetType"]) is not dtype:
            raise invalid(f"The dataset {arn} is not an {dtype.value} dataset.")
        if res.status != "ACTIVE":
            raise in_use(f"The dataset {arn} is not ACTIVE (status: {res.status}).")
        return res, schema_of(self._store, res)

    def _put_records(
        self, arn: str, dtype: DatasetType, records: Sequence[Mapping[str, Any]], id_key: str
    ) -> dict[str, Any]:
        res, schema = self._dataset(arn, dtype)
        id_field = "ITEM_ID" if dtype is DatasetType.ITEMS else "USER_ID"
        rows = []
        for i, record in enumerate(records):
            what = f"{id_key[:-2]}s[{i}] ({record[id_key]})"
            props = map_properties(
                record.get("properties"), schema, reserved={id_field}, what=what, require=True
            )
            rows.append((str(record[id_key]), props))
        self._store.upsert_records(res.arn, rows)
        return {}

    def _op_PutItems(self, p: dict[str, Any]) -> dict[str, Any]:
        return self._put_records(p["datasetArn"], DatasetType.ITEMS, p["items"], "itemId")

    def _op_PutUsers(self, p: dict[str, Any]) -> dict[str, Any]:
        return self._put_records(p["datasetArn"], DatasetType.USERS, p["users"], "userId")
