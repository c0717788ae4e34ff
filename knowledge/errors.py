"""CueCard's exception tree. `api/errors.py` maps it to HTTP statuses and WebSocket close codes.

    CueCardError
    ├── NotFoundError        a room, product, document, user or model that does not exist
    ├── InvalidInputError    input that cannot be used as given (bad file, column, value)
    ├── ConflictError        a write that clashes with what is stored
    ├── ModelLoadError       a model that cannot be loaded (names the setting to change)
    ├── OverloadedError      more work than the service can take right now
    └── UnavailableError     a backend (database, Redis bus) cannot be reached right now

Other packages subclass these (e.g. `recsys.errors.UnknownColumnError(InvalidInputError)`),
so one mapping covers every package.
"""

from __future__ import annotations


class CueCardError(Exception):
    """Base of every error CueCard raises on purpose."""


class NotFoundError(CueCardError, LookupError):
    """A room, product, document, user or model that does not exist."""


class InvalidInputError(CueCardError, ValueError):
    """Input that cannot be used as given; the message says why."""


class ConflictError(CueCardError):
    """A write that clashes with what is stored."""


class ModelLoadError(CueCardError, RuntimeError):
    """A model that cannot be loaded; the message names the setting to change."""


class OverloadedError(CueCardError):
    """More work than the service can take right now."""


class UnavailableError(CueCardError):
    """A backend (the database, the Redis bus) cannot be reached right now; retry later."""
