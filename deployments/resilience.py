"""Retries, backoff and circuit breaking for calls to paid external AI APIs (Groq, Azure OpenAI).

The SDKs are built with ``max_retries=0`` so that this module is the one place deciding when a
provider is worth another try: only on transient failures (429, 5xx, connection errors and
timeouts, as ``deployments.sdk_clients`` reads them), honouring the server's ``retry-after-ms`` /
``Retry-After`` hint, otherwise capped exponential backoff with full jitter. A circuit breaker per
backend stops a dead provider from costing every chunk a full round of timeouts before the
caller falls back.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TypeVar

from deployments.sdk_clients import FailureKind, provider_failure
from deployments.transcriber import BackendRejected, BackendUnavailable
from fluently.logging import get_logger
from fluently.metrics import PROVIDER_ERRORS

log = get_logger("resilience")

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How hard to try one backend before giving up on it."""

    max_attempts: int = 3
    """Attempts in total, the first one included."""
    base_delay_s: float = 0.5
    max_delay_s: float = 8.0
    """Cap on any single wait, computed or hinted by the server."""
    timeout_s: float = 60.0
    """Per-attempt HTTP timeout handed to the SDK."""
    rng: random.Random = field(default_factory=random.Random, compare=False, repr=False)

    def backoff_s(self, retry_number: int) -> float:
        """Full jitter: uniform in [0, min(cap, base * 2**retry_number)] (AWS convention).

        ``retry_number`` counts from 0 for the wait after the first failed attempt.
        """
        ceiling = min(self.max_delay_s, self.base_delay_s * 2.0 ** min(retry_number, 64))
        return self.rng.uniform(0.0, ceiling)

    def delay_before_retry(self, retry_number: int, retry_after_s: float | None) -> float | None:
        """Seconds to wait before the next attempt, or ``None`` when the server asked
        (``retry_after_s``) for longer than ``max_delay_s``: waiting less would only earn another
        429, waiting more would stall the chunk, so the caller falls back instead."""
        if retry_after_s is None:
            return self.backoff_s(retry_number)
        if retry_after_s > self.max_delay_s:
            return None
        return max(retry_after_s, 0.0)


class BreakerState(StrEnum):
    closed = "closed"
    open = "open"
    half_open = "half_open"


class CircuitBreaker:
    """Stops calling a backend after ``failure_threshold`` consecutive failed calls.

    Open for ``reset_timeout_s``; then half-open, letting exactly one probe call through. The
    probe's success closes the circuit, its failure opens it for another full timeout.
    Thread-safe: one breaker is shared by every chunk a replica transcribes concurrently.
    """

    def __init__(
        self,
        *,
        name: str,
        failure_threshold: int = 5,
        reset_timeout_s: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if failure_threshold < 1:
            raise ValueError("failure_threshold must be at least 1")
        self.name = name
        self.failure_threshold = failure_threshold
        self.reset_timeout_s = reset_timeout_s
        self._clock = clock
        self._lock = threading.Lock()
        self._failures = 0
        self._opened_at: float | None = None
        self._probe_in_flight = False

    @property
    def state(self) -> BreakerState:
        with self._lock:
            return self._state_locked()

    def _state_locked(self) -> BreakerState:
        if self._opened_at is None:
            return BreakerState.closed
        if self._clock() - self._opened_at < self.reset_timeout_s:
            return BreakerState.open
        return BreakerState.half_open

    def allow_request(self) -> bool:
        """Whether a call may go out now; in half-open state only the first caller gets to probe."""
        with self._lock:
            state = self._state_locked()
            if state is BreakerState.closed:
                return True
            if state is BreakerState.open or self._probe_in_flight:
                return False
            self._probe_in_flight = True
            return True

    def record_success(self) -> None:
        with self._lock:
            if self._opened_at is not None:
                log.info("circuit for %s closed", self.name)
            self._failures = 0
            self._opened_at = None
            self._probe_in_flight = False

    def record_failure(self) -> None:
        with self._lock:
            self._failures += 1
            reopen = self._probe_in_flight
            self._probe_in_flight = False
            if reopen or self._failures >= self.failure_threshold:
                if self._opened_at is None or reopen:
                    log.warning(
                        "circuit for %s opened after %d failures", self.name, self._failures
                    )
                self._opened_at = self._clock()


def call_with_retries(
    fn: Callable[[], T],
    policy: RetryPolicy,
    breaker: CircuitBreaker,
    sleep: Callable[[float], None] = time.sleep,
) -> T:
    """Call ``fn`` under ``policy`` and ``breaker``, converting failures into our two errors.

    Raises ``BackendUnavailable`` when the breaker is open, when retries are exhausted or the
    server asks to wait longer than the policy allows, and on a malformed response;
    ``BackendRejected`` on a 4xx other than 429, which is never retried and which does not count
    against the breaker (the provider is up; the request was at fault).
    """
    if not breaker.allow_request():
        raise BackendUnavailable(f"{breaker.name}: circuit open, not calling")
    attempt = 0
    while True:
        attempt += 1
        try:
            result = fn()
        except Exception as exc:
            failure = provider_failure(exc)
            if failure is None:
                breaker.record_failure()
                raise
            PROVIDER_ERRORS.inc(provider=breaker.name, status=failure.status)
            if failure.kind is FailureKind.refused:
                breaker.record_success()
                raise BackendRejected(f"{breaker.name} refused the request: {exc}") from exc
            if failure.kind is FailureKind.broken:
                breaker.record_failure()
                raise BackendUnavailable(f"{breaker.name}: {exc}") from exc
            delay = (
                policy.delay_before_retry(attempt - 1, failure.retry_after_s)
                if attempt < policy.max_attempts
                else None
            )
            if delay is None:
                breaker.record_failure()
                raise BackendUnavailable(
                    f"{breaker.name} unavailable after {attempt} attempt(s): {exc}"
                ) from exc
            log.info(
                "%s attempt %d failed (%s); retrying in %.2fs", breaker.name, attempt, exc, delay
            )
            sleep(delay)
        else:
            breaker.record_success()
            return result
