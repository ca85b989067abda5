"""The dashboard in a real headless Chromium (Debian's, driven by Playwright) against the real
app on uvicorn (a subprocess on 127.0.0.1), over a SQLite store filled by ``jobprobe submit``
and ``jobprobe sweep`` as a user runs them. One server and one browser for the module.

Screenshots of every page (desktop and phone) go to $JOBPROBE_TEST_SCREENSHOTS, else a pytest
tmp folder (the suite scrubs other JOBPROBE_ variables, tests/conftest.py); the best ones are
kept in docs/screenshots/.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests import workers

pytestmark = pytest.mark.e2e
ROOT = workers.ROOT
CHROMIUM = Path("/usr/bin/chromium")
WRITE_TOKEN = "browser-test-write-token-5e1d"
USL_DATA = ROOT / "tests" / "data" / "usl"
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}
#: A job that runs SIM_SECONDS, busy and printing a line every quarter second; its first line
#: and its label carry markup that must stay text.
BUSY = """\
import os, time
print("<b>not bold</b> & <script>window.__pwned = 1</script>", flush=True)
seconds = float(os.environ.get("SIM_SECONDS", "6"))
end = time.monotonic() + seconds
held, i = [], 0
while time.monotonic() < end:
    stop = time.monotonic() + 0.25
    while time.monotonic() < stop:
        pass
    if len(held) < 24:
        held.append(bytearray(2 * 1024 * 1024))
    print(f"tick {i}", flush=True)
    i += 1
"""

sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")


@dataclass
class Site:
    """The served dashboard, its environment and the jobs made for it."""

    url: str
    env: dict[str, str]
    scripts: Path
    shots: Path
    ids: dict[str, str] = field(default_factory=dict)

    def api(self, path: str, **params: Any) -> Any:
        resp = httpx.get(f"{self.url}/api/v1{path}", params=params, timeout=30)
        resp.raise_for_status()
        return resp.json()

    def start_job(self, seconds: float, label: str) -> tuple[subprocess.Popen[bytes], str]:
        """``jobprobe submit ... --wait`` in the background; returns it and the job's id once
        the job runs."""
        proc = subprocess.Popen(
            [sys.executable, str(ROOT / "cli.py"), "submit", "python", str(self.scripts / "busy.py"),
             "--param", f"seconds={seconds}", "--label", f"run={label}", "--wait"],
            cwd=ROOT, env=workers.JOB_USER | self.env, stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL, start_new_session=True,
        )  # fmt: skip
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            jobs = self.api("/jobs", label=f"run={label}", status="running")["jobs"]
            if jobs:
                return proc, jobs[0]["task_id"]
            if proc.poll() is not None:
                raise AssertionError(f"the {label} job ended before it was seen running")
            time.sleep(0.2)  # polling the API for the job, bounded by the deadline
        _stop(proc)
        raise AssertionError(f"the {label} job was not running within 60 s")


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(10)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _fill(env: dict[str, str], scripts: Path) -> dict[str, str]:
    """Jobs and sweeps through the real CLI, all started at once (each its own store client,
    as several users would); returns the ids the tests use."""
    commands: dict[str, list[str]] = {
        "poisson": ["submit", "python", "examples/poisson.py", "--param", "n=96", "--param",
                    "iterations=8000", "--label", "team=cfd", "--label", "note=<i>x</i>"],
        "poisson2": ["submit", "python", "examples/poisson.py", "--param", "n=96", "--param",
                     "iterations=12000", "--label", "team=cfd"],
        "io": ["submit", "bash", "examples/io_burst.sh", "--param", "mb=8", "--label", "team=io"],
        "failed": ["submit", "python", str(scripts / "fail.py"), "--label", "team=cfd"],
        "sweep": ["sweep", "python", str(USL_DATA / "replay.py"), "--vary",
                  "load=1,18,36,72,108,144,216", "--param", f"dataset={USL_DATA / 'specsdm91.csv'}",
                  "--label", "team=web"],
        "slo_sweep": ["sweep", "python", "examples/serve_load.py", "--vary", "clients=1,2,4",
                      "--param", "requests=4", "--param", "size=60000", "--slo-p99", "20",
                      "--label", "team=web"],
    }  # fmt: skip
    # Three runs a side: a candidate twenty times the work is a confirmed regression.
    for ver, work in (("a", 2000), ("b", 40000)):
        for i in range(3):
            commands[f"ver-{ver}-{i}"] = ["submit", "python", "examples/poisson.py", "--param",
                                          "n=64", "--param", f"iterations={work}", "--label",
                                          f"ver={ver}"]  # fmt: skip
    runs = {
        name: subprocess.Popen(
            [sys.executable, str(ROOT / "cli.py"), *args, "--json"]
            + (["--wait"] if args[0] == "submit" else []),
            cwd=ROOT,
            env=workers.JOB_USER | env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for name, args in commands.items()
    }
    ids: dict[str, str] = {}
    for name, run in runs.items():
        out, err = run.communicate(timeout=240)
        assert out.strip(), f"{name}: {err}"
        rec = _record(out)
        ids[name] = rec["sweep_id"] if name.endswith("sweep") else rec["task_id"]
        assert name == "failed" or run.returncode == 0, f"{name}: {err}"
    return ids


def _record(stdout: str) -> dict[str, Any]:
    import json

    return dict(json.loads(stdout[stdout.index("{") : stdout.rindex("}") + 1]))


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    if not CHROMIUM.exists():
        pytest.skip("no /usr/bin/chromium (apt-get install chromium)")
    root = tmp_path_factory.mktemp("dashboard")
    scripts = root / "scripts"
    scripts.mkdir()
    (scripts / "busy.py").write_text(BUSY)
    (scripts / "fail.py").write_text("import sys\nprint('about to fail')\nsys.exit(3)\n")
    base = {k: v for k, v in os.environ.items() if not k.startswith("JOBPROBE_")}
    env = base | {
        "JOBPROBE_DATA_DIR": str(root / "data"), "PYTHONPATH": str(ROOT),
        "JOBPROBE_SAMPLE_FLUSH_SECONDS": "0.5", "JOBPROBE_WEB_WRITE_TOKEN": WRITE_TOKEN,
    }  # fmt: skip
    ids = _fill(env, scripts)
    port = _free_port()
    log = (root / "uvicorn.log").open("wb")
    server = subprocess.Popen(
        ["timeout", "600", sys.executable, "-m", "uvicorn", "--factory",
         "jobprobe.web.app:create_app", "--host", "127.0.0.1", "--port", str(port),
         "--log-level", "warning", "--timeout-graceful-shutdown", "1"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    shots = Path(os.environ.get("JOBPROBE_TEST_SCREENSHOTS") or root / "screenshots")
    shots.mkdir(parents=True, exist_ok=True)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(url + "/", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if server.poll() is not None or time.monotonic() > deadline:
                raise AssertionError((root / "uvicorn.log").read_text()[-2000:])
            time.sleep(0.1)  # polling the server's port, bounded by the deadline
        yield Site(url, env, scripts, shots, ids)
    finally:
        _stop(server)  # type: ignore[arg-type]
        log.close()


@pytest.fixture(scope="module")
def browser(site: Site) -> Iterator[Any]:
    with sync_api.sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    """A fresh desktop page; fails the test on any script error in it."""
    context = browser.new_context(viewport=DESKTOP)
    pg = context.new_page()
    errors: list[str] = []
    pg.on("pageerror", lambda exc: errors.append(str(exc)))
    yield pg
    context.close()
    assert errors == []


def _rows(page: Any) -> list[dict[str, str]]:
    return list(
        page.eval_on_selector_all(
            "#jobs-table tbody tr[data-status]",
            "rows => rows.map(r => ({status: r.dataset.status,"
            " tool: r.cells[2].textContent, labels: r.cells[6].textContent}))",
        )
    )


def test_the_jobs_table_filters(site: Site, page: Any) -> None:
    page.goto(site.url + "/")
    page.wait_for_selector("#jobs-table tbody tr[data-status]")
    # Ten jobs and the sweeps' ten (a page holds 25).
    page.wait_for_function("() => document.querySelectorAll('#jobs-table tbody tr[data-status]').length >= 20")  # fmt: skip
    page.select_option("select[name=status]", "failed")
    page.click("#filters button[type=submit]")
    page.wait_for_function("() => [...document.querySelectorAll('#jobs-table tbody tr[data-status]')]"
                           ".every(r => r.dataset.status === 'failed')")  # fmt: skip
    failed = _rows(page)
    assert [r["status"] for r in failed] == ["failed"], failed
    assert "status=failed" in page.url  # the filter is a link
    page.select_option("select[name=status]", "")
    page.fill("input[name=tool]", "bash")
    page.click("#filters button[type=submit]")
    page.wait_for_function("() => document.querySelectorAll('#jobs-table tbody tr[data-status]').length === 1")  # fmt: skip
    assert [r["tool"] for r in _rows(page)] == ["bash"]
    page.fill("input[name=tool]", "")
    page.fill("input[name=label]", "team=web")
    page.click("#filters button[type=submit]")
    page.wait_for_function("() => document.querySelectorAll('#jobs-table tbody tr[data-status]').length === 10")  # fmt: skip
    assert all(r["labels"] == "team=web" for r in _rows(page))
    page.fill("input[name=label]", "team=nobody")
    page.click("#filters button[type=submit]")
    page.wait_for_selector("#jobs-table td.empty")
    # Markup in a label is text: the chip shows it, no <i> element is made.
    page.goto(site.url + "/?label=note%3D%3Ci%3Ex%3C%2Fi%3E")
    page.wait_for_selector("#jobs-table tbody tr[data-status]")
    assert "note=<i>x</i>" in page.inner_text("#jobs-table tbody")
    assert page.query_selector("#jobs-table tbody i") is None


def test_the_jobs_table_pages_by_cursor(site: Site, page: Any) -> None:
    page.goto(site.url + "/?limit=4")
    page.wait_for_selector("#jobs-table tbody tr[data-status]")
    ids = "rows => rows.map(r => r.cells[0].textContent)"
    first = page.eval_on_selector_all("#jobs-table tbody tr[data-status]", ids)
    assert len(first) == 4 and page.is_disabled("#page-first")
    page.click("#page-next")
    page.wait_for_function("() => !document.querySelector('#page-first').disabled")
    second = page.eval_on_selector_all("#jobs-table tbody tr[data-status]", ids)
    assert len(second) == 4 and not set(first) & set(second)
    assert "cursor=" in page.url
    page.click("#page-first")
    page.wait_for_function("() => document.querySelector('#page-first').disabled")
    assert page.eval_on_selector_all("#jobs-table tbody tr[data-status]", ids) == first


def test_a_running_jobs_charts_grow_live(site: Site, page: Any) -> None:
    proc, job_id = site.start_job(7, "live")
    try:
        page.goto(f"{site.url}/jobs/{job_id}")
        cpu = '[data-chart="cpu"]'
        page.wait_for_selector("#job-status .status-running")
        # Each time a point is plotted: how long after the sample was taken (browser clock;
        # the same machine's). x is seconds since the profile's start, body[data-t0].
        page.evaluate(
            """sel => { window.__lags = []; const fig = document.querySelector(sel);
            new MutationObserver(() => { const t = Number(document.body.dataset.t0)
                + Number(fig.dataset.lastX);
              if (t) window.__lags.push(Date.now() / 1000 - t); })
            .observe(fig, {attributes: true, attributeFilter: ['data-points']}); }""",
            cpu,
        )
        counts = []
        for _ in range(4):
            before = int(page.get_attribute(cpu, "data-points") or 0)
            page.wait_for_function(
                f"n => Number(document.querySelector('{cpu}').dataset.points) > n", arg=before,
                timeout=5000,
            )  # fmt: skip
            counts.append(int(page.get_attribute(cpu, "data-points") or 0))
        assert counts == sorted(counts) and counts[-1] > counts[0] >= 1
        assert page.inner_text("#job-status") == "running"  # grew while it ran
        page.screenshot(path=str(site.shots / "job-live-desktop.png"), full_page=True)
        lags = sorted(page.evaluate("window.__lags"))
        assert lags and lags[len(lags) // 2] < 1.5, lags  # stored every 0.5 s, sent within 0.3 s
        # The log follows live; the job's markup stays text.
        page.wait_for_function(
            "() => document.querySelector('#log').textContent.includes('tick 3')"
        )
        assert "<script>" in page.inner_text("#log")
        assert page.evaluate("window.__pwned") is None
        # No GPU here: the GPU chart says so instead of drawing zeros.
        gpu = page.get_attribute('[data-chart="gpu"]', "data-state")
        assert gpu == "not-measured" and "not measured" in page.inner_text('[data-chart="gpu"]')
        page.wait_for_selector("#job-status .status-success", timeout=30000)
        page.wait_for_selector("#verdict .verdict", timeout=15000)  # the report, once written
    finally:
        _stop(proc)


def test_a_sweep_page_shows_its_curves(site: Site, page: Any) -> None:
    page.goto(site.url + "/sweeps")
    link = page.wait_for_selector(f"a[href='/sweeps/{site.ids['sweep']}']")
    link.click()
    page.wait_for_selector('[data-chart="throughput"][data-state="drawn"]')
    legend = page.inner_text('[data-chart="throughput"]')
    for name in ("throughput (measured)", "USL fit", "knee", "USL peak"):
        assert name in legend
    assert int(page.get_attribute('[data-chart="throughput"]', "data-points") or 0) > 7
    assert page.locator("#points tbody tr").count() == 7
    assert page.locator("#points .mark-knee").count() == 1
    assert "peak at load=96.5" in page.inner_text("#findings")  # the published USL peak
    # These jobs report no latency: the chart says so, it draws no zeros.
    assert page.get_attribute('[data-chart="latency"]', "data-state") == "not-measured"
    # A sweep of a real load with an SLO: its latency curves and the SLO line.
    page.goto(f"{site.url}/sweeps/{site.ids['slo_sweep']}")
    page.wait_for_selector('[data-chart="latency"][data-state="drawn"]')
    legend = page.inner_text('[data-chart="latency"]')
    for name in ("p50", "p99", "SLO p99 20 ms"):
        assert name in legend
    assert page.locator("#points tbody tr").count() == 3
    assert "SLO" in page.inner_text("#findings")


def test_cancel_from_the_page(site: Site, page: Any) -> None:
    proc, job_id = site.start_job(120, "cancel")
    try:
        page.goto(f"{site.url}/jobs/{job_id}")
        page.wait_for_selector("#cancel-button:not([hidden])")
        page.click("#cancel-button")  # no token yet: the page asks for one
        page.wait_for_selector("#token-panel[open]")
        assert "write token" in page.inner_text("#cancel-state")
        page.fill("#token-input", WRITE_TOKEN)
        page.click("#token-form button[type=submit]")
        page.click("#cancel-button")
        page.wait_for_selector("#job-status .status-cancelled", timeout=20000)
        assert proc.wait(30) is not None  # the submitting command ended too
        assert site.api(f"/jobs/{job_id}")["status"] == "cancelled"
        assert page.is_hidden("#cancel-button")
    finally:
        _stop(proc)


def test_the_chat_panel_answers_from_the_store(site: Site, page: Any) -> None:
    """The offline chat (no language model configured) through POST /api/v1/chat."""
    page.goto(site.url + "/workers")
    page.click("#chat summary")
    page.fill("#chat-input", "how many jobs failed today?")
    page.press("#chat-input", "Enter")
    answer = page.wait_for_selector("#chat-log .chat-answer .chat-text")
    assert "failed" in answer.inner_text()
    assert "checked against the store" in page.inner_text("#chat-log")
    page.screenshot(path=str(site.shots / "chat-desktop.png"))


def test_compare_marks_a_regression(site: Site, page: Any) -> None:
    page.goto(site.url + "/compare")
    page.fill("input[name=baseline_label]", "ver=a")
    page.fill("input[name=candidate_label]", "ver=b")
    page.click("#compare-form button[type=submit]")
    page.wait_for_selector("#compare-table")
    assert page.inner_text("#compare-result .verdict").startswith("REGRESSED")
    assert "(3 baseline vs 3 candidate runs)" in page.inner_text("#compare-result .verdict")
    regressed = page.eval_on_selector_all(
        "#compare-table tr.row-regressed", "rows => rows.map(r => r.cells[0].textContent)"
    )
    assert "duration_seconds" in regressed
    assert "baseline_label=ver%3Da" in page.url  # the comparison is a link


#: Each page's path and what shows it has drawn its data.
PAGES = {
    "jobs": ("/", "#jobs-table tbody tr"),
    "job": ("/jobs/{poisson}", '#verdict .verdict, [data-chart="cpu"][data-state="drawn"]'),
    "job-failed": ("/jobs/{failed}", "#history tbody tr"),
    "sweeps": ("/sweeps", "#sweeps-table tbody tr"),
    "sweep": ("/sweeps/{sweep}", '[data-chart="throughput"][data-state="drawn"]'),
    "sweep-slo": ("/sweeps/{slo_sweep}", '[data-chart="latency"][data-state="drawn"]'),
    "compare": ("/compare?baseline_label=ver%3Da&candidate_label=ver%3Db", "#compare-table"),
    "compare-jobs": ("/compare?a={poisson}&b={poisson2}", "#compare-table"),
    "usage": ("/usage", "#drilldown details"),
    "workers": ("/workers", "#workers-table tbody tr"),
}


@pytest.mark.parametrize("viewport", ["desktop", "phone"])
def test_every_page_renders_and_is_saved(site: Site, browser: Any, viewport: str) -> None:
    size = DESKTOP if viewport == "desktop" else PHONE
    context = browser.new_context(viewport=size)
    pg = context.new_page()
    errors: list[str] = []
    pg.on("pageerror", lambda exc: errors.append(str(exc)))
    try:
        for name, (path, ready) in PAGES.items():
            pg.goto(site.url + path.format(**site.ids))
            pg.wait_for_selector(ready)
            assert pg.is_hidden("#page-error"), pg.inner_text("#page-error")
            pg.wait_for_timeout(200)  # let the charts lay out before the picture
            shot = site.shots / f"{name}-{viewport}.png"
            pg.screenshot(path=str(shot), full_page=True)
            assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
            text = pg.inner_text("main")
            assert "NaN" not in text and "undefined" not in text, name
            if viewport == "phone":  # nothing wider than the phone but the tables' own scroll
                width = pg.evaluate("document.documentElement.scrollWidth")
                assert width <= size["width"], f"{name} is {width} px wide"
    finally:
        context.close()
    assert errors == []
