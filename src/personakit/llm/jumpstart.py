"""SageMaker JumpStart model resolution with plain boto3, no ``sagemaker`` SDK.

Two parts:

* :class:`JumpStartCatalog` reads ``models_manifest.json`` and the spec document
  its ``spec_key`` names from the public bucket ``jumpstart-cache-prod-<region>``
  (anonymous reads: an s3 client with ``botocore.UNSIGNED`` signing), caches both
  on disk and revalidates them by ETag (``GetObject`` with ``IfNoneMatch``: an
  unchanged document costs one ``304 Not Modified``, not a download). When the
  bucket cannot be reached it falls back to the stale cache, then to the dated
  snapshot that ships in this package (``personakit/llm/snapshot/``), with a
  :class:`JumpStartWarning`.
* :func:`resolve_spec` turns one spec into the exact ``CreateModel`` /
  ``CreateEndpointConfig`` inputs (:class:`ResolvedModel`), following the
  SageMaker Python SDK v2.257 (``shared/reference/jumpstart.md`` §1):

  1. the inference config: ``config_name``, else the top of
     ``inference_config_rankings.overall``; its components are merged over the base spec;
  2. the instance type: the spec's default, or the caller's, which must be in
     ``supported_inference_instance_types``;
  3. the image: ``hosting_instance_type_variants.variants[<ml.type>]``, then
     ``[<family>]``, ``regional_properties.image_uri`` = ``$alias``, looked up in
     ``regional_aliases[<region>]``;
  4. the environment: the spec's ``inference_environment_variables`` marked
     ``required_for_model_class`` (what the SDK's model class sends; specs from
     before that flag existed, where no entry carries it, send every entry but
     ``SAGEMAKER_SUBMIT_DIRECTORY``, as the AWS CDK does), then the family's and
     the instance type's ``environment_variables`` (``SM_NUM_GPUS`` ...), then the caller's;
  5. the model data: the prepacked artifact (instance-specific first), else the
     plain artifact; an S3 prefix (key ending in ``/``) becomes
     ``ModelDataSource {S3Prefix, CompressionType None}``, a tarball ``ModelDataUrl``;
  6. gated models (``gated_bucket`` or ``hosting_eula_key``): weights from
     ``jumpstart-private-cache-prod-<region>`` and ``ModelAccessConfig
     {"AcceptEula": true}`` only with ``accept_eula=True``; without it
     :class:`EulaRequiredError` gives the EULA's link;
  7. ``deploy_kwargs`` timeouts, ``inference_enable_network_isolation``, and
     ``inference_volume_size`` only on instance families that take an EBS volume;
  8. ``deprecated`` / ``deprecate_warn_message`` / ``inference_vulnerable`` become
     :class:`JumpStartWarning` warnings.

The environment variables of the SDK are honoured: ``AWS_JUMPSTART_CONTENT_BUCKET_OVERRIDE``,
``AWS_JUMPSTART_GATED_CONTENT_BUCKET_OVERRIDE``, ``AWS_JUMPSTART_MANIFEST_LOCAL_ROOT_DIR_OVERRIDE``
and ``AWS_JUMPSTART_SPECS_LOCAL_ROOT_DIR_OVERRIDE``; ``PERSONAKIT_JUMPSTART_OFFLINE=1``
makes every catalog offline (cache and snapshot only), ``PERSONAKIT_CACHE_DIR`` moves the cache.
"""

from __future__ import annotations

import copy
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

from personakit.errors import (
    CatalogUnavailableError,
    ConfigurationError,
    EulaRequiredError,
    ModelNotFoundError,
    UnsupportedInstanceError,
)
from personakit.llm.formats import detect_format

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

__all__ = [
    "MANIFEST_KEY",
    "CatalogUnavailableError",
    "EulaRequiredError",
    "JumpStartCatalog",
    "JumpStartWarning",
    "ManifestEntry",
    "ModelNotFoundError",
    "ResolvedModel",
    "Source",
    "UnsupportedInstanceError",
    "apply_inference_config",
    "content_bucket",
    "default_cache_dir",
    "gated_bucket",
    "instance_family",
    "resolve_spec",
    "select_version",
    "snapshot_info",
    "version_key",
    "volume_size_supported",
]

logger = logging.getLogger(__name__)

MANIFEST_KEY = "models_manifest.json"
"""Key of the open-weights manifest in the content bucket."""

#: Where a manifest or spec came from.
Source = Literal["network", "cache", "snapshot", "local"]

_TRUE = ("1", "true", "yes", "on")
_SNAPSHOT = "snapshot"
_REQUIRED_FLAG = "required_for_model_class"
_DROPPED_WITHOUT_FLAG = frozenset({"SAGEMAKER_SUBMIT_DIRECTORY"})
#: Instance families that take no EBS volume (local NVMe): the SDK's
#: ``volume_size_supported`` (any family with a ``d``, and g5) plus g6, p5 and trn1
#: (reference §2.1).
_NO_VOLUME_PREFIXES = ("g5", "g6", "p5", "trn1")
_TIMEOUT_RANGE = (60, 3600)  # ProductionVariant timeouts, botocore sagemaker service-2


# ------------------------------------------------------------------ errors and warnings


class JumpStartWarning(UserWarning):
    """A JumpStart spec says something the user should know: deprecated, vulnerable,
    or resolved from the offline snapshot."""


# ------------------------------------------------------------------ buckets, versions


def _env_flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in _TRUE


def content_bucket(region: str) -> str:
    """The public JumpStart bucket of ``region``.

    ``AWS_JUMPSTART_CONTENT_BUCKET_OVERRIDE`` wins, as in the SDK.
    """
    return (
        os.environ.get("AWS_JUMPSTART_CONTENT_BUCKET_OVERRIDE") or f"jumpstart-cache-prod-{region}"
    )


def gated_bucket(region: str) -> str:
    """The bucket of EULA-gated weights in ``region``.

    ``AWS_JUMPSTART_GATED_CONTENT_BUCKET_OVERRIDE`` wins, as in the SDK.
    """
    return (
        os.environ.get("AWS_JUMPSTART_GATED_CONTENT_BUCKET_OVERRIDE")
        or f"jumpstart-private-cache-prod-{region}"
    )


def _neo_bucket(region: str) -> str:
    return f"sagemaker-sd-models-prod-{region}"


def _domain(region: str) -> str:
    return "amazonaws.com.cn" if region.startswith("cn-") else "amazonaws.com"


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


def instance_family(instance_type: str) -> str:
    """``"ml.g5.2xlarge"`` -> ``"g5"``; ``"ml.p6-b200.48xlarge"`` -> ``"p6-b200"``."""
    parts = instance_type.split(".")
    if len(parts) == 3 and parts[0] == "ml":
        return parts[1]
    if len(parts) == 2:
        return parts[0]
    return instance_type


def volume_size_supported(instance_type: str) -> bool:
    """Whether ``VolumeSizeInGB`` may be sent for ``instance_type``.

    Instances with local NVMe storage take no EBS volume: every family with a
    ``d`` (``g4dn``, ``p4d``, ``c5d``...) and ``g5``, ``g6``, ``p5``, ``trn1``
    (SDK ``utils.volume_size_supported``; reference §2.1). Others (``p3``,
    ``m5``, ``c5``, ``inf2``...) do.
    """
    family = instance_family(instance_type)
    if family.startswith("local") or "." not in instance_type:
        return False
    return "d" not in family and not family.startswith(_NO_VOLUME_PREFIXES)


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


# ------------------------------------------------------------------ resolution result


@attrs.frozen(kw_only=True)
class ResolvedModel:
    """Everything ``CreateModel`` and ``CreateEndpointConfig`` need for one JumpStart model.

    Built by :func:`resolve_spec` / :meth:`JumpStartCatalog.resolve`; pure data.
    :meth:`create_model_request` and :meth:`production_variant` give the request
    shapes of botocore's ``sagemaker`` service model.
    """

    model_id: str
    version: str
    region: str
    instance_type: str
    image_uri: str
    environment: Mapping[str, str]
    model_data_url: str | None = None
    model_data_source: Mapping[str, Any] | None = None
    additional_model_data_sources: tuple[Mapping[str, Any], ...] = ()
    enable_network_isolation: bool = False
    volume_size_gb: int | None = None
    model_data_download_timeout_s: int | None = None
    container_startup_timeout_s: int | None = None
    default_instance_type: str | None = None
    supported_instance_types: tuple[str, ...] = ()
    gated: bool = False
    accept_eula: bool = False
    eula_url: str | None = None
    config_name: str | None = None
    payload_format: str = "tgi"
    source: str = "network"
    spec: Mapping[str, Any] = attrs.field(factory=dict, repr=False, eq=False)

    @property
    def task(self) -> Literal["embedding", "text-generation"]:
        """``"embedding"`` for embedding models, else ``"text-generation"``."""
        return "embedding" if self.payload_format == "embedding" else "text-generation"

    @property
    def alternatives(self) -> tuple[str, ...]:
        """The spec's other supported instance types (for quota and capacity errors)."""
        return tuple(t for t in self.supported_instance_types if t != self.instance_type)

    def container(self) -> dict[str, Any]:
        """``PrimaryContainer`` of ``CreateModel``."""
        container: dict[str, Any] = {"Image": self.image_uri, "Environment": dict(self.environment)}
        if self.model_data_source is not None:
            container["ModelDataSource"] = copy.deepcopy(dict(self.model_data_source))
        elif self.model_data_url is not None:
            container["ModelDataUrl"] = self.model_data_url
        if self.additional_model_data_sources:
            container["AdditionalModelDataSources"] = [
                copy.deepcopy(dict(s)) for s in self.additional_model_data_sources
            ]
        return container

    def create_model_request(
        self, model_name: str, role_arn: str, tags: Sequence[Mapping[str, object]] = ()
    ) -> dict[str, Any]:
        """The keyword arguments of ``sagemaker.create_model``."""
        request: dict[str, Any] = {
            "ModelName": model_name,
            "ExecutionRoleArn": role_arn,
            "PrimaryContainer": self.container(),
            "EnableNetworkIsolation": self.enable_network_isolation,
        }
        if tags:
            request["Tags"] = [dict(t) for t in tags]
        return request

    def production_variant(self, model_name: str, count: int = 1) -> dict[str, Any]:
        """One ``ProductionVariant`` (``AllTraffic``) of ``CreateEndpointConfig``."""
        variant: dict[str, Any] = {
            "VariantName": "AllTraffic",
            "ModelName": model_name,
            "InstanceType": self.instance_type,
            "InitialInstanceCount": count,
            "InitialVariantWeight": 1.0,
        }
        if self.model_data_download_timeout_s is not None:
            variant["ModelDataDownloadTimeoutInSeconds"] = self.model_data_download_timeout_s
        if self.container_startup_timeout_s is not None:
            variant["ContainerStartupHealthCheckTimeoutInSeconds"] = (
                self.container_startup_timeout_s
            )
        if self.volume_size_gb is not None:
            variant["VolumeSizeInGB"] = self.volume_size_gb
        return variant

    def jumpstart_tags(self) -> dict[str, str]:
        """The SDK's JumpStart tags (the console and CostGuard recognise them)."""
        tags = {
            "sagemaker-sdk:jumpstart-model-id": self.model_id,
            "sagemaker-sdk:jumpstart-model-version": self.version,
        }
        if self.config_name:
            tags["sagemaker-sdk:jumpstart-inference-config-name"] = self.config_name
        return tags


# ------------------------------------------------------------------ spec helpers


def _deep_merge(base: Mapping[str, Any], over: Mapping[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in over.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = _deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def apply_inference_config(
    spec: Mapping[str, Any], config_name: str | None = None
) -> tuple[dict[str, Any], str | None]:
    """The spec with its inference config's components merged in, and the config's name.

    Specs without ``inference_configs`` come back unchanged (name ``None``).
    Without ``config_name`` the top of ``inference_config_rankings.overall`` is used.
    """
    configs = spec.get("inference_configs")
    if not isinstance(configs, Mapping) or not configs:
        if config_name:
            raise ConfigurationError(
                f"{spec.get('model_id')} {spec.get('version')} has no inference configs; "
                f"drop config_name={config_name!r}"
            )
        return dict(spec), None
    if config_name is None:
        rankings = spec.get("inference_config_rankings")
        ranked: Sequence[str] = ()
        if isinstance(rankings, Mapping) and isinstance(rankings.get("overall"), Mapping):
            ranked = rankings["overall"].get("rankings") or ()
        config_name = next((n for n in ranked if n in configs), None) or next(iter(configs))
    if config_name not in configs:
        raise ConfigurationError(
            f"{spec.get('model_id')} {spec.get('version')} has no inference config "
            f"{config_name!r}; it has: {', '.join(configs)}"
        )
    config = configs[config_name] if isinstance(configs[config_name], Mapping) else {}
    components = spec.get("inference_config_components")
    components = components if isinstance(components, Mapping) else {}
    merged = {
        k: v
        for k, v in spec.items()
        if k
        not in ("inference_configs", "inference_config_components", "inference_config_rankings")
    }
    for component_name in config.get("component_names") or [config_name]:
        component = components.get(component_name)
        if isinstance(component, Mapping):
            merged = _deep_merge(merged, component)
    return merged, config_name


def _variants(spec: Mapping[str, Any]) -> tuple[Mapping[str, Any], Mapping[str, Any]] | None:
    variants = spec.get("hosting_instance_type_variants")
    if not isinstance(variants, Mapping):
        return None
    aliases = variants.get("regional_aliases")
    entries = variants.get("variants")
    return (
        aliases if isinstance(aliases, Mapping) else {},
        entries if isinstance(entries, Mapping) else {},
    )


def _variant_property(
    entries: Mapping[str, Any], instance_type: str, section: str, name: str
) -> Any:
    """``variants[<instance>][section][name]``, else ``variants[<family>][section][name]``."""
    for key in (instance_type, instance_family(instance_type)):
        entry = entries.get(key)
        if isinstance(entry, Mapping) and isinstance(entry.get(section), Mapping):
            value = entry[section].get(name)
            if value is not None:
                return value
    return None


def _family_then_instance_env(entries: Mapping[str, Any], instance_type: str) -> dict[str, str]:
    env: dict[str, str] = {}
    for key in (instance_family(instance_type), instance_type):
        entry = entries.get(key)
        props = entry.get("properties") if isinstance(entry, Mapping) else None
        values = props.get("environment_variables") if isinstance(props, Mapping) else None
        if isinstance(values, Mapping):
            env.update({str(k): str(v) for k, v in values.items()})
    return env


def _spec_env(spec: Mapping[str, Any]) -> dict[str, str]:
    entries = [
        e for e in spec.get("inference_environment_variables") or () if isinstance(e, Mapping)
    ]
    flagged = any(_REQUIRED_FLAG in e for e in entries)
    env: dict[str, str] = {}
    for entry in entries:
        name = str(entry.get("name", ""))
        if not name or entry.get("default") is None:
            continue
        if flagged and not entry.get(_REQUIRED_FLAG, False):
            continue
        if not flagged and name in _DROPPED_WITHOUT_FLAG:
            continue
        env[name] = str(entry["default"])
    return env


def _where(spec: Mapping[str, Any], source: str) -> str:
    label = f"{spec.get('model_id')} {spec.get('version')}"
    if source == _SNAPSHOT:
        return (
            f"{label} (from personakit's offline snapshot, which may lack fields; resolve online)"
        )
    return label


def _surface_warnings(spec: Mapping[str, Any], label: str) -> None:
    if spec.get("deprecated"):
        message = spec.get("deprecated_message") or "it is deprecated"
        warnings.warn(f"JumpStart model {label}: {message}", JumpStartWarning, stacklevel=4)
    elif spec.get("deprecate_warn_message"):
        warnings.warn(
            f"JumpStart model {label}: {spec['deprecate_warn_message']}",
            JumpStartWarning,
            stacklevel=4,
        )
    if spec.get("inference_vulnerable"):
        found = ", ".join(map(str, spec.get("inference_vulnerabilities") or ())) or "unnamed"
        warnings.warn(
            f"JumpStart model {label}: its inference dependencies have known vulnerabilities "
            f"({found}); prefer a newer version",
            JumpStartWarning,
            stacklevel=4,
        )
    if spec.get("usage_info_message"):
        logger.info("JumpStart model %s: %s", label, spec["usage_info_message"])


def _timeout(value: Any, name: str) -> int | None:
    if value is None:
        return None
    low, high = _TIMEOUT_RANGE
    seconds = int(value)
    if not low <= seconds <= high:
        clamped = min(max(seconds, low), high)
        logger.warning(
            "spec %s=%s is outside %s..%s; sending %s", name, seconds, low, high, clamped
        )
        return clamped
    return seconds


def _s3_source(uri: str, data_type: str, compression: str, accept_eula: bool) -> dict[str, Any]:
    source: dict[str, Any] = {
        "S3Uri": uri,
        "S3DataType": data_type,
        "CompressionType": compression,
    }
    if accept_eula:
        source["ModelAccessConfig"] = {"AcceptEula": True}
    return source


def _additional_sources(
    spec: Mapping[str, Any], region: str, buckets: tuple[str, str], accept_eula: bool, label: str
) -> tuple[dict[str, Any], ...]:
    groups = spec.get("hosting_additional_data_sources")
    if not isinstance(groups, Mapping):
        return ()
    found: list[dict[str, Any]] = []
    for entries in groups.values():
        for entry in entries or ():
            if not isinstance(entry, Mapping) or not isinstance(
                entry.get("s3_data_source"), Mapping
            ):
                continue
            data = entry["s3_data_source"]
            provider = entry.get("provider") if isinstance(entry.get("provider"), Mapping) else None
            is_jumpstart = provider is not None and provider.get("name") == "JumpStart"
            gated = (
                is_jumpstart and provider is not None and provider.get("classification") == "gated"
            )
            if gated and not accept_eula:
                raise EulaRequiredError(label, _eula_url(entry, region, buckets[0]))
            bucket = (buckets[1] if gated else buckets[0]) if is_jumpstart else _neo_bucket(region)
            key = str(data.get("s3_uri", ""))
            uri = key if key.startswith("s3://") else f"s3://{bucket}/{key}"
            found.append(
                {
                    "ChannelName": str(entry.get("channel_name", "draft_model")),
                    "S3DataSource": _s3_source(
                        uri,
                        str(data.get("s3_data_type", "S3Prefix")),
                        str(data.get("compression_type", "None")),
                        gated and accept_eula,
                    ),
                }
            )
    return tuple(found)


def _eula_url(spec: Mapping[str, Any], region: str, bucket: str) -> str | None:
    key = spec.get("hosting_eula_key")
    if not key:
        return None
    return f"https://{bucket}.s3.{region}.{_domain(region)}/{key}"


def resolve_spec(
    spec: Mapping[str, Any],
    region: str,
    instance_type: str | None = None,
    *,
    accept_eula: bool = False,
    env: Mapping[str, str] | None = None,
    config_name: str | None = None,
    image_uri: str | None = None,
    payload_format: str | None = None,
    content_bucket_name: str | None = None,
    gated_bucket_name: str | None = None,
    source: str = "network",
) -> ResolvedModel:
    """Resolve one JumpStart spec document for ``region`` (see the module docstring).

    Args:
        spec: The spec document (a parsed ``specs_v<version>.json``).
        region: The region the endpoint will run in (images and buckets are regional).
        instance_type: ``ml.*`` type; the spec's default when not given.
        accept_eula: Accept a gated model's EULA (sends ``ModelAccessConfig``).
        env: Your environment variables; they override the spec's.
        config_name: A named inference config (``"lmi"``, ``"lmi-optimized"``...);
            the spec's top-ranked one when not given.
        image_uri: Use this image instead of the spec's (needed for old specs
            without ``hosting_instance_type_variants``).
        payload_format: Force a payload format (see :func:`~personakit.llm.formats.detect_format`).
        content_bucket_name, gated_bucket_name: Bucket overrides.
        source: Where the spec came from, for messages.

    Raises:
        UnsupportedInstanceError: The instance type is not supported, or the spec
            has no image for it in ``region``.
        EulaRequiredError: The model is gated and ``accept_eula`` is not set.
        ConfigurationError: The spec lacks what a deployment needs.
    """
    spec, config = apply_inference_config(spec, config_name)
    model_id = str(spec.get("model_id", ""))
    version = str(spec.get("version", ""))
    label = _where(spec, source)
    _surface_warnings(spec, f"{model_id} {version}")
    public = content_bucket_name or content_bucket(region)
    private = gated_bucket_name or gated_bucket(region)

    supported = tuple(str(t) for t in spec.get("supported_inference_instance_types") or ())
    default = spec.get("default_inference_instance_type")
    chosen = instance_type or (str(default) if default else None)
    if chosen is None:
        raise UnsupportedInstanceError(
            f"{label} names no default instance type; pass instance_type=...", supported=supported
        )
    if supported and chosen not in supported:
        raise UnsupportedInstanceError(
            f"{label} does not support {chosen}. Default instance type: {default}. "
            f"Supported instance types: {', '.join(supported)}.",
            supported=supported,
        )

    variants = _variants(spec)
    aliases, entries = variants if variants is not None else ({}, {})
    if image_uri is None:
        if variants is None and source == _SNAPSHOT:
            raise UnsupportedInstanceError(
                f"{label}: the snapshot has no images for this model; resolve it online, "
                "or pass image_uri=...",
                supported=supported,
            )
        if variants is None:
            raise UnsupportedInstanceError(
                f"{label} predates per-instance images (its spec has no "
                "hosting_instance_type_variants), so no image can be read from it; the "
                "sagemaker SDK cannot resolve it either. Pick a newer version, or pass "
                "image_uri=... yourself.",
                supported=supported,
            )
        alias = _variant_property(entries, chosen, "regional_properties", "image_uri")
        if alias is None:
            families = sorted(k for k in entries if not k.startswith("ml."))
            raise UnsupportedInstanceError(
                f"{label} has no image for {chosen} (families with images: "
                f"{', '.join(families) or 'none'}). Supported instance types: "
                f"{', '.join(supported) or 'not listed'}.",
                supported=supported,
            )
        alias = str(alias)
        if alias.startswith("$"):
            region_aliases = aliases.get(region)
            if not isinstance(region_aliases, Mapping):
                raise UnsupportedInstanceError(
                    f"{label} is not offered in {region}; regions with images: "
                    f"{', '.join(sorted(aliases)) or 'none'}",
                    supported=supported,
                )
            resolved_image = region_aliases.get(alias[1:])
            if resolved_image is None:
                raise UnsupportedInstanceError(
                    f"{label} has no image for {chosen} in {region} (alias {alias} is "
                    "missing there); try another instance family or region",
                    supported=supported,
                )
            image_uri = str(resolved_image)
        else:
            image_uri = alias

    environment = _spec_env(spec)
    environment.update(_family_then_instance_env(entries, chosen))
    environment.update({str(k): str(v) for k, v in (env or {}).items()})

    gated = bool(spec.get("gated_bucket")) or spec.get("hosting_eula_key") is not None
    eula_url = _eula_url(spec, region, public)
    if gated and not accept_eula:
        raise EulaRequiredError(model_id, eula_url)
    bucket = private if spec.get("gated_bucket") else public

    prepacked = _variant_property(entries, chosen, "properties", "prepacked_artifact_key")
    prepacked = prepacked or spec.get("hosting_prepacked_artifact_key")
    if prepacked:
        key = str(prepacked)
    else:
        if spec.get("hosting_use_script_uri") and spec.get("hosting_script_key"):
            raise ConfigurationError(
                f"{label} has no prepacked artifact: its inference script must be repacked "
                "into the weights (the sagemaker SDK's repack step, into your own bucket), "
                "which personakit does not do. Pick a version with a prepacked artifact."
            )
        artifact = _variant_property(entries, chosen, "properties", "artifact_key")
        artifact = artifact or spec.get("hosting_artifact_key")
        if not artifact:
            raise ConfigurationError(f"{label} names no model artifact (hosting_artifact_key)")
        key = str(artifact)
    uri = key if key.startswith("s3://") else f"s3://{bucket}/{key}"
    model_data_url: str | None = None
    model_data_source: dict[str, Any] | None = None
    if uri.endswith("/"):
        model_data_source = {
            "S3DataSource": _s3_source(uri, "S3Prefix", "None", gated and accept_eula)
        }
    else:
        model_data_url = uri

    raw_kwargs = spec.get("deploy_kwargs")
    deploy_kwargs: Mapping[str, Any] = raw_kwargs if isinstance(raw_kwargs, Mapping) else {}
    volume = spec.get("inference_volume_size")
    volume_gb = int(volume) if volume is not None and volume_size_supported(chosen) else None
    if volume is not None and volume_gb is None:
        logger.debug("%s: no VolumeSizeInGB on %s (local NVMe storage)", label, chosen)

    fmt = payload_format or detect_format(spec, image_uri, model_id)
    return ResolvedModel(
        model_id=model_id,
        version=version,
        region=region,
        instance_type=chosen,
        image_uri=image_uri,
        environment=environment,
        model_data_url=model_data_url,
        model_data_source=model_data_source,
        additional_model_data_sources=_additional_sources(
            spec, region, (public, private), accept_eula, model_id
        ),
        enable_network_isolation=bool(spec.get("inference_enable_network_isolation", False)),
        volume_size_gb=volume_gb,
        model_data_download_timeout_s=_timeout(
            deploy_kwargs.get("model_data_download_timeout"), "model_data_download_timeout"
        ),
        container_startup_timeout_s=_timeout(
            deploy_kwargs.get("container_startup_health_check_timeout"),
            "container_startup_health_check_timeout",
        ),
        default_instance_type=str(default) if default else None,
        supported_instance_types=supported,
        gated=gated,
        accept_eula=accept_eula and gated,
        eula_url=eula_url,
        config_name=config,
        payload_format=fmt,
        source=source,
        spec=spec,
    )


# ------------------------------------------------------------------ snapshot


def _snapshot_root() -> Any:
    return resources.files("personakit.llm").joinpath(_SNAPSHOT)


def snapshot_info() -> dict[str, Any]:
    """The snapshot's ``metadata.json``: its date, sources and per-file fidelity."""
    data: dict[str, Any] = json.loads(_snapshot_root().joinpath("metadata.json").read_text("utf-8"))
    return data


def _snapshot_manifest() -> tuple[ManifestEntry, ...]:
    rows = json.loads(_snapshot_root().joinpath("manifest.json").read_text("utf-8"))
    return tuple(ManifestEntry.from_json(r) for r in rows)


def _snapshot_spec(entry: ManifestEntry) -> dict[str, Any]:
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

            from personakit.aws.session import USER_AGENT

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
            entries, source = _snapshot_manifest(), "snapshot"
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
            return _snapshot_spec(entry), "snapshot"
        try:
            spec, source = self._fetch(self.content_bucket, entry.spec_key)
        except (_Unavailable, _Missing) as exc:
            fallback = self._snapshot_entry(entry.model_id, entry.version)
            if fallback is None or not self.use_snapshot:
                raise CatalogUnavailableError(str(exc)) from exc
            self._snapshot_warning(str(exc))
            return _snapshot_spec(fallback), "snapshot"
        if not isinstance(spec, dict):
            raise CatalogUnavailableError(
                f"s3://{self.content_bucket}/{entry.spec_key} is not a JSON object"
            )
        return spec, source

    def _snapshot_entry(self, model_id: str, version: str) -> ManifestEntry | None:
        return next(
            (e for e in _snapshot_manifest() if e.model_id == model_id and e.version == version),
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
