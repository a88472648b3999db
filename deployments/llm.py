"""Groq and Azure OpenAI chat backends for the report narrative, through their official SDKs.

JSON mode (``response_format={"type": "json_object"}``) at a low temperature; the reply is
returned as raw text for the report generator to validate, because LLM output is untrusted data.
Retries and circuit breaking follow the same discipline as transcription.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from pydantic import SecretStr

from deployments.resilience import CircuitBreaker, MalformedResponse, RetryPolicy, call_with_retries
from deployments.sdk_clients import azure_client, groq_client


@dataclass(frozen=True, slots=True)
class GroqChatConfig:
    api_key: SecretStr | str
    base_url: str | None = None
    """``None`` means the SDK default, https://api.groq.com; tests point it at a local fake."""
    model: str = "llama-3.3-70b-versatile"
    temperature: float = 0.2
    """Low: the narrative should restate the metrics, not be creative about them."""
    max_tokens: int = 2048
    retry: RetryPolicy = field(default_factory=RetryPolicy)


@dataclass(frozen=True, slots=True)
class AzureChatConfig:
    api_key: SecretStr | str
    endpoint: str
    deployment: str
    api_version: str = "2024-06-01"
    temperature: float = 0.2
    max_tokens: int = 2048
    retry: RetryPolicy = field(default_factory=RetryPolicy)


def message_content(body: str, *, backend: str) -> str:
    """The assistant's text from a ``chat.completion`` body.

    A reply cut off by the token limit or withheld by a content filter is not a usable JSON
    object, so it counts as a malformed answer rather than being passed on.
    """
    try:
        data = json.loads(body)
        choice = data["choices"][0]
        content = choice["message"]["content"]
        finish_reason = choice.get("finish_reason")
    except (ValueError, TypeError, KeyError, IndexError) as exc:
        raise MalformedResponse(f"{backend}: unreadable chat response: {exc}") from exc
    if finish_reason not in (None, "stop"):
        raise MalformedResponse(f"{backend}: reply unusable (finish_reason={finish_reason})")
    if not isinstance(content, str) or not content.strip():
        raise MalformedResponse(f"{backend}: reply has no text content")
    return content


class GroqChat:
    """ChatClient on Groq (``POST /openai/v1/chat/completions``)."""

    def __init__(self, config: GroqChatConfig, *, breaker: CircuitBreaker | None = None) -> None:
        self._config = config
        self.breaker = breaker or CircuitBreaker(name=f"groq:{config.model}")
        self._client = groq_client(config.api_key, config.base_url, config.retry.timeout_s)

    @property
    def name(self) -> str:
        return f"groq:{self._config.model}"

    def complete_json(self, *, system: str, user: str) -> str:
        def attempt() -> str:
            raw = self._client.chat.completions.with_raw_response.create(
                model=self._config.model,
                messages=[
                    {"role": "system", "content": system},
                    {"role": "user", "content": user},
                ],
                response_format={"type": "json_object"},
                temperature=self._config.temperature,
                max_tokens=self._config.max_tokens,
            )
            return message_content(raw.http_response.text, backend=self.name)

        return call_with_retries(attempt, self._config.retry, self.breaker)


class AzureChat:
    """ChatClient on Azure OpenAI (``POST /openai/deployments/{deployment}/chat/completions``)."""

    def __init__(self, config: AzureChatConfig, *, breaker: CircuitBreaker | None = None) -> None:
        self._config = config
        self.breaker = breaker or CircuitBreaker(name=f"azure:{config.deployment}")
        self._client = azure_client(
            config.api_key, config.endpoint, config.api_version, config.retry.timeout_s
        )

    @property
    def name(self) -> str:
        return f"azure:{self._config.deployment}"

    def complete_json(self, *, system: str, user: str) -> str:
        def attempt() -> str:
            raw = self._client.chat.completions.with_raw_response.create(
                model=self._config.deployment,
                messages=[
                    {"role": "system", "content": system},
                    {"role": "user", "content": user},
                ],
                response_format={"type": "json_object"},
                temperature=self._config.temperature,
                max_tokens=self._config.max_tokens,
            )
            return message_content(raw.http_response.text, backend=self.name)

        return call_with_retries(attempt, self._config.retry, self.breaker)
