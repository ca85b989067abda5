"""The published USL reference data sets under tests/data/usl (their sources are in the files)."""

from __future__ import annotations

import csv
from pathlib import Path

DATA = Path(__file__).resolve().parents[2] / "data" / "usl"


def load(name: str) -> tuple[list[float], list[float]]:
    """(loads, throughputs) of ``tests/data/usl/<name>.csv``."""
    with (DATA / f"{name}.csv").open() as fh:
        rows = list(csv.DictReader(line for line in fh if not line.startswith("#")))
    return [float(r["load"]) for r in rows], [float(r["throughput"]) for r in rows]
