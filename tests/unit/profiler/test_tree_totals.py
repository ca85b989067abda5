"""TreeTotals: exact, monotone totals as processes come and go (pure arithmetic)."""

from __future__ import annotations

from jobprobe.profiler.process_tree import COUNTERS, ProcReading, TreeTotals


def proc(pid: int, ppid: int, cpu: float, write: float = 0.0, start: int = 1) -> ProcReading:
    counters = [0.0] * len(COUNTERS)
    counters[0] = cpu
    counters[3] = write
    return ProcReading(
        pid=pid,
        starttime=start,
        ppid=ppid,
        state="S",
        counters=tuple(counters),
        rss_bytes=0,
        hwm_kb=None,
        threads=1,
        ctx_switches=None,
    )


def cpu(totals: tuple[float, ...]) -> float:
    return totals[0]


def test_child_reaped_inside_tree_is_not_double_counted() -> None:
    t = TreeTotals()
    assert cpu(t.update({1: proc(1, 0, 1.0), 2: proc(2, 1, 2.0)})) == 3.0
    # Child 2 ran 0.5 s more, exited and was reaped by 1: 1's cutime grew by its final 2.5.
    assert cpu(t.update({1: proc(1, 0, 1.0 + 2.5)})) == 3.5


def test_grandchild_chain_reaped_through_vanished_middle() -> None:
    t = TreeTotals()
    t.update({1: proc(1, 0, 1.0), 2: proc(2, 1, 1.0), 3: proc(3, 2, 1.0)})
    # 3 reaped by 2, 2 reaped by 1: 1 now carries everything.
    assert cpu(t.update({1: proc(1, 0, 1.0 + 2.2)})) == 3.2


def test_orphan_reaped_outside_tree_keeps_last_seen() -> None:
    t = TreeTotals()
    t.update({1: proc(1, 0, 1.0), 2: proc(2, 1, 2.0)})
    # 2 was reparented to init (ppid 99 outside the tree) at the last sighting, then vanished.
    t.update({1: proc(1, 0, 1.0), 2: proc(2, 99, 2.5)})
    assert cpu(t.update({1: proc(1, 0, 1.0)})) == 3.5


def test_root_reaped_by_caller_keeps_last_reading() -> None:
    t = TreeTotals()
    t.update({1: proc(1, 0, 4.0, write=64.0)})
    totals = t.update({})
    assert cpu(totals) == 4.0
    assert totals[3] == 64.0
    assert cpu(t.update({})) == 4.0


def test_child_auto_reaped_without_parent_growth_keeps_last_seen() -> None:
    t = TreeTotals()
    t.update({1: proc(1, 0, 1.0), 2: proc(2, 1, 2.0)})
    assert cpu(t.update({1: proc(1, 0, 1.1)})) == 3.0  # max(0, 2.0 - 0.1) kept


def test_pid_reuse_counts_as_a_new_process() -> None:
    t = TreeTotals()
    t.update({1: proc(1, 0, 1.0), 2: proc(2, 1, 2.0, start=5)})
    # Old 2 reaped by 1 (grew by 2.0); a new process took pid 2.
    assert cpu(t.update({1: proc(1, 0, 3.0), 2: proc(2, 1, 0.5, start=9)})) == 3.5


def test_totals_are_monotone_through_churn() -> None:
    t = TreeTotals()
    seen = [cpu(t.update({1: proc(1, 0, 0.0)}))]
    parent = 0.0
    for k in range(2, 30):
        seen.append(cpu(t.update({1: proc(1, 0, parent), k: proc(k, 1, 0.1)})))
        parent += 0.15  # the child's final value, larger than its last sighting
        seen.append(cpu(t.update({1: proc(1, 0, parent)})))
    assert seen == sorted(seen)
    assert seen[-1] == parent
