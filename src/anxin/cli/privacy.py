"""``anxin privacy plant-honeytoken``: privacy against insiders."""

from __future__ import annotations

import typer

app = typer.Typer(help="Privacy against insiders: honeytokens.", no_args_is_help=True)
