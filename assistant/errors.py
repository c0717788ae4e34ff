"""Errors of comment understanding, as subclasses of CueCard's one tree (`knowledge/errors.py`).

    CueCardError
    ├── InvalidInputError
    │   └── LabelledDataError   a labelled TSV that cannot be read (names file, line and reason)
    └── ModelLoadError
        └── IntentModelError    an intent model that is missing, damaged or made for another embedder
"""

from __future__ import annotations

from knowledge.errors import InvalidInputError, ModelLoadError


class LabelledDataError(InvalidInputError):
    """A labelled file (`text<TAB>label|label`) with a bad line, an unknown label or no rows."""


class IntentModelError(ModelLoadError):
    """An intent model that cannot be used; the message says how to retrain it."""
