"""`cuecard kb`: Import, search and evaluate the knowledge base."""

from __future__ import annotations

import typer

app = typer.Typer(help="Import, search and evaluate the knowledge base.", no_args_is_help=True)
