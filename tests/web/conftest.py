"""Fixtures of the web tests: settings over a real store (SQLite, then PostgreSQL), the real
application served on 127.0.0.1, and jobs made through the real submit path (embedded)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from jobprobe.worker.settings import Settings
from tests import services
from tests.web import server as web_server

READ_TOKEN = "read-token-for-the-web-tests-7f3a"
WRITE_TOKEN = "write-token-for-the-web-tests-91c2"


@pytest.fixture(params=["sqlite", "postgresql"])
def settings(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Settings]:
    """Embedded-mode settings (jobs run in this process) over a fresh store of each backend,
    sampling fast, with a read and a write token."""
    values: dict[str, object] = dict(
        data_dir=tmp_path / "data", sample_interval=0.1, sample_flush_seconds=0.2,
        web_read_token=READ_TOKEN, web_write_token=WRITE_TOKEN,
    )  # fmt: skip
    if request.param == "sqlite":
        yield Settings(**values)
        return
    url, name = services.create_pg_database()
    try:
        yield Settings(database_url=url, **values)
    finally:
        from jobprobe.worker import runtime

        runtime.get_store(Settings(database_url=url, **values)).dispose()
        services.drop_pg_database(name)


@pytest.fixture
def web(settings: Settings) -> Iterator[web_server.ServerThread]:
    """The application over ``settings``, served on 127.0.0.1:<free port>."""
    with web_server.serving(settings) as srv:
        yield srv


def write_script(folder: Path, text: str, name: str = "job.sh") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(text)
    return path


def run_job(settings: Settings, text: str, **given: object) -> str:
    """Submit a bash job as ``jobprobe submit`` does (embedded: it runs to its end here)."""
    from jobprobe.tasks import submission

    script = write_script(settings.data_dir.parent / "scripts", text)
    return submission.submit("bash", script, settings=settings, **given)  # type: ignore[arg-type]


class StartedJob:
    """A job submitted and running in a thread of the test (embedded mode)."""

    def __init__(self, settings: Settings, text: str, **given: object) -> None:
        from jobprobe.tasks import submission

        script = write_script(settings.data_dir.parent / "scripts", text)
        self.id = submission.create("bash", script, settings=settings, **given)  # type: ignore[arg-type]
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, args=(settings,), daemon=True)
        self.thread.start()

    def _run(self, settings: Settings) -> None:
        from jobprobe.tasks import submission

        try:
            submission.enqueue(self.id, settings=settings)
        except BaseException as exc:  # raised again by join()
            self.error = exc

    def join(self, timeout: float = 120.0) -> None:
        self.thread.join(timeout)
        assert not self.thread.is_alive(), f"job {self.id} still running after {timeout} s"
        if self.error is not None:
            raise self.error
