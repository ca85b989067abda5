"""Errors of the job monitor."""

from __future__ import annotations


class MonitorError(Exception):
    """Running the job failed."""


class ToolError(MonitorError):
    """The tool registry or a tool's template is wrong."""


class UnknownTool(ToolError):
    """No tool of that name is registered."""


class LaunchError(MonitorError):
    """The job could not be started."""


class ContainerEngineUnavailable(LaunchError):
    """No Docker engine can be reached for a container tool."""


class LimitError(MonitorError):
    """A resource limit (memory, CPUs, tasks) is malformed or impossible on this host."""
