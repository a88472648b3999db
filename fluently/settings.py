"""One settings object for the whole platform, read once from the environment and passed in."""

from __future__ import annotations

import re
import secrets
from enum import StrEnum
from pathlib import Path
from typing import Self

from pydantic import BaseModel, Field, IPvAnyNetwork, SecretStr, ValidationError, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict, SettingsError

REPO_ROOT = Path(__file__).resolve().parents[1]
"""The checkout this package runs from (installed editable, as ``make`` does)."""


class Environment(StrEnum):
    development = "development"
    test = "test"
    production = "production"


class StorageService(StrEnum):
    local = "local"
    s3 = "s3"


class AuthSettings(BaseModel):
    access_token_ttl_s: int = Field(default=15 * 60, ge=1)
    """Lifetime of an access token (JWT)."""
    refresh_token_ttl_s: int = Field(default=30 * 24 * 3600, ge=1)
    """Lifetime of a refresh token (the cookie and its row)."""
    issuer: str = "fluently"
    audience: str = "fluently-api"
    min_password_length: int = Field(default=12, ge=8)
    """NIST SP 800-63B's floor for a password a person chooses is 8."""
    argon2_memory_kib: int = Field(default=19_456, ge=19_456)
    """Argon2id memory cost; OWASP's minimum is 19 MiB."""
    argon2_time_cost: int = Field(default=2, ge=2)
    argon2_parallelism: int = Field(default=1, ge=1)
    login_limit_per_ip: int = Field(default=20, ge=1)
    """Failed logins from one client address in the window, on any accounts (a right password
    does not count: many people may sign in from one clinic's address)."""
    login_limit_per_account_ip: int = Field(default=10, ge=1)
    """Failed logins for one account from one client address in the window; past it that pair
    (only) gets 429, so a stranger's guesses never lock the owner out."""
    login_slowdown_after: int = Field(default=20, ge=1)
    """Failed logins for one account from all addresses in the window, past which every further
    attempt on it waits before its password is checked (the per-account ceiling)."""
    login_slowdown_base_s: float = Field(default=1.0, ge=0)
    """The first wait past ``login_slowdown_after``; it doubles with each further failure."""
    login_slowdown_max_s: float = Field(default=5.0, ge=0)
    """The longest wait: the most the owner pays to log in while the account is under attack."""
    add_user_limit_per_admin: int = Field(default=30, ge=1)
    """``POST /users`` attempts by one admin in the window, whatever the answer (201 or 409)."""
    add_user_limit_per_ip: int = Field(default=60, ge=1)
    """``POST /users`` attempts from one client address in the window, by any admin."""
    signup_limit_per_ip: int = Field(default=10, ge=1)
    refresh_limit_per_ip: int = Field(default=60, ge=1)
    rate_window_s: int = Field(default=15 * 60, ge=1)
    """Sliding window for the auth rate limits."""


class UploadSettings(BaseModel):
    max_bytes: int = Field(default=200 * 1024 * 1024, ge=1)
    """Largest accepted upload; bigger bodies are refused while streaming."""
    max_duration_s: float = Field(default=2 * 3600, gt=0)
    """Longest accepted recording."""


class JobSettings(BaseModel):
    lease_s: float = Field(default=60.0, gt=0)
    """How long a claimed job stays invisible to other workers without a heartbeat."""
    heartbeat_s: float = Field(default=10.0, gt=0)
    """How often a running job renews its lease: less than ``lease_s``."""
    poll_interval_s: float = Field(default=5.0, gt=0)
    """Fallback poll when no NOTIFY arrives."""
    max_attempts: int = Field(default=4, ge=1)
    backoff_base_s: float = Field(default=2.0, ge=0)
    backoff_max_s: float = Field(default=120.0, ge=0)
    metrics_interval_s: float = Field(default=15.0, ge=0)
    """How often each dispatcher replica counts the jobs by state and queue (``fluently_jobs``)."""
    concurrency: int = Field(default=4, ge=1)
    """Jobs one dispatcher replica runs at once. More than the transcriber replicas, so one
    job's download, decode, merge and report overlap another's transcription (README,
    "Tuning figures")."""
    critical_max_duration_s: float = Field(default=120.0, ge=0)
    """Recordings up to this long are processed from the ``critical`` queue, longer ones from
    ``default``. Two minutes is one chunk (``pipeline.chunk_max_s``): one transcriber call,
    done in seconds, for someone who is usually watching it. The duration is probed before the
    job is enqueued, so it is always known here."""
    aging_step_s: float = Field(default=300.0, gt=0)
    """Claim order: a job of a lower queue runs before a newer job one queue above once it has
    waited this much longer (``low`` behind ``critical``: twice this). No queue starves."""

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if self.heartbeat_s >= self.lease_s:
            raise ValueError(
                f"JOBS__HEARTBEAT_S ({self.heartbeat_s:g}) must be less than JOBS__LEASE_S "
                f"({self.lease_s:g}): a running job renews its lease before it expires"
            )
        if self.backoff_max_s < self.backoff_base_s:
            raise ValueError(
                f"JOBS__BACKOFF_MAX_S ({self.backoff_max_s:g}) must be at least "
                f"JOBS__BACKOFF_BASE_S ({self.backoff_base_s:g})"
            )
        return self


class PipelineSettings(BaseModel):
    chunk_target_s: float = Field(default=115.0, gt=0)
    """Chunks end at the quietest point in the 10 s before this: just under four 30 s Whisper
    windows, which the local backend decodes as one batch (``pipelines/chunking.py``)."""
    chunk_max_s: float = Field(default=120.0, gt=0)
    """The last chunk takes the rest up to this; shorter audio is one chunk."""
    chunk_overlap_s: float = Field(default=1.0, ge=0)
    spread: int = Field(default=2, ge=1)
    """The transcriber replicas that work on one recording at once (the Serve config's
    ``LocalTranscriber`` ``max_replicas``): the second pass sends its windows in a multiple of
    this many calls, so each replica decodes a share (``pipelines.second_pass.dealt``)."""
    chunks_in_flight: int = Field(default=4, ge=1)
    """Chunks (and coverage repairs) one job has read and sent to transcribers at once: what a
    job holds of its recording in memory besides per-frame levels. Twice the default
    transcriber replicas, so each has its next chunk queued when it finishes one."""

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if self.chunk_max_s < self.chunk_target_s:
            raise ValueError(
                f"PIPELINE__CHUNK_MAX_S ({self.chunk_max_s:g}) must be at least "
                f"PIPELINE__CHUNK_TARGET_S ({self.chunk_target_s:g})"
            )
        if self.chunk_overlap_s >= self.chunk_target_s:
            raise ValueError(
                f"PIPELINE__CHUNK_OVERLAP_S ({self.chunk_overlap_s:g}) must be less than "
                f"PIPELINE__CHUNK_TARGET_S ({self.chunk_target_s:g})"
            )
        return self


class S3Settings(BaseModel):
    bucket: str = "fluently-audio"
    endpoint_url: str | None = None
    region: str = "us-east-1"
    access_key_id: SecretStr | None = None
    secret_access_key: SecretStr | None = None


class Settings(BaseSettings):
    """Platform settings. Flat names follow the seed; groups use ``GROUP__FIELD``."""

    model_config = SettingsConfigDict(
        env_nested_delimiter="__", extra="ignore", env_file=None, case_sensitive=False
    )

    environment: Environment = Field(default=Environment.development, alias="FLUENTLY_ENV")
    data_dir: Path = Field(default=Path(".fluently"), alias="FLUENTLY_DATA_DIR")
    """Embedded Postgres data, local audio storage and the development JWT secret."""
    host: str = Field(default="127.0.0.1", alias="FLUENTLY_HOST")
    port: int = Field(default=8000, ge=1, le=65535, alias="FLUENTLY_PORT")
    log_level: str = Field(default="INFO", alias="FLUENTLY_LOG_LEVEL")
    console_dir: Path = Field(default=REPO_ROOT / "web" / "dist", alias="FLUENTLY_CONSOLE_DIR")
    """The web console's build (``make run`` makes it); served at ``/`` when it is there."""
    trusted_proxies: list[IPvAnyNetwork] = Field(default=[], alias="TRUSTED_PROXIES")
    """Addresses or networks of the proxies in front of the API (a load balancer), as JSON:
    ``'["10.0.0.0/8"]'``. Only their ``X-Forwarded-For`` and ``X-Forwarded-Proto`` are believed;
    empty, the TCP peer is the client and the connection's own scheme counts."""
    allowed_hosts: list[str] = Field(default=[], alias="ALLOWED_HOSTS")
    """Host names the API answers to (``*.clinic.example`` for subdomains), as JSON; other
    ``Host`` headers get 400 ``invalid_host``. Empty: any host."""

    database_url: SecretStr | None = Field(default=None, alias="DATABASE_URL")
    """Postgres URL the app connects with (a role without table ownership or BYPASSRLS)."""
    database_admin_url: SecretStr | None = Field(default=None, alias="DATABASE_ADMIN_URL")
    """Postgres URL of the role that owns the schema; used only for migrations."""
    embedded_pg_port: int = Field(default=54329, ge=1, le=65535, alias="FLUENTLY_PG_PORT")
    db_pool_size: int = Field(default=5, ge=1, alias="FLUENTLY_DB_POOL_SIZE")
    readiness_timeout_s: float = Field(default=2.0, gt=0, alias="FLUENTLY_READINESS_TIMEOUT_S")
    """How long ``/readyz`` waits for Serve's controller to say which deployments run; past
    it the deployments count as not ready (a probe must answer before its own timeout)."""

    jwt_secret: SecretStr | None = Field(default=None, alias="JWT_SECRET")
    jwt_previous_secrets: list[SecretStr] = Field(default=[], alias="JWT_PREVIOUS_SECRETS")
    """Older signing keys that still verify tokens until they expire (key rotation)."""

    groq_api_key: SecretStr | None = Field(default=None, alias="GROQ_API_KEY")
    groq_base_url: str | None = Field(default=None, alias="GROQ_BASE_URL")
    groq_transcription_model: str = Field(
        default="whisper-large-v3-turbo", alias="GROQ_TRANSCRIPTION_MODEL"
    )
    groq_chat_model: str = Field(default="llama-3.3-70b-versatile", alias="GROQ_CHAT_MODEL")
    azure_openai_key: SecretStr | None = Field(default=None, alias="AZURE_OPENAI_KEY")
    azure_openai_endpoint: str | None = Field(default=None, alias="AZURE_OPENAI_ENDPOINT")
    azure_openai_api_version: str = Field(default="2024-06-01", alias="AZURE_OPENAI_API_VERSION")
    azure_openai_transcription_deployment: str = Field(
        default="whisper", alias="AZURE_OPENAI_TRANSCRIPTION_DEPLOYMENT"
    )
    azure_openai_chat_deployment: str = Field(
        default="gpt-4o-mini", alias="AZURE_OPENAI_CHAT_DEPLOYMENT"
    )
    transcription_backends: list[str] = Field(
        default=["groq", "azure", "local"], alias="FLUENTLY_TRANSCRIPTION_BACKENDS"
    )
    """Order of preference; a remote backend is used only when its key is set."""
    provider_timeout_s: float = Field(default=60.0, gt=0, alias="FLUENTLY_PROVIDER_TIMEOUT_S")
    otel_exporter_otlp_endpoint: str | None = Field(
        default=None, alias="OTEL_EXPORTER_OTLP_ENDPOINT"
    )
    """Where every process sends its OpenTelemetry spans (an OTLP/HTTP collector's base URL,
    e.g. ``http://otel-collector:4318``); unset, tracing is off (``fluently/tracing.py``)."""

    active_storage_service: StorageService = Field(
        default=StorageService.local, alias="ACTIVE_STORAGE_SERVICE"
    )
    s3: S3Settings = S3Settings()
    auth: AuthSettings = AuthSettings()
    upload: UploadSettings = UploadSettings()
    jobs: JobSettings = JobSettings()
    pipeline: PipelineSettings = PipelineSettings()

    @model_validator(mode="after")
    def _resolve(self) -> Self:
        self.data_dir = self.data_dir.expanduser().resolve()
        if self.environment is not Environment.development and self.jwt_secret is None:
            raise ValueError(
                "JWT_SECRET must be set outside development (FLUENTLY_ENV="
                f"{self.environment.value}); generate one with `openssl rand -hex 32`"
            )
        if self.jwt_secret is not None and len(self.jwt_secret.get_secret_value()) < 32:
            raise ValueError("JWT_SECRET must be at least 32 characters")
        return self

    @property
    def is_development(self) -> bool:
        return self.environment is Environment.development

    def signing_secret(self) -> str:
        """The JWT signing key; in development one is generated once and kept on disk."""
        if self.jwt_secret is not None:
            return self.jwt_secret.get_secret_value()
        path = self.data_dir / "jwt_secret"
        if not path.exists():
            self.data_dir.mkdir(parents=True, exist_ok=True)
            path.write_text(secrets.token_hex(32))
            path.chmod(0o600)
        return path.read_text().strip()


_GROUPS = frozenset(
    name
    for name, field in Settings.model_fields.items()
    if isinstance(field.annotation, type) and issubclass(field.annotation, BaseModel)
)
"""The nested settings (``jobs``, ``pipeline``, ...), set as ``GROUP__FIELD``."""
_UNPARSED_FIELD = re.compile(r'field "(\w+)"')
_SECRET_NAME = re.compile(r"SECRET|KEY|PASSWORD|_URL")


def settings_problems(error: ValidationError | SettingsError) -> list[str]:
    """What is wrong with the environment's settings, one line each, named as the operator set
    them (``JOBS__MAX_ATTEMPTS``, ``FLUENTLY_PORT``); a value is repeated unless its name says
    it may be a secret."""
    if isinstance(error, SettingsError):
        found = _UNPARSED_FIELD.search(str(error))
        field = Settings.model_fields.get(found.group(1)) if found else None
        name = (field.alias if field else None) or (found.group(1).upper() if found else "?")
        return [f'{name}: not valid JSON; this setting takes a JSON list, e.g. ["a", "b"]']
    problems = []
    for detail in error.errors():
        message = str(detail["msg"]).removeprefix("Value error, ")
        loc = [str(part) for part in detail["loc"]]
        if not loc or (len(loc) == 1 and loc[0] in _GROUPS):
            problems.append(message)  # a rule across settings names them itself
            continue
        if loc[0] in _GROUPS:
            name, rest = f"{loc[0]}__{loc[1]}".upper(), loc[2:]
        else:
            name, rest = loc[0], loc[1:]
        where = f"{name} (item {rest[0]})" if rest else name
        given = detail.get("input")
        shown = (
            f" (got {given!r})"
            if isinstance(given, str) and not _SECRET_NAME.search(name) and len(given) <= 80
            else ""
        )
        problems.append(f"{where}: {message}{shown}")
    return problems
