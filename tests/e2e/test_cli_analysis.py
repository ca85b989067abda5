"""The analysis commands as a user runs them, embedded mode: real jobs, real files, real exit codes."""

from __future__ import annotations

import json
import os
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests import workers

pytestmark = pytest.mark.e2e

SPIN = """\
import os, time
deadline = time.perf_counter() + float(os.environ["SIM_SECONDS"])
n = 0
while time.perf_counter() < deadline:
    n += 1
print(n)
"""


def cli(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return workers.run_cli(args, env)


def submit(env: dict[str, str], script: Path, seconds: float, variant: str) -> str:
    out = cli(
        ["submit", "python", str(script), "--param", f"seconds={seconds}", "--label",
         f"variant={variant}", "--label", "team=cfd", "--json"],
        env,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    rec = json.loads(out.stdout)
    assert rec["status"] == "success"
    return str(rec["task_id"])


@pytest.fixture(scope="module")
def jobs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[dict[str, str], dict]]:
    """Nine real jobs: three fast, three fast again (noise), three twice as slow."""
    root = tmp_path_factory.mktemp("analysis")
    base = {k: v for k, v in os.environ.items() if not k.startswith("JOBPROBE_")}
    env = base | {"JOBPROBE_DATA_DIR": str(root / "data"), "PYTHONPATH": str(workers.ROOT)}
    script = root / "spin.py"
    script.write_text(SPIN)
    ids = {
        variant: [submit(env, script, seconds, variant) for _ in range(3)]
        for variant, seconds in (("fast", 0.4), ("again", 0.4), ("slow", 0.8))
    }
    yield env, ids


def test_report_writes_markdown_json_and_png(
    jobs: tuple[dict[str, str], dict], tmp_path: Path
) -> None:
    env, ids = jobs
    out = cli(["report", ids["fast"][0][:10], "--out", str(tmp_path), "--json"], env)
    assert out.returncode == 0, out.stderr
    files = json.loads(out.stdout)["files"]
    md, data, png = Path(files["markdown"]), Path(files["json"]), Path(files["resources"])
    assert md.parent == tmp_path / ids["fast"][0]
    assert "**Bottleneck:" in md.read_text() and "](resources.png)" in md.read_text()
    assert json.loads(data.read_text())["verdict"]["kind"]
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 10_000
    text = cli(["report", ids["fast"][0]], env)
    assert text.returncode == 0 and "report.md" in text.stdout


def test_the_automatic_job_report_is_shown_by_job_details(
    jobs: tuple[dict[str, str], dict],
) -> None:
    env, ids = jobs
    out = cli(["job-details", ids["slow"][0]], env)
    assert out.returncode == 0, out.stderr
    assert "report (job," in out.stdout


def test_compare_flags_a_real_slowdown_and_exits_1(jobs: tuple[dict[str, str], dict]) -> None:
    env, ids = jobs
    out = cli(
        ["compare", "--baseline-label", "variant=fast", "--candidate-label", "variant=slow",
         "--json"],
        env,
    )  # fmt: skip
    assert out.returncode == 1, out.stderr
    facts = json.loads(out.stdout)
    assert facts["regressed"] and "duration_seconds" in facts["regressions"]
    row = next(r for r in facts["rows"] if r["name"] == "duration_seconds")
    assert row["relative_change"] > 0.5 and row["p_value"] < 0.05
    assert facts["baseline_runs"] == facts["candidate_runs"] == 3

    # One run against one cannot tell a change from noise (issue 15): unconfirmed, exit 0.
    pair = cli(["compare", ids["fast"][0], ids["slow"][0]], env)
    assert pair.returncode == 0 and pair.stdout.startswith("UNCONFIRMED: ")
    assert "duration_seconds" in pair.stdout.splitlines()[0] and "--repeat" in pair.stdout


def test_compare_does_not_flag_noise(jobs: tuple[dict[str, str], dict]) -> None:
    env, _ = jobs
    out = cli(
        ["compare", "--baseline-label", "variant=fast", "--candidate-label", "variant=again"], env
    )
    assert out.returncode == 0, out.stdout + out.stderr
    assert out.stdout.startswith("no regression")


def test_compare_usage_errors_are_one_line(jobs: tuple[dict[str, str], dict]) -> None:
    env, ids = jobs
    out = cli(["compare", ids["fast"][0], ids["slow"][0], "--threshold", "speed=3"], env)
    assert out.returncode == 2 and out.stderr.count("\n") == 1 and "--threshold" in out.stderr


def test_trend_compare_periods_and_drilldown(
    jobs: tuple[dict[str, str], dict], tmp_path: Path
) -> None:
    env, _ = jobs
    plot = tmp_path / "trend.png"
    out = cli(
        ["trend", "--by", "label:variant", "--bucket", "hour", "--plot", str(plot), "--json"], env
    )
    assert out.returncode == 0, out.stderr
    trend = json.loads(out.stdout)
    assert {g["group"] for g in trend["groups"]} == {"fast", "again", "slow"}
    for group in trend["groups"]:
        assert group["jobs"] == 3 and group["cpu_hours"] > 0
        assert len(group["series"]) == len(trend["buckets"]) >= 1
        assert group["trend"]["direction"] in {"rising", "falling", "flat"}
    assert plot.stat().st_size > 10_000
    text = cli(["trend", "--by", "label:variant"], env)
    assert text.returncode == 0 and "TREND" in text.stdout

    out = cli(["compare-periods", "--days", "1", "--by", "tool", "--json"], env)
    assert out.returncode == 0, out.stderr
    periods = json.loads(out.stdout)
    (row,) = periods["groups"]
    assert row["group"] == "python" and row["current"]["jobs"] == 9
    assert row["previous"]["jobs"] == 0 and row["change"]["jobs"] is None

    out = cli(["drilldown", "--path", "queue,label:team,tool", "--top", "2", "--json"], env)
    assert out.returncode == 0, out.stderr
    tree = json.loads(out.stdout)["tree"]
    assert tree["jobs"] == 9 and tree["wasted_gpu_hours"] == 0.0
    queue = tree["children"][0]
    team = queue["children"][0]
    tool = team["children"][0]
    assert (queue["level"], team["level"], tool["level"]) == ("queue", "label:team", "tool")
    assert team["name"] == "cfd" and tool["name"] == "python"
    assert len(tool["children"]) == 2 and tool["more"] == 7
    assert tool["children"][0]["level"] == "job"


def test_insight_with_the_offline_provider_is_verified(jobs: tuple[dict[str, str], dict]) -> None:
    env, ids = jobs
    out = cli(["insight", ids["slow"][0]], env)
    assert out.returncode == 0, out.stderr
    assert ids["slow"][0] in out.stdout
    assert "verified: yes" in out.stdout
    details = json.loads(cli(["job-details", ids["slow"][0], "--json"], env).stdout)
    assert any(r["kind"] == "insight" for r in details["reports"])

    both = cli(["insight", f"compare:{ids['fast'][0]}:{ids['slow'][0]}", "--json"], env)
    assert both.returncode == 0, both.stderr
    body = json.loads(both.stdout)
    assert body["subject"] == "comparison" and body["verified"] is True


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_insight_with_an_unreachable_provider_fails_in_one_line(
    jobs: tuple[dict[str, str], dict],
) -> None:
    env, ids = jobs
    url = f"http://127.0.0.1:{_closed_port()}/v1"
    env = env | {"JOBPROBE_LLM_BASE_URL": url, "JOBPROBE_LLM_MODEL": "test-model"}
    out = cli(["insight", ids["fast"][0], "--provider", "openai"], env)
    assert out.returncode == 1
    assert out.stderr.count("\n") == 1 and "Traceback" not in out.stderr
    assert "openai" in out.stderr and url in out.stderr


def test_an_embedded_sweep_ends_with_its_report(
    jobs: tuple[dict[str, str], dict], tmp_path: Path
) -> None:
    env = jobs[0] | {"JOBPROBE_DATA_DIR": str(tmp_path / "data")}  # its own store
    out = cli(
        ["sweep", "python", "examples/serve_load.py", "--vary", "clients=1,2", "--param",
         "requests=3", "--param", "size=20000", "--json"],
        env,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    facts = json.loads(out.stdout)
    assert facts["jobs"]["succeeded"] == 2 and Path(facts["report_path"]).is_file()
    assert facts["throughput_knee"]["found"] is False  # two points cannot make a knee
    assert "too few" in facts["usl"]["reason"]


USL_DATA = workers.ROOT / "tests" / "data" / "usl"
#: name -> (loads, sigma, kappa, peak load or None) as published (sources in the csv files).
USL_PUBLISHED = {
    "specsdm91": ("1,18,36,72,108,144,216", 0.02773, 1.044e-4, 96.5),
    "cisco": (",".join(str(n) for n in range(1, 33)), 0.02671591, 7.690945e-4, None),
}


@pytest.mark.parametrize("name", sorted(USL_PUBLISHED))
def test_a_published_data_set_through_sweep_report_and_plot(
    jobs: tuple[dict[str, str], dict], tmp_path: Path, name: str
) -> None:
    """Each point of the data set is a real job replaying its throughput under a metric name
    the user gives; the published USL coefficients come back within 1 %, in JSON and plot."""
    loads, sigma, kappa, peak = USL_PUBLISHED[name]
    env = jobs[0] | {"JOBPROBE_DATA_DIR": str(tmp_path / "data")}
    out = cli(
        ["sweep", "python", str(USL_DATA / "replay.py"), "--vary", f"load={loads}",
         "--param", f"dataset={USL_DATA / name}.csv", "--param", "metric=scripts_per_hour",
         "--json"],
        env,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    sweep_id = json.loads(out.stdout)["sweep_id"]
    png = tmp_path / "curves.png"
    out = cli(
        ["sweep-report", sweep_id, "--throughput-metric", "scripts_per_hour", "--plot", str(png),
         "--json"],
        env,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    facts = json.loads(out.stdout)
    assert facts["jobs"]["succeeded"] == len(loads.split(","))
    assert facts["metric_names"]["throughput"] == ["scripts_per_hour"]
    usl = facts["usl"]
    assert usl["ok"] and usl["sigma"] == pytest.approx(sigma, rel=0.01)
    assert usl["kappa"] == pytest.approx(kappa, rel=0.01)
    if peak is not None:
        assert usl["peak_n"] == pytest.approx(peak, rel=0.01)
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and facts["plot"] == str(png)
    text = cli(["sweep-report", sweep_id, "--throughput-metric", "scripts_per_hour"], env)
    assert text.returncode == 0 and f"coherency kappa {kappa:.4g}" in text.stdout
