"""The tool registry: named, declared ways to run a job (a command template or an image)."""

from __future__ import annotations

import functools
import string
import sys
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from types import MappingProxyType
from typing import Any

from jobprobe.monitor import errors, limits

_FORMATTER = string.Formatter()


@dataclass(frozen=True)
class Tool:
    """One registered tool."""

    name: str
    command: tuple[str, ...]
    image: str | None = None
    queue: str | None = None
    timeout: float | None = None
    gpus: int = 0
    description: str = ""
    env: Mapping[str, str] = field(default_factory=dict)
    #: Default limits of its jobs (TOML keys ``mem``, ``cpus``, ``max_procs``).
    limits: limits.Limits = field(default_factory=limits.Limits)
    #: The account its process jobs run as (TOML key ``user``); None: ``Settings.job_user``.
    user: str | None = None

    @property
    def kind(self) -> str:
        """``container`` for image tools, ``local`` for command templates."""
        return "container" if self.image else "local"

    def placeholders(self) -> set[str]:
        """The ``{name}`` fields its command uses."""
        names: set[str] = set()
        for item in self.command:
            for _, name, _, _ in _FORMATTER.parse(item):
                if name:
                    names.add(name)
        return names

    def argv(
        self, *, script: str, workdir: str, job_id: str, params: Mapping[str, Any]
    ) -> list[str]:
        """The argv for one job: each template item formatted on its own, never via a shell."""
        values: dict[str, Any] = {str(k): v for k, v in params.items()}
        values.update(script=script, workdir=workdir, job_id=job_id, python=sys.executable)
        missing = sorted(self.placeholders() - values.keys())
        if missing:
            raise errors.ToolError(
                f"tool {self.name!r} needs --param {missing[0]}=VALUE (its command uses {{{missing[0]}}})"
            )
        return [item.format_map(values) for item in self.command]


def _parse_tool(name: str, raw: Mapping[str, Any], source: str) -> Tool:
    command = raw.get("command")
    if not isinstance(command, list) or not command or not all(isinstance(c, str) for c in command):
        raise errors.ToolError(
            f'{source}: tool {name!r} needs command = ["prog", "{{script}}", ...]'
        )
    image = raw.get("image")
    if image is not None and not isinstance(image, str):
        raise errors.ToolError(f"{source}: tool {name!r}: image must be a string")
    timeout = raw.get("timeout")
    if timeout is not None and (not isinstance(timeout, int | float) or timeout <= 0):
        raise errors.ToolError(
            f"{source}: tool {name!r}: timeout must be a positive number of seconds"
        )
    gpus = raw.get("gpus", 0)
    if not isinstance(gpus, int) or gpus < 0:
        raise errors.ToolError(f"{source}: tool {name!r}: gpus must be a whole number >= 0")
    user = raw.get("user")
    if user is not None and (not isinstance(user, str) or not user.strip()):
        raise errors.ToolError(f"{source}: tool {name!r}: user must be an account name")
    try:
        tool_limits = limits.parse(
            mem=raw.get("mem"), cpus=raw.get("cpus"), max_procs=raw.get("max_procs"),
            source=f"{source}: tool {name!r}", host=False,
        )  # fmt: skip
    except errors.LimitError as exc:
        raise errors.ToolError(str(exc)) from exc
    return Tool(
        name=name,
        command=tuple(command),
        image=image,
        queue=raw.get("queue"),
        timeout=float(timeout) if timeout is not None else None,
        gpus=gpus,
        description=str(raw.get("description", "")),
        env={str(k): str(v) for k, v in dict(raw.get("env", {})).items()},
        limits=tool_limits,
        user=user,
    )


def load_registry(path: Path | None = None) -> dict[str, Tool]:
    """Tools from ``path``, or the bundled registry (python, bash) when None."""
    if path is None:
        text = resources.files("jobprobe.monitor").joinpath("default_tools.toml").read_text()
        source = "bundled tools"
    else:
        try:
            text = path.read_text()
        except OSError as exc:
            raise errors.ToolError(f"cannot read the tool registry {path}: {exc.strerror}") from exc
        source = str(path)
    return dict(_parse_registry(text, source))


@functools.lru_cache(maxsize=8)
def _parse_registry(text: str, source: str) -> Mapping[str, Tool]:
    """The tools a registry text defines (cached by content: workers read it for every job)."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise errors.ToolError(f"{source} is not valid TOML: {exc}") from exc
    tools = data.get("tools", {})
    if not isinstance(tools, dict):
        raise errors.ToolError(f"{source}: expected [tools.NAME] tables")
    return MappingProxyType({name: _parse_tool(name, raw, source) for name, raw in tools.items()})


def get_tool(registry: Mapping[str, Tool], name: str) -> Tool:
    """The tool called ``name``, or UnknownTool naming the ones there are."""
    try:
        return registry[name]
    except KeyError:
        known = ", ".join(sorted(registry)) or "none"
        raise errors.UnknownTool(f"unknown tool {name!r}; registered tools: {known}") from None
