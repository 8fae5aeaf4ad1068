"""Batch inference jobs with themes (``THEME_GENERATION``, Content Generator) on the twin.

One dataset group (interactions, and items with a TITLE name column, a textual
DESCRIPTION and categorical GENRES) and one Similar-Items solution version serve the
module; each test starts its own jobs. The output is read back from the S3 twin in
the service's format
(https://docs.aws.amazon.com/personalize/latest/dg/themed-batch-recommendations.html).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from _twin_helpers import (
    BUCKET,
    RECIPE,
    ROLE,
    Checked,
    Clients,
    Group,
    make_group,
    poll,
    put_csv,
    schema_json,
)
from botocore.exceptions import ClientError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from personakit.local import LocalEngine
from personakit.local.batch import encode_line
from personakit.local.themes import (
    ThemeItem,
    ThemeRequest,
    ThemeTable,
    fallback_theme,
    relevance_scores,
    themed_output,
)
from personakit.rules.schema import Field, Schema

GUIDE = "https://docs.aws.amazon.com/personalize/latest/dg/themed-batch-recommendations.html"
GENRES = ["Horror", "Comedy", "Drama|Comedy", "Sci-Fi|Horror"]
ITEMS_SCHEMA = schema_json(
    "Items",
    [
        {"name": "ITEM_ID", "type": "string"},
        {"name": "TITLE", "type": "string"},
        {"name": "DESCRIPTION", "type": ["null", "string"], "textual": True},
        {"name": "GENRES", "type": "string", "categorical": True},
        {"name": "YEAR", "type": ["null", "int"]},
    ],
)
THEMES = {"fieldsForThemeGeneration": {"itemName": "TITLE"}}


def items_frame(n: int = 100) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "ITEM_ID": [f"i{i}" for i in range(n)],
            "TITLE": [f'Film «{i}» "the {GENRES[i % 4].split("|")[0]}"' for i in range(n)],
            "DESCRIPTION": [
                f"A {GENRES[i % 4].replace('|', ' and ').lower()} story,\nnumber {i}."
                for i in range(n)
            ],
            "GENRES": [GENRES[i % 4] for i in range(n)],
            "YEAR": [1990 + i % 30 for i in range(n)],
        }
    )


class World:
    def __init__(self, c: Clients, group: Group, similar: str, sims: str) -> None:
        self.c, self.group, self.similar, self.sims = c, group, similar, sims
        self.jobs = 0

    def job(self, lines: list[Any], version: str | None = None, **extra: Any) -> str:
        """Start a job on ``lines`` (its input), return its ARN."""
        self.jobs += 1
        key = f"themes/in-{self.jobs}/items.json"
        body = "\n".join(x if isinstance(x, str) else json.dumps(x) for x in lines) + "\n"
        self.c.s3.put_object(Bucket=BUCKET, Key=key, Body=body.encode())
        return str(
            self.c.pz.create_batch_inference_job(
                jobName=f"themes-{self.jobs}",
                solutionVersionArn=version or self.similar,
                jobInput={"s3DataSource": {"path": f"s3://{BUCKET}/{key}"}},
                jobOutput={"s3DataDestination": {"path": f"s3://{BUCKET}/themes/out-{self.jobs}/"}},
                roleArn=ROLE,
                **extra,
            )["batchInferenceJobArn"]
        )

    def status(self, arn: str) -> list[str]:
        return poll(
            lambda: str(
                self.c.pz.describe_batch_inference_job(batchInferenceJobArn=arn)[
                    "batchInferenceJob"
                ]["status"]
            ),
            until=("ACTIVE", "CREATE FAILED"),
        )

    def output(self, arn: str) -> list[dict[str, Any]]:
        assert self.status(arn)[-1] == "ACTIVE", self.describe(arn).get("failureReason")
        number = arn.rsplit("-", 1)[-1]
        body = self.c.s3.get_object(Bucket=BUCKET, Key=f"themes/out-{number}/items.json.out")
        text = body["Body"].read().decode("utf-8")
        return [json.loads(line) for line in text.splitlines()]

    def describe(self, arn: str) -> dict[str, Any]:
        return dict(
            self.c.pz.describe_batch_inference_job(batchInferenceJobArn=arn)["batchInferenceJob"]
        )


def _version(c: Clients, group: Group, recipe: str) -> str:
    solution = c.pz.create_solution(
        name=recipe, datasetGroupArn=group.arn, recipeArn=RECIPE + recipe
    )["solutionArn"]
    poll(lambda: str(c.pz.describe_solution(solutionArn=solution)["solution"]["status"]))
    version = str(c.pz.create_solution_version(solutionArn=solution)["solutionVersionArn"])
    read = lambda: str(  # noqa: E731
        c.pz.describe_solution_version(solutionVersionArn=version)["solutionVersion"]["status"]
    )
    assert poll(read)[-1] == "ACTIVE"
    return version


def _import_items(c: Clients, group: Group, schema: str, frame: pd.DataFrame, name: str) -> None:
    schema_arn = c.pz.create_schema(name=name, schema=schema)["schemaArn"]
    dataset = c.pz.create_dataset(
        name=name, schemaArn=schema_arn, datasetGroupArn=group.arn, datasetType="Items"
    )["datasetArn"]
    poll(lambda: str(c.pz.describe_dataset(datasetArn=dataset)["dataset"]["status"]))
    job = c.pz.create_dataset_import_job(
        jobName=f"{name}-1",
        datasetArn=dataset,
        dataSource={"dataLocation": put_csv(c.s3, f"{name}.csv", frame)},
    )["datasetImportJobArn"]
    read = lambda: str(  # noqa: E731
        c.pz.describe_dataset_import_job(datasetImportJobArn=job)["datasetImportJob"]["status"]
    )
    assert poll(read)[-1] == "ACTIVE"


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    path: Path = tmp_path_factory.mktemp("themes")
    with LocalEngine(path, min_state_s=0.0) as engine:
        s3 = Checked(engine.client("s3"))
        s3.create_bucket(Bucket=BUCKET)
        c = Clients(
            engine,
            Checked(engine.client("personalize")),
            s3,
            Checked(engine.client("personalize-runtime")),
            Checked(engine.client("personalize-events")),
        )
        group = make_group(c)
        _import_items(c, group, ITEMS_SCHEMA, items_frame(), "items")
        yield World(
            c, group, _version(c, group, "aws-similar-items"), _version(c, group, "aws-sims")
        )


@pytest.fixture
def writer(world: World) -> Iterator[LocalEngine]:
    """The engine, its theme writer reset after the test."""
    yield world.c.engine
    world.c.engine.register_theme_writer(None)


def test_registered_writer_names_each_group_in_the_service_format(
    world: World, writer: LocalEngine
) -> None:
    seen: list[ThemeRequest] = []

    def name(request: ThemeRequest) -> str:
        seen.append(request)
        return f"  Because you liked {request.source.name}  "

    writer.register_theme_writer(name)
    arn = world.job(
        [{"itemId": "i1"}, {"itemId": "i6"}],
        numResults=8,
        themeGenerationConfig=THEMES,
        batchInferenceJobMode="THEME_GENERATION",
    )
    job = world.describe(arn)
    lines = world.output(arn)
    assert job["batchInferenceJobMode"] == "THEME_GENERATION"
    assert job["themeGenerationConfig"] == THEMES
    plain = world.output(world.job([{"itemId": "i1"}, {"itemId": "i6"}], numResults=8))

    assert [line["input"] for line in lines] == [{"itemId": "i1"}, {"itemId": "i6"}]
    for line, untouched, request in zip(lines, plain, seen, strict=True):
        assert set(line) == {"input", "output"}
        out = line["output"]
        assert set(out) == {"recommendedItems", "theme", "itemsThemeRelevanceScores"}
        assert out["theme"] == f"Because you liked {request.source.name}"
        # the related items of a plain job, ranked by relevance to the theme instead
        assert sorted(out["recommendedItems"]) == sorted(untouched["output"]["recommendedItems"])
        scores = out["itemsThemeRelevanceScores"]
        assert len(scores) == len(out["recommendedItems"]) == 8
        assert scores == sorted(scores, reverse=True)
        assert all(0.0 <= s <= 1.0 for s in scores)
    # the writer saw names, descriptions and metadata from the Items dataset
    first = seen[0]
    assert first.source.item_id == "i1"
    assert first.source.name == 'Film «1» "the Comedy"'
    assert first.source.description == "A comedy story,\nnumber 1."
    assert first.source.metadata == {"GENRES": ["Comedy"], "YEAR": 1991}
    assert [item.item_id for item in first.items] == untouched_ids(plain[0])
    assert first.names[0].startswith("Film «")
    assert 'Film «1» "the Comedy": A comedy story' in first.prompt


def test_serve_takes_a_theme_writer_from_a_module_in_its_folder(
    world: World, tmp_path: Path
) -> None:
    """``personakit serve --theme-writer mythemes:write`` names the themes of the jobs
    that AWS programs start through it."""
    import signal
    import subprocess

    import boto3

    (tmp_path / "mythemes.py").write_text(
        "def write(request):\n    return 'Served theme for ' + request.source.item_id\n"
    )
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "personakit.cli",
            "serve",
            "--port",
            "0",
            "--json",
            "--workspace",
            str(world.c.engine.path),
            "--theme-writer",
            "mythemes:write",
        ],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        lines: list[str] = []
        while not lines or lines[-1] != "}\n":
            line = proc.stdout.readline()
            assert line, proc.stderr.read() if proc.stderr else ""
            lines.append(line)
        url = json.loads("".join(lines))["endpoint"]
        keys = {"aws_access_key_id": "AKIDEXAMPLE", "aws_secret_access_key": "secret"}
        served = World(
            Clients(
                world.c.engine,
                boto3.client("personalize", region_name="us-east-1", endpoint_url=url, **keys),
                boto3.client("s3", region_name="us-east-1", endpoint_url=url, **keys),
                None,
                None,
            ),
            world.group,
            world.similar,
            world.sims,
        )
        served.jobs = 100 + world.jobs  # names and keys of its own
        arn = served.job(
            [{"itemId": "i1"}],
            numResults=5,
            themeGenerationConfig=THEMES,
            batchInferenceJobMode="THEME_GENERATION",
        )
        (line,) = served.output(arn)
        assert line["output"]["theme"] == "Served theme for i1"
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()


@pytest.mark.parametrize(
    ("spec", "says"),
    [
        ("mythemes", "takes MODULE:FUNCTION"),
        ("nosuchmodule_pk:write", "no module named 'nosuchmodule_pk'"),
        ("mythemes:missing", "module 'mythemes' has no 'missing'"),
        ("mythemes:NAME", "is a str, not a function"),
        ("broken_pk:write", "importing 'broken_pk' failed: ZeroDivisionError"),
    ],
)
def test_serve_refuses_a_theme_writer_it_cannot_import_before_making_the_workspace(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    spec: str,
    says: str,
) -> None:
    from personakit.cli import main

    (tmp_path / "mythemes.py").write_text("NAME = 'x'\ndef write(request):\n    return 'x'\n")
    (tmp_path / "broken_pk.py").write_text("1 / 0\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "path", list(sys.path))
    workspace = tmp_path / "ws"
    status = main(["serve", "--workspace", str(workspace), "--theme-writer", spec])
    assert status == 2
    assert says in capsys.readouterr().err
    assert not workspace.exists()


def untouched_ids(line: dict[str, Any]) -> list[str]:
    return list(line["output"]["recommendedItems"])


def test_without_a_writer_themes_come_from_item_metadata(world: World) -> None:
    lines = [{"itemId": "i2"}, {"itemId": "i3"}]
    extra = {"batchInferenceJobMode": "THEME_GENERATION", "themeGenerationConfig": THEMES}
    first = world.output(world.job(lines, **extra))
    again = world.output(world.job(lines, **extra))
    assert first == again  # deterministic
    titles = dict(zip(items_frame()["ITEM_ID"], items_frame()["TITLE"], strict=True))
    known = {g for genres in GENRES for g in genres.split("|")}
    for line in first:
        # the genres the group shares most, then the input item's name
        shared, _, title = line["output"]["theme"].partition(" picks like ")
        assert title == titles[line["input"]["itemId"]]
        assert shared
        assert set(shared.split(" and ")) <= known


def test_a_failing_writer_fails_only_its_own_lines(world: World, writer: LocalEngine) -> None:
    def flaky(request: ThemeRequest) -> str:
        if request.source.item_id == "i4":
            raise RuntimeError("model overloaded")
        if request.source.item_id == "i5":
            return "   "
        return "Night at the movies"

    writer.register_theme_writer(flaky)
    arn = world.job(
        [{"itemId": "i4"}, {"itemId": "i5"}, {"itemId": "i7"}, {"userId": "u1"}],
        batchInferenceJobMode="THEME_GENERATION",
        themeGenerationConfig=THEMES,
    )
    lines = world.output(arn)  # the job itself succeeds
    assert lines[0] == {
        "input": {"itemId": "i4"},
        "error": "Theme generation failed for item i4: RuntimeError: model overloaded",
    }
    assert set(lines[1]) == {"input", "error"}
    assert "returned no theme for item i5" in lines[1]["error"]
    assert lines[2]["output"]["theme"] == "Night at the movies"
    assert lines[3] == {"input": {"userId": "u1"}, "error": "itemId is required."}


def code_and_message(info: pytest.ExceptionInfo[ClientError]) -> tuple[str, str]:
    error = info.value.response["Error"]
    return str(error["Code"]), str(error["Message"])


def test_wrong_recipe_mode_or_config_is_refused_as_the_service_does(world: World) -> None:
    mode = {"batchInferenceJobMode": "THEME_GENERATION"}
    with pytest.raises(ClientError) as info:
        world.job([{"itemId": "i1"}], batchInferenceJobMode="THEMES", themeGenerationConfig=THEMES)
    code, message = code_and_message(info)
    assert code == "ValidationException"
    assert "enum value set: [BATCH_INFERENCE, THEME_GENERATION]" in message
    with pytest.raises(ClientError) as info:
        world.job([{"itemId": "i1"}], version=world.sims, themeGenerationConfig=THEMES, **mode)
    code, message = code_and_message(info)
    assert code == "InvalidInputException"
    assert "aws-similar-items" in message
    assert "uses aws-sims" in message
    assert GUIDE in message

    with pytest.raises(ClientError) as info:
        world.job([{"itemId": "i1"}], **mode)
    assert code_and_message(info) == (
        "InvalidInputException",
        "themeGenerationConfig.fieldsForThemeGeneration.itemName is required with "
        f"batchInferenceJobMode THEME_GENERATION ({GUIDE}).",
    )

    with pytest.raises(ClientError) as info:
        world.job([{"itemId": "i1"}], themeGenerationConfig=THEMES)
    code, message = code_and_message(info)
    assert code == "InvalidInputException"
    assert "only valid with batchInferenceJobMode THEME_GENERATION" in message

    with pytest.raises(ClientError) as info:
        world.job(
            [{"itemId": "i1"}],
            themeGenerationConfig={"fieldsForThemeGeneration": {"itemName": "TITEL"}},
            **mode,
        )
    code, message = code_and_message(info)
    assert code == "InvalidInputException"
    assert "TITEL is not a column of the Items dataset" in message
    assert "Did you mean TITLE?" in message

    with pytest.raises(ClientError) as info:
        world.job(
            [{"itemId": "i1"}],
            themeGenerationConfig={"fieldsForThemeGeneration": {"itemName": "YEAR"}},
            **mode,
        )
    assert "must be a string column" in code_and_message(info)[1]
    # nothing was created by the refused requests
    names = {
        j["jobName"]
        for j in world.c.pz.list_batch_inference_jobs(solutionVersionArn=world.sims)[
            "batchInferenceJobs"
        ]
    }
    assert not names


def test_item_name_is_matched_without_case_and_a_file_holds_at_most_100_items(
    world: World,
) -> None:
    lower = {"fieldsForThemeGeneration": {"itemName": "title"}}
    lines = world.output(
        world.job(
            [{"itemId": "i9"}],
            batchInferenceJobMode="THEME_GENERATION",
            themeGenerationConfig=lower,
        )
    )
    assert "Film «9»" in lines[0]["output"]["theme"]

    arn = world.job(
        [{"itemId": f"i{i % 100}"} for i in range(101)],
        batchInferenceJobMode="THEME_GENERATION",
        themeGenerationConfig=THEMES,
    )
    assert world.status(arn)[-1] == "CREATE FAILED"
    reason = world.describe(arn)["failureReason"]
    assert "101 lines" in reason
    assert "at most 100 items per input file" in reason


def test_a_group_without_a_textual_field_or_items_cannot_make_themes(tmp_path: Path) -> None:
    with LocalEngine(tmp_path / "ws", min_state_s=0.0) as engine:
        s3 = Checked(engine.client("s3"))
        s3.create_bucket(Bucket=BUCKET)
        c = Clients(engine, Checked(engine.client("personalize")), s3, None, None)
        group = make_group(c)
        version = _version(c, group, "aws-similar-items")
        w = World(c, group, version, version)
        mode = {"batchInferenceJobMode": "THEME_GENERATION", "themeGenerationConfig": THEMES}
        with pytest.raises(ClientError) as info:
            w.job([{"itemId": "i1"}], **mode)
        assert "has no Items dataset" in code_and_message(info)[1]
        plain = schema_json(
            "Items",
            [{"name": "ITEM_ID", "type": "string"}, {"name": "TITLE", "type": "string"}],
        )
        _import_items(c, group, plain, items_frame()[["ITEM_ID", "TITLE"]], "items")
        with pytest.raises(ClientError) as info:
            w.job([{"itemId": "i1"}], **mode)
        assert "needs a textual field (such as DESCRIPTION)" in code_and_message(info)[1]


# --------------------------------------------------------------------------- properties

_SCHEMA = Schema(
    "items",
    [
        Field("ITEM_ID", "string"),
        Field("TITLE", "string"),
        Field("DESCRIPTION", "string", nullable=True, textual=True),
        Field("GENRES", "string", categorical=True),
    ],
)
_ids = st.text(min_size=1, max_size=40)
_texts = st.text(max_size=80)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    rows=st.lists(
        st.tuples(_ids, _texts, _texts, _texts), min_size=1, max_size=8, unique_by=lambda r: r[0]
    ),
    theme=st.one_of(st.none(), st.text(min_size=1, max_size=60)),
)
def test_any_ids_and_text_make_valid_json_lines(
    rows: list[tuple[str, str, str, str]], theme: str | None
) -> None:
    import pyarrow as pa

    table = pa.table(
        {
            "ITEM_ID": [r[0] for r in rows],
            "TITLE": [r[1] for r in rows],
            "DESCRIPTION": [r[2] for r in rows],
            "GENRES": [r[3] for r in rows],
        }
    )
    ids = [r[0] for r in rows]
    source, *items = ThemeTable(table, _SCHEMA, "TITLE").items([ids[0], *ids[1:], 'unknown\n"id'])
    request = ThemeRequest(source, tuple(items))
    text = theme if theme is not None else fallback_theme(request)
    line = {"input": {"itemId": ids[0]}, "output": themed_output(request, text)}
    encoded = encode_line(line)
    assert "\n" not in encoded  # one line per input, whatever the text holds
    back = json.loads(encoded)
    assert back == line
    assert sorted(back["output"]["recommendedItems"]) == sorted([*ids[1:], 'unknown\n"id'])
    scores = back["output"]["itemsThemeRelevanceScores"]
    assert scores == sorted(scores, reverse=True)
    assert all(0 <= s <= 1 for s in scores)
    assert fallback_theme(request).strip()


_words_st = st.lists(st.sampled_from(["red", "blue", "Fast", "slow", "été", "car"]), max_size=6)


@settings(max_examples=80, deadline=None)
@given(
    source=_words_st,
    items=st.lists(st.tuples(_words_st, _words_st), min_size=1, max_size=6),
    theme=_words_st,
)
def test_relevance_is_the_cosine_of_an_item_and_the_rest_of_its_group(
    source: list[str], items: list[tuple[list[str], list[str]]], theme: list[str]
) -> None:
    def unit(words: list[str]) -> dict[str, float]:
        counts: dict[str, float] = {}
        for w in words:
            counts[w.lower()] = counts.get(w.lower(), 0.0) + 1
        norm = sum(v * v for v in counts.values()) ** 0.5
        return {w: v / norm for w, v in counts.items()} if norm else {}

    request = ThemeRequest(
        ThemeItem("s", name=" ".join(source)),
        tuple(
            ThemeItem(f"i{k}", name=" ".join(name), metadata={"GENRES": genres})
            for k, (name, genres) in enumerate(items)
        ),
    )
    group = [unit(theme), unit(source), *(unit(name + genres) for name, genres in items)]
    expected = []
    for k in range(len(items)):
        mine = group[2 + k]
        rest: dict[str, float] = {}
        for j, words in enumerate(group):
            if j != 2 + k:
                for w, v in words.items():
                    rest[w] = rest.get(w, 0.0) + v
        dot = sum(v * rest.get(w, 0.0) for w, v in mine.items())
        norms = (sum(v * v for v in mine.values()) * sum(v * v for v in rest.values())) ** 0.5
        expected.append(dot / norms if norms else 0.0)
    assert relevance_scores(request, " ".join(theme)) == pytest.approx(expected, abs=1e-7)
