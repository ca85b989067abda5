"""Real jobs in real control groups: what escapes the process tree is still counted and killed.

The truth is the kernel's: each process of a job reports its own ``getrusage`` before it ends,
and ``/proc`` says whether a pid still runs. Needs a writable hierarchy (root on Linux): skips
elsewhere, fails under CI.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from jobprobe.monitor import JobMonitor, cgroups
from jobprobe.store.status import JobStatus
from tests.integration import cgroup_support as cs


@pytest.fixture(scope="module")
def manager() -> Iterator[cgroups.Cgroups]:
    with cs.test_parent("containment") as made:
        yield made


def monitor(manager: cgroups.Cgroups, **kwargs: object) -> JobMonitor:
    kwargs.setdefault("enable_profiling", False)
    kwargs.setdefault("kill_grace", 1.0)
    return JobMonitor(cgroups=manager, cancel_poll_seconds=0.05, **kwargs)  # type: ignore[arg-type]


def test_an_escaped_daemon_is_counted_and_killed(manager: cgroups.Cgroups, tmp_path: Path) -> None:
    script = """
if os.fork() == 0:            # double fork + setsid: the classic daemon, re-parented to init
    os.setsid()
    if os.fork() == 0:
        mark('pid')
        burn(0.8)
        report()
        mark('burnt')
        time.sleep(300)
    os._exit(0)
while not any(n.startswith('burnt-') for n in os.listdir('.')):
    time.sleep(0.01)
burn(0.2)
report('root-')
"""
    out = monitor(manager).run(cs.py_spec(script), tmp_path)
    daemon = cs.pids_in(tmp_path)
    try:
        assert out.status == JobStatus.SUCCESS, out.error
        assert out.containment["accounting"] == "cgroup-v1"
        assert out.containment["leaked_processes"] == 1 and out.containment["leaked_killed"]
        assert daemon and not any(cs.alive(p) for p in daemon)
        truth = cs.self_reported_cpu(tmp_path)  # the daemon's 0.8 s and the root's
        cpu = out.resource_usage["cpu_total_seconds"]
        assert cpu is not None and truth >= 1.0
        # the group also charges the interpreters' exits and the intermediate fork: a little more
        assert truth * 0.95 <= cpu <= truth * 1.05 + 0.05, (cpu, truth)
        assert not cs.job_dirs(manager), "the job's group was not removed"
    finally:
        cs.kill_leftovers(daemon)


def test_setsid_children_that_outlive_a_timeout_are_killed(
    manager: cgroups.Cgroups, tmp_path: Path
) -> None:
    script = """
import signal, subprocess
for _ in range(3):   # own sessions, deaf to SIGTERM: they survive the group's SIGTERM
    subprocess.Popen([sys.executable, '-c', 'import os, signal, time; '
        'signal.signal(signal.SIGTERM, signal.SIG_IGN); open(f"pid-{os.getpid()}", "w").write(str(os.getpid())); '
        'time.sleep(300)'], start_new_session=True)
while len([n for n in os.listdir('.') if n.startswith('pid-')]) < 3:
    time.sleep(0.01)
time.sleep(300)
"""
    out = monitor(manager).run(cs.py_spec(script, timeout_s=2.0), tmp_path)
    children = cs.pids_in(tmp_path)
    try:
        assert out.status == JobStatus.TIMEOUT
        assert len(children) == 3
        assert out.containment["leaked_processes"] == 3 and out.containment["leaked_killed"]
        assert not any(cs.alive(p) for p in children)
        assert not cs.job_dirs(manager)
    finally:
        cs.kill_leftovers(children)


def test_a_parent_ignoring_sigchld_loses_no_cpu(manager: cgroups.Cgroups, tmp_path: Path) -> None:
    # With SIGCHLD ignored the kernel reaps the children itself: their CPU never reaches the
    # root's rusage. The group counted it anyway.
    script = """
import signal
signal.signal(signal.SIGCHLD, signal.SIG_IGN)
for _ in range(3):
    if os.fork() == 0:
        burn(0.4)
        report()
        os._exit(0)
while len([n for n in os.listdir('.') if n.startswith('cpu-')]) < 3:
    time.sleep(0.01)
time.sleep(0.2)
report('root-')
"""
    out = monitor(manager).run(cs.py_spec(script), tmp_path)
    assert out.status == JobStatus.SUCCESS, out.error
    truth = cs.self_reported_cpu(tmp_path)
    cpu = out.resource_usage["cpu_total_seconds"]
    assert cpu is not None and truth >= 1.2
    assert truth * 0.95 <= cpu <= truth * 1.05 + 0.05, (cpu, truth)


def test_children_killed_by_cancel_are_still_counted(
    manager: cgroups.Cgroups, tmp_path: Path
) -> None:
    # Four children spin until SIGTERM, report their own CPU and die unreaped: the root never
    # collects them (it waits for their reports, then exits). The cancel comes once they have
    # burnt about 1.2 CPU-s between them.
    script = """
import signal
def stop(*_):
    report()
    os._exit(0)
def stop_root(*_):
    deadline = time.monotonic() + 10
    while len([n for n in os.listdir('.') if n.startswith('cpu-')]) < 4 and time.monotonic() < deadline:
        time.sleep(0.01)
    report('root-')
    os._exit(0)
signal.signal(signal.SIGTERM, stop_root)
for _ in range(4):
    if os.fork() == 0:
        signal.signal(signal.SIGTERM, stop)
        mark('pid')
        while True:
            pass
time.sleep(300)
"""
    done = threading.Event()

    def should_cancel() -> bool:
        burnt = 0.0
        for pid in cs.pids_in(tmp_path):
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            burnt += (int(fields[11]) + int(fields[12])) / 100
        if burnt >= 1.2:
            done.set()
        return done.is_set()

    out = monitor(manager, should_cancel=should_cancel, kill_grace=10.0).run(
        cs.py_spec(script), tmp_path
    )
    children = cs.pids_in(tmp_path)
    try:
        assert out.status == JobStatus.CANCELLED
        cs.wait_for_files(tmp_path, "cpu-*.json", 5, timeout=5)
        truth = cs.self_reported_cpu(tmp_path)
        cpu = out.resource_usage["cpu_total_seconds"]
        assert cpu is not None and truth >= 1.2
        assert truth * 0.95 <= cpu <= truth * 1.05 + 0.05, (cpu, truth)
        assert not any(cs.alive(p) for p in children)
    finally:
        cs.kill_leftovers(children)


SPAWNER = """
import subprocess
subprocess.Popen([sys.executable, '-c', 'import os, time; os.setsid(); '
    'open(f"pid-{os.getpid()}", "w").write(str(os.getpid())); time.sleep(300)'])
if os.fork() == 0:
    mark('pid')
    time.sleep(300)
while len([n for n in os.listdir('.') if n.startswith('pid-')]) < 2:
    time.sleep(0.01)
mark('pid')
"""


@pytest.mark.parametrize(
    ("ending", "expected"),
    [
        ("os._exit(0)", JobStatus.SUCCESS),
        ("os._exit(3)", JobStatus.FAILED),
        ("time.sleep(300)", JobStatus.TIMEOUT),
        ("open('ready', 'w').close(); time.sleep(300)", JobStatus.CANCELLED),
    ],
)
def test_no_process_of_a_finished_job_is_alive_afterwards(
    manager: cgroups.Cgroups, tmp_path: Path, ending: str, expected: JobStatus
) -> None:
    def should_cancel() -> bool:
        return (tmp_path / "ready").exists()

    t0 = time.monotonic()
    timeout = 3.0 if expected == JobStatus.TIMEOUT else 30.0  # others end long before
    out = monitor(manager, should_cancel=should_cancel).run(
        cs.py_spec(SPAWNER + ending, timeout_s=timeout), tmp_path
    )
    pids = cs.pids_in(tmp_path)
    try:
        assert out.status == expected, out.error
        assert len(pids) == 3
        assert not [p for p in pids if cs.alive(p)], "a process of the job outlived it"
        assert out.containment["leaked_processes"] >= 1
        assert not cs.job_dirs(manager)
        assert time.monotonic() - t0 < 25
    finally:
        cs.kill_leftovers(pids)


def test_the_job_runs_inside_its_group_from_its_first_instruction(
    manager: cgroups.Cgroups, tmp_path: Path
) -> None:
    script = "print(open('/proc/self/cgroup').read())\n"
    out = monitor(manager).run(cs.py_spec(script, job_id="d" * 32, attempt=2), tmp_path)
    assert out.status == JobStatus.SUCCESS, out.error
    name = cgroups.group_name("d" * 32, 2)
    lines = [ln for ln in out.stdout_tail.splitlines() if ":" in ln]
    for controller in ("memory", "cpuacct", "pids"):
        line = next(ln for ln in lines if controller in ln.split(":")[1].split(","))
        assert line.endswith(f"/{name}"), line
    assert next(ln for ln in lines if ln.startswith("0::")).endswith(f"/{name}")


def test_memory_peak_of_concurrent_children_between_samples(
    manager: cgroups.Cgroups, tmp_path: Path
) -> None:
    # 6 children each touch 40 MB at once for an instant, far shorter than a sample: the group's
    # peak sees them all; sampling RSS never would. The worker's own memory is not in it.
    script = """
for _ in range(6):
    if os.fork() == 0:
        block = bytearray(40 << 20)
        block[::4096] = b'x' * len(block[::4096])
        mark('ready')
        while len([n for n in os.listdir('.') if n.startswith('ready-')]) < 6:
            time.sleep(0.001)
        os._exit(0)
for _ in range(6):
    os.wait()
"""
    out = monitor(manager, enable_profiling=True, sample_interval=2.0).run(
        cs.py_spec(script), tmp_path
    )
    assert out.status == JobStatus.SUCCESS, out.error
    peak = out.resource_usage["memory_peak_mb"]
    assert peak is not None and 240 <= peak <= 240 * 1.1 + 12, peak  # + the interpreters


def test_shared_memory_is_charged_once(manager: cgroups.Cgroups, tmp_path: Path) -> None:
    # 5 processes map the same 200 MB: summed RSS says 1,000 MB, the group 200 MB once.
    script = """
import mmap
shared = mmap.mmap(-1, 200 << 20)
for _ in range(200):
    shared.write(b'x' * (1 << 20))
for _ in range(4):
    if os.fork() == 0:
        total = sum(shared[i] for i in range(0, 200 << 20, 4096))
        mark('read')
        time.sleep(0.5)
        os._exit(0)
for _ in range(4):
    os.wait()
"""
    out = monitor(manager).run(cs.py_spec(script), tmp_path)
    assert out.status == JobStatus.SUCCESS, out.error
    peak = out.resource_usage["memory_peak_mb"]
    assert peak is not None and 200 <= peak <= 200 * 1.1 + 12, peak


def test_written_then_deleted_data_is_not_disk_io(manager: cgroups.Cgroups, tmp_path: Path) -> None:
    # 64 MB written then deleted before writeback never reaches the disk; 32 MB written with
    # fsync does. The group's block-I/O counters tell them apart; write() counts would not.
    script = """
with open('gone.dat', 'wb') as fh:
    for _ in range(64):
        fh.write(b'x' * (1 << 20))
os.unlink('gone.dat')
with open('kept.dat', 'wb') as fh:
    for _ in range(32):
        fh.write(os.urandom(1 << 20))
    fh.flush()
    os.fsync(fh.fileno())
"""
    out = monitor(manager).run(cs.py_spec(script), tmp_path)
    assert out.status == JobStatus.SUCCESS, out.error
    written = out.containment["group_usage"]["io_write_bytes"]
    if written is None:
        pytest.skip("no block-I/O counters for this job's group here")
    assert 32 * 2**20 * 0.9 <= written <= 32 * 2**20 * 1.1, written / 2**20


def test_a_v1_job_group_counts_its_block_io(manager: cgroups.Cgroups) -> None:
    # v1 blkio counts a device only once some group has a throttle rule for it: each job
    # group gets a rule per disk that limits nothing (1 TiB/s).
    group = manager.create("blkiorules", 1)
    try:
        blkio = group.paths.get("blkio")
        if blkio is None:
            pytest.skip("no v1 blkio hierarchy for job groups on this host")
        rules = (blkio / "blkio.throttle.write_bps_device").read_text().split("\n")
        assert [r for r in rules if r.strip()], "no throttle rule: the I/O counters stay empty"
    finally:
        group.kill_all()
        group.remove()
