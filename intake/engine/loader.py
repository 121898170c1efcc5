"""Read a form definition from any supported file: YAML, JSON or XLSForm (.xlsx)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from intake.engine.definition import DefinitionError, load_file

SUFFIXES = (".yaml", ".yml", ".json", ".xlsx")


def load_any(path: str | Path) -> tuple[dict[str, Any], list[str]]:
    """The validated definition and notices (what an XLSForm import left out, and why)."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".xlsx":
        from intake.engine.xlsform import load_xlsform

        return load_xlsform(path)
    if suffix not in SUFFIXES:
        raise DefinitionError(
            path.name, ["unsupported file type; use .yaml, .yml, .json or an XLSForm .xlsx"]
        )
    return load_file(path), []
