"""The Celery app's routing: every queue on its own exchange and key; GPU jobs go to the gpu queue."""

from __future__ import annotations

from pathlib import Path

import pytest

from jobprobe.store.db import Store
from jobprobe.tasks import submission
from jobprobe.worker.app import RUN_SIMULATION, create_app
from jobprobe.worker.settings import load_settings
from tests import services


def test_each_queue_has_its_own_exchange_and_routing_key() -> None:
    app = create_app(
        load_settings(
            broker_url="redis://127.0.0.1:1/0",
            database_url="sqlite://",
            queue_cpu="c1",
            queue_gpu="g1",
        )
    )
    queues = {q.name: q for q in app.conf.task_queues}
    assert set(queues) == {"c1", "g1", "iss", "analysis"}
    for name, queue in queues.items():
        assert queue.exchange.name == name and queue.routing_key == name
    assert app.conf.task_routes[RUN_SIMULATION] == {"queue": "c1"}
    assert app.conf.task_acks_late is False  # late acks are per task: only jobs carry them
    assert app.conf.worker_prefetch_multiplier == 1


def test_kombu_takes_the_redis_sweep_options() -> None:
    # Read back from kombu's own channel: a misspelt transport option is silently ignored.
    app = create_app(
        load_settings(broker_url=services.require_redis() + "/15", database_url="sqlite://")
    )
    with app.connection_for_write() as conn:
        channel = conn.default_channel
        assert channel.unacked_restore_throttle == 1
        # A worker killed during a sweep must not hold back redeliveries for kombu's 300 s.
        assert channel.unacked_mutex_expire == 10
        assert channel.visibility_timeout == app.settings.resolved_visibility_timeout


@pytest.mark.parametrize(
    ("gpus", "queue", "tool_queue", "expected"),
    [
        (0, None, None, "cpu-x"),
        (2, None, None, "gpu-x"),
        (2, None, "cpu", "gpu-x"),  # asking for GPUs routes to the GPU queue
        (0, None, "gpu", "gpu-x"),  # logical names map to the configured queues
        (0, None, "bigmem", "bigmem"),  # other names are used as they are
        (1, "special", None, "special"),  # an explicit --queue wins
    ],
)
def test_queue_choice(
    tmp_path: Path, redis_url: str, gpus: int, queue: str | None, tool_queue: str | None,
    expected: str,
) -> None:  # fmt: skip
    """The queue a job is stored with (distributed: GPU jobs go to workers that have them;
    ``create`` stores the job without sending it)."""
    tools = tmp_path / "tools.toml"
    line = f'queue = "{tool_queue}"\n' if tool_queue else ""
    tools.write_text(f'[tools.t]\ncommand = ["true"]\n{line}')
    script = tmp_path / "s.sh"
    script.write_text("true\n")
    settings = load_settings(
        data_dir=tmp_path, tools_file=tools, queue_cpu="cpu-x", queue_gpu="gpu-x",
        broker_url=f"{redis_url}/0", database_url=f"sqlite:///{tmp_path / 'jp.db'}",
    )  # fmt: skip
    job_id = submission.create("t", script, gpus=gpus, queue=queue, settings=settings)
    store = Store(settings.resolved_database_url)
    with store.session() as session:
        from jobprobe.store import jobs

        assert jobs.get_job(session, job_id).queue == expected
    store.dispose()
