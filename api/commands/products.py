"""`cuecard products`: Import and list products."""

from __future__ import annotations

import typer

app = typer.Typer(help="Import and list products.", no_args_is_help=True)
