"""What one page of a public form shows: its questions, the answers carried along, progress.

Multi-page forms keep no server-side draft: the answers of the other pages travel as
hidden inputs, so back and next work without JavaScript and without a session store.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from flask import g
from wtforms import Field

from intake.engine import logic
from intake.engine.definition import FieldDef, FormDefinition, Page
from intake.wtforms_adapter import PublicForm, raw_answers


@dataclass
class ChoiceView:
    """One option of a choice question, with its filter data for the browser."""

    value: str
    label: str
    optgroup: str | None
    data_json: str | None
    #: The language of the label when the form lacks it in the page's language.
    fallback_lang: str | None = None


@dataclass
class QuestionView:
    """One question (or note) as the template renders it."""

    fdef: FieldDef
    field: Field | None
    relevant_json: str | None
    filter_json: str | None
    choices: list[ChoiceView] = field(default_factory=list)
    #: A calculate field's expression, for the browser.
    calculation_json: str | None = None
    #: A repeat's entries (each with its questions), up to its `max_count`.
    entries: list[EntryView] = field(default_factory=list)
    #: A repeat's number of entries now (the later entries wait, hidden, to be added).
    count: int = 0


@dataclass
class EntryView:
    """One entry of a repeat: its number (from 1) and its questions."""

    number: int
    questions: list[QuestionView]


@dataclass
class PageView:
    """The page being shown."""

    page: Page
    number: int
    total: int
    questions: list[QuestionView]
    carried: list[tuple[str, str]]
    first: bool
    last: bool
    #: On the last page due so far: when the later pages are due, as one tree for the
    #: browser, which then makes "Send" a "Next" (the server walks on all the same).
    later_json: str | None = None

    def every_question(self):
        """The page's questions, with each entry's questions after its repeat."""
        for q in self.questions:
            yield q
            for entry in q.entries:
                yield from entry.questions


def page_view(form: PublicForm, index: int, every_page: bool = False) -> PageView:
    """Build the view of page `index` from the answers in `form`; `every_page` (the
    preview) shows a page whose condition does not hold yet, too."""
    definition: FormDefinition = form.definition
    state = logic.evaluate_state(definition, raw_answers(form))
    pages = definition.pages()
    index = max(0, min(index, len(pages) - 1))
    shown = [p.index for p in pages if every_page or state.pages.get(p.index, True)] or [index]
    if index not in shown:
        index = next((i for i in shown if i > index), shown[-1])
    page = pages[index]
    here = {f.name for f in page.fields}
    questions = _grouped(
        [
            _question(fdef, form, state, here)
            for fdef in page.fields
            # Hidden because of answers on other pages: the server knows, so leave it out.
            if every_page
            or state.relevant.get(fdef.name, True)
            or logic.depends_on(fdef.relevant, here)
        ],
        state,
    )
    carried = [
        (name, value)
        for fdef in definition.answer_inputs
        if fdef.name not in here
        for name, value in ((fdef.name, v) for v in state.values.get(fdef.name, []))
    ]
    _insert_answers(form, state)
    position = shown.index(index)
    form.page.data = str(index)
    last = position == len(shown) - 1
    later = [p.relevant for p in pages if p.index > index and p.relevant] if last else []
    return PageView(
        page=page,
        number=position + 1,
        total=len(shown),
        questions=questions,
        carried=carried,
        first=position == 0,
        last=last,
        later_json=logic.tree_json(" or ".join(f"({c})" for c in later)) if later else None,
    )


def _insert_answers(form: PublicForm, state) -> None:
    """The answers the page's texts may insert ("Wie alt ist ${name}?"): as typed, the
    values of a choice as stored (as ODK inserts them), none of a hidden question; a
    calculated value as the server made it (also into its hidden input)."""
    answers = {name: " ".join(values) for name, values in state.values.items()}
    for fdef in form.definition.answer_inputs:
        if fdef.calculation or fdef.repeat_count:
            form[fdef.name].data = answers.get(fdef.name, "")
    g.inserted_answers = answers


def whole_view(form: PublicForm) -> PageView:
    """Every question of every page on one page (the kiosk, which must work offline).

    A page's condition becomes part of each of its questions' conditions, so the
    browser hides them as the server would; page titles are not shown.
    """
    definition: FormDefinition = form.definition
    state = logic.evaluate_state(definition, raw_answers(form))
    _insert_answers(form, state)
    pages = definition.pages()
    here = {f.name for f in definition.inputs}
    questions = []
    for page in pages:
        for fdef in page.fields:
            view = _question(fdef, form, state, here)
            if page.relevant:
                both = (
                    f"({page.relevant}) and ({fdef.relevant})" if fdef.relevant else page.relevant
                )
                view.relevant_json = logic.tree_json(both)
            questions.append(view)
    form.page.data = str(len(pages) - 1)
    return PageView(
        page=pages[0],
        number=1,
        total=1,
        questions=_grouped(questions, state),
        carried=[],
        first=True,
        last=True,
    )


def _grouped(questions: list[QuestionView], state: logic.State) -> list[QuestionView]:
    """The page's questions, each entry's questions inside its repeat's view."""
    out: list[QuestionView] = []
    repeat: QuestionView | None = None
    for view in questions:
        fdef = view.fdef
        if fdef.kind.repeat:
            repeat = view
            repeat.count = logic.entry_count(fdef, state.lookup(fdef.name))
            out.append(view)
        elif fdef.entry is not None and repeat is not None and fdef.repeat == repeat.fdef.name:
            if not repeat.entries or repeat.entries[-1].number != fdef.entry:
                repeat.entries.append(EntryView(fdef.entry, []))
            repeat.entries[-1].questions.append(view)
        else:
            out.append(view)
    return out


def _question(fdef: FieldDef, form: PublicForm, state: logic.State, here: set[str]):
    field = form[fdef.name] if fdef.answerable else None
    view = QuestionView(
        fdef=fdef,
        field=field,
        relevant_json=logic.tree_json(fdef.relevant),
        filter_json=logic.tree_json(fdef.choice_filter),
        calculation_json=logic.tree_json(fdef.calculation or fdef.repeat_count),
    )
    if field is not None and hasattr(field, "choices"):
        data = {c["value"]: c.get("data", {}) for c in fdef.choices}
        same_page = logic.depends_on(fdef.choice_filter, here)
        for choice in field.choices:
            raw = {"value": choice.value, "data": data.get(choice.value, {})}
            if (
                fdef.choice_filter
                and choice.value
                and not same_page
                and not logic.choice_allowed(fdef, raw, state)
            ):
                continue  # filtered by answers on other pages
            view.choices.append(
                ChoiceView(
                    value=choice.value,
                    label=choice.label,
                    optgroup=choice.optgroup,
                    data_json=json.dumps(raw["data"], separators=(",", ":"))
                    if fdef.choice_filter and choice.value
                    else None,
                    fallback_lang=_fallback_lang(fdef, choice.value, form.lang),
                )
            )
    return view


def _fallback_lang(fdef: FieldDef, value: str, lang: str) -> str | None:
    """The default language when a declared choice has no label in `lang`."""
    if not fdef.kind.choice or not value:
        return None
    text = fdef.choice_label(value, lang)
    return text.lang if text.fallback and text.lang != lang else None


def first_page_with_errors(form: PublicForm) -> int | None:
    """The index of the first page that has a field with an error."""
    for page in form.definition.pages():
        for fdef in page.fields:
            if fdef.answerable and form[fdef.name].errors:
                return page.index
    return None


def repeat_step(form: PublicForm, nav: str) -> bool:
    """Add an entry to a repeat ("add:<repeat>") or remove one ("remove:<repeat>:<n>"),
    as the buttons do without JavaScript; False when `nav` is neither (or names no
    repeat or entry of this form). The later entries move up into a removed one's place."""
    parts = nav.split(":")
    fdef = form.definition.field(parts[1]) if len(parts) in (2, 3) else None
    if fdef is None or not fdef.kind.repeat or fdef.entry is not None:
        return False
    count = logic.entry_count(fdef, form[fdef.name].data or "")  # as posted
    if fdef.repeat_count:
        return True  # its entries are made from answers: none is added or removed
    if parts[0] == "add" and len(parts) == 2:
        form[fdef.name].data = str(min(fdef.counts[1], count + 1))
        return True
    if parts[0] != "remove" or len(parts) != 3 or not parts[2].isascii():
        return False
    if not parts[2].isdigit() or not 1 <= int(parts[2]) <= count:
        return False
    if count <= fdef.counts[0]:
        return True  # as few as the repeat needs: the page offers no remove button
    entries = form.definition.entries(fdef.name)
    for k in range(int(parts[2]), count):
        for here, later in zip(entries[k - 1], entries[k], strict=True):
            if here.answerable:
                form[here.name].data = form[later.name].data
    for gone in entries[count - 1]:
        if gone.answerable:
            form[gone.name].data = None
    form[fdef.name].data = str(count - 1)
    return True


def neighbour(form: PublicForm, index: int, step: int) -> int:
    """The next (+1) or previous (-1) page the person will see, or `index` at the ends."""
    state = logic.evaluate_state(form.definition, raw_answers(form))
    shown = [p.index for p in form.definition.pages() if state.pages.get(p.index, True)]
    candidates = [i for i in shown if (i > index if step > 0 else i < index)]
    if not candidates:
        return index
    return candidates[0] if step > 0 else candidates[-1]
