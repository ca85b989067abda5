"""A running job seen live over real HTTP: its samples as server-sent events while it runs,
its status changes and its end; its gauges on /metrics; submit and cancel over the API."""

from __future__ import annotations

import json
from typing import Any

from prometheus_client.parser import text_string_to_metric_families

from jobprobe.worker.settings import Settings
from tests.polling import wait_for
from tests.web import server as web_server
from tests.web.conftest import WRITE_TOKEN, StartedJob, run_job

#: A job that runs until the test removes its marker file (bounded: 60 s at most).
HOLD = 'for i in $(seq 600); do [ -e "{marker}" ] || exit 0; sleep 0.1; done\n'


def _hold(settings: Settings) -> tuple[StartedJob, Any]:
    marker = settings.data_dir.parent / "hold"
    marker.parent.mkdir(parents=True, exist_ok=True)
    marker.touch()
    job = StartedJob(settings, HOLD.format(marker=marker))
    return job, marker


def _memory_measured(series: dict[str, list[Any]]) -> bool:
    return any(series["proc_rss_mb"]) or any(series.get("cg_mem_current_mb") or [])


def _status(http: Any, job_id: str) -> str:
    return str(http.get(f"/api/v1/jobs/{job_id}").json()["status"])


def test_events_deliver_a_running_jobs_samples_then_its_end(
    settings: Settings, web: web_server.ServerThread
) -> None:
    job, marker = _hold(settings)
    try:
        with web_server.client(web) as http:
            wait_for(lambda: _status(http, job.id) == "running", 60, "the job to run")
            seen: list[tuple[str, dict[str, Any], str | None]] = []
            with http.stream("GET", f"/api/v1/jobs/{job.id}/events") as response:
                assert response.headers["content-type"].startswith("text/event-stream")
                for name, data, ident in web_server.sse_events(response):
                    seen.append((name, json.loads(data), ident))
                    samples = [d for n, d, _ in seen if n == "sample"]
                    # three samples arrived while the job still ran: then let it end
                    if len(samples) >= 3 and marker.exists():
                        marker.unlink()
        job.join()
    finally:
        marker.unlink(missing_ok=True)
    names = [n for n, _, _ in seen]
    assert names[-1] == "end" and seen[-1][1]["status"] == "success"
    statuses = [d["status"] for n, d, _ in seen if n == "status"]
    assert statuses[:2] == ["queued", "running"] and statuses[-1] == "success"
    # samples came before the job's end was recorded, each with its id, in order, once
    first_success = names.index("status", names.index("status", names.index("status") + 1) + 1)
    assert names[:first_success].count("sample") >= 3
    ids = [int(i) for n, _, i in seen if n == "sample" and i is not None]
    assert ids == sorted(set(ids)) and len(ids) == names.count("sample")
    sample = next(d for n, d, _ in seen if n == "sample")
    assert {"t", "proc_cpu_percent", "proc_rss_mb", "gpu_util_percent"} <= set(sample)
    # resuming after the last sample sends no sample again, only the history and the end
    with (
        web_server.client(web) as http,
        http.stream(
            "GET", f"/api/v1/jobs/{job.id}/events", headers={"Last-Event-ID": str(ids[-1])}
        ) as response,
    ):
        again = [n for n, _, _ in web_server.sse_events(response)]
    assert "sample" not in again and again[-1] == "end"


def test_metrics_show_a_running_jobs_gauges(
    settings: Settings, web: web_server.ServerThread
) -> None:
    done = run_job(settings, "echo done\n")
    job, marker = _hold(settings)
    try:
        with web_server.client(web) as http:
            wait_for(
                lambda: _memory_measured(http.get(f"/api/v1/jobs/{job.id}/timeseries").json()),
                60, "a stored sample of the running job's memory",
            )  # fmt: skip
            text = http.get("/metrics").text
    finally:
        marker.unlink(missing_ok=True)
    job.join()
    families = {f.name: f for f in text_string_to_metric_families(text)}
    assert [s.value for s in families["jobprobe_store_up"].samples] == [1.0]
    jobs = {
        (s.labels["status"], s.labels["tool"], s.labels["queue"]): s.value
        for s in families["jobprobe_jobs"].samples
    }
    assert jobs == {("success", "bash", "cpu"): 1.0, ("running", "bash", "cpu"): 1.0}
    cpu = families["jobprobe_running_job_cpu_percent"].samples
    memory = (
        families["jobprobe_running_job_memory_rss_bytes"].samples
        + families["jobprobe_running_job_memory_cgroup_bytes"].samples
    )  # the process tree's RSS, or the job's group's charge where it has a group
    assert [s.labels for s in memory] == [{"job": job.id, "tool": "bash", "queue": "cpu"}]
    assert memory[0].value > 0 and all(s.labels["job"] == job.id for s in cpu)
    # no GPU measured here: no GPU series at all, never a 0
    for name in (
        "jobprobe_running_job_gpu_utilization_percent",
        "jobprobe_running_job_gpu_power_watts",
    ):
        assert families[name].samples == [], families[name].samples
    duration = {s.name: s for s in families["jobprobe_job_duration_seconds"].samples
                if s.labels.get("le") in (None, "+Inf")}  # fmt: skip
    assert duration["jobprobe_job_duration_seconds_count"].value == 1.0
    assert done  # the finished job is the one the histogram counts
    assert families["jobprobe_workers_seen"].samples[0].value == 1.0


def test_submit_and_cancel_over_the_api(settings: Settings, web: web_server.ServerThread) -> None:
    auth = {"Authorization": f"Bearer {WRITE_TOKEN}"}
    with web_server.client(web, headers=auth) as http:
        bad = http.post("/api/v1/jobs", json={"tool": "no-such-tool", "script": "echo\n"})
        assert bad.status_code == 422 and "no-such-tool" in bad.json()["error"], bad.text
        missing = http.post("/api/v1/jobs", json={"tool": "bash"})
        assert missing.status_code == 422 and "script" in missing.json()["error"], missing.text
        path = http.post(
            "/api/v1/jobs", json={"tool": "bash", "script": "x", "script_name": "../x"}
        )
        assert path.status_code == 422 and "script_name" in path.json()["error"], path.text
        wide = http.post(  # 200 characters, 400 bytes: too long a file name
            "/api/v1/jobs", json={"tool": "bash", "script": "x", "script_name": "é" * 200}
        )
        assert wide.status_code == 422 and "400 bytes" in wide.json()["error"], wide.text
        assert http.get("/api/v1/jobs").json()["jobs"] == []  # nothing stored
        ok = http.post(
            "/api/v1/jobs",
            json={"tool": "bash", "script": "echo from-the-web\n", "labels": {"via": "web"}},
        )
        assert ok.status_code == 202, ok.text
        done_id = ok.json()["task_id"]
        wait_for(lambda: _status(http, done_id) == "success", 60, "the submitted job to end")
        assert http.get(f"/api/v1/jobs/{done_id}/logs").json()["text"] == "from-the-web\n"
        assert http.get(f"/api/v1/jobs/{done_id}").json()["labels"] == {"via": "web"}
        long = http.post("/api/v1/jobs", json={"tool": "bash", "script": "sleep 60\n"})
        long_id = long.json()["task_id"]
        wait_for(lambda: _status(http, long_id) == "running", 60, "the long job to run")
        cancel = http.post(f"/api/v1/jobs/{long_id[:8]}/cancel")
        assert cancel.status_code == 200, cancel.text
        assert cancel.json() == {"task_id": long_id, "status": "running", "cancel_requested": True}
        wait_for(lambda: _status(http, long_id) == "cancelled", 60, "the job to be cancelled")
        again = http.post(f"/api/v1/jobs/{long_id}/cancel").json()
        assert again["status"] == "cancelled"


def test_a_followed_log_grows_while_the_job_runs_and_a_reconnect_resumes(
    settings: Settings, web: web_server.ServerThread
) -> None:
    marker = settings.data_dir.parent / "hold-log"
    marker.parent.mkdir(parents=True, exist_ok=True)
    marker.touch()
    script = f'echo first\nfor i in $(seq 600); do [ -e "{marker}" ] || break; sleep 0.1; done\necho last\n'
    job = StartedJob(settings, script)
    before: list[str] = []
    after: list[str] = []
    last_id = None
    try:
        with web_server.client(web) as http:
            wait_for(lambda: _status(http, job.id) == "running", 60, "the job to run")
            url = f"/api/v1/jobs/{job.id}/logs"
            with http.stream("GET", url, params={"follow": "true"}) as response:
                for name, data, event_id in web_server.sse_events(response):
                    if name == "log":
                        before.append(json.loads(data)["text"])
                        last_id = event_id
                        if "first" in "".join(before):
                            break  # the connection drops while the job still runs
            assert last_id == str(len("first\n"))  # the byte offset reached
            marker.unlink(missing_ok=True)  # let the job end
            with http.stream(
                "GET", url, params={"follow": "true"}, headers={"Last-Event-ID": last_id}
            ) as response:
                for name, data, _ in web_server.sse_events(response):
                    if name == "log":
                        after.append(json.loads(data)["text"])
        job.join()
    finally:
        marker.unlink(missing_ok=True)
    assert before == ["first\n"]  # it came while the job still ran
    assert "".join(after) == "last\n", after  # resumed: nothing shown twice


def test_stopping_the_server_cancels_the_embedded_jobs_it_runs(settings: Settings) -> None:
    """Embedded jobs submitted over the web run in the server: when it stops they are
    cancelled and their outcome recorded, not left running with nobody to end them."""
    from jobprobe.queries import jobs as job_queries
    from jobprobe.worker import runtime

    auth = {"Authorization": f"Bearer {WRITE_TOKEN}"}
    with web_server.serving(settings) as srv, web_server.client(srv, headers=auth) as http:
        answer = http.post("/api/v1/jobs", json={"tool": "bash", "script": "sleep 60\n"})
        job_id = answer.json()["task_id"]
        wait_for(lambda: _status(http, job_id) == "running", 60, "the job to run")
    record = job_queries.job_details(runtime.get_store(settings), job_id)
    assert record["status"] == "cancelled", record["status"]


def test_embedded_jobs_run_as_many_at_once_as_there_are_slots(settings: Settings) -> None:
    """Jobs submitted faster than they run wait, queued, for a free slot: never more at once
    than the server was given."""
    from jobprobe.queries import jobs as job_queries
    from jobprobe.tasks import submission
    from jobprobe.web.submit import EmbeddedRuns
    from jobprobe.worker import runtime
    from tests.web.conftest import write_script

    store = runtime.get_store(settings)
    script = write_script(settings.data_dir.parent / "scripts", "sleep 0.6\n")
    ids = [submission.create("bash", script, settings=settings) for _ in range(3)]
    runs = EmbeddedRuns(slots=1)
    for job_id in ids:
        runs.start(job_id, settings)
    most = 0

    def all_ended() -> bool:
        nonlocal most
        statuses = [job_queries.job_details(store, j)["status"] for j in ids]
        most = max(most, statuses.count("running"))
        return all(s == "success" for s in statuses)

    wait_for(all_ended, 60, "the three jobs to end", poll=0.05)
    assert most == 1
    wait_for(lambda: runs.running() == [], 30, "the runner threads to finish")
