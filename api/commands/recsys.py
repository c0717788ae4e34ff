"""`cuecard recsys`: Train and evaluate the recommender."""

from __future__ import annotations

import typer

app = typer.Typer(help="Train and evaluate the recommender.", no_args_is_help=True)
