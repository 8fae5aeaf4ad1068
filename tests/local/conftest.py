"""Fixtures of the local-engine twin tests: an engine per test, checked clients, setups."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from _twin_helpers import BUCKET, Checked, Clients, Deployed, Group, deploy, make_group

from personakit.local import LocalEngine


@pytest.fixture(autouse=True)
def _aws_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Real boto3 clients (for comparisons) must never find real credentials or config."""
    for var in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_CONFIG_FILE"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing-secret")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[LocalEngine]:
    with LocalEngine(tmp_path / "ws", min_state_s=0.02) as eng:
        yield eng


@pytest.fixture
def clients(engine: LocalEngine) -> Clients:
    """Twins whose every response is checked against the operation's output shape."""
    s3 = Checked(engine.client("s3"))
    s3.create_bucket(Bucket=BUCKET)
    return Clients(
        engine,
        Checked(engine.client("personalize")),
        s3,
        Checked(engine.client("personalize-runtime")),
        Checked(engine.client("personalize-events")),
    )


@pytest.fixture
def group(clients: Clients) -> Group:
    return make_group(clients)


@pytest.fixture
def deployed(clients: Clients, group: Group) -> Callable[[str], Deployed]:
    return lambda recipe: deploy(clients, group, recipe)
