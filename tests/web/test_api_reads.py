"""The API's other reads over real HTTP, on SQLite and PostgreSQL, each the record its CLI
command prints with --json: sweeps (list, report with curve points), compare (two jobs, two
label groups), usage (trend, compare-periods, drill-down), reports and their plots, tools,
workers and queues, ISS jobs; their bad input (422) and unknown ids (404)."""

from __future__ import annotations

import json
from typing import Any

import httpx

from jobprobe.queries import comparison, sweeps, usage
from jobprobe.worker import runtime
from jobprobe.worker.settings import Settings
from tests.web import server as web_server
from tests.web.conftest import WRITE_TOKEN, run_job, write_script

#: A load-test stand-in: its throughput grows with the load until 4, then stays (a knee).
LOAD_SCRIPT = (
    'load="$SIM_LOAD"; t=$(( load < 4 ? load * 100 : 400 )); p=$(( load * load * 3 ))\n'
    'printf \'{"throughput": %s, "p99_ms": %s}\\n\' "$t" "$p" > "$JOBPROBE_METRICS_FILE"\n'
)


def _json(value: Any) -> Any:
    return json.loads(json.dumps(value, default=str))


def _error(response: httpx.Response, status: int, needle: str) -> None:
    assert response.status_code == status, (response.status_code, response.text)
    message = response.json()["error"]
    assert needle in message and "\n" not in message, message


def test_sweeps_list_and_report(settings: Settings, web: web_server.ServerThread) -> None:
    from jobprobe.tasks import sweeps as sweep_tasks

    script = write_script(settings.data_dir.parent / "scripts", LOAD_SCRIPT, "load.sh")
    sweep_id = sweep_tasks.submit_sweep(
        "bash", script, vary_name="load", values=[1, 2, 3, 4, 6, 8], slo_p99_ms=100.0,
        settings=settings,
    )  # fmt: skip
    store = runtime.get_store(settings)
    with web_server.client(web) as http:
        listing = http.get("/api/v1/sweeps").json()
        assert [s["sweep_id"] for s in listing["sweeps"]] == [sweep_id]
        assert listing["sweeps"][0]["jobs"] == {"total": 6, "ended": 6, "succeeded": 6}
        facts = http.get(f"/api/v1/sweeps/{sweep_id[:8]}").json()
        _error(http.get("/api/v1/sweeps", params={"status": "paused"}), 422, "paused")
        _error(http.get("/api/v1/sweeps/ffffffffffff"), 404, "ffffffffffff")
    assert facts == _json(sweeps.sweep_report(store, sweep_id))
    assert [p["value"] for p in facts["points"]] == [1, 2, 3, 4, 6, 8], facts["points"]
    assert [p["throughput"] for p in facts["points"]] == [100, 200, 300, 400, 400, 400]
    assert facts["slo_p99_ms"] == 100.0
    assert {"saturation", "throughput_knee", "usl", "slo"} <= set(facts)


def test_compare_jobs_and_label_groups(settings: Settings, web: web_server.ServerThread) -> None:
    a = run_job(settings, "echo a\n", labels={"build": "old"})
    b = run_job(settings, "sleep 0.3\n", labels={"build": "new"})
    store = runtime.get_store(settings)
    with web_server.client(web) as http:
        jobs = http.get("/api/v1/compare", params={"a": a[:8], "b": b}).json()
        groups = http.get(
            "/api/v1/compare",
            params={"baseline_label": "build=old", "candidate_label": "build=new",
                    "threshold": "duration=50"},
        ).json()  # fmt: skip
        _error(http.get("/api/v1/compare", params={"a": a}), 422, "two job ids")
        _error(
            http.get("/api/v1/compare", params={"a": a, "b": "ffffffffffff"}), 404, "ffffffffffff"
        )
        bad = {"a": a, "b": b, "threshold": "speed=3"}
        _error(http.get("/api/v1/compare", params=bad), 422, "speed")
        none = {"baseline_label": "build=old", "candidate_label": "build=none"}
        _error(http.get("/api/v1/compare", params=none), 422, "candidate")
    assert jobs["baseline_ids"] == [a] and jobs["candidate_ids"] == [b]
    assert _json(comparison.compare_jobs(store, [a], [b])) == jobs
    expected = comparison.compare_groups(
        store, {"build": "old"}, {"build": "new"},
        thresholds=comparison.thresholds({"duration": 50}),
    )  # fmt: skip
    assert _json(expected) == groups


def test_usage_trend_periods_and_drilldown(
    settings: Settings, web: web_server.ServerThread
) -> None:
    run_job(settings, "echo x\n", labels={"team": "red"})
    run_job(settings, "echo y\n", labels={"team": "blue"})
    store = runtime.get_store(settings)
    with web_server.client(web) as http:
        trend = http.get("/api/v1/usage/trend", params={"by": "label:team", "bucket": "hour"})
        periods = http.get("/api/v1/usage/compare-periods", params={"days": 1})
        drill = http.get("/api/v1/usage/drilldown", params={"path": "label:team,tool", "top": 3})
        _error(http.get("/api/v1/usage/trend", params={"bucket": "week"}), 422, "bucket")
        _error(http.get("/api/v1/usage/trend", params={"metric": "joy"}), 422, "metric")
        _error(http.get("/api/v1/usage/compare-periods", params={"days": 0}), 422, "days")
        _error(http.get("/api/v1/usage/compare-periods", params={"days": "x"}), 422, "days")
        for huge in ("1e12", "inf", "nan"):  # spans before year 1 or no number: 422, not 500
            _error(http.get("/api/v1/usage/compare-periods", params={"days": huge}), 422, "days")
        _error(http.get("/api/v1/usage/drilldown", params={"top": 0}), 422, "top")
    assert trend.json() == _json(usage.trend(store, by="label:team", bucket="hour"))
    assert {g["group"] for g in trend.json()["groups"]} == {"red", "blue"}
    assert periods.json()["days"] == 1 and periods.json()["by"] == "tool"
    assert drill.json() == _json(usage.drilldown(store, path="label:team,tool", top=3))


def test_reports_plots_and_insight(settings: Settings, web: web_server.ServerThread) -> None:
    job = run_job(settings, "echo reported\nsleep 0.5\n")
    auth = {"Authorization": f"Bearer {WRITE_TOKEN}"}
    with web_server.client(web) as http:
        reports = http.get(f"/api/v1/jobs/{job}").json()["reports"]
        assert [r["kind"] for r in reports] == ["job"], reports
        rec = http.get(f"/api/v1/reports/{reports[0]['id']}").json()
        assert rec["job_id"] == job and rec["kind"] == "job" and rec["markdown"]
        assert rec["plots"] == ["resources"]
        png = http.get(f"/api/v1/reports/{rec['id']}/plots/resources")
        assert png.status_code == 200 and png.headers["content-type"] == "image/png"
        assert png.content.startswith(b"\x89PNG\r\n\x1a\n")
        _error(http.get(f"/api/v1/reports/{rec['id']}/plots/secrets"), 404, "resources")
        _error(http.get("/api/v1/reports/999999"), 404, "999999")
        _error(http.get("/api/v1/reports/abc"), 422, "report_id")
        _error(http.post(f"/api/v1/insight/{job}"), 401, "write token")
        written = http.post(f"/api/v1/insight/{job[:8]}", headers=auth)
        assert written.status_code == 200, written.text
        assert written.json()["text"] and written.json()["provider"] == "none"
        kinds = [r["kind"] for r in http.get(f"/api/v1/jobs/{job}").json()["reports"]]
        assert sorted(kinds) == ["insight", "job"]


def test_tools_workers_and_iss_jobs(settings: Settings, web: web_server.ServerThread) -> None:
    job = run_job(settings, "echo w\n")
    with web_server.client(web) as http:
        tools = http.get("/api/v1/tools").json()
        workers = http.get("/api/v1/workers").json()
        iss = http.get("/api/v1/iss/jobs").json()
        _error(http.get("/api/v1/workers", params={"within_s": -1}), 422, "within_s")
        for huge in ("1e300", "inf"):
            _error(http.get("/api/v1/workers", params={"within_s": huge}), 422, "within_s")
    assert {"bash", "python"} <= set(tools) and tools["bash"]["kind"] == "local"
    assert workers["mode"] == "embedded" and "embedded" in workers["note"]
    assert [w["jobs"] for w in workers["workers"]] == [1]
    assert workers["queues"] == []  # nothing waits or runs
    assert iss == {"jobs": [], "next_cursor": None}
    assert job
