"""Segments that write their own promotion (``personakit.marketing``), on the local engine.

One dataset group of synthetic shop data is shared by the module, with an
Item-Affinity, an Item-Attribute-Affinity and a popularity-count solution trained
once. The "model" is a Python callable registered with the local engine
(``llm_handlers``) whose answer each test scripts per segment: the prompts use a
template starting ``[<segment>]`` so the callable knows which segment it writes.
Faults are injected as ``sys.settrace`` raising at a chosen call (DESIGN's
fault-injection rule), and every test checks no endpoint, config or model is left.
"""

from __future__ import annotations

import importlib.util
import re
import sys
import warnings
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from types import FrameType, ModuleType
from typing import Any

import attrs
import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from _local import FAST
from personakit import marketing
from personakit.aws.session import Session
from personakit.cost import Catalog, CostGuard
from personakit.errors import (
    BudgetExceededError,
    ConfigurationError,
    ModelNotFoundError,
    ValidationError,
)
from personakit.llm.endpoint import LLMEndpoint
from personakit.llm.jumpstart import JumpStartCatalog
from personakit.llm.resolve import JumpStartWarning
from personakit.personalize.group import DatasetGroup
from personakit.personalize.solution import Solution
from personakit.samples import synthetic

MODEL = "huggingface-llm-falcon-7b-bf16"
TEMPLATE = "[{segment}] for {users} users\n{details}"
EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "segments_promotion.py"

pytestmark = pytest.mark.filterwarnings("ignore::personakit.llm.resolve.JumpStartWarning")


@attrs.define
class Writer:
    """The stand-in model: per segment, a message, an exception, or empty text."""

    script: dict[str, Callable[[str], str]] = attrs.field(factory=dict)
    prompts: list[str] = attrs.field(factory=list)

    def __call__(self, prompt: str, params: Mapping[str, Any]) -> str:
        self.prompts.append(prompt)
        match = re.match(r"\[(.*?)\]", prompt)
        segment = match.group(1) if match else ""
        answer = self.script.get(segment, lambda p: f"PROMO {segment}: {p.splitlines()[-1]}")
        return answer(prompt)


@attrs.define
class World:
    session: Session
    group: DatasetGroup
    items: pd.DataFrame
    affinity: Solution
    attributes: Solution
    popular: Solution
    writer: Writer
    catalog: JumpStartCatalog


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    path = tmp_path_factory.mktemp("promotions")
    writer = Writer()
    data = synthetic(n_users=80, n_items=40, n_interactions=2_000, seed=4, event_value=False)
    with (
        Session.local(path, llm_handlers={MODEL: writer}, timing=FAST, min_state_s=0.0) as session,
        DatasetGroup.create(session, "promotions", timing=FAST) as group,
    ):
        group.import_frame(data.interactions)
        group.import_frame(data.items, dataset_type="items")
        world = World(
            session,
            group,
            data.items,
            group.train("item-affinity"),
            group.train("item-attribute-affinity"),
            group.train("popularity-count"),
            writer,
            JumpStartCatalog(session.region, offline=True, cache_dir=path / "js-cache"),
        )
        yield world
        assert sagemaker_left(session) == {}


@pytest.fixture(autouse=True)
def _fresh_script(request: pytest.FixtureRequest) -> None:
    if "world" in request.fixturenames:
        writer: Writer = request.getfixturevalue("world").writer
        writer.script.clear()
        writer.prompts.clear()


def sagemaker_left(session: Session) -> dict[str, list[str]]:
    sm = session.client("sagemaker")
    found = {
        "endpoints": [e["EndpointName"] for e in sm.list_endpoints()["Endpoints"]],
        "configs": [c["EndpointConfigName"] for c in sm.list_endpoint_configs()["EndpointConfigs"]],
        "models": [m["ModelName"] for m in sm.list_models()["Models"]],
    }
    return {k: v for k, v in found.items() if v}


def guard(session: Session, budget_usd: float = 5_000) -> CostGuard:
    return CostGuard(session, budget_usd=budget_usd, catalog=Catalog.load(), count_running=False)


def segment_jobs(world: World) -> list[str]:
    jobs = world.session.client("personalize").list_batch_segment_jobs()["batchSegmentJobs"]
    return [j["jobName"] for j in jobs]


def item_ids(world: World, n: int, start: int = 0) -> list[str]:
    return world.items["ITEM_ID"].tolist()[start : start + n]


# --------------------------------------------------------------------------- the journey


def test_the_whole_journey_from_a_dataset_group(tmp_path: Path) -> None:
    """Train item-affinity, segment, deploy, write, delete: one call, nothing left."""
    data = synthetic(n_users=60, n_items=30, n_interactions=1_500, seed=7, event_value=False)
    writer = Writer()
    with Session.local(
        tmp_path, llm_handlers={MODEL: writer}, timing=FAST, min_state_s=0.0
    ) as session:
        catalog = JumpStartCatalog(session.region, offline=True, cache_dir=tmp_path / "js")
        with DatasetGroup.create(session, "journey", timing=FAST) as group:
            group.import_frame(data.interactions)
            group.import_frame(data.items, dataset_type="items")
            chosen = data.items["ITEM_ID"].tolist()[:3]
            result = marketing.promote(
                group,
                items=chosen,
                metadata=data.items,
                llm=MODEL,
                guard=guard(session),
                users=6,
                catalog=catalog,
            )
            assert [s.segment for s in result] == chosen
            known_users = set(data.interactions["USER_ID"])
            described = dict(zip(data.items["ITEM_ID"], data.items["DESCRIPTION"], strict=True))
            for segment, prompt in zip(result, writer.prompts, strict=True):
                assert segment.ok
                assert segment.error is None
                assert 1 <= segment.users <= 6
                assert set(segment.user_ids) <= known_users
                # the prompt was built from the item's own metadata, and is what was sent
                assert segment.prompt == prompt
                assert f"DESCRIPTION: {described[segment.segment]}" in prompt
                assert f"group of {segment.users} customers" in prompt
                assert segment.message
            assert result.endpoint_deleted
            assert result.job_arn
            assert ":batch-segment-job/" in result.job_arn
            assert sagemaker_left(session) == {}
            frame = result.to_frame()
            assert list(frame.columns) == ["segment", "users", "user_ids", "message", "error"]
            assert frame["segment"].tolist() == chosen
            assert frame["error"].isna().all()
            solutions = session.client("personalize").list_solutions()["solutions"]
            assert [s["recipeArn"].rsplit("/", 1)[-1] for s in solutions] == ["aws-item-affinity"]
        assert session.client("personalize").list_solutions()["solutions"] == []


def test_a_failing_segment_is_reported_and_the_others_get_their_message(world: World) -> None:
    chosen = item_ids(world, 4)

    def fail(prompt: str) -> str:
        raise RuntimeError("the GPU caught fire")

    world.writer.script[chosen[1]] = fail
    world.writer.script[chosen[2]] = lambda prompt: "   \n"  # only white space
    result = marketing.promote(
        world.affinity,
        items=chosen,
        metadata=world.items,
        llm=MODEL,
        users=5,
        template=TEMPLATE,
        catalog=world.catalog,
    )
    first, failed, empty, last = result
    assert first.ok
    assert last.ok
    assert first.message.startswith(f"PROMO {chosen[0]}")
    assert not failed.ok
    assert failed.message is None
    assert "the model failed" in (failed.error or "")
    assert "the GPU caught fire" in (failed.error or "")  # the container's message, passed on
    assert empty.error == "the model answered with empty text"
    assert [s.segment for s in result.failed] == [chosen[1], chosen[2]]
    assert set(result.messages) == {chosen[0], chosen[3]}
    assert failed.users == 5  # the segment itself is kept
    assert "2 of 4 segments have a message" in str(result)
    assert "ERROR: the model failed" in str(result)
    html = result._repr_html_()
    assert "the GPU caught fire" in html
    assert "<script" not in html
    assert result.endpoint_deleted
    assert sagemaker_left(world.session) == {}


def test_attribute_segments_and_a_line_the_job_could_not_answer(world: World) -> None:
    result = marketing.promote(
        world.attributes,
        attributes=[{"GENRES": "Drama"}, 'ITEMS.COLOUR = "red"', {"GENRES": "Comedy"}],
        llm=MODEL,
        users=4,
        template=TEMPLATE,
        catalog=world.catalog,
    )
    drama, colour, comedy = result
    assert drama.segment == 'ITEMS.GENRES = "Drama"'
    assert drama.ok
    assert comedy.ok
    assert drama.users == comedy.users == 4
    assert "GENRES: Drama" in (drama.prompt or "")
    assert colour.error is not None
    assert colour.error.startswith("segment job:")
    assert colour.prompt is None  # never sent to the model
    assert len(world.writer.prompts) == 2
    assert result['ITEMS.GENRES = "Comedy"'] is comedy
    assert sagemaker_left(world.session) == {}


def test_no_segment_to_write_deploys_no_endpoint(world: World) -> None:
    created: list[str] = []
    sm = world.session.client("sagemaker")

    def hook(model: Any, **_: Any) -> None:
        created.append(model.name)

    sm.meta.events.register("before-call.sagemaker.*", hook)
    try:
        result = marketing.promote(
            world.attributes,
            attributes=['ITEMS.COLOUR = "red"'],
            llm=MODEL,
            guard=guard(world.session),
            catalog=world.catalog,
        )
    finally:
        sm.meta.events.unregister("before-call.sagemaker.*", hook)
    assert [s.error is not None for s in result] == [True]
    assert result.endpoint_name is None
    assert "no endpoint was needed" in str(result)
    assert not [op for op in created if op.startswith("Create")]
    assert world.writer.prompts == []


def test_an_endpoint_you_own_is_used_and_left_running(world: World) -> None:
    with LLMEndpoint.deploy(world.session, MODEL, catalog=world.catalog) as llm:
        result = marketing.promote(
            world.affinity, items=item_ids(world, 2), llm=llm, users=3, catalog=world.catalog
        )
        assert len(result.messages) == 2
        assert (result.endpoint_name, result.endpoint_deleted) == (llm.name, False)
        assert llm.status() == "InService"
        with pytest.raises(ConfigurationError, match="for a model id"):
            marketing.promote(
                world.affinity, items=item_ids(world, 1), llm=llm, guard=guard(world.session)
            )
    assert sagemaker_left(world.session) == {}


# --------------------------------------------------------------------------- money and faults


@pytest.mark.parametrize("source", ["solution", "group"])
def test_a_guard_refusal_creates_nothing(world: World, source: str) -> None:
    solutions = world.session.client("personalize").list_solutions()["solutions"]
    jobs = segment_jobs(world)
    with pytest.raises(BudgetExceededError):
        marketing.promote(
            world.affinity if source == "solution" else world.group,
            items=item_ids(world, 2, start=20),
            llm=MODEL,
            guard=guard(world.session, budget_usd=1),
            catalog=world.catalog,
        )
    assert sagemaker_left(world.session) == {}
    assert segment_jobs(world) == jobs  # not even the segment job
    assert world.session.client("personalize").list_solutions()["solutions"] == solutions
    assert world.writer.prompts == []


class Fault:
    """``exc`` raised through ``sys.settrace`` when ``function`` is entered the ``nth`` time."""

    def __init__(self, function: Callable[..., Any], nth: int, exc: BaseException) -> None:
        self.code = function.__code__
        self.nth = nth
        self.exc = exc
        self.calls = 0

    def tracer(self, frame: FrameType, event: str, arg: Any) -> Any:
        if event == "call" and frame.f_code is self.code:
            self.calls += 1
            if self.calls == self.nth:
                raise self.exc
        return None

    def __enter__(self) -> Fault:
        self.previous = sys.gettrace()  # coverage's tracer, put back on exit
        sys.settrace(self.tracer)
        return self

    def __exit__(self, *exc: object) -> None:
        sys.settrace(self.previous)


@pytest.mark.parametrize(
    "exc", [KeyboardInterrupt(), RuntimeError("a bug mid-way")], ids=["ctrl-c", "exception"]
)
def test_an_interruption_after_the_endpoint_exists_still_deletes_it(
    world: World, exc: BaseException
) -> None:
    seen: list[list[str]] = []
    world.writer.script[item_ids(world, 1, start=5)[0]] = lambda prompt: (
        seen.append(sagemaker_left(world.session).get("endpoints", [])) or "written"
    )
    # the second segment's write: the endpoint is InService and has written one message
    with pytest.raises(type(exc)), Fault(marketing._write_one, 2, exc) as fault:
        marketing.promote(
            world.affinity,
            items=item_ids(world, 3, start=5),
            llm=MODEL,
            users=3,
            template=TEMPLATE,
            catalog=world.catalog,
        )
    assert fault.calls == 2
    assert len(seen) == 1
    assert len(seen[0]) == 1
    assert sagemaker_left(world.session) == {}  # and is gone, with its config and model


# --------------------------------------------------------------------------- bad input


def test_a_solution_that_does_not_make_segments_names_the_recipes_that_do(world: World) -> None:
    with pytest.raises(ConfigurationError, match="item-affinity, item-attribute-affinity") as info:
        marketing.promote(world.popular, items=["i1"], llm=MODEL, catalog=world.catalog)
    assert "'popularity-count' does not make segments" in str(info.value)
    with pytest.raises(ConfigurationError, match=r"did you mean 'item-affinity'\?"):
        marketing.promote(world.group, items=["i1"], recipe="item-afinity", llm=MODEL)
    with pytest.raises(ConfigurationError, match="pass items= instead"):
        marketing.promote(world.affinity, attributes=[{"GENRES": "Drama"}], llm=MODEL)
    with pytest.raises(ConfigurationError, match="pass attributes= instead"):
        marketing.promote(world.attributes, items=["i1"], llm=MODEL)
    with pytest.raises(ConfigurationError, match="not both"):
        marketing.promote(world.affinity, items=["i1"], attributes="x", llm=MODEL)
    with pytest.raises(ConfigurationError, match="not one string"):
        marketing.promote(world.affinity, items="i1", llm=MODEL)
    with pytest.raises(ValidationError, match="no itemId"):
        marketing.promote(world.affinity, items=["i1", None], llm=MODEL, catalog=world.catalog)
    assert world.writer.prompts == []
    assert sagemaker_left(world.session) == {}


def test_unknown_models_instance_types_and_template_fields_are_named(world: World) -> None:
    jobs = segment_jobs(world)
    with pytest.raises(ModelNotFoundError, match="did you mean huggingface-llm-falcon-7b-bf16"):
        marketing.promote(
            world.affinity,
            items=["i1"],
            llm="huggingface-llm-falcon-7b-bf61",
            catalog=world.catalog,
        )
    with pytest.raises(ConfigurationError, match=r"did you mean ml\.g5\.2xlarge"):
        marketing.promote(
            world.affinity,
            items=["i1"],
            llm=MODEL,
            instance_type="ml.g5.2xlarg",
            catalog=world.catalog,
        )
    with pytest.raises(ConfigurationError, match=r"did you mean \{description\}\?"):
        marketing.promote(
            world.affinity,
            items=["i1"],
            metadata=world.items,
            llm=MODEL,
            template="{descripton}",
        )
    with pytest.raises(ConfigurationError, match="item id column"):
        marketing.promote(
            world.affinity, items=["i1"], metadata=world.items.drop(columns="ITEM_ID"), llm=MODEL
        )
    with pytest.raises(ConfigurationError, match="a JumpStart model id or an LLMEndpoint"):
        marketing.promote(world.affinity, items=["i1"], llm=42)  # type: ignore[arg-type]
    assert segment_jobs(world) == jobs
    assert sagemaker_left(world.session) == {}


def test_an_unknown_region_is_named_with_the_valid_ones(tmp_path: Path) -> None:
    with (
        Session.local(tmp_path, region_name="us-eats-1", timing=FAST, min_state_s=0.0) as session,
        DatasetGroup.create(session, "elsewhere", timing=FAST) as group,
    ):
        with pytest.raises(ConfigurationError, match=r"did you mean 'us-east-1'\?") as info:
            marketing.promote(group, items=["i1"], llm=MODEL)
        assert "eu-west-1" in str(info.value)
        assert session.client("personalize").list_solutions()["solutions"] == []


# --------------------------------------------------------------------------- prompts


_FIELDS = st.sampled_from(["{segment}", "{item_id}", "{details}", "{users}", "{title}", "{genres}"])
_TEXT = st.text(st.characters(blacklist_categories=("Cs",)), max_size=60)  # pandas: UTF-8


@settings(max_examples=200, deadline=None)
@given(
    parts=st.lists(
        st.one_of(_FIELDS, _TEXT.map(lambda t: t.replace("{", "{{").replace("}", "}}")))
    ),
    title=_TEXT,
    genres=st.one_of(_TEXT, st.lists(_TEXT, max_size=3), st.none(), st.floats()),
    segment=_TEXT,
    users=st.integers(0, 5_000_000),
)
def test_any_metadata_makes_a_prompt_holding_it(
    parts: list[str], title: str, genres: Any, segment: str, users: int
) -> None:
    metadata = pd.DataFrame({"ITEM_ID": ["x"], "TITLE": [title], "GENRES": [genres]})
    template = "".join(parts)
    marketing.template_fields(template, metadata)  # a template of known fields passes
    prompt = marketing.build_prompt(
        template,
        segment,
        users=users,
        item={"ITEM_ID": segment, "TITLE": title, "GENRES": genres},
        columns={"title": "TITLE", "genres": "GENRES"},
    )
    assert isinstance(prompt, str)
    if "{title}" in parts:
        assert title.strip()[: marketing.MAX_VALUE_CHARS - 3] in prompt
    if "{users}" in parts:
        assert f"{users:,}" in prompt
    details = marketing.build_prompt("{details}", segment, users=users, item={"TITLE": title})
    assert details == (f"TITLE: {title.strip()}" if title.strip() else segment)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(template=st.text(max_size=40))
def test_any_template_text_is_a_prompt_or_a_configuration_error(template: str) -> None:
    try:
        marketing.template_fields(template)
    except ConfigurationError:
        return
    assert isinstance(marketing.build_prompt(template, "i1", users=3, item={"ITEM_ID": "i1"}), str)


@settings(max_examples=150, deadline=None)
@given(
    names=st.lists(  # ! and : would start a conversion or a format spec, not a name
        st.text(
            st.characters(blacklist_categories=("Cs",), blacklist_characters="!:"), max_size=12
        ).filter(bool),
        min_size=1,
        max_size=5,
        unique=True,
    )
)
@example(names=["A\n"])  # "$" in a pattern also matches before a final newline
def test_any_metadata_columns_give_the_fields_their_names_allow(names: list[str]) -> None:
    frame = pd.DataFrame({"ITEM_ID": ["x"], **{n: ["v"] for n in names if n != "ITEM_ID"}})
    assert marketing.template_fields(marketing.DEFAULT_TEMPLATE, frame) == ("users", "details")
    for name in names:
        field = name.lower()
        if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", field):
            assert marketing.template_fields(f"{{{field}}}", frame) == (field,)
        else:
            with pytest.raises(ConfigurationError):
                marketing.template_fields(f"{{{field}}}", frame)


def test_long_values_are_cut_and_numbers_read_as_people_write_them() -> None:
    prompt = marketing.build_prompt(
        "{details}",
        "i1",
        users=1,
        item={"ITEM_ID": "i1", "DESCRIPTION": "x" * 5_000, "PRICE": 8.989999771118164},
    )
    description, price = prompt.splitlines()
    assert len(description) == len("DESCRIPTION: ") + marketing.MAX_VALUE_CHARS
    assert description.endswith("...")
    assert price == "PRICE: 8.99"
    missing = {"ITEM_ID": "i1", "PRICE": np.float32("nan"), "GENRES": ["Drama", None, "Comedy"]}
    assert marketing.build_prompt("{details}", "i1", users=1, item=missing) == (
        "GENRES: Drama, Comedy"
    )
    with pytest.raises(ConfigurationError, match="cannot hold another field"):
        marketing.template_fields("{users:{segment}}")
    with pytest.raises(ConfigurationError, match="plain name"):
        marketing.template_fields("{segment.__class__}")
    with pytest.raises(ConfigurationError, match="literal brace"):
        marketing.template_fields("an open { brace")


# --------------------------------------------------------------------------- the example


def _load_example() -> ModuleType:
    spec = importlib.util.spec_from_file_location("segments_promotion_example", EXAMPLE)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_example_runs_offline_and_prints_each_segments_message(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PERSONAKIT_CACHE_DIR", str(tmp_path / "cache"))
    with warnings.catch_warnings():
        warnings.simplefilter("error", JumpStartWarning)  # the example silences its own
        result = _load_example().main(["--workspace", str(tmp_path / "ws"), "--items", "3"])
    out = capsys.readouterr().out
    assert len(result) == 3
    assert not result.failed
    assert "3 of 3 segments have a message; endpoint deleted: True" in out
    for segment in result:
        assert segment.message
        assert segment.message in out
        assert segment.message.startswith("For our 10 ")
    assert result.endpoint_deleted
