"""Counts of what the reliability tests tried, summed over pytest-xdist workers and printed at
the end of the run (the figures docs/reliability.md records)."""

from __future__ import annotations

import json
import os
from collections import Counter
from pathlib import Path

ENV = "PIPEDSL_TALLY_DIR"
COUNTS: Counter[str] = Counter()


def add(name: str, count: int = 1) -> None:
    COUNTS[name] += count


def flush() -> None:
    """Write this process's counts where the controlling process will read them."""
    folder = os.environ.get(ENV)
    if folder and COUNTS:
        Path(folder, f"{os.getpid()}.json").write_text(json.dumps(COUNTS), encoding="utf-8")


def collect() -> Counter[str]:
    """This process's counts plus every worker's."""
    total: Counter[str] = Counter(COUNTS)
    folder = os.environ.get(ENV)
    if folder:
        for file in Path(folder).glob("*.json"):
            if file.stem != str(os.getpid()):
                total.update(json.loads(file.read_text(encoding="utf-8")))
    return total
