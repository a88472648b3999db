"""Which paid backends are enabled, built from settings: a backend is on when its key is set."""

from __future__ import annotations

from deployments.chat import ChatClient
from deployments.llm import AzureChat, AzureChatConfig, GroqChat, GroqChatConfig
from deployments.remote_transcribers import (
    AZURE_LANGUAGES,
    AzureTranscriber,
    AzureTranscriberConfig,
    GroqTranscriber,
    GroqTranscriberConfig,
    groq_languages,
)
from deployments.resilience import RetryPolicy
from deployments.transcriber import Transcriber
from fluently.settings import Settings


def _retry(settings: Settings) -> RetryPolicy:
    return RetryPolicy(timeout_s=settings.provider_timeout_s)


def _azure_ready(settings: Settings) -> bool:
    return settings.azure_openai_key is not None and bool(settings.azure_openai_endpoint)


def remote_languages(settings: Settings) -> frozenset[str]:
    """What the enabled remote backends transcribe, together; from settings alone, so the
    ingress can check an upload's language without building a client."""
    languages: set[str] = set()
    for name in settings.transcription_backends:
        if name == "groq" and settings.groq_api_key is not None:
            languages |= groq_languages(settings.groq_transcription_model)
        elif name == "azure" and _azure_ready(settings):
            languages |= AZURE_LANGUAGES
    return frozenset(languages)


def remote_transcribers(settings: Settings) -> list[Transcriber]:
    """Enabled remote backends in the configured order of preference ("local" is not here)."""
    backends: list[Transcriber] = []
    for name in settings.transcription_backends:
        if name == "groq" and settings.groq_api_key is not None:
            backends.append(
                GroqTranscriber(
                    GroqTranscriberConfig(
                        api_key=settings.groq_api_key,
                        base_url=settings.groq_base_url,
                        model=settings.groq_transcription_model,
                        retry=_retry(settings),
                    )
                )
            )
        elif name == "azure" and _azure_ready(settings):
            assert settings.azure_openai_key is not None and settings.azure_openai_endpoint
            backends.append(
                AzureTranscriber(
                    AzureTranscriberConfig(
                        api_key=settings.azure_openai_key,
                        endpoint=settings.azure_openai_endpoint,
                        deployment=settings.azure_openai_transcription_deployment,
                        api_version=settings.azure_openai_api_version,
                        retry=_retry(settings),
                    )
                )
            )
    return backends


def chat_clients(settings: Settings) -> list[ChatClient]:
    """Enabled LLMs for report narratives, Groq first, then Azure OpenAI."""
    clients: list[ChatClient] = []
    if settings.groq_api_key is not None:
        clients.append(
            GroqChat(
                GroqChatConfig(
                    api_key=settings.groq_api_key,
                    base_url=settings.groq_base_url,
                    model=settings.groq_chat_model,
                    retry=_retry(settings),
                )
            )
        )
    if _azure_ready(settings):
        assert settings.azure_openai_key is not None and settings.azure_openai_endpoint
        clients.append(
            AzureChat(
                AzureChatConfig(
                    api_key=settings.azure_openai_key,
                    endpoint=settings.azure_openai_endpoint,
                    deployment=settings.azure_openai_chat_deployment,
                    api_version=settings.azure_openai_api_version,
                    retry=_retry(settings),
                )
            )
        )
    return clients
