"""Errors of the worker package."""

from __future__ import annotations


class WorkerError(Exception):
    """jobprobe worker configuration failed."""


class SettingsError(WorkerError):
    """A setting has a bad value."""
