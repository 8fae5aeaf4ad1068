"""Fixtures of the cost tests: no real credentials, no cache outside tmp_path."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from personakit.aws.session import Session


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Fake credentials, the cache under tmp_path, no profile or retry settings from the host."""
    for var in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_RETRY_MODE", "AWS_MAX_ATTEMPTS"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing-secret")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg-cache"))


@pytest.fixture
def pricing() -> Iterator[tuple[Any, Stubber]]:
    """A real botocore ``pricing`` client (us-east-1 endpoint) with a Stubber."""
    client = boto3.client("pricing", region_name="us-east-1")
    with Stubber(client) as stubber:
        yield client, stubber


@pytest.fixture
def session(pricing: tuple[Any, Stubber]) -> Session:
    """A Session whose pricing client is the stubbed one."""
    client, _ = pricing
    return Session.aws(region_name="us-east-1", clients={"pricing": client})
