"""Spec resolution (no I/O): what CreateModel / CreateEndpointConfig get for real specs."""

from __future__ import annotations

import warnings

import botocore.session
import pytest
from botocore.validate import validate_parameters

from personakit.llm.jumpstart import select_version, version_key
from personakit.llm.resolve import (
    EulaRequiredError,
    JumpStartWarning,
    OutOfSpecInstanceWarning,
    ResolvedModel,
    UnsupportedInstanceError,
    resolve_spec,
    volume_size_supported,
)

from .conftest import REGION, ROLE, load_spec, patched

SAGEMAKER = botocore.session.get_session().get_service_model("sagemaker")
GEMMA = "huggingface-llm-gemma-2b-instruct@1.1.0"
LLAMA = "meta-textgeneration-llama-3-1-70b@2.16.2"
GPT_OSS = "openai-reasoning-gpt-oss-20b@3.38.0"
FALCON_NEW = "huggingface-llm-falcon-7b-bf16@4.1.23"
FALCON_OLD = "huggingface-llm-falcon-7b-bf16@1.0.0"


def assert_valid_requests(model: ResolvedModel) -> None:
    """The requests pass botocore's own validation of the sagemaker service model."""
    request = model.create_model_request("m", ROLE, [{"Key": "personakit:run", "Value": "r"}])
    validate_parameters(request, SAGEMAKER.operation_model("CreateModel").input_shape)
    config = {"EndpointConfigName": "c", "ProductionVariants": [model.production_variant("m")]}
    validate_parameters(config, SAGEMAKER.operation_model("CreateEndpointConfig").input_shape)


# ------------------------------------------------------------------ versions


@pytest.mark.parametrize(
    ("wanted", "expected"),
    [
        (None, "2.0.0"),
        ("*", "2.0.0"),
        ("1.*", "1.10.0"),
        ("1.9.*", "1.9.3"),
        ("1.9.3", "1.9.3"),
        ("2.0", "2.0.0"),
        ("3.*", None),
        ("1.2.3", None),
    ],
)
def test_select_version_orders_numerically_and_takes_wildcards(
    wanted: str | None, expected: str | None
) -> None:
    versions = ["1.9.3", "1.10.0", "2.0.0", "1.2.0", "1.9.0"]
    assert select_version(versions, wanted) == expected


def test_version_key_ignores_trailing_zeros() -> None:
    assert version_key("1.0") == version_key("1.0.0")
    assert version_key("4.1.23") > version_key("4.1.9")


# ------------------------------------------------------------------ gated models


def test_gated_model_refuses_without_accept_eula_and_gives_the_eula_link() -> None:
    with pytest.raises(EulaRequiredError) as info:
        resolve_spec(load_spec(GEMMA), REGION)
    assert info.value.eula_url == (
        "https://jumpstart-cache-prod-us-east-1.s3.us-east-1.amazonaws.com/"
        "fmhMetadata/terms/gemmaTerms.txt"
    )
    assert info.value.eula_url in str(info.value)
    assert "accept_eula=True" in str(info.value)


def test_gated_model_with_accept_eula_reads_the_private_bucket_and_accepts() -> None:
    model = resolve_spec(load_spec(GEMMA), REGION, accept_eula=True)
    assert model.model_data_source == {
        "S3DataSource": {
            "S3Uri": "s3://jumpstart-private-cache-prod-us-east-1/huggingface-llm/"
            "huggingface-llm-gemma-2b-instruct/artifacts/inference-prepack/v1.0.0/",
            "S3DataType": "S3Prefix",
            "CompressionType": "None",
            "ModelAccessConfig": {"AcceptEula": True},
        }
    }
    assert model.model_data_url is None
    assert model.enable_network_isolation is True
    assert_valid_requests(model)


def test_ungated_prefix_model_sends_no_model_access_config() -> None:
    model = resolve_spec(load_spec("huggingface-text2text-flan-t5-base@2.2.3"), REGION)
    source = model.container()["ModelDataSource"]["S3DataSource"]
    assert source["S3Uri"].startswith("s3://jumpstart-cache-prod-us-east-1/")
    assert "ModelAccessConfig" not in source


# ------------------------------------------------------------------ environment


@pytest.mark.parametrize(
    ("instance", "gpus"),
    [("ml.g5.2xlarge", "1"), ("ml.g5.12xlarge", "4"), ("ml.g5.48xlarge", "8")],
)
def test_multi_gpu_instances_get_sm_num_gpus_from_the_instance_variants(
    instance: str, gpus: str
) -> None:
    model = resolve_spec(load_spec(GEMMA), REGION, instance, accept_eula=True)
    assert model.environment["SM_NUM_GPUS"] == gpus
    assert model.instance_type == instance


def test_environment_sends_only_entries_required_for_the_model_class() -> None:
    model = resolve_spec(load_spec(GEMMA), REGION, accept_eula=True)
    env = model.environment
    assert env["SAGEMAKER_PROGRAM"] == "inference.py"
    assert env["HF_MODEL_ID"] == "/opt/ml/model"
    assert env["ENDPOINT_SERVER_TIMEOUT"] == "3600"  # int default sent as text
    for not_required in (
        "SAGEMAKER_SUBMIT_DIRECTORY",
        "SAGEMAKER_CONTAINER_LOG_LEVEL",
        "SAGEMAKER_MODEL_SERVER_TIMEOUT",
    ):
        assert not_required not in env
    assert all(isinstance(v, str) for v in env.values())


def test_user_environment_wins_over_spec_and_instance_values() -> None:
    model = resolve_spec(
        load_spec(GEMMA),
        REGION,
        "ml.g5.12xlarge",
        accept_eula=True,
        env={"SM_NUM_GPUS": "2", "MAX_TOTAL_TOKENS": "4096"},
    )
    assert model.environment["SM_NUM_GPUS"] == "2"
    assert model.environment["MAX_TOTAL_TOKENS"] == "4096"


def test_spec_without_required_flags_sends_all_but_the_submit_directory() -> None:
    spec = load_spec("huggingface-text2text-flan-t5-xxl-fp16@1.0.0")
    model = resolve_spec(spec, REGION, image_uri="my-image:1")
    assert set(model.environment) == {
        "SAGEMAKER_PROGRAM",
        "SAGEMAKER_CONTAINER_LOG_LEVEL",
        "MODEL_CACHE_ROOT",
        "SAGEMAKER_ENV",
        "SAGEMAKER_MODEL_SERVER_WORKERS",
        "SAGEMAKER_MODEL_SERVER_TIMEOUT",
    }


# ------------------------------------------------------------------ images and families


def test_cpu_only_embedding_model_gets_the_cpu_image_on_cpu_instances() -> None:
    spec = load_spec("huggingface-sentencesimilarity-all-MiniLM-L6-v2@2.1.21")
    cpu = resolve_spec(spec, REGION, "ml.c6i.xlarge")
    gpu = resolve_spec(spec, REGION, "ml.g5.2xlarge")
    assert cpu.image_uri == (
        "763104351884.dkr.ecr.us-east-1.amazonaws.com/huggingface-pytorch-inference:"
        "1.13.1-transformers4.26.0-cpu-py39-ubuntu20.04"
    )
    assert "-gpu-" in gpu.image_uri
    assert cpu.payload_format == "embedding"
    assert cpu.task == "embedding"


def test_images_are_regional() -> None:
    spec = load_spec("huggingface-spc-bert-base-cased@2.0.3")
    seoul = resolve_spec(spec, "ap-northeast-2", "ml.m5.large")
    assert seoul.image_uri.startswith("763104351884.dkr.ecr.ap-northeast-2.amazonaws.com/")
    assert "-cpu-" in seoul.image_uri
    assert seoul.model_data_source is not None
    assert "jumpstart-cache-prod-ap-northeast-2" in seoul.model_data_source["S3DataSource"]["S3Uri"]


def test_a_region_without_the_images_alias_is_refused() -> None:
    spec = patched(
        load_spec("pytorch-ic-mobilenet-v2@3.0.25"), supported_inference_instance_types=None
    )
    assert resolve_spec(spec, REGION, "ml.trn1.2xlarge").image_uri
    with pytest.raises(UnsupportedInstanceError, match="ap-northeast-2"):
        resolve_spec(spec, "ap-northeast-2", "ml.trn1.2xlarge")


def test_an_unlisted_instance_type_resolves_as_the_sdk_does_with_a_warning() -> None:
    # falcon-7b lists only g5.2xl-16xl, but its variants have a g6 family image: the SDK
    # takes variants["ml.g6.xlarge"], else variants["g6"], and deploys; so does personakit
    spec = load_spec(FALCON_NEW)
    with pytest.warns(OutOfSpecInstanceWarning) as caught:
        model = resolve_spec(spec, REGION, "ml.g6.xlarge")
    assert isinstance(caught[0].message, JumpStartWarning)
    message = str(caught[0].message)
    assert "ml.g6.xlarge is not in the spec's supported_inference_instance_types" in message
    assert "ml.g5.2xlarge, ml.g5.4xlarge, ml.g5.8xlarge, ml.g5.16xlarge" in message
    assert "g6 image variant" in message
    g6_alias = spec["hosting_instance_type_variants"]["variants"]["g6"]["regional_properties"]
    aliases = spec["hosting_instance_type_variants"]["regional_aliases"][REGION]
    assert model.image_uri == aliases[g6_alias["image_uri"][1:]]
    assert (model.in_spec, model.image_variant, model.instance_type) == (
        False,
        "g6",
        "ml.g6.xlarge",
    )
    assert model.supported_instance_types == (
        "ml.g5.2xlarge",
        "ml.g5.4xlarge",
        "ml.g5.8xlarge",
        "ml.g5.16xlarge",
    )
    assert model.production_variant("m")["InstanceType"] == "ml.g6.xlarge"
    assert_valid_requests(model)


def test_an_instance_variant_wins_over_its_family_for_image_and_environment() -> None:
    spec = patched(load_spec(FALCON_NEW))
    variants = spec["hosting_instance_type_variants"]["variants"]
    variants["ml.g6.12xlarge"] = {
        "regional_properties": {"image_uri": "$gpu_ecr_uri_1"},
        "properties": {"environment_variables": {"SM_NUM_GPUS": "4"}},
    }
    with pytest.warns(OutOfSpecInstanceWarning):
        model = resolve_spec(spec, REGION, "ml.g6.12xlarge")
    assert model.image_variant == "ml.g6.12xlarge"
    assert model.environment["SM_NUM_GPUS"] == "4"


def test_a_listed_instance_type_resolves_without_the_warning() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error", OutOfSpecInstanceWarning)
        model = resolve_spec(load_spec(FALCON_NEW), REGION, "ml.g5.4xlarge")
    assert (model.in_spec, model.image_variant) == (True, "g5")


def test_an_unlisted_type_without_an_image_is_refused_as_the_sdk_does() -> None:
    # no m5 variant (neither ml.m5.xlarge nor m5): the SDK raises "No inference ECR
    # configuration found"; personakit names the families that have images
    with pytest.raises(UnsupportedInstanceError) as info:
        resolve_spec(load_spec(FALCON_NEW), REGION, "ml.m5.xlarge")
    assert info.value.supported == (
        "ml.g5.2xlarge",
        "ml.g5.4xlarge",
        "ml.g5.8xlarge",
        "ml.g5.16xlarge",
    )
    text = str(info.value)
    assert "no image for ml.m5.xlarge" in text
    assert "g6" in text
    assert "local_gpu" in text
    assert "ml.g5.2xlarge" in text


def test_default_instance_type_is_the_specs() -> None:
    assert resolve_spec(load_spec(FALCON_NEW), REGION).instance_type == "ml.g5.2xlarge"
    assert resolve_spec(
        load_spec("huggingface-textgeneration-gpt2@1.5.0"), REGION
    ).instance_type == ("ml.p3.2xlarge")


# ------------------------------------------------------------------ old and new major versions


def test_new_major_version_serves_an_s3_prefix_with_tgi() -> None:
    model = resolve_spec(load_spec(FALCON_NEW), REGION)
    assert model.image_uri.endswith(
        "huggingface-pytorch-tgi-inference:2.1.1-tgi1.4.0-gpu-py310-cu121-ubuntu20.04"
    )
    assert model.model_data_source is not None
    assert model.model_data_source["S3DataSource"]["S3DataType"] == "S3Prefix"
    assert model.model_data_source["S3DataSource"]["CompressionType"] == "None"
    assert model.payload_format == "tgi"
    assert_valid_requests(model)


def test_old_major_version_without_variants_needs_an_image_and_serves_a_tarball() -> None:
    spec = load_spec(FALCON_OLD)
    with pytest.raises(UnsupportedInstanceError, match="image_uri"):
        resolve_spec(spec, REGION)
    model = resolve_spec(spec, REGION, image_uri="763104351884.dkr.ecr.us-east-1.amazonaws.com/x:1")
    assert model.model_data_url == (
        "s3://jumpstart-cache-prod-us-east-1/huggingface-infer/prepack/v1.0.0/"
        "infer-prepack-huggingface-llm-falcon-7b-bf16.tar.gz"
    )
    assert model.model_data_source is None
    assert "ModelDataUrl" in model.container()
    assert_valid_requests(model)


def test_old_hf_container_uses_the_text_inputs_format() -> None:
    model = resolve_spec(load_spec("huggingface-textgeneration-gpt2@1.5.0"), REGION)
    assert model.payload_format == "hf-text"
    assert model.model_data_url is not None
    assert model.model_data_url.endswith(".tar.gz")


# ------------------------------------------------------------------ deploy kwargs, volume


def test_deploy_kwargs_become_the_variant_timeouts() -> None:
    variant = resolve_spec(load_spec(GEMMA), REGION, accept_eula=True).production_variant("m", 2)
    assert variant["ModelDataDownloadTimeoutInSeconds"] == 1200
    assert variant["ContainerStartupHealthCheckTimeoutInSeconds"] == 1200
    assert variant["InitialInstanceCount"] == 2
    assert variant["VariantName"] == "AllTraffic"


@pytest.mark.parametrize(
    ("instance", "volume"),
    [("ml.p3.8xlarge", 256), ("ml.g5.12xlarge", None), ("ml.g4dn.12xlarge", None)],
)
def test_volume_size_only_where_the_family_takes_an_ebs_volume(
    instance: str, volume: int | None
) -> None:
    spec = load_spec("huggingface-text2text-flan-t5-xxl-fp16@1.1.2")
    model = resolve_spec(spec, REGION, instance)
    assert model.volume_size_gb == volume
    assert ("VolumeSizeInGB" in model.production_variant("m")) is (volume is not None)


@pytest.mark.parametrize(
    ("instance", "supported"),
    [
        ("ml.p3.2xlarge", True),
        ("ml.m5.xlarge", True),
        ("ml.inf2.xlarge", True),
        ("ml.g5.2xlarge", False),
        ("ml.g6.12xlarge", False),
        ("ml.g6e.xlarge", False),
        ("ml.p5.48xlarge", False),
        ("ml.trn1.32xlarge", False),
        ("ml.g4dn.xlarge", False),
        ("ml.p4d.24xlarge", False),
        ("ml.c5d.xlarge", False),
    ],
)
def test_volume_size_supported(instance: str, supported: bool) -> None:
    assert volume_size_supported(instance) is supported


# ------------------------------------------------------------------ inference configs


def test_top_ranked_inference_config_is_used_by_default() -> None:
    model = resolve_spec(load_spec(LLAMA), REGION, accept_eula=True)
    assert model.config_name == "lmi"
    assert model.image_uri.endswith("djl-inference:0.29.0-lmi11.0.0-cu124")
    assert model.instance_type == "ml.p4d.24xlarge"
    assert model.payload_format == "lmi"
    assert model.additional_model_data_sources == ()
    assert model.jumpstart_tags()["sagemaker-sdk:jumpstart-inference-config-name"] == "lmi"
    assert_valid_requests(model)


def test_named_config_adds_its_gated_draft_model_from_the_private_bucket() -> None:
    model = resolve_spec(load_spec(LLAMA), REGION, accept_eula=True, config_name="lmi-optimized")
    (draft,) = model.container()["AdditionalModelDataSources"]
    assert draft["ChannelName"] == "draft_model"
    assert draft["S3DataSource"]["S3Uri"].startswith("s3://jumpstart-private-cache-prod-us-east-1/")
    assert draft["S3DataSource"]["ModelAccessConfig"] == {"AcceptEula": True}
    assert_valid_requests(model)


def test_unknown_config_name_is_refused_with_the_known_ones() -> None:
    with pytest.raises(ValueError, match="lmi-optimized"):
        resolve_spec(load_spec(LLAMA), REGION, accept_eula=True, config_name="nope")


def test_config_ranking_and_instance_family_pick_vllm_and_the_messages_format() -> None:
    spec = load_spec(GPT_OSS)
    on_g6 = resolve_spec(spec, REGION, "ml.g6.12xlarge")
    assert on_g6.config_name == "lmi-optimized"
    assert "/vllm:" in on_g6.image_uri
    assert on_g6.payload_format == "messages"
    (eagle,) = on_g6.additional_model_data_sources
    assert eagle["S3DataSource"]["S3Uri"].startswith("s3://jumpstart-cache-prod-us-east-1/")
    assert "ModelAccessConfig" not in eagle["S3DataSource"]
    on_g5 = resolve_spec(spec, REGION, "ml.g5.12xlarge")
    assert "djl-inference" in on_g5.image_uri
    assert on_g5.payload_format == "messages"  # the spec's sample requests are chat bodies


# ------------------------------------------------------------------ warnings


def test_deprecated_and_vulnerable_specs_warn() -> None:
    spec = patched(
        load_spec(FALCON_NEW),
        deprecated=True,
        deprecated_message="use falcon-7b-instruct instead",
        inference_vulnerable=True,
        inference_vulnerabilities=["CVE-2024-0001"],
    )
    with pytest.warns(JumpStartWarning) as record:
        resolve_spec(spec, REGION)
    messages = [str(w.message) for w in record]
    assert any("use falcon-7b-instruct instead" in m for m in messages)
    assert any("CVE-2024-0001" in m for m in messages)


def test_soon_deprecated_spec_warns_with_its_message() -> None:
    spec = patched(load_spec(FALCON_NEW), deprecate_warn_message="going away in 2027")
    with pytest.warns(JumpStartWarning, match="going away in 2027"):
        resolve_spec(spec, REGION)


def test_a_current_spec_does_not_warn(recwarn: pytest.WarningsRecorder) -> None:
    resolve_spec(load_spec(FALCON_NEW), REGION)
    assert not [w for w in recwarn if issubclass(w.category, JumpStartWarning)]
