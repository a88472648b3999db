"""The FastAPI app factory and the typed Serve application builder ``serve_config.yaml`` imports.

No ``from __future__ import annotations`` here: Serve reads the builder's annotation at run
time to validate ``args`` into ``BuildArgs``.
"""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import Depends, FastAPI
from pydantic import BaseModel
from ray import serve
from ray.serve import Application
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from db.session import libpq_url, make_engine, make_sessions
from deployments.dispatcher import DispatcherDeployment
from deployments.local_transcriber import LocalTranscriberDeployment
from deployments.readiness import ServeDeployments
from deployments.report_deployment import ReportGeneratorDeployment
from fluently import tracing
from fluently.bootstrap import prepare_database
from fluently.logging import configure_logging
from fluently.settings import Settings
from fluently.storage import make_storage
from serve_app import metrics, receive_buffers
from serve_app.body_limit import BodyLimitMiddleware
from serve_app.console import install_console
from serve_app.errors import UnhandledErrors, install_error_handlers
from serve_app.events import RecordingEvents
from serve_app.middleware import (
    AllowedHostsMiddleware,
    HeadAsGetMiddleware,
    RequestContextMiddleware,
)
from serve_app.routes import (
    annotations,
    audit,
    auth,
    client_data,
    clients,
    health,
    jobs,
    openai_compat,
    recordings,
    reports,
    tenant,
    users,
)
from serve_app.security_headers import SecurityHeadersMiddleware
from serve_app.services.health import DeploymentsCheck
from serve_app.state import AppState
from serve_app.strict_query import refuse_unknown_query


def create_app(
    settings: Settings,
    *,
    transcriber: Any | None = None,
    deployments_check: DeploymentsCheck | None = None,
    behind_serve: bool = False,
) -> FastAPI:
    """Build the HTTP API; ``settings.database_url`` must already point at a migrated database.

    ``transcriber`` is the ``LocalTranscriber`` deployment's handle; without it (outside Serve)
    ``/v1`` answers 503 and uploads are checked against the declared languages only.
    ``deployments_check`` tells ``/readyz`` whether the deployments run; without it
    (outside Serve) they are ``not_applicable``.
    """
    configure_logging(settings.log_level)
    tracing.configure_tracing(
        service_name="fluently-ingress", otlp_endpoint=settings.otel_exporter_otlp_endpoint
    )

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        assert settings.database_url is not None, "prepare_database() resolves DATABASE_URL"
        url = settings.database_url.get_secret_value()
        engine = make_engine(url, pool_size=settings.db_pool_size)
        events = RecordingEvents(libpq_url(url))
        app.state.fluently = AppState(
            settings=settings,
            engine=engine,
            sessions=make_sessions(engine),
            storage=make_storage(settings),
            events=events,
            transcriber=transcriber,
            deployments_check=deployments_check,
        )
        try:
            yield
        finally:
            await events.close()
            await engine.dispose()

    app = FastAPI(
        title="Fluently",
        version="0.1.0",
        description="Speech-fluency platform: verbatim transcription, fluency metrics, reports.",
        lifespan=lifespan,
        # A slash redirect is an absolute URL built from Host and the scheme: no route needs one.
        redirect_slashes=False,
        dependencies=[Depends(refuse_unknown_query)],
    )
    install_edge_middleware(app, settings, behind_serve=behind_serve)
    install_error_handlers(app)
    app.include_router(health.router)
    app.include_router(metrics.router)
    app.include_router(auth.router)
    app.include_router(users.router)
    app.include_router(recordings.router)
    app.include_router(annotations.router)
    app.include_router(reports.router)
    app.include_router(clients.router)
    app.include_router(client_data.router)
    app.include_router(tenant.router)
    app.include_router(audit.router)
    app.include_router(jobs.router)
    app.include_router(openai_compat.router)
    install_console(app, settings.console_dir)
    return app


def install_edge_middleware(app: FastAPI, settings: Settings, *, behind_serve: bool) -> None:
    """Outermost first: who the client is (proxy headers, only from ``TRUSTED_PROXIES``), the
    request id and log line, security headers, then the Host check, whose 400 gets them too,
    the bound on a body read whole (``serve_app.body_limit``), the 500 for an unhandled error,
    which gets them all, and innermost ``HEAD`` answered as ``GET`` without the content.

    Serve's proxy leaves X-Forwarded-* alone (``fluently.launcher.SINGLE_MACHINE_ENV``), so the
    client address and scheme the app sees are decided here and nowhere else.
    """
    pages = (app.docs_url, app.redoc_url, app.swagger_ui_oauth2_redirect_url)
    docs_paths = [path for path in pages if path is not None]
    app.add_middleware(HeadAsGetMiddleware)
    app.add_middleware(UnhandledErrors)
    app.add_middleware(BodyLimitMiddleware)
    app.add_middleware(AllowedHostsMiddleware, allowed_hosts=settings.allowed_hosts)
    app.add_middleware(SecurityHeadersMiddleware, docs_paths=docs_paths)
    app.add_middleware(RequestContextMiddleware, echo=not behind_serve)
    app.add_middleware(
        ProxyHeadersMiddleware, trusted_hosts=[str(net) for net in settings.trusted_proxies]
    )


DISPATCHER = "Dispatcher"
LOCAL_TRANSCRIBER = "LocalTranscriber"
"""Deployment names, as ``serve_config.yaml`` and ``/readyz`` name them."""


@serve.ingress()
class Ingress:
    """The HTTP ingress replica; the FastAPI app is built on the replica, not pickled.

    ``dispatcher`` is bound only so that Serve deploys it as part of this application; the
    ingress never calls it (work reaches it through the job queue).
    """

    def __init__(self, settings: Settings, *, transcriber: Any, dispatcher: Any) -> None:
        del dispatcher
        # Before the first request: uploads reach the app with bounded memory in this replica.
        receive_buffers.install_in_replica()
        self._settings = settings
        self._transcriber = transcriber
        self._deployments = ServeDeployments(
            app=serve.get_replica_context().app_name,
            dispatcher=DISPATCHER,
            transcribers=(LOCAL_TRANSCRIBER,),
        )

    def __serve_build_asgi_app__(self) -> FastAPI:
        return create_app(
            self._settings,
            transcriber=self._transcriber,
            deployments_check=self._deployments,
            behind_serve=True,
        )


class BuildArgs(BaseModel):
    """Arguments ``serve_config.yaml`` may pass to the builder."""

    migrate: bool = True


def build_application(settings: Settings) -> Application:
    """Wire the deployments; replica counts, resources and model choice come from the config."""
    transcriber = serve.deployment(name=LOCAL_TRANSCRIBER)(LocalTranscriberDeployment).bind(
        settings.otel_exporter_otlp_endpoint
    )
    reporter = serve.deployment(name="ReportGenerator")(ReportGeneratorDeployment).bind(settings)
    dispatcher = serve.deployment(name=DISPATCHER)(DispatcherDeployment).bind(
        settings, transcriber, reporter
    )
    ingress = serve.deployment(name="Ingress")(Ingress)
    return ingress.bind(settings, transcriber=transcriber, dispatcher=dispatcher)


def build_app(args: BuildArgs) -> Application:
    """Resolve settings once, prepare the database, and wire the deployments together."""
    return build_application(prepare_database(Settings(), run_migrations=args.migrate))
