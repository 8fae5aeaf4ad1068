"""Metric attributions on the local engine (``CreateMetricAttribution`` and friends).

A metric attribution reports, per event type, a ``SUM()`` of a numeric column of the
Items or Interactions dataset or a ``SAMPLECOUNT()`` of events
(https://docs.aws.amazon.com/personalize/latest/dg/API_MetricAttribute.html). The
engine keeps it as a Personalize resource of its store and walks it through
``CREATE PENDING`` -> ``CREATE IN_PROGRESS`` -> ``ACTIVE`` and the delete walk like a
filter; it computes no reports (there is no CloudWatch offline). The rules checked are
the service's (https://docs.aws.amazon.com/personalize/latest/dg/API_CreateMetricAttribution.html,
https://docs.aws.amazon.com/personalize/latest/dg/metric-attribution-requirements.html):

* at most one metric attribution per dataset group
  (https://docs.aws.amazon.com/personalize/latest/dg/limits.html), else
  ``ResourceAlreadyExistsException`` (as for a second event tracker; a
  ``LimitExceededException`` would be retried by botocore as throttling); the dataset
  group must be ``ACTIVE``;
* 1 to 10 metrics with distinct ``metricName`` values; each ``expression`` is
  ``SAMPLECOUNT()`` or ``SUM(<Items|Interactions>.<COLUMN>)``; when the dataset group
  already has that dataset, the column must be a numeric field of its schema;
* an ``s3DataDestination`` path is an ``s3://bucket/...`` path.

:class:`AttributionOps` is a mixin of :class:`~personakit.local.personalize.PersonalizeTwin`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any, Final

from personakit.local.data import GroupData
from personakit.local.errors import in_use, invalid
from personakit.local.resources import ResourceTwin
from personakit.local.store import TRANSITIONAL
from personakit.local.twin import TwinError, page, service_model
from personakit.rules.facts import DEFAULT_QUOTAS
from personakit.rules.schema import DatasetType

__all__ = ["ATTRIBUTION_LIMIT", "MAX_METRICS", "AttributionOps", "expression_problem"]

#: Metric attributions per dataset group (https://docs.aws.amazon.com/personalize/latest/dg/limits.html).
ATTRIBUTION_LIMIT: Final = DEFAULT_QUOTAS["CreateMetricAttribution"]
#: Metrics per metric attribution: the model's maximum of the ``metrics`` list (10).
MAX_METRICS: Final[int] = (
    service_model("personalize")
    .operation_model("CreateMetricAttribution")
    .input_shape.members["metrics"]  # type: ignore[union-attr]
    .metadata["max"]
)

_EXPRESSION = re.compile(
    r"\s*(?:(?P<count>SAMPLECOUNT)\s*\(\s*\)|SUM\s*\(\s*(?P<dataset>\w+)\s*\.\s*(?P<column>\w+)\s*\))\s*",
    re.IGNORECASE,
)
_SUM_DATASETS: Final = {"items": DatasetType.ITEMS, "interactions": DatasetType.INTERACTIONS}
_NUMERIC: Final = frozenset({"int", "long", "float", "double"})


def expression_problem(expression: str, data: GroupData | None = None) -> str | None:
    """What is wrong with a metric's ``expression`` (None when it is valid).

    ``SAMPLECOUNT()`` or ``SUM(Items.COLUMN)`` / ``SUM(Interactions.COLUMN)``; with
    ``data``, a column of a dataset the group already has must be a numeric field of
    its schema.
    """
    match = _EXPRESSION.fullmatch(expression)
    if match is None:
        return (
            f"Invalid expression {expression!r}: use SAMPLECOUNT() or SUM(Items.<COLUMN>) / "
            "SUM(Interactions.<COLUMN>)."
        )
    if match.group("count"):
        return None
    dtype = _SUM_DATASETS.get(match.group("dataset").lower())
    if dtype is None:
        return (
            f"Invalid expression {expression!r}: SUM() takes a column of the Items or "
            "Interactions dataset."
        )
    schema = data.schema(dtype) if data is not None else None
    if schema is None:
        return None
    column = match.group("column")
    field = next((f for f in schema.fields if f.name.upper() == column.upper()), None)
    if field is None:
        return f"Invalid expression {expression!r}: the {dtype.value} schema has no field {column}."
    if field.type not in _NUMERIC:
        return (
            f"Invalid expression {expression!r}: {column} is not numeric in the {dtype.value} "
            "schema."
        )
    return None


class AttributionOps(ResourceTwin):
    """The metric attribution operations of the Personalize twin."""

    def _check_metrics(self, metrics: Sequence[Mapping[str, Any]], data: GroupData) -> None:
        if not metrics:
            raise invalid("A metric attribution needs at least one metric.")
        if len(metrics) > MAX_METRICS:
            raise invalid(f"A metric attribution can have at most {MAX_METRICS} metrics.")
        names = [str(m["metricName"]) for m in metrics]
        twice = sorted({n for n in names if names.count(n) > 1})
        if twice:
            raise invalid(f"Duplicate metricName: {', '.join(twice)}.")
        for metric in metrics:
            problem = expression_problem(str(metric["expression"]), data)
            if problem:
                raise invalid(problem)

    @staticmethod
    def _check_output(config: Mapping[str, Any]) -> dict[str, Any]:
        out: dict[str, Any] = {"roleArn": config["roleArn"]}
        destination = config.get("s3DataDestination")
        if destination:
            path = str(destination["path"])
            if not path.startswith("s3://") or not path[5:].split("/", 1)[0]:
                raise invalid(f"s3DataDestination path {path!r} is not an S3 path (s3://bucket/).")
            out["s3DataDestination"] = dict(destination)
        return out

    def _op_CreateMetricAttribution(self, p: dict[str, Any]) -> dict[str, Any]:
        group = self._active(p["datasetGroupArn"], "dataset-group", "dataset group")
        metrics = [dict(m) for m in p["metrics"]]
        self._check_metrics(metrics, GroupData(self._store, group.arn))
        body: dict[str, Any] = {
            "datasetGroupArn": group.arn,
            "metricsOutputConfig": self._check_output(p["metricsOutputConfig"]),
            "_metrics": metrics,
        }

        def check() -> None:
            existing = self._store.find("metric-attribution", parent=group.arn)
            if len(existing) >= ATTRIBUTION_LIMIT:
                raise TwinError(
                    "ResourceAlreadyExistsException",
                    f"The dataset group {group.arn} already has a metric attribution "
                    f"({existing[0].arn}); a dataset group can have {ATTRIBUTION_LIMIT}.",
                )

        arn = self._create("metric-attribution", p, parent=group.arn, body=body, check=check)
        return {"metricAttributionArn": arn}

    def _op_DescribeMetricAttribution(self, p: dict[str, Any]) -> dict[str, Any]:
        return self._describe("metric-attribution", p["metricAttributionArn"])

    def _op_ListMetricAttributions(self, p: dict[str, Any]) -> dict[str, Any]:
        return self._list("metric-attribution", p, parent=p.get("datasetGroupArn"))

    def _op_ListMetricAttributionMetrics(self, p: dict[str, Any]) -> dict[str, Any]:
        arn = p.get("metricAttributionArn")
        if not arn:
            raise invalid("metricAttributionArn is required.")
        res = self._store.get(arn)
        if res is None or res.kind != "metric-attribution":
            # the operation declares no ResourceNotFoundException
            raise invalid(f"Resource Arn {arn} does not exist.")
        metrics = list(res.body.get("_metrics") or [])
        chunk, token = page(metrics, p, salt=f"metric-attribution-metrics|{arn}")
        out: dict[str, Any] = {"metrics": chunk}
        if token:
            out["nextToken"] = token
        return out

    def _op_UpdateMetricAttribution(self, p: dict[str, Any]) -> dict[str, Any]:
        arn = p.get("metricAttributionArn")
        if not arn:
            raise invalid("metricAttributionArn is required.")
        with self._store.tx():
            res = self._get(arn, "metric-attribution")
            if res.status != "ACTIVE" or res.sub_status in TRANSITIONAL:
                raise in_use(
                    f"The metric attribution {arn} can be updated only when it is ACTIVE "
                    f"(status: {res.status})."
                )
            metrics = [dict(m) for m in res.body.get("_metrics") or []]
            drop = {str(n) for n in p.get("removeMetrics") or []}
            unknown = sorted(drop - {m["metricName"] for m in metrics})
            if unknown:
                raise invalid(f"The metric attribution has no metrics {', '.join(unknown)}.")
            metrics = [m for m in metrics if m["metricName"] not in drop]
            added = [dict(m) for m in p.get("addMetrics") or []]
            clash = sorted({m["metricName"] for m in added} & {m["metricName"] for m in metrics})
            if clash:
                raise TwinError(
                    "ResourceAlreadyExistsException",
                    f"The metric attribution already has metrics {', '.join(clash)}.",
                )
            metrics += added
            group = str(res.body["datasetGroupArn"])
            self._check_metrics(metrics, GroupData(self._store, group))
            res.body["_metrics"] = metrics
            if p.get("metricsOutputConfig"):
                res.body["metricsOutputConfig"] = self._check_output(p["metricsOutputConfig"])
            self._plane.set_status(res, "ACTIVE")
            self._store.save(res)
        return {"metricAttributionArn": arn}

    def _op_DeleteMetricAttribution(self, p: dict[str, Any]) -> dict[str, Any]:
        return self._delete(p["metricAttributionArn"], "metric-attribution", "metric attribution")
