"""The Groq and Azure OpenAI SDKs: how a client is built from a provider's settings, and what
its errors mean. Transcription and chat share both; they differ only in the call they make.

Both providers speak OpenAI's protocol: Groq through the ``groq`` SDK, Azure OpenAI through
``openai.AzureOpenAI``. The SDKs' own retries are off (``max_retries=0``):
``deployments.resilience`` decides when to retry, how long to wait and when to give up.
"""

from __future__ import annotations

import email.utils
import functools
import math
import time
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, TypeAlias

import httpx
from pydantic import SecretStr

if TYPE_CHECKING:
    import groq
    import openai


def _reveal(value: SecretStr | str) -> str:
    return value.get_secret_value() if isinstance(value, SecretStr) else value


@dataclass(frozen=True, slots=True)
class GroqProvider:
    """Groq's OpenAI-compatible API; calls name the model."""

    api_key: SecretStr | str
    base_url: str | None = None
    """``None`` means the SDK default, https://api.groq.com; tests point it at a local fake."""

    @property
    def name(self) -> str:
        return "groq"

    def client(self, *, timeout_s: float) -> groq.Groq:
        import groq

        return groq.Groq(
            api_key=_reveal(self.api_key), base_url=self.base_url, timeout=timeout_s, max_retries=0
        )


@dataclass(frozen=True, slots=True)
class AzureProvider:
    """An Azure OpenAI resource. Azure routes by deployment name, which calls pass as the model."""

    api_key: SecretStr | str
    endpoint: str
    """The resource endpoint, e.g. https://my-resource.openai.azure.com."""
    api_version: str

    @property
    def name(self) -> str:
        return "azure"

    def client(self, *, timeout_s: float) -> openai.AzureOpenAI:
        import openai

        return openai.AzureOpenAI(
            api_key=_reveal(self.api_key),
            azure_endpoint=self.endpoint,
            api_version=self.api_version,
            timeout=timeout_s,
            max_retries=0,
        )


Provider: TypeAlias = GroqProvider | AzureProvider


class MalformedResponse(Exception):
    """A provider answered 2xx with a body that is not what its API promises."""


class FailureKind(StrEnum):
    refused = "refused"
    """A 4xx other than 429: the request was at fault and will fail again; the provider is up."""
    transient = "transient"
    """A 429, 5xx, connection error or timeout: worth another try."""
    broken = "broken"
    """A malformed answer or another SDK error: not retried, but the provider failed."""


@dataclass(frozen=True, slots=True)
class ProviderFailure:
    kind: FailureKind
    status: str
    """The HTTP status, or ``timeout``, ``connection`` or ``malformed``: a label of
    ``fluently_provider_errors``."""
    retry_after_s: float | None = None
    """The server's own hint on an HTTP error, if it sent one."""


@dataclass(frozen=True, slots=True)
class _SdkErrors:
    status: tuple[type[groq.APIStatusError], type[openai.APIStatusError]]
    connection: tuple[type[BaseException], ...]
    timeouts: tuple[type[BaseException], ...]
    sdk: tuple[type[BaseException], ...]


@functools.cache
def _sdk_errors() -> _SdkErrors:
    """The SDKs' exception classes. The SDKs are imported on first use, not with this module:
    together they take 0.8 s and 18 MB to import, which every replica that imports this module
    (the Ingress, the Dispatcher, the report generator) paid at start, configured or not."""
    import groq
    import openai

    return _SdkErrors(
        status=(groq.APIStatusError, openai.APIStatusError),
        connection=(
            groq.APIConnectionError,  # includes APITimeoutError
            openai.APIConnectionError,
            httpx.TransportError,
            ConnectionError,
            TimeoutError,
        ),
        timeouts=(
            groq.APITimeoutError,
            openai.APITimeoutError,
            httpx.TimeoutException,
            TimeoutError,
        ),
        sdk=(MalformedResponse, groq.GroqError, openai.OpenAIError),
    )


def provider_failure(exc: BaseException) -> ProviderFailure | None:
    """What ``exc`` says about the provider; ``None`` when it is not a provider's failure (a bug
    of ours, to be raised as it is)."""
    errors = _sdk_errors()
    if isinstance(exc, errors.status):
        status = exc.status_code
        if status == 429 or status >= 500:
            kind = FailureKind.transient
        elif 400 <= status < 500:
            kind = FailureKind.refused
        else:
            kind = FailureKind.broken
        return ProviderFailure(
            kind, str(status), retry_after_s=parse_retry_after(exc.response.headers)
        )
    if isinstance(exc, errors.timeouts):
        return ProviderFailure(FailureKind.transient, "timeout")
    if isinstance(exc, errors.connection):
        return ProviderFailure(FailureKind.transient, "connection")
    if isinstance(exc, errors.sdk):
        return ProviderFailure(FailureKind.broken, "malformed")
    return None


def parse_retry_after(headers: Mapping[str, str], *, now: float | None = None) -> float | None:
    """Read ``retry-after-ms`` (OpenAI/Azure) or ``Retry-After`` (delta-seconds or HTTP date)."""
    for header, divisor in (("retry-after-ms", 1000.0), ("retry-after", 1.0)):
        value = headers.get(header)
        if value is None:
            continue
        try:
            seconds = float(value) / divisor
        except ValueError:
            continue
        if math.isfinite(seconds):
            return seconds
    value = headers.get("retry-after")
    if value is None:
        return None
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:  # RFC 9110 dates are GMT; a naive parse means no zone was given
        return None
    return when.timestamp() - (time.time() if now is None else now)
