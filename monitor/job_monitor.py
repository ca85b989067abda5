"""JobMonitor: runs one job (process or container), owns its lifetime, profiles it, reports the outcome."""

from __future__ import annotations

import functools
import json
import logging
import os
import re
import signal
import socket
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psutil

from jobprobe.monitor import cgroups, isolation, job_uids, outcome, process, workdirs
from jobprobe.monitor import container as container_mod
from jobprobe.monitor.limits import Limits
from jobprobe.monitor.sample_buffer import SampleBuffer
from jobprobe.monitor.tools import Tool
from jobprobe.store.status import JobStatus

log = logging.getLogger(__name__)

#: What a job inherits from the worker's environment; nothing else (no secret) reaches it.
_PASSED_ENV = re.compile(
    r"^(PATH|LANG|LANGUAGE|LC_[A-Z]+|TZ|TERM|(CUDA|NVIDIA|HIP|ROCR|ZE_AFFINITY)_VISIBLE_DEVICES"
    r"|ZE_AFFINITY_MASK)$"
)
_KEY_SANITISE = re.compile(r"[^A-Za-z0-9_]")


@dataclass
class JobSpec:
    """What to run: everything a worker needs, no shared filesystem assumed."""

    job_id: str
    tool: Tool
    script_name: str
    script_content: str | None
    timeout_s: float
    params: Mapping[str, Any] = field(default_factory=dict)
    gpus: int = 0
    attempt: int = 1
    limits: Limits = field(default_factory=Limits)


@dataclass
class JobOutcome:
    """How a job ended, with its measured usage and profile."""

    status: JobStatus
    returncode: int | None
    error: str | None
    started_at: datetime
    ended_at: datetime
    duration_s: float
    resource_usage: dict[str, float | None]
    profile: dict[str, Any] | None
    metrics: dict[str, Any]
    host: dict[str, Any]
    workdir: str
    stdout_path: str
    stderr_path: str
    stdout_tail: str
    stderr_tail: str
    artifacts: list[dict[str, Any]]
    unwritten_samples: list[dict[str, Any]] = field(default_factory=list)
    #: How the job was contained and counted: ``accounting``, ``leaked_processes``, limits.
    containment: dict[str, Any] = field(default_factory=dict)

    def for_store(self) -> dict[str, Any]:
        """The JSON-able outcome ``store.attempts.finish_job`` takes (and the spool keeps)."""
        profile = None
        if self.profile is not None:
            profile = {k: v for k, v in self.profile.items() if k != "timeseries"}
        return {
            "status": self.status,
            "returncode": self.returncode,
            "error": self.error,
            "ended_at": self.ended_at.isoformat(),
            "duration_s": self.duration_s,
            "cpu_user_s": self.resource_usage.get("cpu_user_seconds"),
            "cpu_system_s": self.resource_usage.get("cpu_system_seconds"),
            "cpu_total_s": self.resource_usage.get("cpu_total_seconds"),
            "memory_peak_mb": self.resource_usage.get("memory_peak_mb"),
            "detailed_profile": profile,
            "metrics": self.metrics,
            "host": self.host,
            "workdir": self.workdir,
            "stdout_path": self.stdout_path,
            "stderr_path": self.stderr_path,
            "stdout_tail": self.stdout_tail,
            "stderr_tail": self.stderr_tail,
            "artifacts": self.artifacts,
            "containment": self.containment,
        }


def job_environment(spec: JobSpec, workdir: str, user: str | None = None) -> dict[str, str]:
    """The job's environment, built from scratch: no setting or secret of the worker's.

    From the worker it keeps only ``PATH``, the locale, ``TZ``, ``TERM`` and the GPU selection
    (``CUDA_VISIBLE_DEVICES`` and the like); ``HOME`` is the working directory; then the tool's
    ``env``, one ``SIM_<NAME>`` per parameter, ``JOBPROBE_PARAMS`` (all of them, JSON),
    ``JOBPROBE_JOB_ID``, ``JOBPROBE_WORKDIR`` and ``JOBPROBE_METRICS_FILE``.
    """
    env = {k: v for k, v in os.environ.items() if _PASSED_ENV.match(k)}
    env.setdefault("PATH", os.defpath)
    env["HOME"] = workdir
    if user is not None:
        env["USER"] = env["LOGNAME"] = user
    env.update(spec.tool.env)
    for key, value in spec.params.items():
        env[f"SIM_{_KEY_SANITISE.sub('_', str(key)).upper()}"] = (
            value if isinstance(value, str) else json.dumps(value)
        )
    env["JOBPROBE_JOB_ID"] = spec.job_id
    env["JOBPROBE_PARAMS"] = json.dumps(dict(spec.params))
    env["JOBPROBE_WORKDIR"] = workdir
    env["JOBPROBE_METRICS_FILE"] = f"{workdir}/{outcome.METRICS_FILE}"
    return env


def host_facts() -> dict[str, Any]:
    """What the job ran on (for analysis: cores and memory)."""
    return dict(_host_facts())


@functools.lru_cache(maxsize=1)
def _host_facts() -> tuple[tuple[str, Any], ...]:  # fixed for a worker's life: read once
    return (
        ("hostname", socket.gethostname()),
        ("cpu_count", os.cpu_count()),
        ("mem_total_mb", round(psutil.virtual_memory().total / 2**20, 1)),
    )


class JobMonitor:
    """Runs jobs and watches them: timeout, cancel, logs, exact usage, profile, outcome."""

    def __init__(
        self,
        enable_profiling: bool = True,
        *,
        sample_interval: float = 0.5,
        kill_grace: float = 10.0,
        flush_seconds: float = 2.0,
        docker_base_url: str | None = None,
        write_samples: Callable[[list[dict[str, Any]]], None] | None = None,
        should_cancel: Callable[[], bool] | None = None,
        cancel_poll_seconds: float = 1.0,
        cgroups: cgroups.Cgroups | None = None,
        job_user: str | None = None,
        private_root: Path | None = None,
        own_uids: job_uids.UidRange | None = None,
    ) -> None:
        self.enable_profiling = enable_profiling
        self.sample_interval = sample_interval
        self.kill_grace = kill_grace
        self.flush_seconds = flush_seconds
        self.docker_base_url = docker_base_url
        self.write_samples = write_samples
        self.should_cancel = should_cancel
        self.cancel_poll_seconds = cancel_poll_seconds
        #: Where job groups are made (default: beneath the worker's own group).
        self.cgroups = cgroups if cgroups is not None else cgroups_default()
        #: The account process jobs run as (``isolation.resolve``; None: the worker's own).
        self.job_user = job_user
        #: The data directory: only the jobs' own folders in it are reachable by a job.
        self.private_root = private_root
        #: Uids from which each job of ``job_user`` gets one of its own (None: the account's).
        self.own_uids = own_uids
        self._cancel = threading.Event()

    def cancel(self) -> None:
        """Ask the running job to stop (SIGTERM, grace, SIGKILL)."""
        self._cancel.set()

    def _prepare(self, spec: JobSpec, workdir: Path, account: isolation.Account | None) -> None:
        workdir.mkdir(parents=True, exist_ok=True)
        if spec.script_content is not None:
            target = workdir / Path(spec.script_name).name
            target.write_text(spec.script_content)
            target.chmod(0o755)
        for stream in ("stdout", "stderr"):
            workdirs.log_path(workdir, stream).touch()
        if account is not None:
            isolation.prepare(workdir, account, self.private_root)

    def run(self, spec: JobSpec, workdir: Path) -> JobOutcome:
        """Run ``spec`` in ``workdir`` to its end and return the outcome."""
        account = None if spec.tool.image else isolation.resolve(self.job_user, spec.tool.user)
        uid_claim = None
        if account is not None and account.switch and spec.tool.user is None and self.own_uids:
            uid_claim = job_uids.claim(self.own_uids)
            account = account.with_uid(uid_claim.uid)
        try:
            return self._run(spec, workdir, account)
        finally:
            if uid_claim is not None:
                uid_claim.release()

    def _run(self, spec: JobSpec, workdir: Path, account: isolation.Account | None) -> JobOutcome:
        self._prepare(spec, workdir, account)
        stdout, stderr = workdirs.log_path(workdir, "stdout"), workdirs.log_path(workdir, "stderr")
        buffer = (
            SampleBuffer(self.write_samples, flush_seconds=self.flush_seconds)
            if self.write_samples
            else None
        )
        started_at = datetime.now(UTC)
        t0 = time.monotonic()
        if spec.tool.image:
            status, code, rusage, profile, error = self._run_container(
                spec, workdir, stdout, stderr, buffer
            )
            containment: dict[str, Any] = {
                "accounting": "container", "leaked_processes": None,
                "limits": {**spec.limits.as_record(), "applied": True if spec.limits else None,
                           "reason": None},
            }  # fmt: skip
        else:
            assert account is not None
            try:
                status, code, rusage, profile, error, containment = self._run_process(
                    spec, workdir, stdout, stderr, buffer, account
                )
            finally:
                isolation.reclaim(workdir, account)
            containment["isolation"] = account.as_record()
        duration = time.monotonic() - t0
        unwritten = buffer.close() if buffer else []
        metrics, metrics_error = outcome.read_metrics(workdir / outcome.METRICS_FILE)
        if metrics_error and error is None and status == JobStatus.SUCCESS:
            error = metrics_error
        return JobOutcome(
            status=status,
            returncode=code,
            error=error,
            started_at=started_at,
            ended_at=datetime.now(UTC),
            duration_s=round(duration, 6),
            resource_usage=rusage,
            profile=profile,
            metrics=metrics,
            host=host_facts(),
            workdir=str(workdir),
            stdout_path=str(stdout),
            stderr_path=str(stderr),
            stdout_tail=outcome.tail(stdout),
            stderr_tail=outcome.tail(stderr),
            artifacts=outcome.artifacts(workdir, skip=Path(spec.script_name).name),
            unwritten_samples=unwritten,
            containment=containment,
        )

    def _start_profiler(
        self, buffer: SampleBuffer | None, pid: int | None, container: str | None,
        group: Mapping[str, Path] | None = None,
    ) -> Any:  # fmt: skip
        if not self.enable_profiling:
            return None
        from jobprobe.profiler import ResourceProfiler

        on_sample = buffer.add if buffer else None
        prof = ResourceProfiler(
            interval=self.sample_interval, on_sample=on_sample, docker_base_url=self.docker_base_url,
            cgroup_paths=group or None,
        )  # fmt: skip
        prof.start_profiling(pid=pid, container=container)
        if buffer:
            buffer.start()
        return prof

    def _wait_loop(
        self, wait: Callable[[float], Any], timeout_s: float
    ) -> tuple[Any, JobStatus | None]:
        """Wait for the exit; returns (exit or None, TIMEOUT or CANCELLED when stopped first)."""
        deadline = time.monotonic() + timeout_s
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return None, JobStatus.TIMEOUT
            result = wait(min(remaining, self.cancel_poll_seconds))
            if result is not None:
                return result, None
            if self._cancel.is_set() or (
                self.should_cancel is not None and self._asked_to_cancel()
            ):
                return None, JobStatus.CANCELLED

    def _asked_to_cancel(self) -> bool:
        assert self.should_cancel is not None
        try:
            return self.should_cancel()
        except Exception as exc:  # a store outage must not kill the job; check again later
            log.debug("cancel check failed: %s", exc)
            return False

    def _run_process(
        self, spec: JobSpec, workdir: Path, stdout: Path, stderr: Path, buffer: SampleBuffer | None,
        account: isolation.Account,
    ) -> tuple[
        JobStatus, int | None, dict[str, float | None], dict[str, Any] | None, str | None,
        dict[str, Any],
    ]:  # fmt: skip
        argv = spec.tool.argv(
            script=Path(spec.script_name).name,
            workdir=str(workdir),
            job_id=spec.job_id,
            params=spec.params,
        )
        env = job_environment(spec, str(workdir), account.name)
        self.cgroups.cleanup_stale()
        group = self.cgroups.create(spec.job_id, spec.attempt)
        applied = group.apply_limits(spec.limits)
        if applied.applied is False:
            log.warning("job %s: limits not applied: %s", spec.job_id, applied.reason)
        guard = _start_guard(group)
        try:
            job = process.ProcessJob(
                argv,
                cwd=workdir,
                env=env,
                stdout=stdout,
                stderr=stderr,
                join=group.join_files,
                user=(account.uid, account.gid, account.groups) if account.switch else None,
            )
        except BaseException:
            _dispose(group, guard)
            raise
        group.attach(job.pid)
        try:
            prof = self._start_profiler(buffer, job.pid, None, group.paths)
            finished, stopped = self._wait_loop(
                lambda t: True if job.wait(t) else None, spec.timeout_s
            )
        except BaseException:  # never leave the job running (or unreaped) behind an error
            job.signal_group(signal.SIGKILL)
            group.kill_all()
            job.reap()
            _dispose(group, guard)
            raise
        if finished is None:
            job.terminate(self.kill_grace)
        # The root has ended (unreaped): whatever is left in its group has leaked.
        leaked = len(group.leaked())
        job.kill_stragglers()
        killed = group.kill_all()
        profile = (
            prof.stop_profiling() if prof else None
        )  # last sample: the unreaped root's counters
        totals = _group_totals(group)  # everything that ran in the group, the leaked included
        oom = group.oom_killed()
        exited = job.reap()
        removed = _dispose(group, guard)
        rusage: dict[str, float | None] = {
            "cpu_user_seconds": None,
            "cpu_system_seconds": None,
            "cpu_total_seconds": None,
            "memory_peak_mb": None,
        }
        if totals.get("cpu_total_seconds") is not None:
            for key in rusage:
                value = totals.get(key)
                rusage[key] = None if value is None else float(value)
        elif exited.rusage is not None:
            ru = exited.rusage
            launcher = job.launcher_peak_kb
            job_peak = ru.ru_maxrss > launcher if launcher is not None else False
            user, system = ru.ru_utime, ru.ru_stime
            if isinstance(group, cgroups.ProcessTreeGroup):  # orphans reaped by the launcher
                user, system = user + group.reaped_cpu[0], system + group.reaped_cpu[1]
            rusage = {
                "cpu_user_seconds": round(user, 6),
                "cpu_system_seconds": round(system, 6),
                "cpu_total_seconds": round(user + system, 6),
                # ru_maxrss includes the launcher's pre-exec image: only above it is it the job's.
                "memory_peak_mb": round(ru.ru_maxrss / 1024, 3) if job_peak else None,
            }
        if totals.get("memory_peak_mb") is None:
            outcome.fold_profile_peaks(rusage, profile)
        if exited.rusage is not None and not group.paths:
            outcome.fold_exact_io(profile, exited.rusage)
        status, error = outcome.verdict(stopped, exited.returncode, spec.timeout_s, stderr)
        if oom and stopped is None and exited.returncode != 0:
            status = JobStatus.FAILED
            error = (
                "oom: killed by the kernel's OOM killer for exceeding its memory limit "
                f"({_mem_text(spec.limits)})"
            )
        containment = {
            "accounting": group.version,
            "leaked_processes": leaked,
            "leaked_killed": killed,
            "group_removed": removed,
            "oom_kills": oom,
            "limits": {**spec.limits.as_record(), "applied": applied.applied,
                       "reason": applied.reason},
            "group_usage": {k: v for k, v in totals.items() if k not in rusage},
        }  # fmt: skip
        return status, exited.returncode, rusage, profile, error, containment

    def _run_container(
        self, spec: JobSpec, workdir: Path, stdout: Path, stderr: Path, buffer: SampleBuffer | None
    ) -> tuple[JobStatus, int | None, dict[str, float | None], dict[str, Any] | None, str | None]:
        assert spec.tool.image is not None
        client = container_mod.connect(self.docker_base_url)
        inside = container_mod.CONTAINER_WORKDIR
        argv = spec.tool.argv(script=Path(spec.script_name).name, workdir=inside, job_id=spec.job_id,
                              params=spec.params)  # fmt: skip
        env = {
            k: v
            for k, v in job_environment(spec, inside).items()
            if k.startswith(("JOBPROBE_", "SIM_"))
        }
        env.update(spec.tool.env)
        job = container_mod.ContainerJob(
            client, image=spec.tool.image, command=argv, job_id=spec.job_id, workdir=workdir, env=env,
            gpus=spec.gpus, limits=spec.limits,
        )  # fmt: skip
        try:
            prof = self._start_profiler(buffer, job.pid, job.name)
            code, stopped = self._wait_loop(job.wait, spec.timeout_s)
            if code is None:
                code = job.terminate(self.kill_grace)
            profile = prof.stop_profiling() if prof else None
            job.save_logs(stdout, stderr)
            oom = job.oom_killed()
        finally:
            job.remove()
            client.close()
        rusage: dict[str, float | None] = {
            "cpu_user_seconds": None, "cpu_system_seconds": None,
            "cpu_total_seconds": None, "memory_peak_mb": None,
        }  # fmt: skip
        if profile:
            pc = profile.get("process_cpu") or {}
            rusage["cpu_user_seconds"] = pc.get("user_seconds")
            rusage["cpu_system_seconds"] = pc.get("system_seconds")
            rusage["cpu_total_seconds"] = pc.get("total_seconds")
        outcome.fold_profile_peaks(rusage, profile)
        status, error = outcome.verdict(stopped, code, spec.timeout_s, stderr)
        if oom:
            status, error = (
                JobStatus.FAILED,
                "oom: the container was killed for exceeding its memory limit (OOM)",
            )
        return status, code, rusage, profile, error


def cgroups_default() -> cgroups.Cgroups:
    """Job groups beneath the worker's own group (``JobMonitor``'s default)."""
    return cgroups.Cgroups()


def _start_guard(group: cgroups.JobGroup) -> cgroups.Guard | None:
    """The group's guard (kills it if this worker dies); None without a group or a shell."""
    if not group.paths:
        return None
    try:
        return cgroups.Guard(group)
    except OSError as exc:
        cgroups.manager.warn_once(
            f"cannot start a job group's guard ({exc}): if this worker dies, its jobs' groups "
            "are emptied by the next worker instead"
        )
        return None


def _dispose(group: cgroups.JobGroup, guard: cgroups.Guard | None) -> bool:
    """Kill what is left in the group, remove it and let its guard go; True when removed."""
    group.kill_all()
    removed = group.remove()
    if not removed:
        cgroups.manager.warn_once(f"a job's control group could not be removed: {group.dirs}")
    if guard is not None:
        guard.close()
    return removed


def _group_totals(group: cgroups.JobGroup) -> dict[str, float | int | None]:
    """The group's own counters (CPU, memory, I/O, tasks); empty without a group."""
    if not group.paths:
        return {}
    from jobprobe.profiler import cgroup as profiler_cgroup

    return profiler_cgroup.read_totals(group.paths)


def _mem_text(limits: Limits) -> str:
    return "no limit set" if limits.mem_bytes is None else f"{limits.mem_bytes / 2**20:g} MB"
