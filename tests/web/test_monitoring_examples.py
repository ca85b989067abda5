"""The monitoring examples agree with the code: the compose profile runs ``jobprobe serve``
with its read token as a secret, Prometheus scrapes it with that token, and every series the
Grafana dashboard asks for is one /metrics really exposes (scraped from the real app)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from jobprobe.worker.settings import Settings
from tests.web import server as web_server

yaml = pytest.importorskip("yaml", reason="PyYAML is in the dev extra: pip install -e '.[dev]'")

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
MONITORING = ("web", "prometheus", "grafana")


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    data = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    assert isinstance(data, dict)
    return data


def test_the_profile_adds_web_prometheus_and_grafana(compose: dict[str, Any]) -> None:
    services = compose["services"]
    for name in MONITORING:
        assert "monitoring" in services[name]["profiles"], name
        for port in services[name].get("ports", []):
            assert str(port).startswith("127.0.0.1:"), (name, port)
    for name in ("prometheus", "grafana"):
        image = services[name]["image"]
        assert re.fullmatch(r"[\w./-]+:v?\d+\.\d+\.\d+", image), f"{name} image not pinned: {image}"
    assert "profiles" not in services["worker-cpu"]  # the default stack is unchanged


def test_web_runs_jobprobe_serve_with_its_token_as_a_secret(compose: dict[str, Any]) -> None:
    web = compose["services"]["web"]
    assert web["command"][:4] == ["jobprobe", "serve", "--host", "0.0.0.0"]
    env = web["environment"]
    known = {f"JOBPROBE_{name.upper()}" for name in Settings.model_fields}
    known |= {f"{k}_FILE" for k in known}
    assert {k for k in env if k.startswith("JOBPROBE_")} <= known
    assert "JOBPROBE_WEB_READ_TOKEN" not in env  # the value never sits in the environment
    assert env["JOBPROBE_WEB_READ_TOKEN_FILE"] == "/run/secrets/web_read_token"
    assert "web_read_token" in web["secrets"]
    secrets = compose["secrets"]
    assert secrets["web_read_token"] == {"environment": "JOBPROBE_WEB_READ_TOKEN"}
    assert secrets["grafana_admin_password"] == {"environment": "GRAFANA_ADMIN_PASSWORD"}
    grafana_env = compose["services"]["grafana"]["environment"]
    assert "GF_SECURITY_ADMIN_PASSWORD" not in grafana_env
    assert grafana_env["GF_SECURITY_ADMIN_PASSWORD__FILE"] == "/run/secrets/grafana_admin_password"


def test_prometheus_scrapes_web_with_the_read_token(compose: dict[str, Any]) -> None:
    config = yaml.safe_load((EXAMPLES / "prometheus" / "prometheus.yml").read_text())
    job = next(j for j in config["scrape_configs"] if j["job_name"] == "jobprobe")
    assert job["metrics_path"] == "/metrics"
    assert job["authorization"] == {
        "type": "Bearer", "credentials_file": "/run/secrets/web_read_token"
    }  # fmt: skip
    web = compose["services"]["web"]
    port = web["command"][web["command"].index("--port") + 1]
    assert job["static_configs"][0]["targets"] == [f"web:{port}"]
    mounts = compose["services"]["prometheus"]["volumes"]
    assert "./examples/prometheus/prometheus.yml:/etc/prometheus/prometheus.yml:ro" in mounts
    assert "web_read_token" in compose["services"]["prometheus"]["secrets"]


def _exposed_names(tmp_path: Path) -> set[str]:
    """Every series name the real /metrics exposes (histograms with their suffixes)."""
    settings = Settings(data_dir=tmp_path / "data")
    with web_server.serving(settings) as srv, web_server.client(srv) as http:
        text = http.get("/metrics").text
    names: set[str] = set()
    for family in text_string_to_metric_families(text):
        names.add(family.name)
        if family.type == "histogram":
            names |= {f"{family.name}_{suffix}" for suffix in ("bucket", "count", "sum")}
    return names


def test_the_dashboard_asks_only_for_series_that_exist(tmp_path: Path) -> None:
    dashboard = json.loads((EXAMPLES / "grafana" / "dashboards" / "jobprobe.json").read_text())
    datasources = yaml.safe_load(
        (EXAMPLES / "grafana" / "provisioning" / "datasources" / "prometheus.yml").read_text()
    )
    uid = datasources["datasources"][0]["uid"]
    exprs = [t["expr"] for p in dashboard["panels"] for t in p["targets"]]
    assert all(p["datasource"]["uid"] == uid for p in dashboard["panels"])
    used = {name for e in exprs for name in re.findall(r"\bjobprobe_[a-z_]+", e)}
    exposed = _exposed_names(tmp_path)
    assert used and used <= exposed, sorted(used - exposed)
    # every running-job gauge of /metrics has a panel
    gauges = {n for n in exposed if n.startswith("jobprobe_running_job_")}
    assert gauges - used <= {"jobprobe_running_job_gpu_memory_used_bytes"}, sorted(gauges - used)
