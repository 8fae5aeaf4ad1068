"""Segments that write their own promotion, offline: Personalize finds the users, an LLM writes.

On the embedded local engine (no AWS account, no cost): synthetic shop data is
imported into a dataset group, an Item-Affinity solution is trained, one batch
segment job finds the users most likely to interact with each chosen item, and a
JumpStart text model, deployed to a (local) SageMaker endpoint, writes one
promotion message per segment from the item's metadata. The endpoint is deleted
as soon as the messages are written; the dataset group when the script ends.

The local engine has no LLM of its own: a small Python function stands in for the
model (``llm_handlers``). On AWS the same call deploys the real model; see
``docs/promotions.md``.

    python examples/segments_promotion.py --items 4 --users 20
"""

from __future__ import annotations

import argparse
import re
import tempfile
import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import personakit as pk

MODEL = "huggingface-llm-falcon-7b-bf16"


def copywriter(prompt: str, params: Mapping[str, Any]) -> str:
    """The stand-in model: a message from the GENRES and DESCRIPTION lines of the prompt."""
    fields = dict(re.findall(r"^(GENRES|DESCRIPTION): (.*)$", prompt, re.M))
    users = re.search(r"group of ([\d,]+) customers", prompt)
    genre = fields.get("GENRES", "new").split("|")[0].lower()
    pitch = fields.get("DESCRIPTION", "Something new is waiting for you.").split(". ")[0]
    audience = f"{users.group(1)} {genre} fans" if users else f"{genre} fans"
    return f"For our {audience}: {pitch}. Watch it tonight!"


def main(argv: Sequence[str] | None = None) -> pk.marketing.SegmentMessages:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workspace", help="local engine folder (default: a temporary one)")
    parser.add_argument("--items", type=int, default=3, help="segments: the N most popular items")
    parser.add_argument("--users", type=int, default=10, help="users per segment")
    parser.add_argument("--seed", type=int, default=0, help="seed of the synthetic data")
    args = parser.parse_args(argv)

    data = pk.samples.synthetic(n_users=150, n_items=60, n_interactions=3_000, seed=args.seed)
    workspace = args.workspace or tempfile.mkdtemp(prefix="pk-promotions-")
    with (
        pk.Session.local(workspace, llm_handlers={MODEL: copywriter}, progress=False) as session,
        pk.DatasetGroup.create(session, "shop-promotions") as group,
    ):
        group.import_frame(data.interactions)
        group.import_frame(data.items, dataset_type="items")
        affinity = group.train("item-affinity")
        top = data.interactions["ITEM_ID"].value_counts().index[: args.items].tolist()
        # a budget for the endpoint, checked before anything is created
        guard = pk.CostGuard(session, budget_usd=2_000, live_prices=False, count_running=False)
        with warnings.catch_warnings():  # offline: JumpStart specs from the packaged snapshot
            warnings.simplefilter("ignore", pk.llm.JumpStartWarning)
            messages = pk.marketing.promote(
                affinity,
                items=top,
                metadata=data.items,
                llm=MODEL,
                guard=guard,
                users=args.users,
                catalog=pk.llm.JumpStartCatalog(session.region, offline=True),
            )
        written = len(messages) - len(messages.failed)
        print(
            f"{written} of {len(messages)} segments have a message; endpoint deleted: "
            f"{messages.endpoint_deleted}"
        )
        for segment in messages:
            print(
                f"\n{segment.segment}: {segment.users} users ({', '.join(segment.user_ids[:5])}...)"
            )
            print(f"  {segment.message or 'ERROR: ' + str(segment.error)}")
    return messages


if __name__ == "__main__":
    main()
