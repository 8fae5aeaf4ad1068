"""Fixtures of the stubbed AWS tests: Stubber on personalize clients, moto for S3."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from _env import Env, make_env
from _lifecycle import REGION


@pytest.fixture(autouse=True)
def _aws_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_RETRY_MODE", "AWS_MAX_ATTEMPTS"):
        monkeypatch.delenv(var, raising=False)
    for var in ("REGION", "BUCKET", "PREFIX", "ROLE_ARN", "KMS_KEY_ARN"):
        monkeypatch.delenv(f"PERSONAKIT_{var}", raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing-secret")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)


@pytest.fixture
def env() -> Iterator[Env]:
    yield from make_env()
