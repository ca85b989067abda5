"""A toy service under load for saturation sweeps: SIM_CLIENTS concurrent workers.

Each worker performs CPU-bound "requests"; with more clients than cores, throughput
saturates and latency grows. Writes requests, throughput and p50/p99 latency (ms) to
$JOBPROBE_METRICS_FILE.
"""

import json
import os
import time
from concurrent.futures import ProcessPoolExecutor


def request(size: int) -> float:
    t0 = time.perf_counter()
    total = 0
    for i in range(size):
        total += i * i
    return (time.perf_counter() - t0) * 1000.0


if __name__ == "__main__":
    clients = int(os.environ.get("SIM_CLIENTS", "1"))
    per_client = int(os.environ.get("SIM_REQUESTS", "20"))
    size = int(os.environ.get("SIM_SIZE", "200000"))
    t0 = time.perf_counter()
    with ProcessPoolExecutor(max_workers=clients) as pool:
        latencies = sorted(pool.map(request, [size] * (clients * per_client)))
    elapsed = time.perf_counter() - t0
    n = len(latencies)
    metrics = {
        "clients": clients,
        "requests": n,
        "throughput": n / elapsed,
        "p50_ms": latencies[n // 2],
        "p99_ms": latencies[min(n - 1, int(n * 0.99))],
    }
    print(json.dumps(metrics))
    with open(os.environ["JOBPROBE_METRICS_FILE"], "w") as fh:
        json.dump(metrics, fh)
