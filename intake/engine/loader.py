"""Form definitions from and to any supported file: YAML, JSON or XLSForm (.xlsx)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from intake.engine.definition import load_file
from intake.engine.validation import DefinitionError

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


def dump_any(definition: dict[str, Any], suffix: str, notices: list[str] | None = None) -> bytes:
    """A definition as .xlsx, .yaml or .json bytes; `notices` gets what XLSForm tools may
    refuse. Another suffix is a ValueError."""
    if suffix == ".xlsx":
        from intake.engine.xlsform import write_xlsform

        return write_xlsform(definition, notices)
    if suffix in (".yaml", ".yml"):
        return yaml.safe_dump(definition, allow_unicode=True, sort_keys=False).encode()
    if suffix == ".json":
        return json.dumps(definition, ensure_ascii=False, indent=2).encode()
    raise ValueError(suffix)
