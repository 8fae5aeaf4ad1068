"""SageMaker JumpStart's catalog with plain boto3, no ``sagemaker`` SDK.

:class:`JumpStartCatalog` reads ``models_manifest.json`` and the spec document
its ``spec_key`` names from the public bucket ``jumpstart-cache-prod-<region>``
(anonymous reads: an s3 client with ``botocore.UNSIGNED`` signing), caches both
on disk and revalidates them by ETag (``GetObject`` with ``IfNoneMatch``: an
unchanged document costs one ``304 Not Modified``, not a download). When the
bucket cannot be reached it falls back to the stale cache, then to the dated
snapshot that ships in this package (``personakit/llm/snapshot/``), with a
:class:`~personakit.llm.resolve.JumpStartWarning`. :meth:`JumpStartCatalog.resolve`
hands the spec to :func:`~personakit.llm.resolve.resolve_spec`, which turns it into
``CreateModel`` / ``CreateEndpointConfig`` inputs.

Versions are selected as the SageMaker Python SDK selects them (:func:`select_version`).
The environment variables of the SDK are honoured: ``AWS_JUMPSTART_CONTENT_BUCKET_OVERRIDE``,
``AWS_JUMPSTART_GATED_CONTENT_BUCKET_OVERRIDE``, ``AWS_JUMPSTART_MANIFEST_LOCAL_ROOT_DIR_OVERRIDE``
and ``AWS_JUMPSTART_SPECS_LOCAL_ROOT_DIR_OVERRIDE``; ``PERSONAKIT_JUMPSTART_OFFLINE=1``
makes every catalog offline (cache and snapshot only), ``PERSONAKIT_CACHE_DIR`` moves the cache.
"""

from __future__ import annotations

import difflib
import json
import logging
import os
import re
import sys
import tempfile
import warnings
from collections.abc import Mapping, Sequence
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import attrs

from personakit.errors import CatalogUnavailableError, ConfigurationError, ModelNotFoundError
from personakit.llm.resolve import (
    JumpStartWarning,
    ResolvedModel,
    content_bucket,
    gated_bucket,
    resolve_spec,
)

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

__all__ = [
    "MANIFEST_KEY",
    "CatalogUnavailableError",
    "JumpStartCatalog",
    "ManifestEntry",
    "ModelNotFoundError",
    "Source",
    "default_cache_dir",
    "select_version",
    "snapshot_info",
    "snapshot_manifest",
    "snapshot_spec",
    "version_key",
]

logger = logging.getLogger(__name__)

MANIFEST_KEY = "models_manifest.json"
"""Key of the open-weights manifest in the content bucket."""

#: Where a manifest or spec came from.
Source = Literal["network", "cache", "snapshot", "local"]

_TRUE = ("1", "true", "yes", "on")
_SNAPSHOT = "snapshot"


# ------------------------------------------------------------------ versions, cache


def _env_flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in _TRUE


def version_key(version: str) -> tuple[tuple[int, int | str], ...]:
    """A sort key for JumpStart versions: numeric parts compare as numbers
    (``"1.10.0"`` > ``"1.9.3"``), trailing zeros do not count (``"1.0"`` == ``"1.0.0"``)."""
    parts: list[tuple[int, int | str]] = [
        (1, int(p)) if p.isdigit() else (0, p) for p in re.split(r"[.\-+]", version.strip()) if p
    ]
    while parts and parts[-1] == (1, 0):
        parts.pop()
    return tuple(parts)


def select_version(versions: Sequence[str], wanted: str | None = None) -> str | None:
    """The version ``wanted`` names among ``versions``, as the SDK selects it.

    ``None``, ``"*"`` or ``"latest"``: the highest. ``"1.*"`` / ``"1.0.*"``: the
    highest with that prefix. Anything else: an exact match (``"1.0"`` matches
    ``"1.0.0"``). ``None`` when nothing matches.
    """
    if not versions:
        return None
    wanted = None if wanted is None else wanted.strip()
    if wanted in (None, "", "*", "latest"):
        return max(versions, key=version_key)
    assert wanted is not None
    if wanted.endswith("*"):
        prefix = wanted.rstrip("*").rstrip(".")
        matching = [v for v in versions if not prefix or v == prefix or v.startswith(prefix + ".")]
        return max(matching, key=version_key) if matching else None
    if wanted in versions:
        return wanted
    key = version_key(wanted)
    return next((v for v in versions if version_key(v) == key), None)


def default_cache_dir() -> Path:
    """Where catalogs cache JumpStart documents unless told otherwise.

    ``$PERSONAKIT_CACHE_DIR/jumpstart``, else the user cache directory:
    ``$XDG_CACHE_HOME`` or ``~/.cache`` on Linux, ``~/Library/Caches`` on macOS,
    ``%LOCALAPPDATA%`` on Windows; each with ``personakit/jumpstart`` below.
    """
    override = os.environ.get("PERSONAKIT_CACHE_DIR")
    if override:
        return Path(override).expanduser() / "jumpstart"
    if sys.platform == "win32":
        base = Path(os.environ.get("LOCALAPPDATA") or Path.home() / "AppData" / "Local")
    elif sys.platform == "darwin":
        base = Path.home() / "Library" / "Caches"
    else:
        base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "personakit" / "jumpstart"


# ------------------------------------------------------------------ manifest


@attrs.frozen
class ManifestEntry:
    """One header of ``models_manifest.json``: a (model id, version) and where its spec is."""

    model_id: str
    version: str
    spec_key: str
    min_version: str | None = None
    deprecated: bool = False
    provider: str | None = None
    search_keywords: tuple[str, ...] = ()

    @classmethod
    def from_json(cls, obj: Mapping[str, Any]) -> ManifestEntry:
        """An entry from its JSON object (unknown fields are ignored)."""
        return cls(
            model_id=str(obj["model_id"]),
            version=str(obj["version"]),
            spec_key=str(obj["spec_key"]),
            min_version=None if obj.get("min_version") is None else str(obj["min_version"]),
            deprecated=bool(obj.get("deprecated", False)),
            provider=None if obj.get("provider") is None else str(obj["provider"]),
            search_keywords=tuple(str(k) for k in obj.get("search_keywords") or ()),
        )


# ------------------------------------------------------------------ snapshot


def _snapshot_root() -> Any:
    return resources.files("personakit.llm").joinpath(_SNAPSHOT)


def snapshot_info() -> dict[str, Any]:
    """The snapshot's ``metadata.json``: its date, sources and per-file fidelity."""
    data: dict[str, Any] = json.loads(_snapshot_root().joinpath("metadata.json").read_text("utf-8"))
    return data


def snapshot_manifest() -> tuple[ManifestEntry, ...]:
    """The snapshot's manifest: one entry per (model id, version) it holds."""
    rows = json.loads(_snapshot_root().joinpath("manifest.json").read_text("utf-8"))
    return tuple(ManifestEntry.from_json(r) for r in rows)


def snapshot_spec(entry: ManifestEntry) -> dict[str, Any]:
    """The snapshot's spec document of ``entry`` (one of :func:`snapshot_manifest`)."""
    spec: dict[str, Any] = json.loads(_snapshot_root().joinpath(entry.spec_key).read_text("utf-8"))
    return spec


# ------------------------------------------------------------------ catalog


class _Unavailable(Exception):
    """A document could not be fetched (network, permissions) and is not cached."""


class _Missing(Exception):
    """The bucket answered that the document does not exist."""


class JumpStartCatalog:
    """JumpStart's manifest and specs for one region, cached on disk.

    Args:
        region: The region whose content bucket to read (images are regional too).
        s3: An s3 client to read with; by default an anonymous one
            (``Config(signature_version=UNSIGNED)``), made on first use.
        cache_dir: Where to cache documents; :func:`default_cache_dir` when not given.
        offline: Never touch the network: cache, then snapshot. Default: the
            ``PERSONAKIT_JUMPSTART_OFFLINE`` environment variable.
        use_snapshot: Fall back to the packaged snapshot when the bucket cannot
            be read (with a :class:`JumpStartWarning`).
        content_bucket_name, gated_bucket_name: Bucket overrides (the SDK's
            environment variables are honoured too).

    Documents are read once per catalog; a new catalog revalidates its cache with
    one conditional ``GetObject`` per document. Example::

        catalog = JumpStartCatalog("us-east-1")
        model = catalog.resolve("huggingface-llm-falcon-7b-bf16", "4.*", "ml.g5.2xlarge")
        model.create_model_request("my-model", role_arn)
    """

    def __init__(
        self,
        region: str,
        *,
        s3: S3Client | Any | None = None,
        cache_dir: str | os.PathLike[str] | None = None,
        offline: bool | None = None,
        use_snapshot: bool = True,
        content_bucket_name: str | None = None,
        gated_bucket_name: str | None = None,
    ) -> None:
        if not region:
            raise ConfigurationError("JumpStartCatalog needs a region")
        self.region = region
        self.content_bucket = content_bucket_name or content_bucket(region)
        self.gated_bucket = gated_bucket_name or gated_bucket(region)
        self.cache_dir = Path(cache_dir) if cache_dir is not None else default_cache_dir()
        self.offline = _env_flag("PERSONAKIT_JUMPSTART_OFFLINE") if offline is None else offline
        self.use_snapshot = use_snapshot
        self._s3 = s3
        self._docs: dict[tuple[str, str], tuple[Any, Source]] = {}
        self._manifest: tuple[tuple[ManifestEntry, ...], Source] | None = None
        self._warned_snapshot = False

    def __repr__(self) -> str:
        mode = "offline" if self.offline else "online"
        return f"JumpStartCatalog({self.region!r}, bucket={self.content_bucket!r}, {mode})"

    # -- fetching

    def _client(self) -> Any:
        if self._s3 is None:
            import boto3
            from botocore import UNSIGNED
            from botocore.config import Config

            from personakit.aws.clients import USER_AGENT  # with boto3: on first fetch only

            config = Config(
                signature_version=UNSIGNED,
                connect_timeout=5,
                read_timeout=30,
                retries={"mode": "standard", "total_max_attempts": 3},
                user_agent_extra=USER_AGENT,
            )
            self._s3 = boto3.session.Session().client("s3", region_name=self.region, config=config)
        return self._s3

    def _paths(self, bucket: str, key: str) -> tuple[Path, Path]:
        path = self.cache_dir / bucket / key
        return path, path.with_name(path.name + ".etag")

    def _read_cached(self, path: Path) -> Any | None:
        try:
            return json.loads(path.read_text("utf-8"))
        except (OSError, ValueError):
            return None

    def _write_cached(self, path: Path, etag_path: Path, data: bytes, etag: str | None) -> None:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            for target, payload in ((path, data), (etag_path, (etag or "").encode())):
                fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
                try:
                    with os.fdopen(fd, "wb") as handle:
                        handle.write(payload)
                    os.replace(tmp, target)
                except BaseException:
                    Path(tmp).unlink(missing_ok=True)
                    raise
        except OSError as exc:
            logger.debug("cannot cache %s: %s", path, exc)

    def _fetch(self, bucket: str, key: str) -> tuple[Any, Source]:
        """A JSON document from the memo, the disk cache (revalidated) or the bucket."""
        memo = self._docs.get((bucket, key))
        if memo is not None:
            return memo
        local = self._local_override(key)
        if local is not None:
            self._docs[(bucket, key)] = (local, "local")
            return local, "local"
        path, etag_path = self._paths(bucket, key)
        cached = self._read_cached(path)
        etag = None
        if cached is not None:
            try:
                etag = etag_path.read_text("utf-8").strip() or None
            except OSError:
                etag = None
        if self.offline:
            if cached is None:
                raise _Unavailable(f"s3://{bucket}/{key} is not cached and the catalog is offline")
            self._docs[(bucket, key)] = (cached, "cache")
            return cached, "cache"
        from botocore.exceptions import BotoCoreError, ClientError

        request: dict[str, Any] = {"Bucket": bucket, "Key": key}
        if etag:
            request["IfNoneMatch"] = etag
        try:
            response = self._client().get_object(**request)
            data = response["Body"].read()
            document = json.loads(data)
        except ClientError as exc:
            error = exc.response.get("Error", {})
            code = str(error.get("Code", ""))
            status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
            if cached is not None and (code in ("304", "NotModified") or status == 304):
                logger.debug("s3://%s/%s not modified (ETag %s)", bucket, key, etag)
                self._docs[(bucket, key)] = (cached, "cache")
                return cached, "cache"
            if code in ("NoSuchKey", "404"):
                raise _Missing(f"s3://{bucket}/{key} does not exist") from exc
            return self._stale(bucket, key, cached, f"{code or status}: {exc}")
        except (BotoCoreError, ValueError, OSError) as exc:
            return self._stale(bucket, key, cached, f"{type(exc).__name__}: {exc}")
        self._write_cached(path, etag_path, data, response.get("ETag"))
        self._docs[(bucket, key)] = (document, "network")
        return document, "network"

    def _stale(self, bucket: str, key: str, cached: Any | None, why: str) -> tuple[Any, Source]:
        if cached is None:
            raise _Unavailable(f"cannot read s3://{bucket}/{key}: {why}")
        logger.warning("cannot revalidate s3://%s/%s (%s); using the cached copy", bucket, key, why)
        self._docs[(bucket, key)] = (cached, "cache")
        return cached, "cache"

    def _local_override(self, key: str) -> Any | None:
        variable = (
            "AWS_JUMPSTART_MANIFEST_LOCAL_ROOT_DIR_OVERRIDE"
            if key == MANIFEST_KEY
            else "AWS_JUMPSTART_SPECS_LOCAL_ROOT_DIR_OVERRIDE"
        )
        root = os.environ.get(variable)
        if not root:
            return None
        return json.loads((Path(root) / key).read_text("utf-8"))

    def _snapshot_warning(self, why: str) -> None:
        if not self._warned_snapshot:
            self._warned_snapshot = True
            date = snapshot_info().get("snapshot_date", "unknown")
            warnings.warn(
                f"JumpStart metadata for {self.region} unavailable ({why}); using personakit's "
                f"offline snapshot dated {date}. Image tags and versions may be out of date.",
                JumpStartWarning,
                stacklevel=4,
            )

    # -- manifest and specs

    def manifest(self) -> tuple[ManifestEntry, ...]:
        """Every (model id, version) header of the manifest."""
        if self._manifest is not None:
            return self._manifest[0]
        try:
            rows, source = self._fetch(self.content_bucket, MANIFEST_KEY)
            if not isinstance(rows, list):
                raise _Unavailable(f"{MANIFEST_KEY} is not a JSON list")
            entries = tuple(ManifestEntry.from_json(r) for r in rows if isinstance(r, Mapping))
        except (_Unavailable, _Missing) as exc:
            if not self.use_snapshot:
                raise CatalogUnavailableError(str(exc)) from exc
            self._snapshot_warning(str(exc))
            entries, source = snapshot_manifest(), "snapshot"
        self._manifest = (entries, source)
        return entries

    @property
    def manifest_source(self) -> Source:
        """Where the manifest came from: ``network``, ``cache``, ``snapshot`` or ``local``."""
        self.manifest()
        assert self._manifest is not None
        return self._manifest[1]

    def model_ids(self) -> list[str]:
        """Every model id in the manifest, sorted."""
        return sorted({e.model_id for e in self.manifest()})

    def versions(self, model_id: str) -> list[str]:
        """The versions of ``model_id``, oldest first."""
        return sorted(
            (e.version for e in self.manifest() if e.model_id == model_id), key=version_key
        )

    def entry(self, model_id: str, version: str | None = None) -> ManifestEntry:
        """The manifest header of ``model_id`` at ``version`` (see :func:`select_version`).

        Raises:
            ModelNotFoundError: Unknown model id (close matches suggested) or version.
        """
        entries = [e for e in self.manifest() if e.model_id == model_id]
        if not entries:
            ids = self.model_ids()
            close = difflib.get_close_matches(model_id, ids, n=5, cutoff=0.6)
            hint = f"; did you mean {', '.join(close)}?" if close else ""
            where = " (offline snapshot)" if self.manifest_source == "snapshot" else ""
            raise ModelNotFoundError(
                f"no JumpStart model {model_id!r} in {self.region}{where}{hint}",
                model_id=model_id,
                version=version,
                suggestions=close,
            )
        chosen = select_version([e.version for e in entries], version)
        if chosen is None:
            known = sorted((e.version for e in entries), key=version_key)
            shown = ", ".join(known[-10:])
            raise ModelNotFoundError(
                f"{model_id} has no version matching {version!r}; latest versions: {shown}",
                model_id=model_id,
                version=version,
                suggestions=known,
            )
        return next(e for e in entries if e.version == chosen)

    def spec(self, model_id: str, version: str | None = None) -> dict[str, Any]:
        """The spec document of ``model_id`` at ``version`` (latest when not given)."""
        return self._spec(model_id, version)[0]

    def _spec(self, model_id: str, version: str | None) -> tuple[dict[str, Any], Source]:
        entry = self.entry(model_id, version)
        if self.manifest_source == "snapshot":
            return snapshot_spec(entry), "snapshot"
        try:
            spec, source = self._fetch(self.content_bucket, entry.spec_key)
        except (_Unavailable, _Missing) as exc:
            fallback = self._snapshot_entry(entry.model_id, entry.version)
            if fallback is None or not self.use_snapshot:
                raise CatalogUnavailableError(str(exc)) from exc
            self._snapshot_warning(str(exc))
            return snapshot_spec(fallback), "snapshot"
        if not isinstance(spec, dict):
            raise CatalogUnavailableError(
                f"s3://{self.content_bucket}/{entry.spec_key} is not a JSON object"
            )
        return spec, source

    def _snapshot_entry(self, model_id: str, version: str) -> ManifestEntry | None:
        return next(
            (e for e in snapshot_manifest() if e.model_id == model_id and e.version == version),
            None,
        )

    def resolve(
        self,
        model_id: str,
        version: str | None = None,
        instance_type: str | None = None,
        *,
        accept_eula: bool = False,
        env: Mapping[str, str] | None = None,
        config_name: str | None = None,
        image_uri: str | None = None,
        payload_format: str | None = None,
    ) -> ResolvedModel:
        """Resolve ``model_id`` at ``version`` for ``instance_type`` (see :func:`resolve_spec`)."""
        spec, source = self._spec(model_id, version)
        return resolve_spec(
            spec,
            self.region,
            instance_type,
            accept_eula=accept_eula,
            env=env,
            config_name=config_name,
            image_uri=image_uri,
            payload_format=payload_format,
            content_bucket_name=self.content_bucket,
            gated_bucket_name=self.gated_bucket,
            source=source,
        )
