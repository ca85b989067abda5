"""The read commands' four settings (``Locations``) come out of the environment exactly as
``Settings`` reads them, bad values included, without building Settings."""

from __future__ import annotations

from pathlib import Path

import pytest

from jobprobe.worker import errors
from jobprobe.worker.locations import Locations
from jobprobe.worker.settings import load_settings

CASES = [
    {},
    {"JOBPROBE_DATABASE_URL": "postgresql+psycopg://u@127.0.0.1:5432/db"},
    {"JOBPROBE_DATABASE_URL": "   "},  # blank: unset
    {"jobprobe_tools_file": "/etc/jobprobe/tools.toml"},  # names match without regard to case
    {"JOBPROBE_BROKER_URL": "redis://127.0.0.1:6379/0", "JOBPROBE_DATABASE_URL": "sqlite:///x.db"},
]


@pytest.mark.parametrize("env", CASES)
def test_locations_agree_with_settings(
    env: dict[str, str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("JOBPROBE_DATA_DIR", str(tmp_path / "data"))
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "tools.toml").write_text("")
    settings, where = load_settings(), Locations.from_environment()
    assert (where.broker_url, where.database_url, where.data_dir, where.tools_file) == (
        settings.broker_url, settings.database_url, settings.data_dir, settings.tools_file
    )  # fmt: skip
    assert where.resolved_database_url == settings.resolved_database_url
    assert where.resolved_tools_file == settings.resolved_tools_file


def test_a_secret_file_and_the_default_data_dir(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    secret = tmp_path / "db-url"
    secret.write_text("postgresql://u:pw@127.0.0.1:5432/db\n")
    monkeypatch.setenv("JOBPROBE_DATABASE_URL_FILE", str(secret))
    monkeypatch.delenv("JOBPROBE_DATABASE_URL", raising=False)
    monkeypatch.delenv("JOBPROBE_DATA_DIR", raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    where = Locations.from_environment()
    assert where.database_url == "postgresql://u:pw@127.0.0.1:5432/db"
    assert where.data_dir == tmp_path / "xdg" / "jobprobe" == load_settings().data_dir


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"JOBPROBE_DATABASE_URL": "mysql://u:hunter2@h/db"}, "not a URL of a supported database"),
        ({"JOBPROBE_BROKER_URL": "redis://127.0.0.1:6379/0"}, "must be set when"),
        ({"JOBPROBE_DATABASE_URL_FILE": "/nonexistent/x"}, "cannot read /nonexistent/x"),
    ],
)
def test_bad_values_are_one_line_like_settings(
    env: dict[str, str], message: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("JOBPROBE_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("JOBPROBE_DATABASE_URL", raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(errors.SettingsError, match=message) as lean:
        Locations.from_environment()
    with pytest.raises(errors.SettingsError, match=message):
        load_settings()
    assert "\n" not in str(lean.value) and "hunter2" not in str(lean.value)
