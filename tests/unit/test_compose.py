"""docker-compose.yml and the Dockerfile agree with the code: app module, queues, settings."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from jobprobe.worker.settings import Settings

yaml = pytest.importorskip("yaml", reason="PyYAML is in the dev extra: pip install -e '.[dev]'")

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "docker-compose.yml"
DOCKERFILE = ROOT / "Dockerfile"
JOBPROBE_SERVICES = ("worker-cpu", "worker-gpu", "beat", "flower")


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    data = yaml.safe_load(COMPOSE.read_text())
    assert isinstance(data, dict) and isinstance(data.get("services"), dict)
    return data


def _services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return compose["services"]


def _argv(service: dict[str, Any]) -> list[str]:
    command = service.get("command", [])
    return command.split() if isinstance(command, str) else [str(c) for c in command]


def _settings_env_names() -> set[str]:
    """Every environment name Settings reads (prefix + field name, plus explicit aliases)."""
    names: set[str] = set()
    for name, field in Settings.model_fields.items():
        names.add(f"JOBPROBE_{name.upper()}")
        alias = field.validation_alias
        for choice in getattr(alias, "choices", []) or []:
            if isinstance(choice, str):
                names.add(choice.upper())
    return names


def _queue_names() -> set[str]:
    settings = Settings()
    return {settings.queue_cpu, settings.queue_gpu, settings.queue_iss, settings.queue_analysis}


def test_services_exist(compose: dict[str, Any]) -> None:
    assert {"redis", "postgres", *JOBPROBE_SERVICES} <= _services(compose).keys()


def test_backing_services_have_healthchecks_and_volumes(compose: dict[str, Any]) -> None:
    services = _services(compose)
    assert "redis-cli" in " ".join(services["redis"]["healthcheck"]["test"])
    assert "pg_isready" in " ".join(services["postgres"]["healthcheck"]["test"])
    volumes = compose.get("volumes") or {}
    pg_volume = services["postgres"]["volumes"][0].split(":")[0]
    assert pg_volume in volumes


def test_every_celery_command_names_the_real_app(compose: dict[str, Any]) -> None:
    import importlib

    for name in JOBPROBE_SERVICES:
        argv = _argv(_services(compose)[name])
        assert argv[:2] == ["celery", "-A"], f"{name}: {argv}"
        module = argv[2]
        assert module == "jobprobe.worker.app"
        assert hasattr(importlib.import_module(module), "get_app")
        assert argv[3] == {"beat": "beat", "flower": "flower"}.get(name, "worker")


def test_worker_queues_are_settings_queues(compose: dict[str, Any]) -> None:
    known = _queue_names()
    seen: set[str] = set()
    for name in ("worker-cpu", "worker-gpu"):
        argv = _argv(_services(compose)[name])
        queues = argv[argv.index("-Q") + 1].split(",")
        assert set(queues) <= known, f"{name} listens on unknown queues {set(queues) - known}"
        seen.update(queues)
    assert seen == known  # every queue has a worker


def test_gpu_worker_is_behind_a_profile_and_reserves_gpus(compose: dict[str, Any]) -> None:
    gpu = _services(compose)["worker-gpu"]
    assert gpu.get("profiles") == ["gpu"]
    devices = gpu["deploy"]["resources"]["reservations"]["devices"]
    assert any(d.get("driver") == "nvidia" and "gpu" in d.get("capabilities", []) for d in devices)
    assert "profiles" not in _services(compose)["worker-cpu"]


def test_jobprobe_environment_is_real_settings(compose: dict[str, Any]) -> None:
    known = _settings_env_names()
    for name in JOBPROBE_SERVICES:
        env = _services(compose)[name]["environment"]
        keys = set(env) if isinstance(env, dict) else {e.split("=", 1)[0] for e in env}
        assert {"JOBPROBE_BROKER_URL", "JOBPROBE_DATABASE_URL"} <= keys, name
        unknown = {k for k in keys if k.startswith("JOBPROBE_")} - known
        assert not unknown, f"{name}: {sorted(unknown)} are not Settings fields"
    # the compose file's values are valid settings, too
    env = _services(compose)["worker-cpu"]["environment"]
    values = {k[len("JOBPROBE_") :].lower(): v for k, v in env.items() if "${" not in str(v)}
    Settings(**values)


def test_jobprobe_services_wait_for_healthy_backends(compose: dict[str, Any]) -> None:
    for name in JOBPROBE_SERVICES:
        depends = _services(compose)[name]["depends_on"]
        assert depends == {
            "redis": {"condition": "service_healthy"},
            "postgres": {"condition": "service_healthy"},
        }, name


def test_flower_uses_basic_auth_from_the_environment(compose: dict[str, Any]) -> None:
    flower = _services(compose)["flower"]
    auth = [a for a in _argv(flower) if a.startswith("--basic-auth=")]
    assert auth and re.fullmatch(
        r"--basic-auth=\$\{FLOWER_USER[^}]*\}:\$\{FLOWER_PASSWORD[^}]*\}", auth[0]
    )


def test_dockerfile_installs_the_package_as_a_non_root_user() -> None:
    text = DOCKERFILE.read_text()
    assert re.search(r"^FROM python:3\.11-slim", text, re.M)
    assert re.search(r"pip install \"?\.\[[^\]]*flower[^\]]*\]", text)
    users = re.findall(r"^USER (\S+)", text, re.M)
    assert users and users[-1] not in {"root", "0"}
    assert re.search(r'^CMD \["celery", "-A", "jobprobe\.worker\.app", "worker"', text, re.M)


def test_job_workers_can_make_per_job_control_groups(compose: dict[str, Any]) -> None:
    # A private cgroup namespace (job groups nest in the container's group) mounted read-write
    # (privileged) and written as root; see docs/cgroups.md. Beat and Flower run no jobs.
    services = _services(compose)
    for name in ("worker-cpu", "worker-gpu"):
        worker = services[name]
        assert worker.get("cgroup") == "private", name
        assert worker.get("privileged") is True, name
        assert str(worker.get("user")) in {"root", "0", "0:0"}, name
    for name in ("beat", "flower"):
        assert not services[name].get("privileged"), name
        assert "user" not in services[name], name


def test_no_documented_command_runs_flower_without_authentication() -> None:
    documented = [COMPOSE, DOCKERFILE, ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
    for path in documented:
        assert "FLOWER_UNAUTHENTICATED_API" not in path.read_text(), path
    readme = (ROOT / "README.md").read_text()
    for line in readme.splitlines():
        if re.search(r"celery .*\bflower\b", line):
            assert "--basic-auth=" in line, line


def test_backend_passwords_come_from_the_environment_without_defaults(
    compose: dict[str, Any],
) -> None:
    services = _services(compose)
    text = COMPOSE.read_text()
    assert ":-" not in re.sub(r"\$\{(WORKER_CONCURRENCY):-[^}]*\}", "", text), (
        "no variable may have a default other than WORKER_CONCURRENCY"
    )
    redis_argv = _argv(services["redis"])
    assert redis_argv[redis_argv.index("--requirepass") + 1] == (
        "${REDIS_PASSWORD:?set REDIS_PASSWORD}"
    )
    assert services["postgres"]["environment"]["POSTGRES_PASSWORD"] == (
        "${POSTGRES_PASSWORD:?set POSTGRES_PASSWORD}"
    )
    env = services["worker-cpu"]["environment"]
    assert env["JOBPROBE_BROKER_URL"].startswith("redis://:${REDIS_PASSWORD:?")
    assert ":${POSTGRES_PASSWORD:?" in env["JOBPROBE_DATABASE_URL"]
