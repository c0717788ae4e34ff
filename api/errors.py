"""The one place CueCard's exception tree becomes HTTP statuses and WebSocket close codes."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from knowledge.errors import (
    ConflictError,
    CueCardError,
    InvalidInputError,
    ModelLoadError,
    NotFoundError,
    OverloadedError,
    UnavailableError,
)

HTTP_STATUS: list[tuple[type[CueCardError], int]] = [
    (NotFoundError, 404),
    (InvalidInputError, 422),
    (ConflictError, 409),
    (OverloadedError, 429),
    (UnavailableError, 503),
    (ModelLoadError, 503),
]

# WebSocket close codes (4000-4999 are the application's); documented in docs/protocol.md.
WS_CLOSE: list[tuple[type[CueCardError], int]] = [
    (NotFoundError, 4404),
    (InvalidInputError, 4422),
    (ConflictError, 4409),
    (OverloadedError, 4429),
    (UnavailableError, 4503),
    (ModelLoadError, 4503),
]


def http_status(exc: CueCardError) -> int:
    """The HTTP status for a CueCard error (500 for one not in the table)."""
    return next((code for cls, code in HTTP_STATUS if isinstance(exc, cls)), 500)


def ws_close_code(exc: CueCardError) -> int:
    """The WebSocket close code for a CueCard error (1011 for one not in the table)."""
    return next((code for cls, code in WS_CLOSE if isinstance(exc, cls)), 1011)


def install(app: FastAPI) -> None:
    """Answer every CueCardError with its status and `{"detail": reason, "error": class}`."""

    async def handler(_request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, CueCardError)
        return JSONResponse(status_code=http_status(exc),
                            content={"detail": str(exc), "error": type(exc).__name__})

    app.add_exception_handler(CueCardError, handler)

    async def database_down(_request: Request, exc: Exception) -> JSONResponse:
        # PostgreSQL restarted or unreachable: say so; the pool reconnects by itself (pre-ping).
        return JSONResponse(status_code=503, content={"detail": f"database unavailable: {str(exc)[:200]}",
                                                      "error": "UnavailableError"})

    from sqlalchemy.exc import DBAPIError

    app.add_exception_handler(DBAPIError, database_down)
