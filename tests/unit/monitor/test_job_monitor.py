"""JobMonitor on real processes: outcome, exact usage, params, logs, timeout, cancel, stragglers."""

from __future__ import annotations

import json
import os
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from jobprobe.monitor import JobMonitor, JobSpec
from jobprobe.monitor.tools import load_registry

TOOLS = load_registry()


def gone(pid: int, within: float = 5.0) -> bool:
    """True once ``pid`` no longer runs (exited or a zombie), polled up to ``within`` seconds."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except (FileNotFoundError, ProcessLookupError):
            return True
        if state in {"Z", "X"}:
            return True
        time.sleep(0.02)
    return False


def spec(tool: str, script: str, name: str = "job.sh", **kwargs: Any) -> JobSpec:
    kwargs.setdefault("timeout_s", 60.0)
    return JobSpec(
        job_id="j" * 32, tool=TOOLS[tool], script_name=name, script_content=script, **kwargs
    )


def test_success_with_params_metrics_logs_and_exact_cpu(tmp_path: Path) -> None:
    script = (
        "import os, json, time\n"
        "t = time.process_time()\n"
        "while time.process_time() - t < 0.6: pass\n"
        "print('alpha', os.environ['SIM_ALPHA'], json.loads(os.environ['JOBPROBE_PARAMS']))\n"
        "json.dump({'throughput': 9.5}, open(os.environ['JOBPROBE_METRICS_FILE'], 'w'))\n"
        "open('result.dat', 'w').write('x' * 100)\n"
    )
    samples: list[dict[str, Any]] = []
    monitor = JobMonitor(sample_interval=0.1, write_samples=samples.extend, flush_seconds=0.2)
    out = monitor.run(spec("python", script, "sim.py", params={"alpha": 0.5}), tmp_path)
    assert out.status == "success" and out.returncode == 0 and out.error is None
    assert "alpha 0.5 {'alpha': 0.5}" in out.stdout_tail
    assert out.metrics == {"throughput": 9.5}
    assert {"path": "result.dat", "bytes": 100} in out.artifacts
    assert out.artifacts == [a for a in out.artifacts if a["path"] not in {"sim.py", "stdout.log"}]
    assert 0.6 <= out.resource_usage["cpu_total_seconds"] < 1.5  # type: ignore[operator]
    assert out.profile is not None and out.profile["samples_collected"] >= 3
    # Flushed while it ran, plus the rest, which travel with the outcome (one transaction).
    assert len(samples) + len(out.unwritten_samples) == out.profile["samples_collected"]
    stored = out.for_store()
    assert "timeseries" not in stored["detailed_profile"]
    json.dumps(stored)  # what the store and the spool take must be JSON


def test_secrets_and_settings_do_not_reach_the_job(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("JOBPROBE_ISS_CLIENT_SECRET", "s3cret")
    monkeypatch.setenv("CLIENT_SECRET", "s3cret")
    out = JobMonitor(enable_profiling=False).run(spec("bash", "env\n"), tmp_path)
    assert "s3cret" not in out.stdout_tail and "JOBPROBE_JOB_ID=" in out.stdout_tail


def test_failure_reports_code_and_last_stderr_line(tmp_path: Path) -> None:
    out = JobMonitor(enable_profiling=False).run(spec("bash", "echo boom >&2\nexit 7\n"), tmp_path)
    assert out.status == "failed" and out.returncode == 7
    assert out.error == "exited with code 7: boom"


def test_timeout_kills_the_whole_group(tmp_path: Path) -> None:
    script = "sleep 60 &\necho $! > child.pid\nsleep 60\n"
    t0 = time.monotonic()
    out = JobMonitor(enable_profiling=False, kill_grace=0.5).run(
        spec("bash", script, timeout_s=1), tmp_path
    )
    assert out.status == "timeout" and time.monotonic() - t0 < 10
    assert gone(int((tmp_path / "child.pid").read_text()))


def test_cancel_stops_a_running_job(tmp_path: Path) -> None:
    monitor = JobMonitor(enable_profiling=False, kill_grace=0.5, cancel_poll_seconds=0.1)
    threading.Timer(0.5, monitor.cancel).start()
    out = monitor.run(spec("bash", "sleep 60\n"), tmp_path)
    assert out.status == "cancelled" and out.duration_s < 5


def test_should_cancel_callback_is_polled(tmp_path: Path) -> None:
    t0 = time.monotonic()
    monitor = JobMonitor(
        enable_profiling=False, kill_grace=0.5, cancel_poll_seconds=0.1,
        should_cancel=lambda: time.monotonic() - t0 > 0.5,
    )  # fmt: skip
    assert monitor.run(spec("bash", "sleep 60\n"), tmp_path).status == "cancelled"


class Shutdown(BaseException):
    """Something that is not an Exception tearing through the monitor (as SystemExit would)."""


def test_an_error_while_waiting_does_not_leave_the_job_running(tmp_path: Path) -> None:
    def interrupted() -> bool:
        if (tmp_path / "job.pid").exists():
            raise Shutdown
        return False

    monitor = JobMonitor(enable_profiling=False, cancel_poll_seconds=0.1, should_cancel=interrupted)
    with pytest.raises(Shutdown):
        monitor.run(spec("bash", "echo $$ > job.pid\nsleep 60\n"), tmp_path)
    assert gone(int((tmp_path / "job.pid").read_text())), "the job outlived its monitor's error"


def test_background_stragglers_are_ended_with_the_job(tmp_path: Path) -> None:
    out = JobMonitor(enable_profiling=False).run(
        spec("bash", "sleep 60 &\necho $! > bg.pid\n"), tmp_path
    )
    assert out.status == "success"
    assert gone(int((tmp_path / "bg.pid").read_text())), "the job's background process outlived it"


def test_bad_metrics_file_is_reported_not_hidden(tmp_path: Path) -> None:
    out = JobMonitor(enable_profiling=False).run(
        spec("bash", 'echo "{oops" > "$JOBPROBE_METRICS_FILE"\n'), tmp_path
    )
    assert out.metrics == {} and out.error is not None and "not valid JSON" in out.error


def test_missing_program_is_a_launch_error(tmp_path: Path) -> None:
    from jobprobe.monitor import errors
    from jobprobe.monitor.tools import Tool

    tool = Tool(name="ghost", command=("/nonexistent/solver", "{script}"))
    job = JobSpec(job_id="j" * 32, tool=tool, script_name="x", script_content="", timeout_s=60)
    with pytest.raises(errors.LaunchError, match=r"cannot start ./nonexistent/solver.: not found"):
        JobMonitor(enable_profiling=False).run(job, tmp_path)


LAUNCHER = """
import json, sys, tempfile
from pathlib import Path
from jobprobe.monitor import JobMonitor, JobSpec
from jobprobe.monitor.tools import load_registry

ballast = bytearray(300 * 2**20)  # a launcher as big as a worker with its libraries loaded
for i in range(0, len(ballast), 4096):
    ballast[i] = 1
tool = load_registry()["python"]
peaks = {}
for name, code in (("small", "import time\\ntime.sleep(0.3)\\n"),
                   ("big", "b = bytearray(400 * 2**20)\\nfor i in range(0, len(b), 4096): b[i] = 1\\n")):
    spec = JobSpec(job_id="m" * 32, tool=tool, script_name=name + ".py", script_content=code,
                   timeout_s=60)
    out = JobMonitor(sample_interval=0.1).run(spec, Path(tempfile.mkdtemp()))
    peaks[name] = out.resource_usage["memory_peak_mb"]
print(json.dumps(peaks))
"""


def test_peak_memory_is_the_jobs_not_the_launchers() -> None:
    # Linux folds the image a child inherits before exec into its ru_maxrss: a big launcher
    # (a 170 MB worker) must not make every job it starts "peak" at the launcher's size.
    # The launcher runs in its own process so its size does not leak into other tests.
    import subprocess
    import sys

    root = Path(__file__).resolve().parents[3]
    out = subprocess.run(
        [sys.executable, "-c", LAUNCHER], cwd=root, capture_output=True, text=True, timeout=120,
        env={**os.environ, "PYTHONPATH": str(root)},
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    peaks = json.loads(out.stdout)
    assert peaks["small"] is None or peaks["small"] < 100, f"idle interpreter reported {peaks}"
    assert peaks["big"] == pytest.approx(410, rel=0.1)
