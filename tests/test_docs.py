"""Every ```python block of README.md and docs/*.md runs, in CI, as a user would run it.

The runner is Sybil (https://pypi.org/project/sybil/), chosen for being maintained (new
releases through 2026; 9.x still installs on Python 3.10, 10.x on 3.11+) and for fitting
tutorial pages: its Markdown parser runs a page's blocks in order in one namespace, as a
reader pastes them into one notebook; it has explicit, invisible directives to keep a
block from running; and a block written as a doctest (``>>>``) has its output checked.
The other candidates were weaker here: pytest-markdown-docs and pytest-codeblocks run
each block on its own unless every later block is marked as a continuation, mktestdocs
has no skip directive (only "use another language tag"), and phmdoctest has had no
release since 2022. Sybil's ``Document`` API is driven from one parametrized test, so
the input files come from an ordinary pytest fixture and ``python -m pytest`` (README,
.ci/run) runs the pages with the rest, with no extra option.

A block that must not run (it needs something only real AWS has, or shows a signature
rather than a call) is marked on the line before it, with the reason, and is reported
as not run::

    <!-- skip: next "talks to AWS (the Price List API)" -->
    ```python
    catalog = cost.refresh(pk.Session.aws(region_name="eu-west-1"))
    ```

``<!-- skip: start "reason" -->`` ... ``<!-- skip: end -->`` skips several. Prefer a
block that runs on ``pk.Session.local(...)`` with a comment naming its AWS twin. A page
holding the comment ``<!-- docs-test: aws=moto -->`` runs with AWS answered by moto
(placeholder credentials, region eu-west-1, the buckets ``my-bucket`` and
``my-personalize-bucket``): its ``Session.aws`` examples run too (S3, IAM, STS, KMS;
Personalize itself is not in moto).

Each page runs in a fresh temporary folder, its working directory, holding the input
files the pages read: ``ratings.csv``, ``movies.csv`` (MovieLens' layout, also under
``ml-latest-small/`` with ``tags.csv`` and ``links.csv``), ``interactions.csv``,
``interactions.parquet``, ``items.csv``, ``users.csv`` (Personalize's), ``events/``
(parquet parts) and ``exports/`` (CSV parts); ``load_movielens("ml-latest-small")``
finds a small stand-in zip in ``$PERSONAKIT_CACHE``, and JumpStart is read from the
packaged snapshot. The local engine's workspace (``./pk-workspace``) is made there
too, never in the repository. ``pk.Session.local`` gets the quick polls of
tests/_local.py (the pages show the defaults a user gets); sessions a page leaves open
are closed, and loggers it configured are put back. A logging recipe that fails on some
records ("--- Logging error ---" on stderr) fails its page.
"""

from __future__ import annotations

import contextlib
import doctest
import logging
import os
import re
import shutil
import sys
import tempfile
import time
import unittest
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from sybil import Sybil
from sybil.parsers.markdown import PythonCodeBlockParser, SkipParser

import personakit as pk
from _local import FAST

ROOT = Path(__file__).resolve().parent.parent
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
#: A page holding this comment runs with AWS answered by moto (see the docstring).
MOTO = "<!-- docs-test: aws=moto -->"
#: A block written as a doctest (``>>>`` lines) has its output compared too, with
#: ``...`` matching anything and line breaks counted as spaces.
SYBIL = Sybil(
    parsers=[
        PythonCodeBlockParser(doctest_optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE),
        SkipParser(),
    ]
)


def write_inputs(folder: Path) -> None:
    """The files the pages read, small enough that a page trains in about a second."""
    ratings, movies = pk.samples.synthetic_movielens(n_users=120, n_items=300, n_ratings=3_000)
    ratings.to_csv(folder / "ratings.csv", index=False)
    movies.to_csv(folder / "movies.csv", index=False)
    small = folder / "ml-latest-small"
    small.mkdir()
    ratings.to_csv(small / "ratings.csv", index=False)
    movies.to_csv(small / "movies.csv", index=False)
    tags = ratings.head(200)[["userId", "movieId", "timestamp"]].assign(
        tag=[("funny", "classic", "dark comedy", "sci-fi")[k % 4] for k in range(200)]
    )
    tags[["userId", "movieId", "tag", "timestamp"]].to_csv(small / "tags.csv", index=False)
    links = movies[["movieId"]].assign(
        imdbId=[f"{113000 + m:07d}" for m in movies["movieId"]],
        tmdbId=[str(8000 + m) for m in movies["movieId"]],
    )
    links.to_csv(small / "links.csv", index=False)
    # what load_movielens("ml-latest-small") finds in its cache instead of downloading
    cache = folder / "cache" / "movielens"
    cache.mkdir(parents=True)
    with zipfile.ZipFile(cache / "ml-latest-small.zip", "w") as archive:
        for member in ("ratings.csv", "movies.csv", "tags.csv", "links.csv"):
            archive.write(small / member, f"ml-latest-small/{member}")
    interactions = pk.prep.ratings_to_interactions(
        ratings,
        user="userId",
        item="movieId",
        rating="rating",
        timestamp="timestamp",
        min_rating=3.5,
    )
    items = pk.prep.items(movies, item="movieId", multi_value={"genres": "|"})
    interactions.to_csv(folder / "interactions.csv", index=False)
    interactions.to_parquet(folder / "interactions.parquet", index=False)
    items.to_csv(folder / "items.csv", index=False)
    users = pd.DataFrame({"USER_ID": sorted(ratings["userId"].unique())})
    users["MEMBERSHIP"] = [("free", "basic", "premium")[k % 3] for k in range(len(users))]
    users.to_csv(folder / "users.csv", index=False)
    # a folder of parquet parts and one of CSV exports: the inputs of streaming examples
    (folder / "events").mkdir()
    (folder / "exports").mkdir()
    for part, chunk in enumerate((ratings.iloc[:1_500], ratings.iloc[1_500:])):
        chunk.to_parquet(folder / "events" / f"part-{part}.parquet", index=False)
        chunk.to_csv(folder / "exports" / f"ratings-{part}.csv", index=False)


def _logger_states() -> dict[str, tuple[list[logging.Handler], int, bool]]:
    loggers = [logging.getLogger(), *map(logging.getLogger, list(logging.root.manager.loggerDict))]
    return {log.name: (log.handlers[:], log.level, log.propagate) for log in loggers}


def _restore_loggers(states: dict[str, tuple[list[logging.Handler], int, bool]]) -> None:
    """Undo a page's logging.basicConfig(...) or debug_logging()."""
    for name in [logging.root.name, *logging.root.manager.loggerDict]:
        log = logging.getLogger(name)
        handlers, level, propagate = states.get(name, ([], logging.NOTSET, True))
        for handler in log.handlers[:]:
            if handler not in handlers:
                log.removeHandler(handler)
                handler.close()
        for handler in handlers:
            if handler not in log.handlers:
                log.addHandler(handler)
        log.setLevel(level)
        log.propagate = propagate


@pytest.fixture(scope="session")
def inputs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The input files, written once and copied into each page's folder."""
    folder = tmp_path_factory.mktemp("docs-inputs")
    write_inputs(folder)
    return folder


@pytest.fixture
def page_folder(inputs: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A fresh working directory with the input files; local sessions closed afterwards."""
    shutil.copytree(inputs, tmp_path, dirs_exist_ok=True)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PERSONAKIT_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("PERSONAKIT_JUMPSTART_OFFLINE", "1")  # the packaged snapshot, no network
    monkeypatch.setenv("MPLBACKEND", "Agg")
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))  # tempfile.mkdtemp() lands here
    states = _logger_states()
    root = logging.getLogger()
    for handler in states[root.name][0]:  # a page's logging.basicConfig(...) works as for a user
        root.removeHandler(handler)
    sessions: list[pk.Session] = []
    plain_local = pk.Session.local

    def local(path: str | os.PathLike[str] = "./pk-workspace", **options: Any) -> pk.Session:
        options.setdefault("timing", FAST)
        options.setdefault("min_state_s", 0.0)
        session = plain_local(path, **options)
        sessions.append(session)
        return session

    monkeypatch.setattr(pk.Session, "local", local)
    try:
        yield tmp_path
    finally:
        for session in sessions:
            session.close()
        _restore_loggers(states)
        if "matplotlib.pyplot" in sys.modules:
            sys.modules["matplotlib.pyplot"].close("all")


@contextlib.contextmanager
def moto_aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """AWS answered by moto (S3, IAM, STS, KMS), placeholder credentials, the page's buckets."""
    from moto import mock_aws

    for name in ("AWS_PROFILE", "AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    with mock_aws():
        import boto3

        s3 = boto3.client("s3", region_name="eu-west-1")
        for bucket in ("my-bucket", "my-personalize-bucket"):
            s3.create_bucket(
                Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"}
            )
        yield


@pytest.mark.parametrize("page", PAGES, ids=lambda page: page.relative_to(ROOT).as_posix())
def test_page_runs(
    page: Path,
    page_folder: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Each block of the page runs, in order, in the page's one namespace."""
    document = SYBIL.parse(page)
    skipped: list[str] = []
    started = time.perf_counter()
    with contextlib.ExitStack() as stack:
        if MOTO in document.text:
            stack.enter_context(moto_aws(monkeypatch))
        for example in document:
            try:
                example.evaluate()
            except unittest.SkipTest as skip:
                skipped.append(f"line {example.line}: {skip}")
    seconds = time.perf_counter() - started
    out, err = capsys.readouterr()
    print(out, err, sep="\n")  # shown when the test fails
    # a logging recipe whose format fails on some records prints this instead of raising
    assert "--- Logging error ---" not in err, err
    assert seconds < 60, f"{page.name} took {seconds:.1f} s; keep the docs' data small"
    if skipped:
        print(f"{page.name}: not run:", *skipped, sep="\n  ")


def python_blocks(page: Path) -> list[str]:
    return re.findall(r"^```python[^\n]*\n(.*?)^```", page.read_text(), re.S | re.M)


@pytest.mark.parametrize("page", PAGES, ids=lambda page: page.relative_to(ROOT).as_posix())
def test_pages_import_only_public_modules(page: Path) -> None:
    """``import personakit as pk`` and public submodules; nothing starting with ``_``."""
    private = re.compile(r"\b(?:personakit|pk)(?:\.\w+)*\._\w")
    found = [line for block in python_blocks(page) for line in block.splitlines()]
    assert not [line for line in found if private.search(line)]


@pytest.mark.parametrize("page", PAGES, ids=lambda page: page.relative_to(ROOT).as_posix())
def test_pages_build_local_sessions_one_way(page: Path) -> None:
    """``pk.Session.local(path)``; the engine itself only where its own page shows it."""
    code = "\n".join(python_blocks(page))
    assert not re.search(r"(?<!boto3\.)\bSession\(", code), "use pk.Session.local(path)"
    if page.name != "local-engine.md":
        assert "LocalEngine(" not in code, "use pk.Session.local(path)"


def test_every_page_is_collected() -> None:
    """A page added to docs/ is run without being listed anywhere."""
    names = {page.name for page in PAGES}
    assert {"README.md", "index.md", "csv.md", "session.md"} <= names
    assert len(PAGES) == 1 + len(list((ROOT / "docs").glob("*.md")))
