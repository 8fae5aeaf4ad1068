"""Import cost of personakit, measured with ``python -X importtime`` in fresh subprocesses.

``import personakit`` must stay cheap: no sagemaker SDK, no boto3, no pandas at
import time (they load on first use). This compares, in fresh interpreters:

* ``baseline``: ``import boto3, pandas`` (what any user of personakit imports anyway);
* ``personakit``: ``import personakit``;
* ``personakit.llm``: ``import personakit.llm``;
* ``LLMEndpoint``: ``from personakit.llm import LLMEndpoint`` (first use: loads botocore
  and tenacity, still no boto3 or sagemaker SDK);
* ``both``: ``import boto3, pandas, personakit, personakit.llm``;
* ``surface``: the names a Personalize script touches (``pk.Session``,
  ``pk.DatasetGroup``, ``pk.validate``, ``pk.prep``, ``pk.write_csv``, ``pk.Filter``).

To compare two versions of personakit, run the script once per checkout (e.g.
``PYTHONPATH=/path/to/other/src python benchmarks/bench_import.py``): the figures are
ratios against ``import boto3, pandas`` measured in the same run.

Each figure is the sum of the ``self`` column of ``-X importtime`` (every module's
own import time, microseconds), the median of ``--repeat`` runs. personakit's
*extra* is ``both - baseline``: the modules personakit adds on top of boto3 and
pandas; the target is under 30 % of the baseline. Run::

    .venv/bin/python benchmarks/bench_import.py --repeat 7
"""

from __future__ import annotations

import argparse
import re
import statistics
import subprocess
import sys

CASES = {
    "baseline": "import boto3, pandas",
    "personakit": "import personakit",
    "personakit.llm": "import personakit.llm",
    "LLMEndpoint": "from personakit.llm import LLMEndpoint",
    "both": "import boto3, pandas, personakit, personakit.llm",
    "surface": (
        "import personakit as pk; pk.Session, pk.DatasetGroup, pk.validate, pk.prep,"
        " pk.write_csv, pk.Filter"
    ),
}
HEAVY = ("sagemaker", "boto3", "botocore", "pandas", "numpy", "pyarrow", "scipy", "tqdm")
_LINE = re.compile(r"^import time:\s+(\d+)\s+\|\s+(\d+)\s+\|(\s*)(\S+)")
TARGET = 0.30


def measure(code: str) -> tuple[int, dict[str, int], list[str]]:
    """Total self time (us), self time per module, and the heavy modules left loaded."""
    probe = f"{code}; import sys; print(','.join(m for m in {HEAVY!r} if m in sys.modules))"
    out = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", probe],
        capture_output=True,
        text=True,
        check=True,
    )
    per_module: dict[str, int] = {}
    for line in out.stderr.splitlines():
        match = _LINE.match(line)
        if match:
            per_module[match.group(4)] = int(match.group(1))
    heavy = [m for m in out.stdout.strip().split(",") if m]
    return sum(per_module.values()), per_module, heavy


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()

    totals: dict[str, list[int]] = {name: [] for name in CASES}
    modules: dict[str, dict[str, int]] = {}
    heavy: dict[str, list[str]] = {}
    for _ in range(args.repeat):
        for name, code in CASES.items():
            total, per_module, loaded = measure(code)
            totals[name].append(total)
            modules[name] = per_module
            heavy[name] = loaded
    median = {name: statistics.median(values) for name, values in totals.items()}

    print(f"python {sys.version.split()[0]}, median of {args.repeat} runs (-X importtime, self us)")
    for name, code in CASES.items():
        print(f"  {name:15s} {median[name] / 1000:8.1f} ms   {code}   heavy: {heavy[name] or '-'}")
    extra = median["both"] - median["baseline"]
    ratio = extra / median["baseline"]
    print(
        f"personakit's extra over boto3+pandas: {extra / 1000:.1f} ms = {ratio:.1%} (target < 30%)"
    )
    base = median["baseline"]
    for name in ("personakit", "personakit.llm", "LLMEndpoint", "surface"):
        print(f"  {CASES[name]} alone: {median[name] / base:.1%} of boto3+pandas")
    added = {mod: t for mod, t in modules["both"].items() if mod not in modules["baseline"]}
    top = sorted(added.items(), key=lambda kv: -kv[1])[:8]
    print("largest modules personakit adds:", ", ".join(f"{m} {t / 1000:.1f}ms" for m, t in top))
    if "sagemaker" in heavy["personakit"] or "sagemaker" in heavy["personakit.llm"]:
        raise SystemExit("personakit imported the sagemaker SDK")
    if ratio >= TARGET:
        raise SystemExit(
            f"personakit's import overhead {ratio:.1%} is over the {TARGET:.0%} target"
        )


if __name__ == "__main__":
    main()
