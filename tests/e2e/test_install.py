"""What ``pip install .`` puts into a user's environment: one import name and the command.

The wheel is built from this checkout and installed without its dependencies into a new
virtualenv (no system site-packages), so the test sees exactly what the distribution ships.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import venv
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
OLD_NAMES = (
    "analysis",
    "cli",
    "iss_client",
    "llm",
    "monitor",
    "profiler",
    "store",
    "tasks",
    "worker",
)
SUBPACKAGES = (*OLD_NAMES, "commands")
NOT_SOURCE = (".git", "build", "dist", "*.egg-info", "__pycache__", ".*_cache", ".venv")

pytestmark = pytest.mark.e2e

# Run inside the new virtualenv: which names resolve (find_spec imports only the parent,
# `jobprobe`, which imports nothing else).
PROBE = """
import importlib.util, json, sys
old, sub = sys.argv[1].split(","), sys.argv[2].split(",")
print(json.dumps({
    "old": {n: importlib.util.find_spec(n) is not None for n in old},
    "new": {n: importlib.util.find_spec("jobprobe." + n) is not None for n in sub},
}))
"""


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    # Built from a copy of the checkout (links kept), so that setuptools' build/ folder, whose
    # stale files a later build would ship, is never left in the working tree.
    source = tmp_path_factory.mktemp("source") / "jobprobe"
    shutil.copytree(ROOT, source, symlinks=True, ignore=shutil.ignore_patterns(*NOT_SOURCE))
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(out), str(source)],
        check=True,
        capture_output=True,
        timeout=300,
    )
    (built,) = out.glob("jobprobe-*.whl")
    return built


def test_the_wheel_holds_one_top_level_package(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as zf:
        names = zf.namelist()
        tops = {n.split("/", 1)[0] for n in names}
        dist_info = next(t for t in tops if t.endswith(".dist-info"))
        top_level = zf.read(f"{dist_info}/top_level.txt").decode().split()
        entry_points = zf.read(f"{dist_info}/entry_points.txt").decode()
    assert tops == {"jobprobe", dist_info}
    assert top_level == ["jobprobe"]
    assert "jobprobe = jobprobe.cli:main" in entry_points
    # The data the code reads at run time travels with it.
    assert "jobprobe/monitor/default_tools.toml" in names
    assert any(n.startswith("jobprobe/store/migrations/versions/0001_") for n in names)


def test_a_fresh_virtualenv_gains_jobprobe_and_none_of_the_old_names(
    wheel: Path, tmp_path: Path
) -> None:
    env_dir = tmp_path / "venv"
    venv.EnvBuilder(with_pip=False, system_site_packages=False).create(env_dir)
    python = env_dir / "bin" / "python"
    subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "-q", "--no-deps",
         str(wheel)],
        check=True, capture_output=True, timeout=300,
    )  # fmt: skip
    out = subprocess.run(
        [str(python), "-c", PROBE, ",".join(OLD_NAMES), ",".join(SUBPACKAGES)],
        cwd=tmp_path,  # not the checkout: nothing found by accident in the working directory
        check=True,
        capture_output=True,
        text=True,
        timeout=60,
    )
    found = json.loads(out.stdout)
    assert not any(found["old"].values()), found["old"]
    assert all(found["new"].values()), found["new"]
    assert (env_dir / "bin" / "jobprobe").is_file()
