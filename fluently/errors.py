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


class ServiceUnavailable(FluentlyError):
    status_code = 503
    code = "service_unavailable"
