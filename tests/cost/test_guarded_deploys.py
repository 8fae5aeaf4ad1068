"""Campaigns and recommenders deployed with a CostGuard: refused before anything bills."""

from __future__ import annotations

from pathlib import Path

import pytest
from _accounts import FAST, interactions, session

from personakit import local
from personakit.cost import Catalog, CostGuard
from personakit.dataset import DatasetGroup
from personakit.errors import BudgetExceededError


def test_a_campaign_that_breaks_the_budget_is_never_created(tmp_path: Path) -> None:
    with local.LocalEngine(tmp_path) as engine:
        s = session(engine, "guarded")
        personalize = s.client("personalize")
        with DatasetGroup.create(s, "guarded", timing=FAST) as group:
            group.import_frame(interactions())
            solution = group.train("popularity-count")
            guard = CostGuard(s, budget_usd=1000, catalog=Catalog.load())

            # 5 TPS floor: 5 x $0.20 x 730 h = $730 a month, fits $1,000
            with solution.deploy(min_tps=5, guard=guard, name="fits") as campaign:
                assert campaign.arn
                # a second one at 2 TPS ($292) does not fit next to the first ($730)
                with pytest.raises(BudgetExceededError) as info:
                    solution.deploy(min_tps=2, guard=guard, name="too-dear")
                error = info.value
                assert error.what == "a campaign at 2 TPS"
                assert error.remaining_usd == pytest.approx(1000 - 730)
                assert "already running ($1.00/h)" in str(error)
                names = [c["name"] for c in personalize.list_campaigns()["campaigns"]]
                assert names == ["fits"]  # nothing was created for the refused one

            # without anything running, a month of 10 TPS ($1,460) is refused too
            with pytest.raises(BudgetExceededError, match=r"\$1,460\.00 a month"):
                solution.deploy(min_tps=10, guard=guard, name="floor-too-high")
        assert personalize.list_campaigns()["campaigns"] == []


def test_a_recommender_asks_the_guard_first(tmp_path: Path) -> None:
    with local.LocalEngine(tmp_path) as engine:
        s = session(engine, "guarded")
        spent = CostGuard(s, budget_usd=1000, spent_usd=990, catalog=Catalog.load())
        group = DatasetGroup.create(s, "vod", domain="VIDEO_ON_DEMAND", timing=FAST)
        with group, pytest.raises(BudgetExceededError, match="a recommender costs"):
            group.recommender("top-picks", guard=spent)
        assert s.client("personalize").list_recommenders()["recommenders"] == []
