"""Structured JSON logs carrying ``request_id`` and ``tenant_id`` wherever they are known."""

from __future__ import annotations

import json
import logging
import sys
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

request_id_var: ContextVar[str | None] = ContextVar("request_id", default=None)
tenant_id_var: ContextVar[str | None] = ContextVar("tenant_id", default=None)

_RESERVED = frozenset(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {
    "message",
    "asctime",
    "request_id",
    "tenant_id",
}


class JsonFormatter(logging.Formatter):
    """One JSON object per line; extra fields passed with ``extra=`` are kept."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        request_id = _context_id(record, "request_id", request_id_var)
        tenant_id = _context_id(record, "tenant_id", tenant_id_var)
        if request_id:
            entry["request_id"] = request_id
        if tenant_id:
            entry["tenant_id"] = str(tenant_id)
        for key, value in record.__dict__.items():
            if key not in _RESERVED and key not in entry and not key.startswith("_"):
                entry[key] = value
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


_STAMPED = "_fluently_"
"""Prefix of the names under which ``_stamp_context`` keeps the ids on a record: names no caller
passes in ``extra``. A record that already had ``request_id`` could not take it from ``extra``
(``logging`` refuses to overwrite an attribute), and Ray Serve's access log passes its own
``request_id`` there: the replica request then raised ``KeyError`` (seen in the Dispatcher's
log during ``benchmarks/throughput.py``)."""


def _context_id(record: logging.LogRecord, name: str, var: ContextVar[str | None]) -> Any:
    """``name`` as the caller passed it in ``extra``, else as stamped when the record was made,
    else as the context holds it now."""
    return getattr(record, name, None) or getattr(record, _STAMPED + name, None) or var.get()


def _stamp_context() -> None:
    """Copy the request and tenant ids onto each record when it is made, not when formatted."""
    factory = logging.getLogRecordFactory()
    if getattr(factory, "_fluently", False):
        return

    def make_record(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = factory(*args, **kwargs)
        setattr(record, _STAMPED + "request_id", request_id_var.get())
        setattr(record, _STAMPED + "tenant_id", tenant_id_var.get())
        return record

    make_record._fluently = True  # type: ignore[attr-defined]
    logging.setLogRecordFactory(make_record)


def configure_logging(level: str = "INFO") -> None:
    """Route every logger of ours (and uvicorn's access log) through the JSON formatter."""
    _stamp_context()
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    for name in ("fluently", "uvicorn.access"):
        logger = logging.getLogger(name)
        logger.handlers = [handler]
        logger.setLevel(level.upper())
        logger.propagate = False


def get_logger(name: str) -> logging.Logger:
    """Loggers live under ``fluently.`` so ``configure_logging`` covers them."""
    return logging.getLogger(f"fluently.{name}")
