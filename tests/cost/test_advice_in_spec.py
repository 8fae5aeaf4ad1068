"""Advice and deploy agree: advice marks the types a model's JumpStart spec does not list
(``in_spec``), ranks those deploy takes (with a warning, as the SageMaker SDK does),
rejects those the spec has no image for; the guard prices a type either way."""

from __future__ import annotations

import json
import warnings
from typing import Any

import pytest

from personakit.aws.session import Session
from personakit.cli import main
from personakit.cost import Catalog, CostGuard, advise
from personakit.errors import ConfigurationError, UnsupportedInstanceError
from personakit.llm.jumpstart import snapshot_manifest, snapshot_spec
from personakit.llm.resolve import OutOfSpecInstanceWarning, resolve_spec

FALCON = "huggingface-llm-falcon-7b-bf16"
LISTED = ("ml.g5.2xlarge", "ml.g5.4xlarge", "ml.g5.8xlarge", "ml.g5.16xlarge")


def _snapshot(model_id: str, version: str) -> dict[str, Any]:
    entry = next(e for e in snapshot_manifest() if (e.model_id, e.version) == (model_id, version))
    return snapshot_spec(entry)


def test_advise_marks_the_types_the_spec_does_not_list() -> None:
    advice = advise("falcon-7b")  # a short name: its JumpStart id's spec, from the snapshot
    assert advice.spec_label == f"{FALCON} 4.1.23"
    assert advice.best is not None
    # the cheapest that fits is still ranked first, and marked
    assert (advice.best.name, advice.best.in_spec) == ("ml.g6.xlarge", False)
    marks = {o.name: o.in_spec for o in advice.options}
    assert {name for name, listed in marks.items() if listed} == set(LISTED) - {"ml.g5.16xlarge"}
    reasons = " ".join(advice["ml.g6.xlarge"].reasons)
    assert "not in the supported_inference_instance_types" in reasons
    assert "g6 image variant" in reasons
    assert "listed in the supported_inference_instance_types" in " ".join(
        advice["ml.g5.2xlarge"].reasons
    )
    # no image for CPU or Inferentia families: rejected, as deploy refuses them
    for name in ("ml.m5.xlarge", "ml.t3.medium", "ml.inf2.xlarge"):
        assert advice[name].verdict == "unsupported"
        assert advice[name].in_spec is False
    note = next(n for n in advice.notes if n.startswith("'in spec'"))
    assert "packaged JumpStart snapshot" in note
    # the flag is in the table, the frame and the HTML
    assert "in spec" in str(advice).splitlines()[1]
    assert advice.to_frame()["in_spec"].tolist()[0] is False
    assert "<th>in spec</th>" in advice._repr_html_()
    # the same by the JumpStart id; spec_only keeps the old narrowing
    assert advise(FALCON).names == advice.names
    assert advise("falcon-7b", spec_only=True).names == [
        "ml.g5.2xlarge",
        "ml.g5.4xlarge",
        "ml.g5.8xlarge",
    ]


def test_without_a_known_spec_in_spec_is_unknown() -> None:
    advice = advise((7e9, "bf16", "my-7b"))
    assert advice.spec_label is None
    assert {o.in_spec for o in (*advice.options, *advice.rejected)} == {None}
    assert "?" in str(advice).splitlines()[3]


@pytest.mark.parametrize(
    ("model", "model_id", "version"),
    [
        ("falcon-7b", FALCON, "4.1.23"),
        ("huggingface-textembedding-all-MiniLM-L6-v2", "", "1.0.0"),
        ("gpt2", "huggingface-textgeneration-gpt2", "1.5.0"),
    ],
)
def test_what_advice_ranks_deploy_resolves_and_what_it_rejects_deploy_refuses(
    model: str, model_id: str, version: str
) -> None:
    spec = _snapshot(model_id or model, version)
    advice = advise(model)
    for option in (*advice.options, *advice.unverified):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            resolved = resolve_spec(spec, "us-east-1", option.name)
        unlisted = [w for w in caught if issubclass(w.category, OutOfSpecInstanceWarning)]
        assert resolved.in_spec is option.in_spec, option.name
        assert bool(unlisted) is (option.in_spec is False), option.name
    for option in advice.rejected:
        if option.reasons[0].startswith("no image in the JumpStart spec"):
            with pytest.raises(UnsupportedInstanceError):
                resolve_spec(spec, "us-east-1", option.name)


def test_the_guard_prices_a_type_whether_the_spec_lists_it_or_not(session: Session) -> None:
    guard = CostGuard(session, budget_usd=15_000, catalog=Catalog.load(), count_running=False)
    unlisted = guard.check_deploy("ml.g6.xlarge")
    listed = guard.check_deploy("ml.g5.2xlarge")
    assert unlisted.usd_per_hour == pytest.approx(1.1267)
    assert listed.usd_per_hour == pytest.approx(1.515)
    # the two new p3 entries are known types without a verified price: the guard says so
    for name in ("ml.p3.16xlarge", "ml.p3dn.24xlarge"):
        with pytest.raises(ConfigurationError, match="no Hosting price"):
            guard.check_deploy(name)


def test_the_catalog_has_the_large_p3_sizes() -> None:
    catalog = Catalog.load()
    p3 = catalog["ml.p3.16xlarge"]
    assert (p3.vcpu, p3.memory_gib, p3.accelerator_count) == (64, 488, 8)
    assert p3.accelerator_memory_gib_total == 128
    dn = catalog["ml.p3dn.24xlarge"]
    assert (dn.vcpu, dn.memory_gib, dn.accelerator_count) == (96, 768, 8)
    assert dn.accelerator is not None
    assert (dn.accelerator.memory_gib, dn.accelerator_memory_gib_total) == (32, 256)
    assert dn.accelerator.bf16 is False
    assert catalog.price("ml.p3.16xlarge", "us-east-1") is None  # no verified price
    # bloom-1b1's old spec lists ml.p3.16xlarge: no longer "not in the catalog"
    assert "ml.p3.16xlarge" not in advise("bloom-1b1").not_in_catalog


def test_cli_json_carries_in_spec(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["cost", "advise", "falcon-7b", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["spec_label"] == f"{FALCON} 4.1.23"
    first = doc["options"][0]
    assert (first["name"], first["in_spec"]) == ("ml.g6.xlarge", False)
    assert all(isinstance(o["in_spec"], bool) for o in doc["options"])
    assert {o["name"] for o in doc["options"] if o["in_spec"]} >= {"ml.g5.2xlarge"}
    # --spec-only: only the listed types
    assert main(["cost", "advise", "falcon-7b", "--spec-only", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert [o["name"] for o in doc["options"]] == [
        "ml.g5.2xlarge",
        "ml.g5.4xlarge",
        "ml.g5.8xlarge",
    ]
    assert all(o["in_spec"] is True for o in doc["options"])
    # a model without a known spec: null
    assert main(["cost", "advise", "llama-3-70b", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["spec_label"] is None
    assert {o["in_spec"] for o in doc["options"]} == {None}
