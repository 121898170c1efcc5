"""Special categories (Art. 9): encrypted at rest, out of summaries, exports only on request."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
import sqlalchemy as sa
from pypdf import PdfReader

from intake.engine.definition import load_file
from intake.engine.validation import DefinitionError, validate
from intake.extensions import db
from intake.storage.forms import import_definition
from intake.storage.models import AuditEvent
from tests.conftest import form_payload

FORM = Path(__file__).parent / "forms" / "sensitive.yaml"
CANARY = "Diabetes-Kanarienvogel"
ANSWERS = {"full_name": "Amira", "health": "chronic", "health_detail": CANARY, "wish": "work"}


@pytest.fixture
def sensitive_form(app):
    with app.app_context():
        import_definition(load_file(FORM))
        db.session.commit()
    return "health-check"


def send(app, answers=ANSWERS) -> None:
    browser = app.test_client()
    page = browser.get("/f/health-check?district=mainz-bingen&lang=de").get_data(as_text=True)
    sent = browser.post("/f/health-check?lang=de", data=form_payload(page, answers))
    assert sent.status_code == 303


def raw_values(app, field: str) -> list[str]:
    with app.app_context():
        return list(
            db.session.execute(
                sa.text("SELECT value FROM answer WHERE field = :f ORDER BY id"), {"f": field}
            ).scalars()
        )


@pytest.fixture
def coordinator(app, client, auth, create_user):
    create_user("mz@example.org", districts=("mainz-bingen",))
    auth.login("mz@example.org")
    return client


def test_sensitive_answers_are_only_ciphertext_in_the_database(app, sensitive_form, coordinator):
    send(app)
    for field in ("health", "health_detail"):
        [stored] = raw_values(app, field)
        assert stored.startswith("fernet:")
        assert CANARY not in stored
        assert "chronic" not in stored
    assert raw_values(app, "full_name") == ["Amira"]  # other answers stay plain
    assert raw_values(app, "wish") == ["work"]
    # Coordinators of the district read them on the response's page.
    listing = coordinator.get("/admin/responses").get_data(as_text=True)
    response_id = re.search(r"/admin/responses/(\d+)", listing).group(1)
    detail = coordinator.get(f"/admin/responses/{response_id}").get_data(as_text=True)
    assert CANARY in detail
    assert "Chronische Erkrankung" in detail
    data = coordinator.get(f"/admin/responses/{response_id}/data.json").get_json()
    assert CANARY in str(data["answers"])


def test_other_answers_of_a_sensitive_choice_are_encrypted_too(app, sensitive_form, coordinator):
    send(app, {**ANSWERS, "health": "other", "health_other": CANARY})
    [stored] = raw_values(app, "health_other")
    assert stored.startswith("fernet:")
    assert CANARY not in stored
    listing = coordinator.get("/admin/responses").get_data(as_text=True)
    response_id = re.search(r"/admin/responses/(\d+)", listing).group(1)
    assert CANARY in coordinator.get(f"/admin/responses/{response_id}").get_data(as_text=True)


def test_summaries_never_show_sensitive_questions(app, sensitive_form, client, auth, create_user):
    send(app)
    create_user("viewer@example.org", role="viewer", districts=("mainz-bingen",))
    auth.login("viewer@example.org")
    pdf = client.get("/admin/reports/mainz-bingen/health-check.pdf?appendix=text")
    assert pdf.status_code == 200
    text = " ".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf.get_data())).pages)
    assert "Was wünschen Sie sich?" in text  # the ordinary question is counted
    assert "ärztliche Hilfe" not in text
    assert CANARY not in text


def test_exports_leave_sensitive_answers_out_unless_asked(app, sensitive_form, coordinator):
    send(app)
    plain = coordinator.get("/admin/exports/mainz-bingen/health-check.csv").get_data(as_text=True)
    assert "Amira" in plain
    assert "ärztliche Hilfe" not in plain
    assert CANARY not in plain
    asked = coordinator.get("/admin/exports/mainz-bingen/health-check.csv?sensitive=1")
    text = asked.get_data(as_text=True)
    assert CANARY in text
    assert "fernet:" not in text
    wrong = coordinator.get("/admin/exports/mainz-bingen/health-check.csv?sensitive=yes")
    assert wrong.status_code == 400
    assert "'sensitive' must be 1" in wrong.get_data(as_text=True) or "sensitive" in (
        wrong.get_data(as_text=True)
    )
    with app.app_context():
        actions = db.session.scalars(sa.select(AuditEvent.action).order_by(AuditEvent.id)).all()
        targets = db.session.scalars(
            sa.select(AuditEvent.target).where(AuditEvent.action == "export.csv.sensitive")
        ).all()
    assert "export.csv" in actions
    assert len(targets) == 1
    assert "sensitive=yes" in targets[0]


def test_rotation_keeps_answers_readable(app, sensitive_form, coordinator, runner):
    send(app)
    [before] = raw_values(app, "health_detail")
    with app.app_context():
        assert runner.invoke(args=["data-keys", "new"]).exit_code == 0
        result = runner.invoke(args=["data-keys", "rotate"])
    assert result.exit_code == 0, result.output
    assert "2 sensitive answers are now encrypted with the first key." in result.output
    [after] = raw_values(app, "health_detail")
    assert after != before
    assert after.startswith("fernet:")
    # The old key can go now: only the new one is left, and everything still reads.
    key_file = Path(app.config["DATA_KEYS_FILE"])
    key_file.write_text(key_file.read_text().split()[0] + "\n")
    listing = coordinator.get("/admin/responses").get_data(as_text=True)
    response_id = re.search(r"/admin/responses/(\d+)", listing).group(1)
    assert CANARY in coordinator.get(f"/admin/responses/{response_id}").get_data(as_text=True)


def test_a_missing_key_is_a_clear_503_not_a_leak(app, sensitive_form, coordinator):
    send(app)
    Path(app.config["DATA_KEYS_FILE"]).write_text(
        "".join(chr(65 + i % 26) for i in range(43)) + "=\n"
    )  # another, wrong key
    listing = coordinator.get("/admin/responses").get_data(as_text=True)
    response_id = re.search(r"/admin/responses/(\d+)", listing).group(1)
    page = coordinator.get(f"/admin/responses/{response_id}")
    assert page.status_code == 503
    assert "fernet:" not in page.get_data(as_text=True)


@pytest.mark.parametrize(
    ("field", "message"),
    [
        (
            {"name": "h", "type": "hidden", "sensitive": True},
            "a hidden field cannot be 'sensitive'",
        ),
        (
            {"name": "s", "type": "text", "sensitive": True, "prefill": True, "label": {"de": "S"}},
            "a sensitive field cannot be prefilled",
        ),  # fmt: skip
        ({"name": "s", "type": "text", "sensitive": "ja", "label": {"de": "S"}}, "'sensitive'"),
    ],
)
def test_sensitive_marks_are_checked(field, message):
    raw = {"form": "t", "default_language": "de", "languages": ["de"], "title": {"de": "T"},
           "fields": [field]}  # fmt: skip
    with pytest.raises(DefinitionError) as error:
        validate(raw, "t.yaml")
    assert any(message in p for p in error.value.problems), error.value.problems
