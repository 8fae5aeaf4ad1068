"""advise() and compare(): checked by hand against the packaged table.

Units: weights and KV cache in bytes, device memory in GiB (2**30 bytes),
bandwidth in GB/s (10**9 bytes). The memory rule: need per device =
(weights + KV) / shards + 1 GiB + 10% of the weights per shard; under 10% of the
device free is "tight".
"""

from __future__ import annotations

import json
import sys
import types
from pathlib import Path

import pytest

from personakit.cost import Advice, ModelSize, Workload, advise, compare, instances_needed
from personakit.cost.fit import SpecInfo
from personakit.errors import ConfigurationError

FIXTURES = Path(__file__).parent / "fixtures"
GIB = 2**30

# Falcon-7B at 16 bits: weights 7.0e9 x 2 = 14.0e9 B = 13.039 GiB
# KV per token: 2 x 32 layers x 1 KV head x 64 head dim x 2 B = 8,192 B; x 2048 = 16,777,216 B
# overhead: 1 GiB + 0.1 x 13.039 = 2.304 GiB -> need 13.039 + 0.016 + 2.304 = 15.358 GiB
FALCON_NEED_GIB = (14.0e9 + 16_777_216) / GIB + 1 + 0.1 * 14.0e9 / GIB


@pytest.fixture(scope="module")
def falcon() -> Advice:
    return advise("huggingface-llm-falcon-7b-bf16")


def test_falcon_on_a_t4_is_tight_and_needs_fp16(falcon: Advice) -> None:
    # T4: 16 GiB, no bf16. Free: 16 - 15.358 = 0.642 GiB < 1.6 GiB (10%) -> tight
    for name in ("ml.g4dn.xlarge", "ml.g4dn.2xlarge", "ml.g4dn.4xlarge"):
        option = falcon[name]
        assert option.verdict == "tight"
        assert option.dtype == "fp16"
        assert option.need_gib == pytest.approx(FALCON_NEED_GIB)
        assert option.free_gib == pytest.approx(16 - FALCON_NEED_GIB)
        text = " ".join(option.reasons)
        assert "needs fp16" in text
        assert "tight" in option.reasons[0]
    # tight options never outrank ones that fit, whatever their price
    ranks = {o.name: i for i, o in enumerate(falcon.options)}
    assert ranks["ml.g4dn.xlarge"] > ranks["ml.p4d.24xlarge"]


def test_falcon_bf16_fits_a_g5_2xlarge(falcon: Advice) -> None:
    option = falcon["ml.g5.2xlarge"]
    # A10G 24 GiB, bf16: free 24 - 15.358 = 8.642 GiB >= 2.4 -> fits, served in bf16
    assert (option.verdict, option.dtype, option.devices_used) == ("fits", "bf16", 1)
    assert option.free_gib == pytest.approx(24 - FALCON_NEED_GIB)
    # tokens/s <= 600e9 / (14.0e9 + 16,777,216) = 42.806; $/1M = 1.515 / (42.806 x 3600) x 1e6
    tokens = 600e9 / (14.0e9 + 16_777_216)
    assert option.tokens_per_second == pytest.approx(tokens)
    assert option.usd_per_month == pytest.approx(1.515 * 730)
    assert option.usd_per_million_tokens == pytest.approx(1.515 / (tokens * 3600) * 1e6)
    assert option.usd_per_million_tokens == pytest.approx(9.831, abs=1e-3)


def test_falcon_is_not_sharded_over_four_gpus(falcon: Advice) -> None:
    # 71 attention heads: no even split over 4 GPUs, so one GPU holds it
    option = falcon["ml.g5.12xlarge"]
    assert option.devices_used == 1
    assert any("71 attention heads" in r for r in option.reasons)


def test_explicit_bf16_on_a_t4_is_refused() -> None:
    advice = advise("falcon-7b", dtype="bf16", instances=["ml.g4dn.xlarge", "ml.g5.2xlarge"])
    assert advice.names == ["ml.g5.2xlarge"]
    refused = advice["ml.g4dn.xlarge"]
    assert refused.verdict == "unsupported"
    assert "no bf16" in refused.reasons[0]


def test_spec_only_limits_the_choice_to_the_jumpstart_spec() -> None:
    record = json.loads((FIXTURES / "huggingface-llm-falcon-7b-bf16@4.1.23.json").read_text())
    advice = advise("huggingface-llm-falcon-7b-bf16", spec=record, spec_only=True)
    # the spec supports g5.2xl/4xl/8xl/16xl; the catalog has no g5.16xlarge
    assert advice.names == ["ml.g5.2xlarge", "ml.g5.4xlarge", "ml.g5.8xlarge"]
    assert all(o.in_spec for o in advice.options)
    assert advice.not_in_catalog == ("ml.g5.16xlarge",)
    assert advice["ml.g4dn.xlarge"].verdict == "unsupported"
    assert advice["ml.g4dn.xlarge"].in_spec is False
    assert "supported_inference_instance_types" in advice["ml.g4dn.xlarge"].reasons[0]
    same = advise("falcon-7b", supported_instances=record["instanceTypes"], spec_only=True)
    assert same.names == advice.names


def test_a_70b_model_needs_several_gpus() -> None:
    advice = advise("meta-textgeneration-llama-3-70b")
    # weights 70.6e9 x 2 = 141.2e9 B = 131.5 GiB: more than any single GPU, or 4 x 24 GiB
    assert advice.options
    assert all(o.devices_used > 1 for o in advice.options)
    assert {"ml.p4d.24xlarge", "ml.g5.48xlarge"} <= set(advice.names)
    # per GPU over 8: weights 17.65e9 B = 16.438 GiB; KV 2x80x8x128x2 B = 327,680 B/token
    # x 2048 / 8 = 83,886,080 B = 0.078 GiB; overhead 1 + 1.644 -> 19.160 GiB
    need = (141.2e9 + 327_680 * 2048) / 8 / GIB + 1 + 0.1 * 141.2e9 / 8 / GIB
    assert advice["ml.g5.48xlarge"].need_gib == pytest.approx(need)
    assert advice["ml.g5.48xlarge"].verdict == "fits"  # 24 - 19.16 = 4.84 >= 2.4
    assert advice["ml.p4d.24xlarge"].devices_used == 8
    # 4 x A10G: 141.2e9 / 4 = 35.3e9 B = 32.9 GiB per GPU > 24
    assert advice["ml.g5.12xlarge"].verdict == "does not fit"
    assert advice["ml.g4dn.12xlarge"].verdict == "does not fit"


def test_published_benchmarks_replace_the_bound() -> None:
    spec = json.loads((FIXTURES / "meta-textgeneration-llama-3-1-70b@2.16.2.json").read_text())
    advice = advise("meta-textgeneration-llama-3-1-70b", spec=spec, spec_only=True)
    assert advice.names == ["ml.g6.48xlarge", "ml.g5.48xlarge", "ml.p4d.24xlarge"]
    # lmi is ranked first; g5.48xlarge at concurrency 1: 18.6 tokens/s per user
    g5 = advice["ml.g5.48xlarge"]
    assert g5.throughput_source == "JumpStart benchmark"
    assert g5.tokens_per_second == pytest.approx(18.6)
    # p4d's nearest concurrency to batch 1 is 4: 37.4 per user x 4 = 149.6 in all
    p4d = advice["ml.p4d.24xlarge"]
    assert p4d.benchmark is not None
    assert p4d.benchmark.concurrency == 4
    assert p4d.tokens_per_second == pytest.approx(149.6)
    assert "p5.48xlarge" in " ".join(advice.not_in_catalog)


def test_spec_info_from_a_resolved_model_object() -> None:
    spec = json.loads((FIXTURES / "meta-textgeneration-llama-3-1-70b@2.16.2.json").read_text())
    resolved = types.SimpleNamespace(
        spec=spec,
        model_id="meta-textgeneration-llama-3-1-70b",
        supported_instance_types=("ml.p4d.24xlarge",),
        config_name="lmi-optimized",
    )
    info = SpecInfo.from_spec(resolved)
    assert info.supported_instances == ("ml.p4d.24xlarge",)
    # lmi-optimized on p4d, concurrency 1: 89.4 tokens/s per user
    bench = info.benchmark_for("ml.p4d.24xlarge", 1)
    assert bench is not None
    assert (bench.config, bench.tokens_per_second) == ("lmi-optimized", pytest.approx(89.4))


def test_an_embedding_model_gets_cpu_and_graviton_options() -> None:
    # all-MiniLM-L6-v2's size without its JumpStart spec (whose images are x86 only)
    advice = advise(ModelSize.of("huggingface-textembedding-all-MiniLM-L6-v2"))
    assert advice.spec_label is None
    assert {o.in_spec for o in advice.options} == {None}
    # 22.7e6 x 4 B = 90.8e6 B = 0.085 GiB (+ 1.008 GiB overhead): fits any CPU type
    graviton = [o for o in advice.options if o.instance.is_graviton]
    assert {o.name for o in graviton} >= {"ml.c6g.xlarge", "ml.c7g.xlarge"}
    assert all(o.verdict == "fits" and o.dtype == "fp32" for o in graviton)
    assert any("arm64" in r for r in graviton[0].reasons)
    assert advice.best is not None
    assert advice.best.name == "ml.t3.medium"  # $0.05/h, the cheapest that fits
    assert not advice.best.instance.has_accelerator
    # c7g.large has a price but no memory figure: listed, not recommended
    assert [o.name for o in advice.unverified] == ["ml.c7g.large"]
    # Inferentia needs a Neuron-compiled model
    assert advice["ml.inf2.xlarge"].verdict == "unsupported"
    small = ModelSize.of("all-MiniLM-L6-v2")
    assert advise(small, neuron=True)["ml.inf2.xlarge"].verdict == "fits"


def test_the_jumpstart_spec_of_an_embedding_model_has_no_arm64_image() -> None:
    # by its JumpStart id, the packaged snapshot's spec (1.0.0) is checked: t3 has an
    # image (not listed: in_spec False), Graviton and Inferentia have none (rejected)
    advice = advise("huggingface-textembedding-all-MiniLM-L6-v2")
    assert advice.spec_label == "huggingface-textembedding-all-MiniLM-L6-v2 1.0.0"
    assert advice.best is not None
    assert (advice.best.name, advice.best.in_spec) == ("ml.t3.medium", False)
    for name in ("ml.c6g.xlarge", "ml.c7g.xlarge", "ml.inf2.xlarge"):
        assert advice[name].verdict == "unsupported"
        assert "no image in the JumpStart spec" in advice[name].reasons[0]
    assert advice["ml.g5.2xlarge"].in_spec is True


def test_compare_the_labs_pair_with_the_real_percentages() -> None:
    # price 1.505 / 3.825 = 39.3%; bandwidth 320 / 900 = 35.6%; memory 16 / 16
    comparison = compare("ml.g4dn.4xlarge", "ml.p3.2xlarge", model="bloom-1b1")
    text = str(comparison)
    assert text.startswith(
        "ml.g4dn.4xlarge vs ml.p3.2xlarge: 39% of the price ($1.505/h vs $3.825/h), "
        "36% of the memory bandwidth (320 vs 900 GB/s), 100% of the accelerator memory"
    )
    assert "bloom-1b1: fits in fp16 on ml.g4dn.4xlarge, fits in fp16 on ml.p3.2xlarge" in text
    assert comparison.price_ratio == pytest.approx(1.505 / 3.825)
    assert comparison.bandwidth_ratio == pytest.approx(320 / 900)
    # cost per token ratio 0.3935 / 0.3556 = 1.11
    assert "1.11x the cost per token" in text
    assert "retiring" in text  # p3 has no 2026 hosting row


def test_compare_says_when_it_does_not_fit() -> None:
    text = str(compare("ml.g4dn.4xlarge", "ml.g5.2xlarge", model="mistral-7b"))
    # Mistral 7.24e9 x 2 = 14.48e9 B = 13.49 GiB + 1 + 1.349 + KV 0.25 -> 16.09 GiB > 16
    assert "mistral-7b: does not fit on ml.g4dn.4xlarge, fits in bf16 on ml.g5.2xlarge" in text
    tight = str(compare("ml.g4dn.4xlarge", "ml.p3.2xlarge", model="falcon-7b"))
    assert "fits but tight in fp16 on ml.g4dn.4xlarge" in tight


def test_instances_needed_arithmetic() -> None:
    # 2 req/s x 256 tokens = 512 tokens/s; 42.806 x 0.5 = 21.403 per instance -> 23.9 -> 24
    assert instances_needed(2, 256, 600e9 / (14.0e9 + 16_777_216)) == 24
    assert instances_needed(1, 100, 100, utilisation=0.5) == 2  # exactly 2, not 3
    assert instances_needed(1, 100, 100, utilisation=1.0) == 1
    assert instances_needed(0, 100, 100) == 1  # an endpoint has at least one instance
    with pytest.raises(ConfigurationError):
        instances_needed(1, 100, 100, utilisation=0)


def test_option_instances_for(falcon: Advice) -> None:
    assert falcon["ml.g5.2xlarge"].instances_for(2, 256) == 24
    assert falcon["ml.g5.2xlarge"].instances_for(2, 256, utilisation=1.0) == 12
    embedding = advise("all-MiniLM-L6-v2")
    with pytest.raises(ConfigurationError, match="no throughput estimate"):
        embedding.best.instances_for(10, 100)  # type: ignore[union-attr]


def test_a_workload_ranks_by_monthly_cost() -> None:
    advice = advise("falcon-7b", workload=Workload(2, 256))
    # g5.xlarge: 24 x $1.4084 x 730 = $24,675; g6.xlarge: 300 GB/s -> 21.403 tokens/s,
    # 512 / 10.70 -> 48 x $1.1267 x 730 = $39,480; p4d (one GPU): 1600e9 / 14.017e9 =
    # 114.15 -> 9 x $25.251 x 730 = $165,899
    assert advice.best is not None
    assert (advice.best.name, advice.best.workload_instances) == ("ml.g5.xlarge", 24)
    assert advice.best.workload_usd_per_month == pytest.approx(24 * 1.4084 * 730)
    assert advice["ml.g6.xlarge"].workload_instances == 48
    assert "n for load" in str(advice)


def test_model_sizes() -> None:
    assert ModelSize.of(("124M", "fp32")).parameters == 124e6
    assert ModelSize.of((7, "bfloat16")).weight_bytes() == 14e9
    assert ModelSize.of("meta-textgeneration-llama-3-8b-instruct").name == "llama-3-8b"
    assert ModelSize.of("huggingface-llm-mistral-7b-instruct@3.12.0").name == "mistral-7b"
    # reference §4.3: Mistral-7B and Llama-3-8B, 8 KV heads: 128 KiB per token at fp16
    assert ModelSize.of("mistral-7b").kv_bytes_per_token() == 128 * 1024
    # rule of thumb for unknown shapes: Llama-2-7B's 512 KiB per token per 7B at 16 bits
    assert ModelSize.of((7e9, "fp16")).kv_bytes_per_token() == 512 * 1024
    assert ModelSize.of((7e9, "int4")).weight_bytes() == 3.5e9
    # layers + hidden size only: multi-head attention, 2 x 32 x 4096 x 2 B = 512 KiB (Llama-2-7B)
    llama2 = ModelSize(parameters=6.74e9, dtype="fp16", layers=32, hidden_size=4096)
    assert llama2.kv_bytes_per_token() == 512 * 1024
    with pytest.raises(ConfigurationError, match="does not know the size"):
        ModelSize.of("acme-llm-13b")
    with pytest.raises(ConfigurationError, match="unknown dtype"):
        ModelSize.of((7e9, "fp6"))


def test_unknown_kv_shape_is_flagged_in_the_notes() -> None:
    advice = advise((13e9, "fp16"))
    assert any("rule of thumb" in note for note in advice.notes)


def test_displays(falcon: Advice) -> None:
    text = str(falcon)
    assert text.startswith("Advice for falcon-7b: 7.0B parameters, bf16")
    assert "ml.g5.2xlarge" in text
    assert "packaged snapshot, stale" in text
    assert "Not suitable:" in text
    html = falcon._repr_html_()
    assert "<table>" in html
    assert "ml.g4dn.xlarge" in html
    frame = falcon.to_frame()
    assert list(frame["instance"]) == falcon.names
    assert frame.loc[frame["instance"] == "ml.g5.2xlarge", "usd_per_hour"].item() == 1.515
    everything = falcon.to_frame(include_rejected=True)
    assert len(everything) == len(falcon.options) + len(falcon.unverified) + len(falcon.rejected)


def test_plot_without_matplotlib_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    monkeypatch.setitem(sys.modules, "matplotlib.pyplot", None)
    with pytest.raises(ImportError, match=r"personakit\[plots\]"):
        advise("gpt2").plot()
