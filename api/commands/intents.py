"""`cuecard intents`: Train, classify and evaluate comment intents."""

from __future__ import annotations

import typer

app = typer.Typer(help="Train, classify and evaluate comment intents.", no_args_is_help=True)
