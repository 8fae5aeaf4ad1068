"""JumpStart spec resolution: one spec to ``CreateModel`` and ``CreateEndpointConfig`` inputs.

Pure (no I/O): :func:`resolve_spec` turns one spec into the exact requests
(:class:`ResolvedModel`), following the SageMaker Python SDK v2.257
(https://github.com/aws/sagemaker-python-sdk/tree/v2.257.6/src/sagemaker/jumpstart;
https://docs.aws.amazon.com/sagemaker/latest/dg/jumpstart-foundation-models-use-python-sdk-model-class.html)
in this order:

1. the inference config: ``config_name``, else the top of
   ``inference_config_rankings.overall``; its components are merged over the base spec;
2. the instance type: the spec's default, or the caller's; one that
   ``supported_inference_instance_types`` does not list is resolved all the same, as
   the SDK does (it checks the list only for specs with inference configs, and then
   only logs "Overriding instance type": ``_add_instance_type_to_kwargs`` in
   https://github.com/aws/sagemaker-python-sdk/blob/v2.257.6/src/sagemaker/jumpstart/factory/model.py),
   with an
   :class:`OutOfSpecInstanceWarning` naming the listed types
   (``ResolvedModel.in_spec`` is then ``False``);
3. the image: ``hosting_instance_type_variants.variants[<ml.type>]``, then
   ``[<family>]``, ``regional_properties.image_uri`` = ``$alias``, looked up in
   ``regional_aliases[<region>]``; with no image there the SDK raises ("No inference
   ECR configuration found ... Please try another instance type or region") and so
   does personakit (:class:`UnsupportedInstanceError`): the SDK has no default image
   (``_retrieve_image_uri`` in
   https://github.com/aws/sagemaker-python-sdk/blob/v2.257.6/src/sagemaker/jumpstart/artifacts/image_uris.py,
   ``_get_regional_property`` in
   https://github.com/aws/sagemaker-python-sdk/blob/v2.257.6/src/sagemaker/jumpstart/types.py);
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

The SDK's bucket overrides are honoured: ``AWS_JUMPSTART_CONTENT_BUCKET_OVERRIDE`` and
``AWS_JUMPSTART_GATED_CONTENT_BUCKET_OVERRIDE``.
"""

from __future__ import annotations

import copy
import logging
import os
import warnings
from collections.abc import Mapping, Sequence
from typing import Any, Literal

import attrs

from personakit.errors import ConfigurationError, EulaRequiredError, UnsupportedInstanceError
from personakit.llm.formats import detect_format

__all__ = [
    "JUMPSTART_CONFIG_TAG",
    "JUMPSTART_ID_TAG",
    "JUMPSTART_VERSION_TAG",
    "EulaRequiredError",
    "JumpStartWarning",
    "OutOfSpecInstanceWarning",
    "ResolvedModel",
    "UnsupportedInstanceError",
    "apply_inference_config",
    "content_bucket",
    "gated_bucket",
    "instance_family",
    "resolve_spec",
    "volume_size_supported",
]

logger = logging.getLogger(__name__)

#: The SageMaker SDK's JumpStart tags of a model (``enums.JumpStartTag``): the console
#: and ``CostGuard`` recognise them, and :meth:`LLMEndpoint.attach` reads the spec back.
JUMPSTART_ID_TAG = "sagemaker-sdk:jumpstart-model-id"
JUMPSTART_VERSION_TAG = "sagemaker-sdk:jumpstart-model-version"
JUMPSTART_CONFIG_TAG = "sagemaker-sdk:jumpstart-inference-config-name"

_SNAPSHOT = "snapshot"
_REQUIRED_FLAG = "required_for_model_class"
_DROPPED_WITHOUT_FLAG = frozenset({"SAGEMAKER_SUBMIT_DIRECTORY"})
#: Instance families that take no EBS volume (local NVMe): the SDK's
#: ``volume_size_supported`` (any family with a ``d``, and g5) plus g6, p5 and trn1
#: (https://github.com/aws/sagemaker-python-sdk/blob/v2.257.6/src/sagemaker/utils.py;
#: ``VolumeSizeInGB`` in
#: https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_ProductionVariant.html).
_NO_VOLUME_PREFIXES = ("g5", "g6", "p5", "trn1")
#: ``ProductionVariant`` timeouts: 60 to 3600 s
#: (https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_ProductionVariant.html).
_TIMEOUT_RANGE = (60, 3600)

# ------------------------------------------------------------------ errors and warnings


class JumpStartWarning(UserWarning):
    """A JumpStart spec says something the user should know: deprecated, vulnerable,
    or resolved from the offline snapshot."""


class OutOfSpecInstanceWarning(JumpStartWarning):
    """The instance type is not in the spec's ``supported_inference_instance_types``.

    personakit resolves and deploys it all the same, as the SageMaker Python SDK does
    (the image of the type's family variant); AWS has not validated the model on it.
    Silence it with ``warnings.filterwarnings("ignore", category=OutOfSpecInstanceWarning)``
    or turn it into an error with ``"error"``.
    """


# ------------------------------------------------------------------ buckets, instances


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
    (the SageMaker Python SDK's ``utils.volume_size_supported``; ``VolumeSizeInGB`` in
    https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_ProductionVariant.html).
    Others (``p3``, ``m5``, ``c5``, ``inf2``...) do.
    """
    family = instance_family(instance_type)
    if family.startswith("local") or "." not in instance_type:
        return False
    return "d" not in family and not family.startswith(_NO_VOLUME_PREFIXES)


# ------------------------------------------------------------------ resolution result


@attrs.frozen(kw_only=True)
class ResolvedModel:
    """Everything ``CreateModel`` and ``CreateEndpointConfig`` need for one JumpStart model.

    Built by :func:`resolve_spec` / :meth:`JumpStartCatalog.resolve`; pure data.
    :meth:`create_model_request` and :meth:`production_variant` give the request
    shapes of botocore's ``sagemaker`` service model. ``in_spec`` says whether the
    spec's ``supported_inference_instance_types`` lists ``instance_type`` (``True``
    when the spec lists none); ``image_variant`` is the ``variants`` key the image
    came from (``"ml.g5.12xlarge"``, a family such as ``"g6"``, or ``None`` for an
    ``image_uri`` the caller gave).
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
    in_spec: bool = True
    image_variant: str | None = None
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
            JUMPSTART_ID_TAG: self.model_id,
            JUMPSTART_VERSION_TAG: self.version,
        }
        if self.config_name:
            tags[JUMPSTART_CONFIG_TAG] = self.config_name
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


def _image_variant(entries: Mapping[str, Any], instance_type: str) -> str | None:
    """The ``variants`` key whose ``regional_properties.image_uri`` serves ``instance_type``:
    the type itself, else its family (the SDK's ``_get_regional_property``)."""
    for key in (instance_type, instance_family(instance_type)):
        entry = entries.get(key)
        props = entry.get("regional_properties") if isinstance(entry, Mapping) else None
        if isinstance(props, Mapping) and props.get("image_uri"):
            return key
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

    Warns:
        OutOfSpecInstanceWarning: The spec's ``supported_inference_instance_types``
            does not list the instance type; it is resolved all the same, as the SDK does.

    Raises:
        UnsupportedInstanceError: The spec has no image for the instance type (neither
            for the type nor for its family), or none in ``region``.
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
    in_spec = not supported or chosen in supported
    listed = (
        f"{chosen} is not in the spec's supported_inference_instance_types "
        f"({', '.join(supported)}; default {default})"
    )

    variants = _variants(spec)
    aliases, entries = variants if variants is not None else ({}, {})
    image_variant: str | None = None
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
        image_variant = _image_variant(entries, chosen)
        alias = _variant_property(entries, chosen, "regional_properties", "image_uri")
        if alias is None:
            families = sorted(
                k for k in entries if not k.startswith("ml.") and _image_variant(entries, k)
            )
            raise UnsupportedInstanceError(
                f"{label} has no image for {chosen} (families with images: "
                f"{', '.join(families) or 'none'}), so it cannot be deployed there; the "
                "sagemaker SDK refuses it too. Supported instance types: "
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
    if not in_spec:
        source_text = (
            f"the {image_variant} image variant ({image_uri})"
            if image_variant
            else f"the image you gave ({image_uri})"
        )
        warnings.warn(
            f"JumpStart model {model_id} {version}: {listed}. Deploying it anyway with "
            f"{source_text}, as the SageMaker Python SDK does; AWS has not validated the "
            "model on this type, so the container may not start (GPU memory, bf16, "
            "SM_NUM_GPUS). Pick a listed type to stay on the tested path "
            "(https://docs.aws.amazon.com/sagemaker/latest/dg/"
            "jumpstart-foundation-models-use-python-sdk-model-class.html).",
            OutOfSpecInstanceWarning,
            stacklevel=4,
        )

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
        in_spec=in_spec,
        image_variant=image_variant,
        gated=gated,
        accept_eula=accept_eula and gated,
        eula_url=eula_url,
        config_name=config,
        payload_format=fmt,
        source=source,
        spec=spec,
    )
