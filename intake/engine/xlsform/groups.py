"""Survey rows in order -> our fields: groups become pages, repeats repeats, names fit ours.

Nested groups have no counterpart, so their conditions move to their questions; a
repeat becomes a repeat field holding its questions (a group inside it lends its
condition to them too); XLSForm names are made to fit ours and every ${name}
reference follows.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from intake.engine.validation import NAME_RE, RESERVED_NAMES
from intake.engine.xlsform import vocabulary
from intake.engine.xlsform.choices import ChoiceLists, renamed_values
from intake.engine.xlsform.expressions import rename_in_text, rename_literals, rename_references
from intake.engine.xlsform.report import Report

# The columns whose ${name} references follow renames. relevant comes first: problems of
# one row have always been listed in that order.
_REFERENCE_KEYS = ("relevant", *(key for key in vocabulary.EXPRESSIONS if key != "relevant"))


@dataclass
class Entry:
    """A survey row after the first pass: a field, or the start or end of a group."""

    kind: str  # "field", "begin", "end"
    row: int
    name: str
    field: dict[str, Any]
    list_name: str | None = None
    group_kind: str = "group"  # for begin/end: group, repeat or loop


@dataclass
class Fields:
    """Our fields, the survey row of each (of a repeat's questions: by name), and the
    sheet's names of renamed fields."""

    fields: list[dict[str, Any]]
    rows: list[int]
    original_names: dict[str, str]
    inner_rows: dict[str, int]


@dataclass
class FormContext:
    """What turning entries into fields needs from the rest of the workbook."""

    titles: dict[str, str] | None  # the form's title per language (intake_title)
    title: str  # else its one XLSForm title, in every language
    languages: list[str]
    default: str
    lists: ChoiceLists
    dropped: dict[str, str]  # name -> why it was left out, to explain references to it

    def form_title(self) -> dict[str, str]:
        """The form's title per language."""
        return self.titles or {code: self.title for code in self.languages}


def build_fields(entries: list[Entry], context: FormContext, report: Report) -> Fields:
    """Groups -> pages, nested group conditions -> fields, repeats -> repeat fields,
    names -> our names."""
    out: list[tuple[int, str, dict[str, Any]]] = []
    inside: dict[int, dict[str, Any]] = {}  # id of a repeat's question -> its repeat
    stack: list[Entry] = []
    after_group: Entry | None = None
    repeat: dict[str, Any] | None = None
    for entry in entries:
        if entry.kind == "begin":
            if not stack and after_group is not None and entry.group_kind == "repeat":
                out.append(_page_after_group(entry, after_group, context.form_title(), report))
            if entry.group_kind == "repeat" and repeat is None:
                repeat = _repeat(entry, stack)
                out.append((entry.row, entry.name, repeat))
            elif entry.group_kind == "repeat":
                report.add(
                    f"survey sheet, row {entry.row}, column 'type'",
                    f"a repeat inside a repeat is not supported (begin_repeat '{entry.name}' "
                    f"inside '{repeat['name']}')",
                )
            elif not stack:
                page = _page(entry, context.default, report)
                out.append((entry.row, page["name"], page))
            stack.append(entry)
            after_group = None
            continue
        if entry.kind == "end":
            if stack:
                closed = stack.pop()
                if closed.group_kind == "repeat" and not any(
                    g.group_kind == "repeat" for g in stack
                ):
                    repeat = None
            if not stack and entry.group_kind == "group":
                after_group = entry
            continue
        if not stack and after_group is not None:
            out.append(_page_after_group(entry, after_group, context.form_title(), report))
            after_group = None
        _add_group_conditions(entry.field, stack)
        _attach_choices(entry, context.lists, report)
        out.append((entry.row, entry.name, entry.field))
        if repeat is not None:
            inside[id(entry.field)] = repeat
    fields = _rename(out, context.dropped, report)
    _follow_choice_values(fields.fields, renamed_values(context.lists))
    _follow_acknowledge(fields.fields)
    return _nested(fields, inside)


#: What ODK stores for a ticked acknowledge, and what we store for a ticked consent.
ACKNOWLEDGED = {"OK": "yes"}


def _follow_acknowledge(fields: list[dict[str, Any]]) -> None:
    """`${consent} = 'OK'`: ODK stores a ticked acknowledge as OK, we a consent as yes."""
    ticked = {f["name"] for f in fields if f.get("type") == "consent"}
    for field in fields if ticked else []:
        for key in _REFERENCE_KEYS:
            source = field.get(key)
            if isinstance(source, str) and any(f"${{{name}}}" in source for name in ticked):
                field[key] = rename_literals(source, ACKNOWLEDGED)


def _follow_choice_values(fields: list[dict[str, Any]], values: dict[str, str]) -> None:
    """`selected(${q}, 'no school')` compares with the choice's new value, 'no_school'."""
    for field in fields if values else []:
        for key in _REFERENCE_KEYS:
            if isinstance(field.get(key), str):
                field[key] = rename_literals(field[key], values)


def _repeat(entry: Entry, stack: list[Entry]) -> dict[str, Any]:
    """A repeat field for begin_repeat: its label, hint, condition and counts (its
    questions are added to it once named)."""
    repeat: dict[str, Any] = {"name": entry.name, "type": "repeat", "fields": []}
    for key in ("label", "hint", "relevant", "min_count", "max_count", "repeat_count"):
        if key in entry.field:
            repeat[key] = entry.field[key]
    _add_group_conditions(repeat, stack)
    return repeat


def _nested(fields: Fields, inside: dict[int, dict[str, Any]]) -> Fields:
    """A repeat's questions moved into it (they were named and renamed in order)."""
    top, rows, inner = [], [], {}
    for field, row in zip(fields.fields, fields.rows, strict=True):
        repeat = inside.get(id(field))
        if repeat is None:
            top.append(field)
            rows.append(row)
        else:
            repeat["fields"].append(field)
            inner[field["name"]] = row
    return Fields(top, rows, fields.original_names, inner)


def _page(entry: Entry, default: str, report: Report) -> dict[str, Any]:
    """A top-level group becomes a page; its title is the group's label."""
    name = entry.name or f"page_row_{entry.row}"
    page: dict[str, Any] = {"name": name, "type": "page"}
    label = entry.field.get("label") or {}
    if default not in label:
        readable = re.sub(r"[_\-.]+", " ", name).strip().capitalize() or "Page"
        label = {**label, default: readable}
        report.notice(
            f"survey sheet, row {entry.row}",
            f"the group '{name}' has no label in '{default}'; its page is titled '{readable}'",
        )
    page["label"] = label
    for key in ("hint", "relevant"):
        if key in entry.field:
            page[key] = entry.field[key]
    return page


def _page_after_group(
    entry: Entry, group: Entry, title: dict[str, str], report: Report
) -> tuple[int, str, dict[str, Any]]:
    """A page for the questions after a group, which would otherwise join its page."""
    # Without a page break they would also take the group's condition.
    page = {"name": f"page_row_{entry.row}", "type": "page", "label": title}
    report.notice(
        f"survey sheet, row {entry.row}",
        f"the questions after the group '{group.name}' get a page of their "
        "own, titled like the form",
    )
    return (entry.row, page["name"], page)


def _add_group_conditions(field: dict[str, Any], stack: list[Entry]) -> None:
    """The conditions of the groups inside a page apply to each of their questions; inside
    a repeat, those of the groups inside the repeat (the repeat has the others')."""
    start = 1 if stack and stack[0].group_kind == "group" else 0
    repeats = [i for i, g in enumerate(stack) if g.group_kind == "repeat"]
    if repeats:
        start = repeats[-1] + 1
    conditions = [g.field["relevant"] for g in stack[start:] if g.field.get("relevant")]
    if conditions:
        if field.get("relevant"):
            conditions.append(field["relevant"])
        field["relevant"] = " and ".join(f"({c})" for c in conditions)


def _attach_choices(entry: Entry, lists: ChoiceLists, report: Report) -> None:
    """Copy the field's choice list from the choices sheet."""
    field = entry.field
    no_choices = field.pop("_no_choices", False)
    if entry.list_name is None or no_choices:
        return
    rows = lists.get(entry.list_name)
    if not rows:
        report.add(
            f"survey sheet, row {entry.row}, column 'type'",
            f"the choice list '{entry.list_name}' is not on the choices sheet",
        )
        return
    field["choices"] = [dict(choice) for _, choice in rows]
    field["_choice_rows"] = [number for number, _ in rows]


def _rename(
    out: list[tuple[int, str, dict[str, Any]]], dropped: dict[str, str], report: Report
) -> Fields:
    """Make XLSForm names fit ours and rewrite ${old} references to match."""
    renamed: dict[str, str] = {}
    used: dict[str, tuple[int, str]] = {}
    for row, original, field in out:
        new = _our_name(original)
        where = f"survey sheet, row {row}, column 'name'"
        if new in used:
            first_row, first_name = used[new]
            same = first_name == original
            report.add(
                where,
                f"the name '{original}' is already used in row {first_row}"
                if same
                else f"'{original}' becomes '{new}', which row {first_row} already uses "
                f"('{first_name}')",
            )
            continue
        used[new] = (row, original)
        renamed.setdefault(original, new)
        if new != original:
            report.notice(f"survey sheet, row {row}", f"the name '{original}' becomes '{new}'")
            field["original"] = original  # kept: the export writes the sheet's name again
        field["name"] = new
    fields, rows = [], []
    for row, _, field in out:
        for key in _REFERENCE_KEYS:
            if isinstance(field.get(key), str):
                where = f"survey sheet, row {row}, column '{key}'"
                field[key] = rename_references(field[key], renamed, dropped, where, report)
        _rename_in_texts(field, row, renamed, dropped, report)
        fields.append(field)
        rows.append(row)
    originals = {new: old for old, new in renamed.items() if old != new}
    return Fields(fields=fields, rows=rows, original_names=originals, inner_rows={})


def _rename_in_texts(
    field: dict[str, Any],
    row: int,
    renamed: dict[str, str],
    dropped: dict[str, str],
    report: Report,
) -> None:
    """The answers a field's texts insert follow the renames (new dicts: choice lists
    are shared by the fields that use them)."""

    def texts(values: dict[str, str], key: str) -> dict[str, str]:
        where = f"survey sheet, row {row}, column '{key}'"
        return {
            lang: rename_in_text(text, renamed, dropped, where, report)
            for lang, text in values.items()
        }

    for key in ("label", "hint", "constraint_message"):
        if isinstance(field.get(key), dict):
            field[key] = texts(field[key], key)
    if field.get("choices"):
        field["choices"] = [
            {**c, "label": texts(c["label"], "choices")} if c.get("label") else c
            for c in field["choices"]
        ]


def _our_name(name: str) -> str:
    """An XLSForm name (NCName) as ours: lower case, a-z 0-9 _, starting with a letter,
    none of the form page's own input names."""
    new = re.sub(r"[^a-z0-9_]", "_", name.lower())
    if not new[:1].isalpha():
        new = "q_" + new.lstrip("_")
    if new in RESERVED_NAMES:  # the form page's own inputs: 'district' -> 'q_district'
        new = "q_" + new
    new = new[:63]
    return new if NAME_RE.match(new) else "q"
