"""README.md stays true: every setting and every command is documented, the quick start is what CI runs."""

from __future__ import annotations

import re
from pathlib import Path

import click

from jobprobe import cli
from jobprobe.worker.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text()


def test_every_setting_is_documented() -> None:
    for name in Settings.model_fields:
        assert f"`JOBPROBE_{name.upper()}`" in README, (
            f"JOBPROBE_{name.upper()} is not in README.md"
        )


def _commands(group: click.Group, prefix: str = "") -> list[str]:
    ctx = click.Context(group)
    out = []
    for name in group.list_commands(ctx):
        out.append(f"{prefix}{name}")
        command = group.get_command(ctx, name)
        if isinstance(command, click.Group):
            out += _commands(command, f"{prefix}{name} ")
    return out


def test_every_command_is_documented() -> None:
    commands = _commands(cli.main)
    assert {"submit", "job-history", "iss", "iss track", "workers"} <= set(commands)
    for command in commands:
        assert f"`{command}" in README, f"command '{command}' is not in README.md"


def test_quick_start_is_what_ci_runs() -> None:
    block = re.search(r"## Quick start.*?```bash\n(.*?)\n```", README, re.S)
    assert block is not None
    first = block.group(1).strip()
    job_command = first.split("&&", 1)[1].strip()
    assert job_command in (ROOT / ".ci" / "run").read_text()


def test_bottleneck_rule_table_is_the_code_s() -> None:
    from jobprobe.analysis import rules

    assert rules.markdown_table() in README, "re-render the README's table: rules.markdown_table()"
