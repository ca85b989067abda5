"""The jobs API over real HTTP against the real application, on SQLite and PostgreSQL: the
records job-history/job-details/job-stats/logs print, bad input, unknown ids."""

from __future__ import annotations

import json

import httpx

from jobprobe.queries import jobs as job_queries
from jobprobe.worker import runtime
from jobprobe.worker.settings import Settings
from tests.web import server as web_server
from tests.web.conftest import run_job


def _one_line_error(response: httpx.Response, status: int) -> str:
    assert response.status_code == status, (response.status_code, response.text)
    body = response.json()
    assert set(body) == {"error"}, body
    message = body["error"]
    assert isinstance(message, str) and message and "\n" not in message, body
    return message


def test_history_filters_and_pages_like_the_cli(
    settings: Settings, web: web_server.ServerThread
) -> None:
    a1 = run_job(settings, "echo one\n", labels={"team": "a", "size": "s"})
    a2 = run_job(settings, "echo two\n", labels={"team": "a"})
    b1 = run_job(settings, "exit 3\n", labels={"team": "b"})
    with web_server.client(web) as http:
        everything = http.get("/api/v1/jobs").json()
        assert [j["task_id"] for j in everything["jobs"]] == [b1, a2, a1]
        assert everything["next_cursor"] is None
        team_a = http.get("/api/v1/jobs", params={"label": "team=a"}).json()
        assert {j["task_id"] for j in team_a["jobs"]} == {a1, a2}
        failed = http.get("/api/v1/jobs", params={"status": "failed", "tool": "bash"}).json()
        assert [j["task_id"] for j in failed["jobs"]] == [b1]
        both = http.get("/api/v1/jobs", params=[("label", "team=a"), ("label", "size=s")])
        assert [j["task_id"] for j in both.json()["jobs"]] == [a1]
        first_at = everything["jobs"][-1]["submitted_at"]
        before = http.get("/api/v1/jobs", params={"until": first_at}).json()
        assert before["jobs"] == []  # until is exclusive: [since, until)
        window = http.get("/api/v1/jobs", params={"since": first_at, "until": "0s"}).json()
        assert [j["task_id"] for j in window["jobs"]] == [b1, a2, a1]
        page1 = http.get("/api/v1/jobs", params={"limit": 2}).json()
        assert len(page1["jobs"]) == 2 and page1["next_cursor"]
        page2 = http.get("/api/v1/jobs", params={"limit": 2, "cursor": page1["next_cursor"]}).json()
        assert [j["task_id"] for j in page2["jobs"]] == [a1]
    # the same record the command line's --json prints (the one read function)
    store = runtime.get_store(settings)
    expected = job_queries.job_history(store, limit=20)
    assert json.loads(json.dumps(expected, default=str)) == everything


def test_one_job_its_samples_stats_and_logs(
    settings: Settings, web: web_server.ServerThread
) -> None:
    job = run_job(settings, "echo out-line\necho err-line >&2\nsleep 0.5\n")
    with web_server.client(web) as http:
        rec = http.get(f"/api/v1/jobs/{job[:8]}").json()
        assert rec["task_id"] == job and rec["status"] == "success"
        assert [e["status"] for e in rec["status_history"]][-1] == "success"
        series = http.get(f"/api/v1/jobs/{job}/timeseries").json()
        assert series["t"] and len(series["t"]) == len(series["proc_rss_mb"])
        with_series = http.get(f"/api/v1/jobs/{job}", params={"timeseries": "true"}).json()
        assert with_series["detailed_profile"]["timeseries"]["t"] == series["t"]
        stats = http.get("/api/v1/jobs/stats", params={"by": "status"}).json()
        assert stats["by"] == "status"
        assert {g["group"]: g["jobs"] for g in stats["groups"]} == {"success": 1}
        out = http.get(f"/api/v1/jobs/{job}/logs").json()
        assert out["stream"] == "stdout" and out["text"] == "out-line\n" and out["offset"] == 0
        end = http.get(f"/api/v1/jobs/{job}/logs", params={"last_bytes": 5}).json()
        assert (end["text"], end["offset"]) == ("line\n", 4)
        err = http.get(f"/api/v1/jobs/{job}/logs", params={"stream": "stderr"}).json()
        assert err["text"] == "err-line\n"
        with http.stream("GET", f"/api/v1/jobs/{job}/logs", params={"follow": "true"}) as response:
            assert response.headers["content-type"].startswith("text/event-stream")
            events = list(web_server.sse_events(response))
    assert [name for name, _, _ in events] == ["log", "end"]
    assert json.loads(events[0][1])["text"] == "out-line\n"


def test_bad_filters_are_422_in_one_line(web: web_server.ServerThread) -> None:
    with web_server.client(web) as http:
        for params, needle in [
            ({"status": "bogus"}, "status"),
            ({"since": "last tuesday"}, "since"),
            ({"until": "soon"}, "until"),
            ({"label": "novalue"}, "label"),
            ({"limit": "0"}, "limit"),
            ({"limit": "many"}, "limit"),
            ({"cursor": "garbage"}, "cursor"),
            ({"source": "moon"}, "source"),
        ]:
            message = _one_line_error(http.get("/api/v1/jobs", params=params), 422)
            assert needle in message, (params, message)
        message = _one_line_error(http.get("/api/v1/jobs/stats", params={"by": "colour"}), 422)
        assert "colour" in message
        message = _one_line_error(
            http.get("/api/v1/jobs/0123456789abcdef/logs", params={"stream": "stdin"}), 422
        )
        assert "stream" in message


def test_unknown_ids_are_404_and_short_ones_422(web: web_server.ServerThread) -> None:
    with web_server.client(web) as http:
        for path in ["", "/timeseries", "/logs", "/events"]:
            message = _one_line_error(http.get(f"/api/v1/jobs/ffffffffffff{path}"), 404)
            assert "ffffffffffff" in message
        message = _one_line_error(http.get("/api/v1/jobs/abc"), 422)
        assert "6 or more" in message
        _one_line_error(http.get("/api/v1/no-such-thing"), 404)
        _one_line_error(http.delete("/api/v1/jobs"), 405)


def test_a_followed_log_of_a_job_deleted_meanwhile_ends_cleanly(
    settings: Settings, web: web_server.ServerThread
) -> None:
    from jobprobe.store import jobs as store_jobs

    store = runtime.get_store(settings)
    with store.session() as session:  # queued, never run: nothing writes its log
        job_id = store_jobs.create_job(session, tool="bash", queue="nobody-takes-it").id
    with web_server.client(web) as http:
        url = f"/api/v1/jobs/{job_id}/logs"
        with http.stream("GET", url, params={"follow": "true"}) as response:
            events = web_server.sse_events(response)
            first = next(events)  # the stored tail (none yet), sent once
            with store.session() as session:
                session.delete(store_jobs.get_job(session, job_id))
            rest = list(events)
    assert first[0] == "log" and json.loads(first[1])["replace"] is True
    assert [name for name, _, _ in rest] == ["end"]  # no error, no traceback: it ended
