"""Build personakit's offline JumpStart snapshot (``src/personakit/llm/snapshot/``).

Sources, and nothing else (a field no source gives is left out, never invented):

* the AWS CDK's records of real us-east-1 specs (``shared/fixtures/jumpstart/cdk_records/``,
  awslabs/generative-ai-cdk-constructs @ 9d49b9d, data of 2026-07-31), converted
  field by field back to the spec format;
* the real-spec table of ``shared/reference/jumpstart.md`` §1.7 (the same CDK
  extraction), for models without a CDK record in the fixtures: typed in below,
  value by value.

Run from the repository root::

    .venv/bin/python tests/llm/build_snapshot.py [--fixtures ../shared/fixtures/jumpstart]

``tests/llm/test_snapshot.py`` rebuilds into a temporary directory and checks the
packaged files are what this script makes.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_FIXTURES = ROOT.parent / "shared" / "fixtures" / "jumpstart"
DEFAULT_OUT = ROOT / "src" / "personakit" / "llm" / "snapshot"

SNAPSHOT_DATE = "2026-07-31"
CDK = (
    "https://github.com/awslabs/generative-ai-cdk-constructs/blob/"
    "9d49b9d3261598abaffec56914062ab3fa99214a/src/patterns/gen-ai/"
    "aws-model-deployment-sagemaker/jumpstart-models.json (regenerated in "
    "f162fdac571a964da2011aa5ff5dddb05ea15fe5 from the public us-east-1 bucket)"
)
#: What the packaged metadata says of the specs typed in from a table of the same CDK
#: extraction (the shipped package cites public sources only).
CDK_TABLE = (
    "the same AWS CDK extraction of the us-east-1 bucket, values typed in from a table "
    f"of it ({CDK.split(' ', 1)[0]})"
)

CDK_RECORDS = [
    "huggingface-llm-falcon-7b-bf16@4.1.23.json",
    "huggingface-llm-falcon-7b-bf16@1.0.0.json",
    "huggingface-textgeneration-gpt2@1.5.0.json",
    "huggingface-textgeneration-bloom-1b1@1.3.0.json",
    "huggingface-textembedding-all-MiniLM-L6-v2@1.0.0.json",
    "huggingface-sentencesimilarity-all-MiniLM-L6-v2@2.1.21.json",
]
#: Fields the CDK generator drops (fixtures README): absent here, so their defaults apply.
CDK_DROPPED = [
    "required_for_model_class",
    "hosting_use_script_uri",
    "inference_enable_network_isolation",
    "variant artifact keys",
    "deploy_kwargs",
]

US_EAST_1 = "763104351884.dkr.ecr.us-east-1.amazonaws.com"  # reference §1.5
TGI = f"{US_EAST_1}/huggingface-pytorch-tgi-inference"
FALCON_ENV = {  # reference §1.7, falcon-7b-bf16 row ("same as above" for -instruct)
    "HF_MODEL_ID": "/opt/ml/model",
    "SM_NUM_GPUS": "1",
    "MAX_INPUT_LENGTH": "1024",
    "MAX_TOTAL_TOKENS": "2048",
    "SAGEMAKER_PROGRAM": "inference.py",
    "SAGEMAKER_SUBMIT_DIRECTORY": "/opt/ml/model/code",
    "SAGEMAKER_CONTAINER_LOG_LEVEL": "20",
    "SAGEMAKER_MODEL_SERVER_TIMEOUT": "3600",
    "ENDPOINT_SERVER_TIMEOUT": "3600",
    "MODEL_CACHE_ROOT": "/opt/ml/model",
    "SAGEMAKER_ENV": "1",
    "SAGEMAKER_MODEL_SERVER_WORKERS": "1",
}
FALCON_GPUS = {  # reference §1.7: g4dn.12xl/g5.12xl/g5.24xl -> 4; g5.48xl/p4d/p4de -> 8
    "ml.g4dn.12xlarge": "4",
    "ml.g5.12xlarge": "4",
    "ml.g5.24xlarge": "4",
    "ml.g5.48xlarge": "8",
    "ml.p4d.24xlarge": "8",
    "ml.p4de.24xlarge": "8",
}


def _env_list(env: Mapping[str, Any]) -> list[dict[str, Any]]:
    return [{"name": name, "default": value} for name, value in env.items()]


def _gpu_variants(alias: str, families: list[str], gpus: Mapping[str, str]) -> dict[str, Any]:
    variants: dict[str, Any] = {
        family: {"regional_properties": {"image_uri": f"${alias}"}} for family in families
    }
    for instance, count in gpus.items():
        variants[instance] = {"properties": {"environment_variables": {"SM_NUM_GPUS": count}}}
    return variants


def from_cdk(record: Mapping[str, Any]) -> dict[str, Any]:
    """A CDK record, written back in the spec format (only the fields it has)."""
    spec: dict[str, Any] = {
        "model_id": record["modelId"],
        "version": record["version"],
        "default_inference_instance_type": record["defaultInstanceType"],
        "supported_inference_instance_types": list(record["instanceTypes"]),
    }
    if record.get("prepackedArtifactKey"):
        spec["hosting_prepacked_artifact_key"] = record["prepackedArtifactKey"]
    if record.get("artifactKey"):
        spec["hosting_artifact_key"] = record["artifactKey"]
    if record.get("gatedBucket"):
        spec["gated_bucket"] = True
    if record.get("requiresEula"):
        spec["hosting_eula_key"] = record["requiresEula"]
    spec["inference_environment_variables"] = _env_list(record.get("environment") or {})
    if "instanceAliases" in record or "instanceVariants" in record:
        aliases = {row["region"]: dict(row["aliases"]) for row in record.get("instanceAliases", [])}
        variants: dict[str, Any] = {}
        for row in record.get("instanceVariants", []):
            entry: dict[str, Any] = {}
            if row.get("imageUri"):
                entry["regional_properties"] = {"image_uri": row["imageUri"]}
            if row.get("environment"):
                entry["properties"] = {"environment_variables": dict(row["environment"])}
            variants[row["instanceType"]] = entry
        spec["hosting_instance_type_variants"] = {
            "regional_aliases": aliases,
            "variants": variants,
        }
    return spec


def from_reference() -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """The §1.7 rows without a CDK record in the fixtures: (spec, provenance)."""
    rows: list[tuple[dict[str, Any], dict[str, Any]]] = []
    falcon_instruct = {
        "model_id": "huggingface-llm-falcon-7b-instruct-bf16",
        "version": "4.6.16",
        "default_inference_instance_type": "ml.g5.2xlarge",
        "supported_inference_instance_types": [  # "same 4 g5" as falcon-7b-bf16 4.1.23
            "ml.g5.2xlarge",
            "ml.g5.4xlarge",
            "ml.g5.8xlarge",
            "ml.g5.16xlarge",
        ],
        "inference_environment_variables": _env_list(FALCON_ENV),
        "hosting_instance_type_variants": {
            "regional_aliases": {
                "us-east-1": {"gpu_ecr_uri_1": f"{TGI}:2.4.0-tgi2.4.0-gpu-py311-cu124-ubuntu22.04"}
            },
            "variants": _gpu_variants("gpu_ecr_uri_1", ["g5"], FALCON_GPUS),
        },
    }
    rows.append(
        (
            falcon_instruct,
            {
                "missing": ["hosting_prepacked_artifact_key", "hosting_artifact_key"],
                "notes": "image for us-east-1 and the g5 family only; alias name is personakit's",
            },
        )
    )
    mistral_v3 = {
        "model_id": "huggingface-llm-mistral-7b-instruct-v3",
        "version": "1.1.21",
        "default_inference_instance_type": "ml.g5.12xlarge",
        "inference_environment_variables": _env_list(
            {
                "MAX_INPUT_LENGTH": "8191",
                "MAX_TOTAL_TOKENS": "8192",
                "MAX_BATCH_PREFILL_TOKENS": "8191",
            }
        ),
        "hosting_instance_type_variants": {
            "regional_aliases": {
                "us-east-1": {"gpu_ecr_uri_1": f"{TGI}:2.3.0-tgi2.0.3-gpu-py310-cu121-ubuntu22.04"}
            },
            "variants": _gpu_variants(
                "gpu_ecr_uri_1",
                ["g5"],
                {"ml.g5.12xlarge": "4", "ml.g5.48xlarge": "8"},
            ),
        },
    }
    rows.append(
        (
            mistral_v3,
            {
                "missing": [
                    "supported_inference_instance_types (given with an ellipsis)",
                    "the other environment variables and instance overrides",
                    "hosting_prepacked_artifact_key",
                    "hosting_artifact_key",
                ],
                "notes": "image for us-east-1 and the g5 family only; alias name is personakit's",
            },
        )
    )
    rows.append(
        (
            {
                "model_id": "huggingface-llm-mistral-7b-instruct",
                "version": "3.12.0",
                "default_inference_instance_type": "ml.g5.12xlarge",
            },
            {
                "missing": [
                    "supported_inference_instance_types (given with an ellipsis)",
                    "inference_configs (the CDK extracted no variants)",
                    "hosting_instance_type_variants",
                    "artifact keys",
                    "environment",
                ]
            },
        )
    )
    rows.append(
        (
            {
                "model_id": "meta-textgeneration-llama-3-8b-instruct",
                "version": "2.25.0",
                "default_inference_instance_type": "ml.g5.12xlarge",
                "gated_bucket": True,
                "hosting_eula_key": "fmhMetadata/eula/llama3Eula.txt",
            },
            {
                "missing": [
                    "supported_inference_instance_types (given with an ellipsis)",
                    "inference_configs (LMI)",
                    "hosting_instance_type_variants",
                    "artifact keys",
                    "environment (only one value given)",
                ]
            },
        )
    )
    return rows


def _deployable(spec: Mapping[str, Any]) -> bool:
    has_image = "hosting_instance_type_variants" in spec
    has_data = bool(spec.get("hosting_prepacked_artifact_key") or spec.get("hosting_artifact_key"))
    return has_image and has_data


def build(fixtures: Path, out: Path, built: str) -> None:
    """Write ``manifest.json``, ``metadata.json`` and ``specs/*.json`` under ``out``."""
    (out / "specs").mkdir(parents=True, exist_ok=True)
    manifest: list[dict[str, Any]] = []
    files: dict[str, Any] = {}
    items: list[tuple[dict[str, Any], dict[str, Any]]] = []
    for name in CDK_RECORDS:
        record = json.loads((fixtures / "cdk_records" / name).read_text("utf-8"))
        items.append(
            (
                from_cdk(record),
                {
                    "source": f"CDK record ({CDK})",
                    "fidelity": "cdk-projection",
                    "missing": CDK_DROPPED,
                },
            )
        )
    for spec, provenance in from_reference():
        items.append((spec, {"source": CDK_TABLE, "fidelity": "cdk-table", **provenance}))
    for spec, provenance in items:
        file = f"specs/{spec['model_id']}@{spec['version']}.json"
        (out / file).write_text(json.dumps(spec, indent=1, sort_keys=True) + "\n", "utf-8")
        manifest.append(
            {"model_id": spec["model_id"], "version": spec["version"], "spec_key": file}
        )
        files[file] = {**provenance, "deployable_offline": _deployable(spec)}
    manifest.sort(key=lambda e: (e["model_id"], e["version"]))
    (out / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n", "utf-8")
    metadata = {
        "snapshot_date": SNAPSHOT_DATE,
        "built": built,
        "region_of_source": "us-east-1",
        "sources": {"cdk": CDK, "cdk_table": CDK_TABLE},
        "rules": (
            "fields absent from a source are left out; CDK 'environment' maps become "
            "inference_environment_variables without required_for_model_class, so the "
            "resolver sends every entry but SAGEMAKER_SUBMIT_DIRECTORY (the CDK's rule)"
        ),
        "files": dict(sorted(files.items())),
    }
    (out / "metadata.json").write_text(json.dumps(metadata, indent=1) + "\n", "utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fixtures", type=Path, default=DEFAULT_FIXTURES)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--built", default=None, help="build date (default: keep the current one)")
    args = parser.parse_args()
    built = args.built
    if built is None:
        current = args.out / "metadata.json"
        built = json.loads(current.read_text("utf-8"))["built"] if current.exists() else "unknown"
    build(args.fixtures, args.out, built)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
