"""Deploy a JumpStart LLM with plain boto3, ask it something, stream an answer, tear it down.

**This bills your AWS account** while the endpoint runs (ml.g5.2xlarge is about
$1.5 an hour in us-east-1; deployment takes 5-15 minutes). It runs only when told
so with ``--yes-i-have-aws`` (or ``PERSONAKIT_EXAMPLES_AWS=1``); ``--plan`` prints
the requests it would send and creates nothing (no credentials needed)::

    python examples/llm_endpoint.py --plan
    python examples/llm_endpoint.py --yes-i-have-aws \\
        --role-arn arn:aws:iam::111122223333:role/sagemaker-execution

The role must trust ``sagemaker.amazonaws.com`` (e.g. a role with the
``AmazonSageMakerFullAccess`` managed policy). Everything is deleted when the
``with`` block ends, on errors and on Ctrl-C too; the endpoint also carries a
``personakit:expires-at`` tag one hour ahead, for a sweep to find if the process dies.
Importing this file does nothing.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence

MODEL = "huggingface-llm-falcon-7b-bf16"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=MODEL, help=f"JumpStart model id (default {MODEL})")
    parser.add_argument("--version", default="4.*", help="version or wildcard (default 4.*)")
    parser.add_argument("--instance-type", default=None, help="default: the spec's")
    parser.add_argument("--region", default=None, help="default: your AWS configuration's")
    parser.add_argument("--role-arn", default=None, help="SageMaker execution role")
    parser.add_argument("--prompt", default="What is Amazon Personalize?")
    parser.add_argument("--accept-eula", action="store_true", help="for gated models")
    parser.add_argument("--plan", action="store_true", help="print the requests, create nothing")
    parser.add_argument("--yes-i-have-aws", action="store_true", help="really deploy (bills!)")
    return parser


def plan(args: argparse.Namespace) -> int:
    from personakit.llm import JumpStartCatalog

    region = args.region or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"
    catalog = JumpStartCatalog(region)
    model = catalog.resolve(
        args.model, args.version, args.instance_type, accept_eula=args.accept_eula
    )
    role = args.role_arn or "arn:aws:iam::111122223333:role/your-sagemaker-role"
    print(f"# {model.model_id} {model.version} on {model.instance_type} in {region}")
    print(f"# payload format: {model.payload_format}; spec from: {model.source}")
    print(json.dumps(model.create_model_request("my-llm", role), indent=1))
    print(json.dumps({"ProductionVariants": [model.production_variant("my-llm")]}, indent=1))
    return 0


def run(args: argparse.Namespace) -> int:
    import personakit as pk
    from personakit.llm import LLMEndpoint

    session = pk.Session.aws(region_name=args.region, role_arn=args.role_arn)
    with LLMEndpoint.deploy(
        session,
        args.model,
        args.instance_type,
        args.version,
        accept_eula=args.accept_eula,
        max_lifetime=3600,
        progress=True,
    ) as llm:
        print(f"{llm!r} is InService")
        answer = llm.generate(args.prompt, max_new_tokens=64)
        print(answer.text)
        print(f"({answer.generated_tokens} tokens, finish reason {answer.finish_reason})")
        if llm.payload_format is not None and llm.payload_format.streams:
            for piece in llm.stream("Write a haiku about recommendations.", max_new_tokens=48):
                print(piece, end="", flush=True)
            print()
    print("endpoint, endpoint config and model deleted")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.plan:
        return plan(args)
    if not (args.yes_i_have_aws or os.environ.get("PERSONAKIT_EXAMPLES_AWS") == "1"):
        print(
            "This example creates a SageMaker endpoint that bills by the hour. Re-run with "
            "--yes-i-have-aws to deploy, or --plan to see the requests without creating anything.",
            file=sys.stderr,
        )
        return 2
    return run(args)


if __name__ == "__main__":
    sys.exit(main())
