"""Solve the 2-D Poisson equation -∇²u = f on the unit square with Jacobi iterations (NumPy).

Parameters (from jobprobe): SIM_N grid points per side (default 200), SIM_ITERATIONS
(default 20000). Writes the residual history and timing to $JOBPROBE_METRICS_FILE.
"""

import json
import os
import time

import numpy as np

n = int(os.environ.get("SIM_N", "200"))
iterations = int(os.environ.get("SIM_ITERATIONS", "20000"))
h = 1.0 / (n + 1)
x = np.linspace(h, 1 - h, n)
X, Y = np.meshgrid(x, x, indexing="ij")
f = 2 * np.pi**2 * np.sin(np.pi * X) * np.sin(np.pi * Y)  # exact solution: sin(pi x) sin(pi y)
u = np.zeros((n + 2, n + 2))
t0 = time.perf_counter()
for it in range(iterations):
    u[1:-1, 1:-1] = 0.25 * (u[:-2, 1:-1] + u[2:, 1:-1] + u[1:-1, :-2] + u[1:-1, 2:] + h * h * f)
    if it % 5000 == 0:
        print(f"iteration {it}", flush=True)
elapsed = time.perf_counter() - t0
error = float(np.max(np.abs(u[1:-1, 1:-1] - np.sin(np.pi * X) * np.sin(np.pi * Y))))
updates = n * n * iterations
print(f"n={n} iterations={iterations} max_error={error:.3e} time={elapsed:.2f}s")
metrics_file = os.environ.get("JOBPROBE_METRICS_FILE")
if metrics_file:
    with open(metrics_file, "w") as fh:
        json.dump(
            {
                "n": n,
                "iterations": iterations,
                "max_error": error,
                "throughput": updates / elapsed,
                "elapsed_s": elapsed,
            },
            fh,
        )
