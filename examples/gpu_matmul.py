"""Keep one NVIDIA GPU busy with dense matrix products (PyTorch) for a set time.

Parameters (from jobprobe): SIM_SECONDS (or "seconds" in $JOBPROBE_PARAMS) how long the product
loop runs (default 10), SIM_N matrix size (default 8192), SIM_DTYPE bf16 or fp32 (default bf16).
Prints the achieved TFLOP/s and writes it to $JOBPROBE_METRICS_FILE. Without PyTorch or a CUDA
device it prints one line to stderr and exits with 2.
"""

from __future__ import annotations

import json
import os
import sys
import time
from typing import Any


def param(name: str, default: str) -> str:
    """SIM_<NAME>, else JOBPROBE_PARAMS[name], else ``default``."""
    value = os.environ.get(f"SIM_{name.upper()}")
    if value is not None:
        return value
    try:
        params: Any = json.loads(os.environ.get("JOBPROBE_PARAMS") or "{}")
    except ValueError:
        params = {}
    got = params.get(name) if isinstance(params, dict) else None
    return default if got is None else str(got)


def main() -> int:
    seconds = float(param("seconds", "10"))
    n = int(param("n", "8192"))
    dtype_name = param("dtype", "bf16")
    try:
        import torch
    except ImportError:
        print("gpu_matmul: PyTorch is not installed (pip install torch)", file=sys.stderr)
        return 2
    if not torch.cuda.is_available():
        print("gpu_matmul: PyTorch sees no CUDA device", file=sys.stderr)
        return 2
    dtypes = {"bf16": torch.bfloat16, "fp32": torch.float32}
    if dtype_name not in dtypes:
        print(f"gpu_matmul: dtype must be bf16 or fp32, not {dtype_name!r}", file=sys.stderr)
        return 2
    a = torch.randn(n, n, device="cuda", dtype=dtypes[dtype_name])
    b = torch.randn(n, n, device="cuda", dtype=dtypes[dtype_name])
    c = a @ b  # warm-up: picks the kernel
    torch.cuda.synchronize()
    products, batch = 0, 10
    t0 = time.perf_counter()
    next_report = t0 + 2.0
    while (now := time.perf_counter()) - t0 < seconds:
        for _ in range(batch):
            torch.matmul(a, b, out=c)
        torch.cuda.synchronize()
        products += batch
        if now >= next_report:
            print(f"{now - t0:.0f} s: {products} products", flush=True)
            next_report += 2.0
    elapsed = time.perf_counter() - t0
    tflops = 2.0 * n**3 * products / elapsed / 1e12
    device = torch.cuda.get_device_name()
    print(
        f"{device}: {products} {dtype_name} {n}x{n} products in {elapsed:.2f} s, {tflops:.1f} TFLOP/s"
    )
    metrics_file = os.environ.get("JOBPROBE_METRICS_FILE")
    if metrics_file:
        with open(metrics_file, "w") as fh:
            json.dump(
                {"device": device, "n": n, "dtype": dtype_name, "products": products,
                 "elapsed_s": elapsed, "tflops": tflops},
                fh,
            )  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
