"""Errors of the recommender, under CueCard's one tree (`knowledge/errors.py`).

    InvalidInputError
    ├── UnknownColumnError     a column named on the command line is not in the file
    └── PurchaseDataError      a purchase file or batch that cannot be used (empty, unreadable, no usable rows)
    NotFoundError
    └── UnknownItemError       an item that neither the model nor the catalogue knows
    ModelLoadError
    └── ModelFormatError       a saved model that is missing, damaged or of another format version
"""

from __future__ import annotations

from knowledge.errors import InvalidInputError, ModelLoadError, NotFoundError


class UnknownColumnError(InvalidInputError):
    """A column named in the column mapping is not in the purchase file."""


class PurchaseDataError(InvalidInputError):
    """A purchase file or batch that cannot be used as given."""


class UnknownItemError(NotFoundError):
    """An item that neither the model nor the catalogue knows."""


class ModelFormatError(ModelLoadError):
    """A saved recommender that is missing, damaged or of another format version."""
