"""Providers by name. Imported lazily so ``boto3`` is needed only for ``bedrock``."""

from __future__ import annotations

import importlib
from typing import Any

from jobprobe.llm import errors
from jobprobe.llm.base import Provider

PROVIDERS: dict[str, str] = {
    "none": "jobprobe.llm.providers.none:NoneProvider",
    "openai": "jobprobe.llm.providers.openai:OpenAIProvider",
    "bedrock": "jobprobe.llm.providers.bedrock:BedrockProvider",
}


def make_provider(name: str, **kwargs: Any) -> Provider:
    """Build provider ``name`` with ``kwargs`` (its constructor's keyword arguments)."""
    target = PROVIDERS.get(name)
    if target is None:
        raise errors.UnknownProvider(
            f"unknown insight provider {name!r}: choose one of {', '.join(PROVIDERS)}"
        )
    module_name, _, class_name = target.partition(":")
    provider: Provider = getattr(importlib.import_module(module_name), class_name)(**kwargs)
    return provider
