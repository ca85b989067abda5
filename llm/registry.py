"""Providers by name. Imported lazily so ``boto3`` is needed only for ``bedrock``."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from jobprobe.llm import errors
from jobprobe.llm.base import Provider

if TYPE_CHECKING:
    from jobprobe.worker.settings import Settings

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


def provider_from_settings(settings: Settings, name: str | None = None) -> Provider:
    """Provider ``name`` (default ``Settings.llm_provider``) configured from Settings;
    ``LlmNotConfigured`` names the setting it lacks."""
    name = name or settings.llm_provider
    if name == "openai":
        if not settings.llm_base_url or not settings.llm_model:
            raise errors.LlmNotConfigured(
                "the openai provider needs JOBPROBE_LLM_BASE_URL (…/v1) and JOBPROBE_LLM_MODEL; "
                "set them or use --provider none"
            )
        key = settings.llm_api_key.get_secret_value() if settings.llm_api_key else None
        return make_provider(
            "openai", base_url=settings.llm_base_url, model=settings.llm_model, api_key=key,
            timeout_s=settings.llm_timeout,
        )  # fmt: skip
    if name == "bedrock":
        if not settings.llm_model:
            raise errors.LlmNotConfigured(
                "the bedrock provider needs JOBPROBE_LLM_MODEL (a model id); set it or use "
                "--provider none"
            )
        return make_provider(
            "bedrock", model_id=settings.llm_model, region=settings.llm_region or "us-east-1",
            endpoint_url=settings.llm_endpoint_url, read_timeout_s=settings.llm_timeout,
        )  # fmt: skip
    return make_provider(name)  # none, or UnknownProvider naming the choices
