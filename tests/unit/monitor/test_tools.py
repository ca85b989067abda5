"""The tool registry: parsing, argv templates (never a shell), and clear errors."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from jobprobe.monitor import errors
from jobprobe.monitor.tools import get_tool, load_registry


def test_bundled_registry_has_python_and_bash() -> None:
    tools = load_registry()
    assert {"python", "bash"} <= tools.keys()
    argv = tools["python"].argv(script="s.py", workdir="/w", job_id="j", params={})
    assert argv == [sys.executable, "s.py"]


def test_params_fill_placeholders_as_single_argv_items(tmp_path: Path) -> None:
    path = tmp_path / "tools.toml"
    path.write_text(
        '[tools.sim]\ncommand = ["solver", "--mesh", "{mesh}", "{script}"]\nqueue = "cpu"\n'
    )
    tool = get_tool(load_registry(path), "sim")
    argv = tool.argv(script="run.in", workdir="/w", job_id="j", params={"mesh": "a b; rm -rf /"})
    assert argv == ["solver", "--mesh", "a b; rm -rf /", "run.in"]
    assert tool.placeholders() == {"mesh", "script"}
    with pytest.raises(errors.ToolError, match="needs --param mesh"):
        tool.argv(script="run.in", workdir="/w", job_id="j", params={})


def test_image_tools_are_container_tools(tmp_path: Path) -> None:
    path = tmp_path / "tools.toml"
    path.write_text('[tools.bb]\nimage = "busybox:local"\ncommand = ["sh", "{script}"]\ngpus = 1\n')
    tool = load_registry(path)["bb"]
    assert tool.kind == "container" and tool.image == "busybox:local" and tool.gpus == 1


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[tools.x]\ncommand = 'python {script}'\n", "needs command"),
        ("[tools.x]\ncommand = ['a']\ntimeout = -1\n", "timeout must be a positive"),
        ("[tools.x]\ncommand = ['a']\ngpus = 1.5\n", "gpus must be a whole number"),
        ("not toml [", "not valid TOML"),
    ],
)
def test_bad_registry_is_one_clear_error(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "tools.toml"
    path.write_text(text)
    with pytest.raises(errors.ToolError, match=message):
        load_registry(path)


def test_unknown_tool_names_the_known_ones() -> None:
    with pytest.raises(errors.UnknownTool, match="registered tools: bash, python"):
        get_tool(load_registry(), "fortran")
