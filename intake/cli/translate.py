"""`translate extract|update|compile`: the gettext workflow around pybabel."""

from __future__ import annotations

import subprocess
import sys

import click
from flask.cli import AppGroup

from intake.config import ROOT

TRANSLATIONS = ROOT / "translations"
POT = TRANSLATIONS / "messages.pot"


def _pybabel(*args: str) -> None:
    """Run pybabel from this environment (arguments as a list, never a shell string)."""
    command = [sys.executable, "-m", "babel.messages.frontend", *args]
    result = subprocess.run(command, cwd=ROOT, check=False)  # noqa: S603
    if result.returncode:
        raise click.ClickException(f"pybabel {args[0]} failed")


@click.group(cls=AppGroup)
def translate() -> None:
    """Extract, update and compile the UI message catalogs."""


@translate.command()
def extract() -> None:
    """Write translations/messages.pot from the code and templates."""
    _pybabel(
        "extract",
        "-F",
        str(TRANSLATIONS / "babel.cfg"),
        "-k",
        "_l",
        "--no-location",
        "--sort-output",
        "-o",
        str(POT),
        ".",
    )


@translate.command()
def update() -> None:
    """Merge messages.pot into every catalog; English takes the source strings."""
    _pybabel("update", "-i", str(POT), "-d", str(TRANSLATIONS), "--no-wrap", "--ignore-obsolete")
    click.echo(f"English catalog: {fill_source_catalog()} entries set to their source string.")


@translate.command()
def compile() -> None:  # noqa: A001 - the command's name
    """Compile every catalog to .mo files."""
    _pybabel("compile", "-d", str(TRANSLATIONS), "--statistics")


def fill_source_catalog() -> int:
    """Make the English catalog complete: the source strings are English already."""
    from babel.messages.pofile import read_po, write_po

    path = TRANSLATIONS / "en" / "LC_MESSAGES" / "messages.po"
    with path.open("rb") as fh:
        catalog = read_po(fh, locale="en")
    filled = 0
    for message in catalog:
        # Every English entry is its source string; fuzzy guesses from `update` are replaced.
        if message.id and (message.string != message.id or message.fuzzy):
            message.string = message.id
            message.flags.discard("fuzzy")
            filled += 1
    with path.open("wb") as fh:
        write_po(fh, catalog, width=0, omit_header=False)
    return filled
