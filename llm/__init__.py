"""Insight reports written from computed facts by a pluggable language-model provider.

``make_provider(name, **kwargs)`` builds ``none`` (offline, deterministic), ``openai`` (any
OpenAI-compatible endpoint) or ``bedrock`` (AWS Bedrock Converse); ``write_insight(facts,
provider)`` returns an ``Insight`` whose numbers have been checked against the facts.
Providers take their configuration as keyword arguments and never read the environment.
"""

from __future__ import annotations

from jobprobe.llm import errors
from jobprobe.llm.base import Provider
from jobprobe.llm.insight import Insight, write_insight
from jobprobe.llm.registry import PROVIDERS, make_provider

__all__ = ["PROVIDERS", "Insight", "Provider", "errors", "make_provider", "write_insight"]
