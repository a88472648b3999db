"""The official Groq and Azure OpenAI SDK clients, built one way for transcription and chat.

The SDKs' own retries are off (``max_retries=0``): ``deployments.resilience`` decides when to
retry, how long to wait and when to give up on a provider.
"""

from __future__ import annotations

import groq
import openai
from pydantic import SecretStr


def _reveal(value: SecretStr | str) -> str:
    return value.get_secret_value() if isinstance(value, SecretStr) else value


def groq_client(api_key: SecretStr | str, base_url: str | None, timeout_s: float) -> groq.Groq:
    """``base_url`` ``None`` means the SDK default, https://api.groq.com."""
    return groq.Groq(api_key=_reveal(api_key), base_url=base_url, timeout=timeout_s, max_retries=0)


def azure_client(
    api_key: SecretStr | str, endpoint: str, api_version: str, timeout_s: float
) -> openai.AzureOpenAI:
    return openai.AzureOpenAI(
        api_key=_reveal(api_key),
        azure_endpoint=endpoint,
        api_version=api_version,
        timeout=timeout_s,
        max_retries=0,
    )
