"""Render the screenshots of docs/plots.md into docs/images/ (PNG, 90 dpi).

Run from the repository root: ``python docs/plots/make_screenshots.py``. Everything is
offline: the data diagnostics of a synthetic data set (``pk.samples.synthetic``), the
offline metrics of three recipes trained on it by the embedded local engine
(``pk.Session.local``), the packaged instance catalog, and a budget burning on a
listing of two endpoints.
"""

from __future__ import annotations

import datetime as dt
import sys
import tempfile
from pathlib import Path
from typing import Any

import matplotlib
import matplotlib.pyplot as plt

import personakit as pk
from personakit.cost import CostGuard, Inventory, RunningResource, advise, compare

matplotlib.use("Agg")  # files only, no window
OUT = Path(__file__).resolve().parent.parent / "images"
DPI = 90


def save(axes: Any, name: str) -> None:
    figure = (axes[0] if isinstance(axes, list) else axes).figure
    figure.savefig(OUT / name, dpi=DPI)
    plt.close(figure)
    print(f"wrote {OUT / name}")


def diagnostics() -> pk.DataReport:
    data = pk.samples.synthetic(n_users=2_000, n_items=1_000, n_interactions=50_000, seed=0)
    report = pk.validate(data.interactions)
    save(report.plot(), "plot-diagnostics.png")
    return report


def solutions() -> None:
    data = pk.samples.synthetic(n_users=300, n_items=200, n_interactions=6_000, seed=1)
    interactions = data.interactions[["USER_ID", "ITEM_ID", "TIMESTAMP"]]
    with tempfile.TemporaryDirectory() as tmp:
        session = pk.Session.local(tmp, progress=False)
        with pk.DatasetGroup.create(session, "plots") as group:
            group.import_frame(interactions)
            trained = {
                recipe: group.train(recipe)
                for recipe in (
                    "popularity-count",
                    "user-personalization",
                    "user-personalization-v2",
                )
            }
            comparison = pk.compare_solutions(trained)
            print(comparison)
            save(comparison.plot(), "plot-solutions.png")


def costs() -> None:
    advice = advise("huggingface-llm-falcon-7b-bf16")
    save(advice.plot(), "plot-advice.png")
    save(advice.plot(kind="memory"), "plot-advice-memory.png")
    save(
        compare("ml.g4dn.4xlarge", "ml.p3.2xlarge", model="bloom-1b7").plot(),
        "plot-compare.png",
    )


def budget() -> None:
    now = dt.datetime(2026, 12, 6, 12, tzinfo=dt.timezone.utc)
    resources = tuple(
        RunningResource(
            service="sagemaker",
            kind="endpoint",
            name=name,
            arn=f"arn:aws:sagemaker:us-east-1:000000000000:endpoint/{name}",
            status="InService",
            usd_per_hour=usd,
            instance_type=instance,
            instance_count=1,
        )
        for name, instance, usd in (
            ("falcon-7b", "ml.g5.2xlarge", 1.515),
            ("bloom-1b7", "ml.g4dn.xlarge", 0.736),
        )
    )
    inventory = Inventory(region="us-east-1", resources=resources, taken_at=now)
    with tempfile.TemporaryDirectory() as tmp:
        session = pk.Session.local(tmp)
        guard = CostGuard(
            session,
            budget_usd=5_000,
            spent_usd=1_800,
            credit_expires="2027-03-31",
            live_prices=False,
        )
        status = guard.status(inventory, now=now)
    print(status)
    save(status.plot(), "plot-budget.png")


def main(which: list[str]) -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    steps = {"diagnostics": diagnostics, "solutions": solutions, "costs": costs, "budget": budget}
    for name in which or list(steps):
        steps[name]()


if __name__ == "__main__":
    main(sys.argv[1:])
