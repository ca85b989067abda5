"""The dashboard's pages over real HTTP (the app on uvicorn, 127.0.0.1): every page answers,
under a Content-Security-Policy that allows this server's scripts only, with no inline script
and no asset from elsewhere; what a URL carries is escaped; the vendored uPlot is the pinned
one; Flower's link never shows its password. The browser tests (test_browser.py) draw them."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path

import httpx
import pytest

from jobprobe.web import pages
from jobprobe.worker.settings import Settings
from tests.web import server as web_server

STATIC = Path(pages.__file__).parent / "static"
PATHS = ["/", "/jobs/0123456789abcdef", "/sweeps", "/sweeps/abcdef012345", "/compare", "/usage",
         "/workers"]  # fmt: skip
FLOWER = "http://admin:flower-pass-4d2@flower.example:5555/flower"


class Assets(HTMLParser):
    """The scripts, stylesheets and links of a page, and any inline script or handler."""

    def __init__(self) -> None:
        super().__init__()
        self.scripts: list[str] = []
        self.styles: list[str] = []
        self.links: list[str] = []
        self.inline: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        handlers = [k for k in a if k.startswith("on")]
        if handlers:
            self.inline.append(f"<{tag} {handlers}>")
        if tag == "script":
            self._in_script = True
            if a.get("src"):
                self.scripts.append(a["src"] or "")
        elif tag == "link" and a.get("rel") == "stylesheet":
            self.styles.append(a.get("href") or "")
        elif tag == "a":
            self.links.append(a.get("href") or "")

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._in_script = False

    def handle_data(self, data: str) -> None:
        if self._in_script and data.strip():
            self.inline.append(data.strip()[:60])


@pytest.fixture(scope="module")
def web(tmp_path_factory: pytest.TempPathFactory) -> Iterator[httpx.Client]:
    settings = Settings(data_dir=tmp_path_factory.mktemp("pages") / "data", flower_url=FLOWER)
    with web_server.serving(settings) as srv, httpx.Client(base_url=srv.url, timeout=30) as c:
        yield c


def parse(html: str) -> Assets:
    found = Assets()
    found.feed(html)
    return found


@pytest.mark.parametrize("path", PATHS)
def test_every_page_answers_with_its_scripts_from_this_server_only(
    web: httpx.Client, path: str
) -> None:
    resp = web.get(path)
    assert resp.status_code == 200 and resp.headers["content-type"].startswith("text/html")
    csp = resp.headers["content-security-policy"]
    assert (
        "script-src 'self'" in csp
        and "unsafe-inline" not in csp.split("script-src")[1].split(";")[0]
    )
    assert resp.headers["x-content-type-options"] == "nosniff"
    found = parse(resp.text)
    assert found.inline == []
    assert found.scripts and all(s.startswith("/static/") for s in found.scripts)
    assert all(s.startswith("/static/") for s in found.styles)
    for src in found.scripts + found.styles:  # each asset is served, with its type
        asset = web.get(src)
        assert asset.status_code == 200, src
        kind = "javascript" if src.split("?")[0].endswith(".js") else "css"
        assert kind in asset.headers["content-type"], src
    assert "/static/vendor/uplot/uPlot.iife.min.js" in {s.split("?")[0] for s in found.scripts}


def test_what_a_url_carries_is_escaped(web: httpx.Client) -> None:
    resp = web.get('/jobs/"><img src=x onerror=alert(1)>')
    assert resp.status_code == 200
    assert "<img" not in resp.text
    assert "&#34;&gt;&lt;img src=x onerror=alert(1)&gt;" in resp.text
    assert parse(resp.text).inline == []


def test_flower_is_linked_without_its_password(web: httpx.Client) -> None:
    text = web.get("/workers").text
    assert "http://flower.example:5555/flower" in parse(text).links
    assert "flower-pass-4d2" not in text and "admin" not in text


@pytest.mark.parametrize(
    ("url", "public"),
    [
        (FLOWER, "http://flower.example:5555/flower"),
        ("https://flower.example/", "https://flower.example/"),
        ("http://[::1]:5555", "http://[::1]:5555"),
        ("javascript:alert(1)", None),
        ("", None),
        (None, None),
    ],
)
def test_public_url(url: str | None, public: str | None) -> None:
    assert pages.public_url(url) == public


def test_the_vendored_uplot_is_the_pinned_one() -> None:
    folder = STATIC / "vendor" / "uplot"
    version = (folder / "VERSION").read_text()
    assert "uplot@1.6.32" in version and "MIT" in (folder / "LICENSE").read_text()
    sums = dict(reversed(line.split()) for line in version.splitlines() if re.match(r"^[0-9a-f]{64} ", line))  # fmt: skip
    assert set(sums) == {"LICENSE", "uPlot.iife.min.js", "uPlot.min.css"}
    for name, digest in sums.items():
        assert hashlib.sha256((folder / name).read_bytes()).hexdigest() == digest, name


def test_the_scripts_never_write_markup() -> None:
    """Record data reaches the page as text only: no script of ours parses HTML."""
    ours = sorted(p for p in STATIC.rglob("*.js") if "vendor" not in p.parts)
    assert len(ours) >= 8
    for path in ours:
        text = path.read_text()
        for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval("):
            assert sink not in text, f"{path.name} uses {sink}"
    templates = Path(pages.TEMPLATES_DIR)
    for tpl in templates.glob("*.html"):
        text = tpl.read_text()
        assert "|safe" not in text and "autoescape false" not in text, tpl.name
        assert "http://" not in text and "https://" not in text, f"{tpl.name} names another site"
