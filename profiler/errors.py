"""Errors raised by the profiler package."""

from __future__ import annotations


class ProfilerError(Exception):
    """The resource profiler failed."""

    def __init__(self, message: str | None = None) -> None:
        super().__init__(message or (self.__doc__ or "").strip())


class SamplerUnavailable(ProfilerError):
    """A sampler cannot run on this machine (missing library, device or engine)."""


class ProfilerStateError(ProfilerError):
    """The profiler was used out of order (start twice, stop before start)."""
