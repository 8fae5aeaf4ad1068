"""The base of the Personalize twin: resources as the service shows them.

:class:`ResourceTwin` holds what every Personalize operation handler shares: finding a
resource of a kind (``ResourceNotFoundException`` otherwise), its ``Describe*`` view and
``List*`` summary reduced to the service model's output shapes, paginated listings,
deletes through the control plane, and tagging
(https://docs.aws.amazon.com/personalize/latest/dg/tagging-resources.html).
:class:`~personakit.local.personalize.PersonalizeTwin` adds the operations.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, Final

from personakit.local.control import KINDS
from personakit.local.errors import in_use, invalid, not_found
from personakit.local.twin import (
    EngineTwin,
    TwinError,
    from_epoch,
    keep_members,
    page,
    service_model,
)
from personakit.rules.facts import MAX_TAG_KEYS

if TYPE_CHECKING:
    from personakit.local.control import ControlHost
    from personakit.local.store import Resource

__all__ = ["ResourceTwin", "deep_keep"]

#: The member of a resource's description that shows its update walk.
_UPDATE_KEYS: Final = {
    "campaign": "latestCampaignUpdate",
    "solution": "latestSolutionUpdate",
    "recommender": "latestRecommenderUpdate",
    "dataset": "latestDatasetUpdate",
}


def _request_tags(params: Mapping[str, Any], *, limit_count: bool = True) -> list[dict[str, str]]:
    """The ``tags`` of a request, checked: at most :data:`MAX_TAG_KEYS` (with
    ``limit_count``), no ``aws:`` keys."""
    tags = [dict(t) for t in params.get("tags") or []]
    if limit_count and len(tags) > MAX_TAG_KEYS:
        raise TwinError(
            "TooManyTagsException",
            f"The request has {len(tags)} tags; a resource can have at most {MAX_TAG_KEYS}.",
        )
    for tag in tags:
        if tag["tagKey"].lower().startswith("aws:"):
            raise invalid(f"Tag keys cannot start with 'aws:' ({tag['tagKey']}).")
    return tags


class ResourceTwin(EngineTwin):
    """Twin of ``boto3.client("personalize")`` without its operations; see the module
    docstring."""

    service_name = "personalize"

    def __init__(self, engine: ControlHost, *, region_name: str | None = None) -> None:
        super().__init__(engine, region_name=region_name)
        self._plane = engine.control

    # ------------------------------------------------------------------ generic helpers
    def _create(
        self,
        kind: str,
        p: Mapping[str, Any],
        *,
        parent: str | None,
        body: dict[str, Any],
        arn: str | None = None,
        name: str | None = None,
        check: Callable[[], None] | None = None,
        status: str | None = "CREATE PENDING",
    ) -> str:
        """Create*: a new resource of ``kind`` with the request's name and tags; its ARN.

        ``name`` defaults to the request's ``name`` (``jobName`` for jobs), ``arn`` to
        the control plane's ARN of that name; ``check`` runs in the transaction that
        inserts the resource (a quota, say).
        """
        name = name if name is not None else str(p[KINDS[kind].name_key])
        arn = arn if arn is not None else self._plane.arn(kind, name)
        self._plane.new(
            kind,
            arn,
            name,
            parent=parent,
            body=body,
            tags=_request_tags(p),
            status=status,
            check=check,
        )
        return arn

    def _get(self, arn: str, kind: str) -> Resource:
        res = self._store.get(arn)
        if res is None or res.kind != kind:
            raise not_found(arn)
        return res

    def _active(self, arn: str, kind: str, what: str) -> Resource:
        res = self._get(arn, kind)
        if res.status != "ACTIVE":
            raise in_use(f"The {what} {arn} is not in ACTIVE state (status: {res.status}).")
        return res

    def _view(self, res: Resource) -> dict[str, Any]:
        kind = KINDS[res.kind]
        out: dict[str, Any] = {k: v for k, v in res.body.items() if not k.startswith("_")}
        out[kind.name_key] = res.name
        out[kind.arn_key] = res.arn
        if res.status is not None:
            out["status"] = res.status
        out["creationDateTime"] = from_epoch(res.created)
        out["lastUpdatedDateTime"] = from_epoch(res.updated)
        if res.failure_reason:
            out["failureReason"] = res.failure_reason
        update = res.body.get("_update")
        if update and res.kind in _UPDATE_KEYS:
            summary: dict[str, Any] = dict(update["changes"])
            summary.update(
                status=update["status"],
                creationDateTime=from_epoch(update["created"]),
                lastUpdatedDateTime=from_epoch(update["updated"]),
            )
            out[_UPDATE_KEYS[res.kind]] = summary
        if res.kind == "solution":
            versions = self._store.find("solution-version", parent=res.arn)
            if versions:
                out["latestSolutionVersion"] = self._summary(versions[0])
        if res.kind == "solution-version" and res.status == "ACTIVE":
            out.setdefault("trainingHours", 0.0)
        return out

    def _shape(self, op: str, key: str) -> Any:
        shape = service_model("personalize").operation_model(op).output_shape
        assert shape is not None
        return shape.members[key]

    def _describe(self, kind_name: str, arn: str) -> dict[str, Any]:
        kind = KINDS[kind_name]
        res = self._get(arn, kind_name)
        shape = self._shape(f"Describe{kind.op}", kind.describe_key)
        return {kind.describe_key: deep_keep(self._view(res), shape)}

    def _summary(self, res: Resource) -> dict[str, Any]:
        kind = KINDS[res.kind]
        shape = self._shape(f"List{kind.op}s", kind.list_key).member
        return deep_keep(self._view(res), shape)

    def _list(
        self, kind_name: str, p: Mapping[str, Any], *, parent: str | None = None
    ) -> dict[str, Any]:
        kind = KINDS[kind_name]
        found = self._store.find(kind_name, parent=parent)
        chunk, token = page(found, p, salt=f"{kind_name}|{parent}")
        out: dict[str, Any] = {kind.list_key: [self._summary(r) for r in chunk]}
        if token:
            out["nextToken"] = token
        return out

    def _delete(self, arn: str, kind: str, what: str) -> dict[str, Any]:
        """Delete*: refused while the resource changes status, else the delete walk starts."""
        res = self._get(arn, kind)
        self._plane.check_deletable(res, what)
        self._plane.delete(res.arn)
        return {}

    # ------------------------------------------------------------------ tags
    def _tagged(self, arn: str) -> Resource:
        res = self._store.get(arn)
        if res is None or res.kind == "schema":
            raise not_found(arn)
        return res

    def _op_ListTagsForResource(self, p: dict[str, Any]) -> dict[str, Any]:
        return {"tags": [dict(t) for t in self._tagged(p["resourceArn"]).tags]}

    def _op_TagResource(self, p: dict[str, Any]) -> dict[str, Any]:
        new = {t["tagKey"]: t["tagValue"] for t in _request_tags(p, limit_count=False)}
        with self._store.tx():
            res = self._tagged(p["resourceArn"])
            merged = {t["tagKey"]: t["tagValue"] for t in res.tags}
            merged.update(new)
            if len(merged) > MAX_TAG_KEYS:
                raise TwinError(  # TagResource declares TooManyTagsException, not ...TagKeys...
                    "TooManyTagsException",
                    f"A resource can have at most {MAX_TAG_KEYS} tag keys; this request would "
                    f"give {res.arn} {len(merged)}.",
                )
            res.tags = [{"tagKey": k, "tagValue": v} for k, v in merged.items()]
            self._store.save(res)
        return {}

    def _op_UntagResource(self, p: dict[str, Any]) -> dict[str, Any]:
        drop = set(p["tagKeys"])
        with self._store.tx():
            res = self._tagged(p["resourceArn"])
            res.tags = [t for t in res.tags if t["tagKey"] not in drop]
            self._store.save(res)
        return {}


def deep_keep(data: Mapping[str, Any], shape: Any) -> dict[str, Any]:
    """``data`` reduced to ``shape``'s members, recursively through nested structures."""
    out = keep_members(data, shape)
    for key, value in list(out.items()):
        member = shape.members[key]
        if member.type_name == "structure" and isinstance(value, Mapping):
            out[key] = deep_keep(value, member)
    return out
