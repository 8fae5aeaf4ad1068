"""What SageMaker hosting and Amazon Personalize cost, which instance fits, and a budget guard.

::

    from personakit import cost

    catalog = cost.Catalog.load()                         # packaged, dated snapshot (offline)
    catalog = cost.refresh(session, "us-east-1")          # live Price List API, cached; falls back
    print(cost.advise("huggingface-llm-falcon-7b-bf16", catalog=catalog))
    print(cost.compare("ml.g4dn.4xlarge", "ml.p3.2xlarge", model="bloom-1b1"))
    print(cost.estimate(data_gb=10, training_hours=20, campaign_tps_hours=(1, 730)))
    print(cost.bill(local_session, region="us-east-1"))  # the AWS bill of a local run
    prices = cost.refresh_personalize(session, "us-east-1")  # Personalize prices, live or dated
    print(cost.lab())                                      # the lab's scenarios and claim

    print(cost.running(session))                         # what bills now, $/h, who made it
    guard = cost.CostGuard(session, budget_usd=15_000, credit_expires="2027-03-31")
    print(guard.status())                                 # burn rate, projection to expiry
    guard.check_deploy("ml.g5.2xlarge")   # BudgetExceededError if a month is too dear
    print(cost.sweep(session, older_than="2h"))           # leftovers of crashed runs (dry run)

Modules: :mod:`~personakit.cost.catalog` (instance data, pure),
:mod:`~personakit.cost.models` (model sizes), :mod:`~personakit.cost.fit` (one
instance judged: fit, price, throughput), :mod:`~personakit.cost.advice` (the
ranking, comparisons), :mod:`~personakit.cost.lab` (the lab's scenarios in one call),
:mod:`~personakit.cost.personalize` (Personalize estimate),
:mod:`~personakit.cost.personalize_prices` (Personalize's prices: Price List API or snapshot),
:mod:`~personakit.cost.bill` (the AWS bill of a local run),
:mod:`~personakit.cost.pricing` (the Price List API, read through
:mod:`~personakit.aws.paging`),
:mod:`~personakit.cost.inventory` (what runs), :mod:`~personakit.cost.guard`
(CostGuard), :mod:`~personakit.cost.sweep` (leftovers), :mod:`~personakit.cost.cli`
(the ``personakit cost`` and ``personakit sweep`` commands).
"""

from __future__ import annotations

from personakit.cost.advice import Advice, Comparison, advise, compare
from personakit.cost.bill import bill
from personakit.cost.catalog import HOURS_PER_MONTH, Accelerator, Catalog, InstanceType, Price
from personakit.cost.fit import Benchmark, Option, SpecInfo, Workload, instances_needed
from personakit.cost.guard import BudgetCheck, BudgetStatus, CostGuard, DeployCheck
from personakit.cost.inventory import Inventory, RunningResource, parse_duration, running
from personakit.cost.lab import SCENARIOS, ClaimCheck, LabReport, LabRow, Scenario, lab
from personakit.cost.models import KNOWN_MODELS, ModelSize
from personakit.cost.personalize import Estimate, LineItem, estimate
from personakit.cost.personalize_prices import PriceTable, UnitPrice, refresh_personalize
from personakit.cost.pricing import refresh
from personakit.cost.sweep import SweepItem, SweepReport, sweep

__all__ = [
    "HOURS_PER_MONTH",
    "KNOWN_MODELS",
    "SCENARIOS",
    "Accelerator",
    "Advice",
    "Benchmark",
    "BudgetCheck",
    "BudgetStatus",
    "Catalog",
    "ClaimCheck",
    "Comparison",
    "CostGuard",
    "DeployCheck",
    "Estimate",
    "InstanceType",
    "Inventory",
    "LabReport",
    "LabRow",
    "LineItem",
    "ModelSize",
    "Option",
    "Price",
    "PriceTable",
    "RunningResource",
    "Scenario",
    "SpecInfo",
    "SweepItem",
    "SweepReport",
    "UnitPrice",
    "Workload",
    "advise",
    "bill",
    "compare",
    "estimate",
    "instances_needed",
    "lab",
    "parse_duration",
    "refresh",
    "refresh_personalize",
    "running",
    "sweep",
]
