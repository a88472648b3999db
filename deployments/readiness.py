"""Whether the deployments the ingress depends on are up, as Serve's controller sees them.

The controller is asked, not the replicas: a status call never queues behind a replica busy
with a long transcription, and the answer includes what Serve's own health checks found. The
Dispatcher's ``check_health`` fails when its job loop has stopped, so a running Dispatcher
replica is one whose loop is alive (as of the controller's last health check: every
``health_check_period_s``, 10 s by default). Remote transcription backends (Groq, Azure) are
not probed: a readiness probe must not spend a paid API call, and the fallback chain reaches the
local model when they fail.
"""

from __future__ import annotations

from collections.abc import Mapping

from ray import serve
from ray.serve.schema import ServeStatus

OK = "ok"
_RUNNING = "RUNNING"


def _running(status: ServeStatus, app: str, deployment: str) -> str:
    found = status.applications.get(app)
    overview = None if found is None else found.deployments.get(deployment)
    if overview is None:
        return f"{deployment} is not deployed"
    states: Mapping[str, int] = {
        str(getattr(k, "value", k)): n for k, n in overview.replica_states.items()
    }
    if states.get(_RUNNING, 0) > 0:
        return OK
    detail = ", ".join(f"{n} {state.lower()}" for state, n in sorted(states.items()) if n)
    return f"no healthy {deployment} replica ({detail or 'none'})"


def assess(
    status: ServeStatus, *, app: str, dispatcher: str, transcribers: tuple[str, ...]
) -> dict[str, str]:
    """``dispatcher``: a replica runs (its loop is alive); ``transcriber``: a replica of one of
    ``transcribers`` runs. Each is ``ok`` or what is wrong."""
    transcribing = [_running(status, app, name) for name in transcribers]
    return {
        "dispatcher": _running(status, app, dispatcher),
        "transcriber": OK if OK in transcribing else "; ".join(transcribing),
    }


class ServeDeployments:
    """The check ``create_app`` runs for ``/readyz`` inside a Serve application."""

    def __init__(self, *, app: str, dispatcher: str, transcribers: tuple[str, ...]) -> None:
        self._app = app
        self._dispatcher = dispatcher
        self._transcribers = transcribers

    def __call__(self) -> dict[str, str]:
        """Blocking (a call to the controller): run it in a thread, under a timeout."""
        return assess(
            serve.status(),
            app=self._app,
            dispatcher=self._dispatcher,
            transcribers=self._transcribers,
        )
