"""Submit and cancel over the API in distributed mode (the real Redis broker and PostgreSQL):
the job is stored and its message published to its queue, as ``jobprobe submit`` does; with
no worker it stays queued, and cancel ends it at once. /workers says distributed."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from jobprobe.worker.settings import Settings
from tests import workers
from tests.web import server as web_server
from tests.web.conftest import READ_TOKEN, WRITE_TOKEN


@pytest.fixture
def distributed(tmp_path: Path, redis_url: str, pg_url: str) -> Iterator[Settings]:
    suffix = uuid.uuid4().hex[:8]
    settings = Settings(
        broker_url=workers.isolated_redis_db(redis_url), database_url=pg_url,
        data_dir=tmp_path / "data", queue_cpu=f"cpu-{suffix}", queue_gpu=f"gpu-{suffix}",
        queue_iss=f"iss-{suffix}", queue_analysis=f"analysis-{suffix}",
        web_read_token=READ_TOKEN, web_write_token=WRITE_TOKEN,
    )  # fmt: skip
    yield settings
    import redis

    client = redis.Redis.from_url(str(settings.broker_url))
    try:
        client.delete(settings.queue_cpu)  # the message no worker took
    finally:
        client.close()
        from jobprobe.worker import runtime

        runtime.get_store(settings).dispose()


def test_submit_queues_and_cancel_ends_a_queued_job(distributed: Settings) -> None:
    import redis

    auth = {"Authorization": f"Bearer {WRITE_TOKEN}"}
    with web_server.serving(distributed) as srv, web_server.client(srv, headers=auth) as http:
        answer = http.post("/api/v1/jobs", json={"tool": "bash", "script": "echo hi\n"})
        assert answer.status_code == 202, answer.text
        job_id = answer.json()["task_id"]
        rec = http.get(f"/api/v1/jobs/{job_id}").json()
        assert rec["status"] == "queued" and rec["queue"] == distributed.queue_cpu
        client = redis.Redis.from_url(str(distributed.broker_url))
        try:
            messages = [json.loads(m) for m in client.lrange(distributed.queue_cpu, 0, -1)]
        finally:
            client.close()
        assert [m["headers"]["argsrepr"] for m in messages] == [repr([job_id])]
        assert http.get("/api/v1/workers").json()["mode"] == "distributed"
        cancel = http.post(f"/api/v1/jobs/{job_id}/cancel").json()
        assert cancel == {"task_id": job_id, "status": "cancelled", "cancel_requested": True}
        assert http.get(f"/api/v1/jobs/{job_id}").json()["status"] == "cancelled"


def test_an_unreachable_broker_is_503_and_nothing_is_stored(tmp_path: Path, pg_url: str) -> None:
    settings = Settings(
        broker_url="redis://:a-broker-passw0rd@127.0.0.1:1/0", database_url=pg_url,
        data_dir=tmp_path / "data", web_write_token=WRITE_TOKEN,
    )  # fmt: skip
    auth = {"Authorization": f"Bearer {WRITE_TOKEN}"}
    with web_server.serving(settings) as srv, web_server.client(srv, headers=auth) as http:
        answer = http.post("/api/v1/jobs", json={"tool": "bash", "script": "echo hi\n"})
        assert answer.status_code == 503, answer.text
        message = answer.json()["error"]
        assert "broker" in message and "a-broker-passw0rd" not in answer.text, message
        assert http.get("/api/v1/jobs").json()["jobs"] == []
