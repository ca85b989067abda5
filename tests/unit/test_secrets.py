"""One masking function for every message that may carry a secret."""

from __future__ import annotations

from pathlib import Path

from jobprobe.worker import secrets


def test_url_passwords_are_masked() -> None:
    text = (
        "cannot reach the broker redis://:hunter2@10.0.0.5:6379/0 (refused); "
        "db postgresql+psycopg://jp:p%40ss@db:5432/jobprobe and amqp://guest@mq//"
    )
    masked = secrets.mask(text)
    assert "hunter2" not in masked and "p%40ss" not in masked
    assert "redis://:***@10.0.0.5:6379/0" in masked
    assert "postgresql+psycopg://jp:***@db:5432/jobprobe" in masked
    assert "amqp://guest@mq//" in masked  # a user name alone is no secret


def test_an_at_sign_in_a_password_does_not_leak_its_end() -> None:
    assert secrets.mask("redis://:a@b@host/0") == "redis://:***@host/0"


def test_secret_query_parameters_and_known_values_are_masked() -> None:
    text = "GET https://iss/token?client_id=x&client_secret=abc123def and key sk-live-0123456789"
    masked = secrets.mask(text, ["sk-live-0123456789", "ab"])
    assert "abc123def" not in masked and "sk-live-0123456789" not in masked
    assert "client_id=x" in masked


def test_known_values_come_from_variables_and_files(tmp_path: Path) -> None:
    (tmp_path / "db").write_text("postgresql://u:filepass99@h/db\n")
    environ = {
        "JOBPROBE_LLM_API_KEY": "sk-llm-424242",
        "CLIENT_SECRET": "iss-secret-1",
        "JOBPROBE_BROKER_URL": "redis://:brokerpass77@h:6379/0",
        "JOBPROBE_DATABASE_URL_FILE": str(tmp_path / "db"),
    }
    assert set(secrets.known_values(environ)) == {
        "sk-llm-424242", "iss-secret-1", "brokerpass77", "filepass99",
    }  # fmt: skip


def test_the_python_api_names_an_unreachable_broker_without_its_password(tmp_path: Path) -> None:
    import pytest

    from jobprobe.tasks import errors, submission
    from jobprobe.worker.settings import load_settings

    script = tmp_path / "s.sh"
    script.write_text("true\n")
    settings = load_settings(
        broker_url="redis://:api-pass-4242@127.0.0.1:9/0", data_dir=tmp_path / "data",
        database_url=f"sqlite:///{tmp_path / 'jp.db'}",
    )  # fmt: skip
    with pytest.raises(errors.BrokerUnavailable) as info:
        submission.create("bash", script, settings=settings)
    assert "api-pass-4242" not in str(info.value)
    assert "redis://:***@127.0.0.1:9/0" in str(info.value)
