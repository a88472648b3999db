"""The report narrative from a provider's chat model (Groq or Azure OpenAI), through its SDK.

JSON mode (``response_format={"type": "json_object"}``) at a low temperature; the reply is
returned as raw text for the report generator to validate, because LLM output is untrusted data.
Retries and circuit breaking follow the same discipline as transcription.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from deployments.resilience import CircuitBreaker, RetryPolicy, call_with_retries
from deployments.sdk_clients import MalformedResponse, Provider


@dataclass(frozen=True, slots=True)
class RemoteChatConfig:
    provider: Provider
    model: str
    """Groq's model name, or the Azure deployment's."""
    temperature: float = 0.2
    """Low: the narrative should restate the metrics, not be creative about them."""
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


class RemoteChat:
    """ChatClient on a provider's chat completions: Groq's ``POST /openai/v1/chat/completions``,
    Azure's ``POST /openai/deployments/{deployment}/chat/completions``."""

    def __init__(self, config: RemoteChatConfig, *, breaker: CircuitBreaker | None = None) -> None:
        self._config = config
        self.breaker = breaker or CircuitBreaker(name=self.name)
        self._client = config.provider.client(timeout_s=config.retry.timeout_s)

    @property
    def name(self) -> str:
        return f"{self._config.provider.name}:{self._config.model}"

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
