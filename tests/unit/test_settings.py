"""Settings: precedence, legacy names, and one-line errors for bad values."""

from __future__ import annotations

import pytest

from jobprobe.worker import errors
from jobprobe.worker.settings import Settings, load_settings


def test_defaults_are_embedded_sqlite(monkeypatch: pytest.MonkeyPatch, tmp_path: object) -> None:
    monkeypatch.setenv("JOBPROBE_DATA_DIR", str(tmp_path))
    s = load_settings()
    assert s.embedded
    assert s.resolved_database_url == f"sqlite:///{tmp_path}/jobprobe.db"
    assert s.sample_interval == 0.5


def test_argument_beats_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JOBPROBE_SAMPLE_INTERVAL", "2")
    assert load_settings().sample_interval == 2
    assert load_settings(sample_interval=0.1).sample_interval == 0.1


def test_visibility_timeout_outlasts_the_longest_job(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JOBPROBE_MAX_TIMEOUT", "7200")
    s = load_settings()
    assert s.resolved_visibility_timeout > s.max_timeout


def test_legacy_iss_variable_names_are_accepted(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ISS_API_URL", "http://127.0.0.1:1")
    monkeypatch.setenv("CLIENT_SECRET_NAME", "iss/creds")
    monkeypatch.setenv("AWS_REGION_ISS", "eu-west-1")
    s = load_settings()
    assert (s.iss_api_url, s.iss_secret_name, s.iss_aws_region) == (
        "http://127.0.0.1:1",
        "iss/creds",
        "eu-west-1",
    )


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("JOBPROBE_SAMPLE_INTERVAL", "0"),
        ("JOBPROBE_SAMPLE_INTERVAL", "fast"),
        ("JOBPROBE_MAX_ATTEMPTS", "0"),
    ],
)
def test_bad_value_is_one_line_naming_the_setting(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(errors.SettingsError) as info:
        load_settings()
    message = str(info.value)
    assert message.startswith(f"{name}:") and "\n" not in message


def test_every_setting_is_described() -> None:
    for name, field in Settings.model_fields.items():
        assert field.description, f"{name} has no description"


def test_environment_names_match_without_case_and_the_prefixed_name_wins(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("jobprobe_kill_grace", "3.5")
    monkeypatch.setenv("DOCKER_HOST", "unix:///legacy.sock")
    monkeypatch.setenv("JOBPROBE_DOCKER_HOST", "unix:///preferred.sock")
    s = Settings()
    assert s.kill_grace == 3.5
    assert s.docker_host == "unix:///preferred.sock"


def test_settings_are_frozen_and_secrets_stay_hidden(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JOBPROBE_LLM_API_KEY", "sk-not-for-logs")
    s = load_settings()
    assert "sk-not-for-logs" not in repr(s)
    assert s.llm_api_key is not None and s.llm_api_key.get_secret_value() == "sk-not-for-logs"
    with pytest.raises(ValueError, match="frozen"):
        s.kill_grace = 1.0


def test_secrets_can_come_from_files(
    monkeypatch: pytest.MonkeyPatch, tmp_path: pytest.TempPathFactory
) -> None:
    from pathlib import Path

    folder = Path(str(tmp_path))
    (folder / "db").write_text("postgresql+psycopg://u:pw@db/jp\n")
    (folder / "key").write_text("sk-from-file")
    monkeypatch.setenv("JOBPROBE_DATABASE_URL_FILE", str(folder / "db"))
    monkeypatch.setenv("JOBPROBE_LLM_API_KEY_FILE", str(folder / "key"))
    monkeypatch.setenv("CLIENT_SECRET_FILE", str(folder / "key"))
    settings = load_settings()
    assert settings.database_url == "postgresql+psycopg://u:pw@db/jp"
    assert settings.llm_api_key is not None
    assert settings.llm_api_key.get_secret_value() == "sk-from-file"
    assert settings.iss_client_secret is not None
    # The variable itself wins over its file.
    monkeypatch.setenv("JOBPROBE_DATABASE_URL", "sqlite:///x.db")
    assert load_settings().database_url == "sqlite:///x.db"


def test_an_unreadable_secret_file_is_one_line(
    monkeypatch: pytest.MonkeyPatch, tmp_path: pytest.TempPathFactory
) -> None:
    monkeypatch.setenv("JOBPROBE_BROKER_URL_FILE", f"{tmp_path}/missing")
    with pytest.raises(errors.SettingsError) as info:
        load_settings()
    assert "JOBPROBE_BROKER_URL_FILE" in str(info.value) and "\n" not in str(info.value)


def test_jobs_run_as_the_job_account_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("JOBPROBE_JOB_USER", raising=False)
    monkeypatch.setenv("JOBPROBE_BROKER_URL", "redis://127.0.0.1:6379/0")
    monkeypatch.setenv("JOBPROBE_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1/x")
    assert Settings().resolved_job_user == "jobprobe-job"  # a worker's jobs come from others
    monkeypatch.delenv("JOBPROBE_BROKER_URL")
    monkeypatch.delenv("JOBPROBE_DATABASE_URL")
    assert Settings().resolved_job_user == "worker"  # embedded: the user's own job, as the user
    monkeypatch.setenv("JOBPROBE_JOB_USER", "jobprobe-job")
    assert Settings().resolved_job_user == "jobprobe-job"
