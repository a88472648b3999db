"""Which paid backends are enabled, built from settings: a provider is on when its key is set."""

from __future__ import annotations

from dataclasses import dataclass

from deployments.chat import ChatClient
from deployments.llm import RemoteChat, RemoteChatConfig
from deployments.remote_transcribers import (
    RemoteTranscriber,
    RemoteTranscriberConfig,
    transcription_languages,
)
from deployments.resilience import RetryPolicy
from deployments.sdk_clients import AzureProvider, GroqProvider, Provider
from deployments.transcriber import Transcriber
from fluently.settings import Settings


@dataclass(frozen=True, slots=True)
class _Enabled:
    provider: Provider
    transcription_model: str
    chat_model: str


def _enabled(settings: Settings) -> dict[str, _Enabled]:
    """The providers whose key is set, by backend name, Groq first."""
    enabled: dict[str, _Enabled] = {}
    if settings.groq_api_key is not None:
        enabled["groq"] = _Enabled(
            GroqProvider(api_key=settings.groq_api_key, base_url=settings.groq_base_url),
            transcription_model=settings.groq_transcription_model,
            chat_model=settings.groq_chat_model,
        )
    if settings.azure_openai_key is not None and settings.azure_openai_endpoint:
        enabled["azure"] = _Enabled(
            AzureProvider(
                api_key=settings.azure_openai_key,
                endpoint=settings.azure_openai_endpoint,
                api_version=settings.azure_openai_api_version,
            ),
            transcription_model=settings.azure_openai_transcription_deployment,
            chat_model=settings.azure_openai_chat_deployment,
        )
    return enabled


def _transcription_order(settings: Settings) -> list[_Enabled]:
    """Enabled providers in the configured order of preference ("local" is not one)."""
    enabled = _enabled(settings)
    return [enabled[name] for name in settings.transcription_backends if name in enabled]


def _retry(settings: Settings) -> RetryPolicy:
    return RetryPolicy(timeout_s=settings.provider_timeout_s)


def remote_languages(settings: Settings) -> frozenset[str]:
    """What the enabled remote backends transcribe, together; from settings alone, so the
    ingress can check an upload's language without building a client."""
    return frozenset().union(
        *(
            transcription_languages(p.provider, p.transcription_model)
            for p in _transcription_order(settings)
        )
    )


def remote_transcribers(settings: Settings) -> list[Transcriber]:
    """Enabled remote backends in the configured order of preference."""
    return [
        RemoteTranscriber(
            RemoteTranscriberConfig(
                provider=p.provider, model=p.transcription_model, retry=_retry(settings)
            )
        )
        for p in _transcription_order(settings)
    ]


def chat_clients(settings: Settings) -> list[ChatClient]:
    """Enabled LLMs for report narratives, Groq first, then Azure OpenAI."""
    return [
        RemoteChat(
            RemoteChatConfig(provider=p.provider, model=p.chat_model, retry=_retry(settings))
        )
        for p in _enabled(settings).values()
    ]
