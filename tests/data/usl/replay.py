"""Replays one point of a published USL data set as a job's result, for end-to-end sweeps.

Parameters (jobprobe passes ``--param``/``--vary`` as ``SIM_<NAME>``): ``SIM_DATASET`` (the
absolute path of a data set's csv: the script runs from a copy), ``SIM_LOAD`` (the load whose throughput to report) and
``SIM_METRIC`` (the metrics name to write it under, default ``throughput``). Writes the JSON
object to ``$JOBPROBE_METRICS_FILE``.
"""

from __future__ import annotations

import csv
import json
import os
from pathlib import Path


def main() -> None:
    """Write the data set's throughput at SIM_LOAD as the job's metric."""
    load = float(os.environ["SIM_LOAD"])
    with Path(os.environ["SIM_DATASET"]).open() as fh:
        rows = list(csv.DictReader(line for line in fh if not line.startswith("#")))
    (row,) = [r for r in rows if float(r["load"]) == load]
    metrics = {os.environ.get("SIM_METRIC", "throughput"): float(row["throughput"])}
    print(json.dumps(metrics))
    with open(os.environ["JOBPROBE_METRICS_FILE"], "w") as fh:
        json.dump(metrics, fh)


if __name__ == "__main__":
    main()
