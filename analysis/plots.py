"""PNG plots of a job, a sweep and a trend, drawn on ``matplotlib.figure.Figure`` objects.

No pyplot and no global backend state: each figure is rendered by the Agg canvas to the path it
is given, so this works on a headless worker and does not disturb a caller's matplotlib setup.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from jobprobe.analysis import fields


def _series(ts: Mapping[str, Any], key: str) -> list[float] | None:
    values = ts.get(key)
    if not isinstance(values, list) or not any(v is not None for v in values):
        return None
    return [float("nan") if v is None else float(v) for v in values]


def _panel(
    ax: Axes,
    x: Sequence[float],
    ts: Mapping[str, Any],
    lines: Sequence[tuple[str, str, float]],
    ylabel: str,
    title: str,
) -> None:
    drawn = False
    for key, label, scale in lines:
        values = _series(ts, key)
        if values is not None and len(values) == len(x):
            ax.plot(x, [v * scale for v in values], label=label, linewidth=1.2)
            drawn = True
    ax.set_title(title, fontsize=10, loc="left")
    ax.set_ylabel(ylabel)
    ax.grid(alpha=0.3)
    if drawn:
        ax.legend(fontsize=8, loc="upper right")
    else:
        ax.text(
            0.5, 0.5, "not measured", ha="center", va="center", transform=ax.transAxes, color="grey"
        )


def _save(fig: Figure, path: Path | str) -> Path:
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    FigureCanvasAgg(fig)
    fig.savefig(out, format="png", dpi=100)
    return out


#: The job plot's panels: (title, unit, series (key, label, scale)); a panel is drawn only when
#: one of its series was measured. One unit per axis: the job's CPU in cores, the host's in
#: percent of all its cores; host-wide figures (other work's included) say so.
JOB_PANELS: tuple[tuple[str, str, tuple[tuple[str, str, float], ...]], ...] = (
    ("Job CPU", "cores", (("proc_cpu_percent", "job tree", 0.01),
                          ("container_cpu_percent", "container", 0.01))),
    ("Host CPU (host-wide, all work)", "% of all cores", (("cpu_percent", "host", 1.0),)),
    ("Job memory", "MB", (("proc_rss_mb", "job RSS", 1.0), ("container_mem_mb", "container", 1.0))),
    ("Host memory (host-wide, all work)", "MB", (("mem_used_mb", "host used", 1.0),)),
    ("GPU utilisation", "%", (("gpu_util_percent", "GPU util", 1.0),)),
    ("GPU temperature", "C", (("gpu_temp_c", "GPU temp", 1.0),)),
    ("GPU power", "W", (("gpu_power_w", "GPU power", 1.0),)),
    ("Job disk I/O", "MB/s", (("proc_read_bps", "job read", 1e-6),
                              ("proc_write_bps", "job write", 1e-6))),
    ("Host network (host-wide, all work)", "MB/s", (("net_sent_bps", "sent", 1e-6),
                                                    ("net_recv_bps", "received", 1e-6))),
)  # fmt: skip


def plot_job(record: Mapping[str, Any], path: Path | str) -> Path:
    """A job's resources over time, one panel per measured figure and unit (``JOB_PANELS``);
    nothing that was not measured gets a panel. Returns ``path``."""
    ts = fields.get(record, "detailed_profile.timeseries")
    ts = ts if isinstance(ts, Mapping) else {}
    x = _series(ts, "elapsed_s") or []
    measured = [
        (title, unit, lines)
        for title, unit, lines in JOB_PANELS
        if any((v := _series(ts, key)) is not None and len(v) == len(x) for key, _, _ in lines)
    ]
    fig = Figure(figsize=(10, 1.2 + 1.9 * max(1, len(measured))), layout="constrained")
    axes = list(np.atleast_1d(fig.subplots(max(1, len(measured)), 1, sharex=True)))
    for ax, (title, unit, lines) in zip(axes, measured, strict=False):
        _panel(ax, x, ts, lines, unit, title)
    if not measured:
        axes[0].text(0.5, 0.5, "no time series in the profile", ha="center", va="center",
                     transform=axes[0].transAxes, color="grey")  # fmt: skip
    axes[-1].set_xlabel("elapsed (s)")
    fig.suptitle(f"{record.get('task_id')} ({record.get('tool')}, {record.get('status')})")
    return _save(fig, path)


def plot_sweep(report: Mapping[str, Any], path: Path | str) -> Path:
    """Throughput and p99 latency against the swept parameter, knees, the SLO and the USL fit
    (drawn from its unrounded coefficients, its peak marked) marked; a panel only for what was
    measured. Returns ``path``."""
    points = report.get("points") or []
    x = [float(p["value"]) for p in points]
    tp = [(v, p["throughput"]) for v, p in zip(x, points, strict=True)
          if p.get("throughput") is not None]  # fmt: skip
    lat = [(v, p["p99_ms"]) for v, p in zip(x, points, strict=True) if p.get("p99_ms") is not None]
    p50 = [(v, p["p50_ms"]) for v, p in zip(x, points, strict=True) if p.get("p50_ms") is not None]
    names = report.get("metric_names") or {}
    panels = int(bool(tp) or not (lat or p50)) + int(bool(lat or p50))
    fig = Figure(figsize=(9, 3.8 * panels), layout="constrained")
    axes = list(np.atleast_1d(fig.subplots(panels, 1, sharex=True)))
    if tp or not (lat or p50):
        top = axes.pop(0)
        _throughput_panel(top, report, tp, x, ", ".join(names.get("throughput") or []))
    if lat or p50:
        bottom = axes.pop(0)
        if lat:
            bottom.plot([a for a, _ in lat], [b for _, b in lat], "o-", color="tab:red",
                        label="p99")  # fmt: skip
        if p50:
            bottom.plot([a for a, _ in p50], [b for _, b in p50], "o-", color="tab:orange",
                        label="p50")  # fmt: skip
        _mark(bottom, report.get("latency_knee"), "latency knee")
        slo = report.get("slo") or {}
        if slo:
            bottom.axhline(slo["slo_p99"], color="grey", linestyle=":", label="p99 SLO")
        bottom.set_ylabel("latency (ms)")
        bottom.grid(alpha=0.3)
        bottom.legend(fontsize=8)
    fig.axes[-1].set_xlabel(str(report.get("vary") or "load"))
    fig.suptitle(f"Saturation sweep over {report.get('vary') or 'load'}")
    return _save(fig, path)


def _throughput_panel(
    ax: Axes, report: Mapping[str, Any], tp: list[tuple[float, Any]], x: list[float], name: str
) -> None:
    if tp:
        ax.plot([a for a, _ in tp], [b for _, b in tp], "o-", label="throughput (median)")
    usl = report.get("usl") or {}
    if usl.get("ok") and x:
        lo, hi = min(x), max(x)
        grid = [lo + (hi - lo) * i / 199 for i in range(200)]
        lam, sig, kap = usl["lambda_"], usl["sigma"], usl["kappa"]
        ax.plot(
            grid,
            [lam * n / (1 + sig * (n - 1) + kap * n * (n - 1)) for n in grid],
            "--",
            label=f"USL fit (sigma={sig:.4g}, kappa={kap:.4g}, R2={usl['r2']:.4g})",
        )
        if usl.get("peak_n") is not None and lo <= usl["peak_n"] <= hi:
            ax.plot([usl["peak_n"]], [usl["peak_throughput"]], "v", color="tab:green",
                    label=f"USL peak @ {usl['peak_n']:.4g}")  # fmt: skip
    _mark(ax, report.get("throughput_knee"), "saturation")
    ax.set_ylabel(f"throughput ({name})" if name and name != "throughput" else "throughput")
    ax.grid(alpha=0.3)
    if tp:
        ax.legend(fontsize=8)
    else:
        ax.text(0.5, 0.5, "no throughput figures", ha="center", va="center",
                transform=ax.transAxes)  # fmt: skip


def _mark(ax: Axes, found: Mapping[str, Any] | None, label: str) -> None:
    if found and found.get("found"):
        ax.axvline(found["x"], color="black", linestyle="--", alpha=0.6)
        ax.annotate(
            f"{label} @ {found['x']:g}",
            (found["x"], found["y"]),
            textcoords="offset points",
            xytext=(6, -12),
            fontsize=8,
        )


def plot_trend(
    rows: Sequence[Mapping[str, Any]], path: Path | str, *, metric: str = "cpu_hours"
) -> Path:
    """One line per group of ``metric`` over buckets (rows from ``usage_over_time``)."""
    buckets = sorted({r["bucket"] for r in rows if r.get("bucket")})
    groups = sorted({r["group"] for r in rows})
    fig = Figure(figsize=(10, 5), layout="constrained")
    ax = fig.subplots()
    index = {b: i for i, b in enumerate(buckets)}
    for group in groups:
        pts = sorted(
            (index[r["bucket"]], float(r[metric]))
            for r in rows
            if r["group"] == group and r.get("bucket") in index and r.get(metric) is not None
        )
        if pts:
            ax.plot([p[0] for p in pts], [p[1] for p in pts], "o-", label=group)
    ax.set_xticks(
        range(len(buckets)), [b[:16] for b in buckets], rotation=30, ha="right", fontsize=8
    )
    ax.set_ylabel(metric.replace("_", " "))
    ax.grid(alpha=0.3)
    if groups:
        ax.legend(fontsize=8)
    ax.set_title(f"{metric.replace('_', ' ')} by group")
    return _save(fig, path)
