"""One error hierarchy; serve_app maps it to HTTP in one place."""

from __future__ import annotations


class FluentlyError(Exception):
    """Base of every error the API reports as ``{"error": {code, message}}``."""

    status_code = 500
    code = "internal_error"

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code

    def headers(self) -> dict[str, str]:
        """Headers the answer needs besides the error body."""
        return {}


class BadRequest(FluentlyError):
    status_code = 400
    code = "bad_request"


class Unauthorized(FluentlyError):
    status_code = 401
    code = "unauthorized"


class Forbidden(FluentlyError):
    status_code = 403
    code = "forbidden"


class NotFound(FluentlyError):
    status_code = 404
    code = "not_found"


class Conflict(FluentlyError):
    status_code = 409
    code = "conflict"

    def __init__(
        self, message: str, *, code: str | None = None, location: str | None = None
    ) -> None:
        super().__init__(message, code=code)
        self.location = location
        """The resource the request conflicts with (sent as ``Location``), when there is one."""

    def headers(self) -> dict[str, str]:
        return {"Location": self.location} if self.location else {}


class Gone(FluentlyError):
    status_code = 410
    code = "gone"


class PayloadTooLarge(FluentlyError):
    status_code = 413
    code = "payload_too_large"


class UnprocessableEntity(FluentlyError):
    status_code = 422
    code = "validation_error"


class UnsupportedMediaType(FluentlyError):
    status_code = 415
    code = "unsupported_media_type"


class RateLimited(FluentlyError):
    status_code = 429
    code = "rate_limited"

    def __init__(self, message: str, *, retry_after_s: int) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s

    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.retry_after_s)}


class RangeNotSatisfiable(FluentlyError):
    """A ``Range`` that starts past the end of what was asked for."""

    status_code = 416
    code = "range_not_satisfiable"

    def __init__(self, message: str, *, size: int) -> None:
        super().__init__(message)
        self.size = size

    def headers(self) -> dict[str, str]:
        return {"Content-Range": f"bytes */{self.size}"}


class ServiceUnavailable(FluentlyError):
    status_code = 503
    code = "service_unavailable"


class UpstreamUnavailable(ServiceUnavailable):
    """A deployment the request needs died or is restarting: Serve replaces it within seconds,
    so the client is told to try again (``Retry-After``) rather than that the server failed."""

    code = "upstream_unavailable"

    def __init__(self, message: str, *, retry_after_s: int) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s

    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.retry_after_s)}
