"""The packaged offline snapshot: present in the package, reproducible, resolvable."""

from __future__ import annotations

import json
import subprocess
import sys
from importlib import resources
from pathlib import Path

import pytest

from personakit.llm.jumpstart import JumpStartCatalog, snapshot_info
from personakit.llm.resolve import JumpStartWarning, resolve_spec

from .build_snapshot import DEFAULT_FIXTURES, build
from .test_resolve import assert_valid_requests

SNAPSHOT = resources.files("personakit.llm").joinpath("snapshot")


def test_snapshot_files_ship_inside_the_package() -> None:
    manifest = json.loads(SNAPSHOT.joinpath("manifest.json").read_text("utf-8"))
    info = snapshot_info()
    assert info["snapshot_date"] == "2026-07-31"
    assert {row["spec_key"] for row in manifest} == set(info["files"])
    for row in manifest:
        spec = json.loads(SNAPSHOT.joinpath(row["spec_key"]).read_text("utf-8"))
        assert (spec["model_id"], spec["version"]) == (row["model_id"], row["version"])
    assert SNAPSHOT.joinpath("README.md").is_file()
    ids = {row["model_id"] for row in manifest}
    for wanted in (
        "huggingface-llm-falcon-7b-bf16",
        "huggingface-llm-falcon-7b-instruct-bf16",
        "huggingface-textgeneration-gpt2",
        "huggingface-textgeneration-bloom-1b1",
        "huggingface-llm-mistral-7b-instruct",
        "meta-textgeneration-llama-3-8b-instruct",
        "huggingface-textembedding-all-MiniLM-L6-v2",
    ):
        assert wanted in ids


@pytest.mark.skipif(not DEFAULT_FIXTURES.exists(), reason="shared fixtures not checked out")
def test_snapshot_is_exactly_what_the_builder_makes_from_the_sources(tmp_path: Path) -> None:
    built = snapshot_info()["built"]
    build(DEFAULT_FIXTURES, tmp_path, built)
    made = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*.json"))
    shipped = Path(str(SNAPSHOT))
    assert made == sorted(p.relative_to(shipped) for p in shipped.rglob("*.json"))
    for path in made:
        assert (tmp_path / path).read_text("utf-8") == (shipped / path).read_text("utf-8"), path


def test_every_deployable_snapshot_spec_resolves_to_valid_requests() -> None:
    info = snapshot_info()
    for file, meta in info["files"].items():
        spec = json.loads(SNAPSHOT.joinpath(file).read_text("utf-8"))
        if meta["deployable_offline"]:
            assert_valid_requests(resolve_spec(spec, "us-east-1", source="snapshot"))
        else:
            with pytest.raises(ValueError, match="offline snapshot"):
                resolve_spec(spec, "us-east-1", accept_eula=True, source="snapshot")


def test_snapshot_never_invents_fields_the_cdk_drops() -> None:
    for file, meta in snapshot_info()["files"].items():
        spec = json.loads(SNAPSHOT.joinpath(file).read_text("utf-8"))
        if meta["fidelity"] == "cdk-projection":
            assert "deploy_kwargs" not in spec
            assert "inference_enable_network_isolation" not in spec
            assert all(
                "required_for_model_class" not in e for e in spec["inference_environment_variables"]
            )


def test_offline_catalog_resolves_the_lab_models(tmp_path: Path) -> None:
    catalog = JumpStartCatalog("us-east-1", offline=True, cache_dir=tmp_path)
    with pytest.warns(JumpStartWarning, match="snapshot"):
        falcon = catalog.resolve("huggingface-llm-falcon-7b-bf16")
    assert falcon.version == "4.1.23"
    gpt2 = catalog.resolve("huggingface-textgeneration-gpt2", instance_type="ml.g4dn.xlarge")
    assert gpt2.payload_format == "hf-text"
    bloom = catalog.resolve("huggingface-textgeneration-bloom-1b1", instance_type="ml.g4dn.4xlarge")
    assert bloom.image_uri.endswith("1.13.1-transformers4.26.0-gpu-py39-cu117-ubuntu20.04")
    assert bloom.volume_size_gb is None


def test_importing_personakit_llm_loads_neither_boto3_nor_the_sagemaker_sdk() -> None:
    code = (
        "import sys, personakit, personakit.llm; "
        "heavy = ('boto3', 'botocore', 'sagemaker', 'pandas'); "
        "print(','.join(m for m in heavy if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
