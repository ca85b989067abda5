"""``POST /api/v1/chat`` over real HTTP: the answer as ``ask --json`` prints it, a follow-up in
the same session, and bad input as one JSON error line (422 question, 404 session)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from jobprobe.store.db import Store
from jobprobe.worker.settings import Settings
from tests.stand_ins import fleet
from tests.web import server as web_server

TOKEN = "read-token-for-the-chat-tests-5e1d"


@pytest.fixture
def web(tmp_path: Path) -> Iterator[web_server.ServerThread]:
    url = f"sqlite:///{tmp_path / 'jp.db'}"
    store = Store(url)
    fleet.fill(store)
    store.dispose()
    settings = Settings(data_dir=tmp_path / "data", database_url=url, web_read_token=TOKEN)
    with web_server.serving(settings) as srv:
        if "/api/v1/chat" not in srv.app.openapi()["paths"]:
            pytest.skip(
                "the web API does not include web.api.chat's router yet (web/api/__init__.py)"
            )
        yield srv


def post(web: web_server.ServerThread, body: dict[str, object]) -> httpx.Response:
    return httpx.post(f"{web.url}/api/v1/chat", json=body, timeout=60,
                      headers={"Authorization": f"Bearer {TOKEN}"})  # fmt: skip


def test_a_question_and_a_follow_up_over_http(web: web_server.ServerThread) -> None:
    first = post(web, {"question": "how many GPUs are in use right now?"})
    assert first.status_code == 200, first.text
    body = first.json()
    assert body["verified"] and body["kind"] == "answer"
    assert body["answer"].startswith("Right now 2 jobs are running, holding 3 GPUs.")
    again = post(web, {"question": "GPU trend of cv-team over the past week",
                       "session_id": body["session_id"]})  # fmt: skip
    assert again.status_code == 200 and again.json()["session_id"] == body["session_id"]
    follow = post(web, {"question": "and the past 3 days?", "session_id": body["session_id"]})
    (call,) = [c for c in follow.json()["tool_calls"] if c["name"] == "trend"]
    assert call["arguments"]["labels"] == {"team": "cv-team"}


@pytest.mark.parametrize(
    ("body", "status", "needle"),
    [
        ({"question": ""}, 422, "the question is empty"),
        ({"question": "x" * 5000}, 422, "at most 2,000"),
        ({"question": "what runs now?", "session_id": "f" * 32}, 404, "unknown or expired"),
    ],
)
def test_bad_input_is_one_json_error(
    web: web_server.ServerThread, body: dict[str, object], status: int, needle: str
) -> None:
    answer = post(web, body)
    assert answer.status_code == status
    assert list(answer.json()) == ["error"] and needle in answer.json()["error"]
