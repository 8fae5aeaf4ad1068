"""Which instance for which model, what it costs, and what Personalize costs: offline.

Runs on personakit's packaged, dated price snapshot: no AWS account, no network.
With credentials, swap ``Catalog.load()`` for ``cost.refresh(session)`` to read
today's prices from the AWS Price List API.

    python examples/cost_advice.py

The same from a shell: ``personakit cost advise huggingface-llm-falcon-7b-bf16`` and
``personakit cost estimate --data-gb 10 --training-hours 20 --campaign-tps 1``; with
credentials, ``personakit cost running`` lists what bills now and ``personakit sweep``
what crashed runs left behind (see docs/cost.md and docs/sweep.md).
"""

from __future__ import annotations

from personakit import cost


def main() -> None:
    catalog = cost.Catalog.load()
    print(f"Catalog: {len(catalog)} SageMaker Hosting instance types, {catalog.describe_age()}\n")

    # 1. Falcon 7B (bf16): the A10G/L4 types fit; a 16 GiB T4 only in fp16, and tightly.
    falcon = cost.advise("huggingface-llm-falcon-7b-bf16", catalog=catalog)
    print(falcon)
    t4 = falcon["ml.g4dn.xlarge"]
    print(f"\nml.g4dn.xlarge for Falcon 7B: {t4.verdict} ({t4.dtype}): {t4.reasons[0]}\n")

    # 2. The lab's comparison, with the real ratios.
    print(cost.compare("ml.g4dn.4xlarge", "ml.p3.2xlarge", model="bloom-1b1", catalog=catalog))
    print()

    # 3. A 70B model needs a multi-GPU instance.
    big = cost.advise("meta-textgeneration-llama-3-70b", catalog=catalog)
    for option in big:
        print(
            f"70B on {option.name}: {option.verdict}, {option.devices_used} GPUs, "
            f"${option.usd_per_hour}/h, ~{option.tokens_per_second:.0f} tokens/s at most"
        )
    print()

    # 4. An embedding model: CPU, including Graviton.
    minilm = cost.advise("all-MiniLM-L6-v2", catalog=catalog)
    cpu = [o.name for o in minilm if not o.instance.has_accelerator]
    print(f"all-MiniLM-L6-v2 on CPU: {', '.join(cpu)}\n")

    # 5. How many instances for 2 requests/s of 256 tokens at 50% utilisation?
    g5 = falcon["ml.g5.2xlarge"]
    n = g5.instances_for(rate_rps=2, tokens_per_request=256, utilisation=0.5)
    print(
        f"2 req/s x 256 tokens on ml.g5.2xlarge: {n} instances, ${n * g5.usd_per_month:,.0f}/month"
    )
    print("(batch 1: one sequence at a time; pass batch=8 to advise() for a batched server)\n")

    # 6. An Amazon Personalize month.
    print(cost.estimate(data_gb=10, training_hours=20, campaign_tps_hours=(1, 730)))


if __name__ == "__main__":
    main()
