"""The `personakit` command: schema and validate on files."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from personakit.cli import main


def interactions(n: int = 1200, *, ms: bool = False) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    ts = 1_600_000_000 + np.arange(n) * 60
    return pd.DataFrame(
        {
            "user_id": [f"u{u}" for u in rng.integers(0, 60, n)],
            "item_id": [f"i{i}" for i in rng.integers(0, 80, n)],
            "timestamp": ts * 1000 if ms else ts,
        }
    )


def test_schema_prints_the_inferred_avro(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "items.parquet"
    pd.DataFrame({"item_id": ["a", "b"], "genres": ["Drama|War", "Comedy"]}).to_parquet(path)
    assert main(["schema", str(path), "--type", "items"]) == 0
    schema = json.loads(capsys.readouterr().out)
    assert schema["name"] == "Items"
    assert schema["fields"][1] == {"name": "GENRES", "type": "string", "categorical": True}


def test_validate_exits_zero_on_clean_data_and_one_on_errors(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    good, bad = tmp_path / "good.csv", tmp_path / "bad.csv"
    interactions().to_csv(good, index=False)
    interactions(ms=True).to_csv(bad, index=False)
    assert main(["validate", str(good)]) == 0
    assert "0 error(s)" in capsys.readouterr().out
    assert main(["validate", str(bad)]) == 1
    assert "timestamp-milliseconds" in capsys.readouterr().out


def test_unusable_input_is_a_clear_error_not_a_traceback(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "users.csv"
    pd.DataFrame({"user_id": ["a"]}).to_csv(path, index=False)
    assert main(["schema", str(path), "--type", "users"]) == 2
    assert "metadata-missing" in capsys.readouterr().err


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["--version"])
    assert info.value.code == 0
    assert capsys.readouterr().out.startswith("personakit ")
