"""The command line: users, demo data, PDF reports, form definitions."""

from __future__ import annotations

import io
import re
import secrets
import unicodedata
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask_migrate import upgrade
from pypdf import PdfReader

from intake import create_app
from intake.demo import FORMS_DIR
from intake.extensions import db
from intake.storage.models import AuditEvent, District, Form, FormVersion, Response, User

NEW_PASSWORD = "a long enough passphrase"


@pytest.fixture
def empty_app(tmp_path):
    """An app on a migrated database without any demo data."""
    app = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": secrets.token_urlsafe(48),
            "DATABASE_URL": f"sqlite:///{tmp_path / 'empty.sqlite3'}",
        }
    )
    with app.app_context():
        upgrade(directory=app.extensions["migrate"].directory)
    return app


def count(app, model, *where) -> int:
    with app.app_context():
        query = sa.select(sa.func.count()).select_from(model)
        return db.session.scalar(query.where(*where) if where else query)


def pdf_text(path: Path) -> str:
    reader = PdfReader(io.BytesIO(path.read_bytes()))
    text = "\n".join(page.extract_text() for page in reader.pages)
    return unicodedata.normalize("NFKC", text)


def test_commands_work_through_the_flask_test_runner(runner):
    result = runner.invoke(args=["forms", "list"])
    assert result.exit_code == 0, result.output
    assert "volunteer" in result.output


# users create


def test_create_user_who_can_then_log_in(app, cli, auth):
    result = cli(
        "users",
        "create",
        "--email",
        "Neu.Koordination@Example.ORG",
        "--role",
        "coordinator",
        "--district",
        "mainz-bingen",
        "--district",
        "bad-kreuznach",
        "--password-stdin",
        input=f"{NEW_PASSWORD}\n",
    )
    assert result.exit_code == 0, result.output
    assert result.output == (
        "Created coordinator neu.koordination@example.org for mainz-bingen, bad-kreuznach.\n"
    )
    assert NEW_PASSWORD not in result.output
    with app.app_context():
        user = db.session.scalar(sa.select(User).where(User.email.like("neu.%")))
        assert user.email == "neu.koordination@example.org"
        assert user.role == "coordinator"
        assert sorted(d.slug for d in user.districts) == ["bad-kreuznach", "mainz-bingen"]
        assert NEW_PASSWORD not in user.password_hash
        event = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "user.create"))
        assert event.target == f"user:{user.id} role=coordinator"

    assert auth.login("neu.koordination@example.org", "wrong password!").status_code == 422
    response = auth.login("neu.koordination@example.org", NEW_PASSWORD)
    assert response.status_code == 302
    assert response.headers["Location"] == "/admin/"


def test_admin_needs_no_district_and_twelve_characters_are_enough(app, cli, auth):
    result = cli(
        "users",
        "create",
        "--email",
        "admin@example.org",
        "--role",
        "admin",
        "--password-stdin",
        input="kx7Rw2mQp9Lz\r\n",
    )
    assert result.exit_code == 0, result.output
    assert result.output == "Created admin admin@example.org for all districts.\n"
    assert auth.login("admin@example.org", "kx7Rw2mQp9Lz").status_code == 302


@pytest.mark.parametrize(
    ("options", "password", "message"),
    [
        (
            ["--email", "not-an-email", "--district", "mainz-bingen"],
            NEW_PASSWORD,
            "Error: Invalid value for --email: An email address must have an @-sign.",
        ),
        (
            ["--email", "Koordination@Mainz-Bingen.example", "--district", "mainz-bingen"],
            NEW_PASSWORD,
            "Error: Invalid value for --email: a user with koordination@mainz-bingen.example "
            "exists already",
        ),
        (
            ["--email", "neu@example.org", "--district", "mainz"],
            NEW_PASSWORD,
            "Error: Invalid value for --district: no district called 'mainz'",
        ),
        (
            ["--email", "neu@example.org"],
            NEW_PASSWORD,
            "Error: coordinators and viewers need at least one --district",
        ),
        (
            ["--email", "neu@example.org", "--district", "mainz-bingen"],
            "12345678901",
            "Error: the password must have at least 12 characters",
        ),
        (
            ["--email", "neu@example.org", "--district", "mainz-bingen"],
            "",
            "Error: the password must have at least 12 characters",
        ),
    ],
)
def test_create_user_errors(app, cli, options, password, message):
    users_before = count(app, User)
    result = cli(
        "users",
        "create",
        "--role",
        "coordinator",
        *options,
        "--password-stdin",
        input=f"{password}\n",
    )
    assert result.exit_code == 2
    assert result.stderr.strip().splitlines()[-1] == message
    assert "Created" not in result.output
    assert count(app, User) == users_before


def test_create_user_without_password_stdin_is_refused(app, cli):
    users_before = count(app, User)
    result = cli(
        "users",
        "create",
        "--email",
        "neu@example.org",
        "--role",
        "viewer",
        "--district",
        "mainz-bingen",
        input=f"{NEW_PASSWORD}\n",
    )
    assert result.exit_code == 2
    assert (
        "Error: give either --password-stdin (and pipe the password in) or --link" in result.stderr
    )
    assert count(app, User) == users_before


def test_create_user_with_unknown_role_is_refused(app, cli):
    users_before = count(app, User)
    result = cli(
        "users",
        "create",
        "--email",
        "neu@example.org",
        "--role",
        "boss",
        "--district",
        "mainz-bingen",
        "--password-stdin",
        input=f"{NEW_PASSWORD}\n",
    )
    assert result.exit_code == 2
    assert (
        "Error: Invalid value for '--role': 'boss' is not one of 'admin', 'coordinator', "
        "'viewer'." in result.stderr
    )
    assert count(app, User) == users_before


# seed-demo


def test_seed_demo_on_empty_database_and_again(empty_app):
    runner = empty_app.test_cli_runner()
    with empty_app.app_context():
        first = runner.invoke(args=["seed-demo", "--responses", "5"])
    assert first.exit_code == 0, first.output
    assert "Form imported: newcomer v1\nForm imported: volunteer v1\n" in first.output
    assert "Responses created: 20 in " in first.output
    logins = re.findall(
        r"Demo login: (\S+) \(password not shown outside development\)", first.output
    )
    assert logins == [
        "koordination@mainz-bingen.example",
        "koordination@bad-kreuznach.example",
        "kooperation@intake.example",
        "admin@intake.example",
    ]
    assert "password:" not in first.output
    assert count(empty_app, District) == 2
    assert count(empty_app, FormVersion) == 2
    assert count(empty_app, User) == 4
    with empty_app.app_context():
        per_form_and_district = db.session.execute(
            sa.select(Form.slug, District.slug, sa.func.count())
            .select_from(Response)
            .join(Form, Form.id == Response.form_id)
            .join(District, District.id == Response.district_id)
            .group_by(Form.slug, District.slug)
            .order_by(Form.slug, District.slug)
        ).all()
    assert [tuple(row) for row in per_form_and_district] == [
        ("newcomer", "bad-kreuznach", 5),
        ("newcomer", "mainz-bingen", 5),
        ("volunteer", "bad-kreuznach", 5),
        ("volunteer", "mainz-bingen", 5),
    ]

    # Running it again adds responses but no second district, form version or account.
    with empty_app.app_context():
        again = runner.invoke(args=["seed-demo", "--responses", "5"])
    assert again.exit_code == 0, again.output
    assert "Form imported" not in again.output
    assert "Demo login" not in again.output
    assert "Responses created: 20 in " in again.output
    assert count(empty_app, District) == 2
    assert count(empty_app, FormVersion) == 2
    assert count(empty_app, User) == 4
    assert count(empty_app, Response) == 40


def test_seed_demo_responses_on_seeded_database(app, cli):
    result = cli("seed-demo", "--responses", "5")
    assert result.exit_code == 0, result.output
    assert "Responses created: 20 in " in result.output
    assert "Form imported" not in result.output
    assert count(app, Response) == 20
    assert count(app, FormVersion) == 2


def test_seed_demo_if_empty_does_nothing_on_a_seeded_database(app, cli):
    result = cli("seed-demo", "--if-empty", "--responses", "5")
    assert result.exit_code == 0, result.output
    assert result.output == "The database already has data; demo not seeded.\n"
    assert count(app, Response) == 0
    assert count(app, FormVersion) == 2


def test_seed_demo_reset_passwords_is_refused_outside_development(app, cli):
    with app.app_context():
        before = dict(db.session.execute(sa.select(User.email, User.password_hash)).all())
    result = cli("seed-demo", "--reset-passwords")
    assert result.exit_code == 2
    assert "--reset-passwords only works in development" in result.output
    with app.app_context():
        after = dict(db.session.execute(sa.select(User.email, User.password_hash)).all())
    assert after == before


# report


def test_report_writes_a_readable_pdf(app, cli, tmp_path):
    assert cli("seed-demo", "--responses", "3").exit_code == 0
    out = tmp_path / "mainz-bingen.pdf"
    result = cli("report", "--district", "mainz-bingen", "--form", "volunteer", "--out", str(out))
    assert result.exit_code == 0, result.output
    assert "1/2 Counting answers ..." in result.output
    assert "2/2 Rendering the summary of 3 responses to PDF" in result.output
    assert f"Wrote {out} (" in result.output
    assert out.read_bytes().startswith(b"%PDF")
    text = pdf_text(out)
    assert "Landkreis Mainz-Bingen" in text
    assert "Landkreis Bad Kreuznach" not in text
    with app.app_context():
        event = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "report.cli"))
        assert event.target == "report:mainz-bingen/volunteer appendix=text"


def test_report_for_all_districts_in_english(cli, tmp_path):
    out = tmp_path / "all.pdf"
    result = cli(
        "report",
        "--district",
        "all",
        "--form",
        "newcomer",
        "--out",
        str(out),
        "--lang",
        "en",
        "--from",
        "2026-01-01",
        "--to",
        "2026-12-31",
        "--appendix",
        "none",
    )
    assert result.exit_code == 0, result.output
    text = pdf_text(out)
    assert "What do you need? Tell the coordination office" in text
    assert "Summary for: Landkreis Bad Kreuznach, Landkreis Mainz-Bingen" in text
    assert "Period: all responses" not in text


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (
            ["--district", "mainz", "--form", "volunteer"],
            "Error: Invalid value for --district: no district called 'mainz'",
        ),
        (
            ["--district", "mainz-bingen", "--form", "volunteers"],
            "Error: Invalid value for --form: no form called 'volunteers'",
        ),
        (
            ["--district", "mainz-bingen", "--form", "volunteer", "--from", "2026-13-01"],
            "Error: 'from' must be a date written as YYYY-MM-DD, e.g. 2026-01-31.",
        ),
        (
            ["--district", "mainz-bingen", "--form", "volunteer", "--to", "31.01.2026"],
            "Error: 'to' must be a date written as YYYY-MM-DD, e.g. 2026-01-31.",
        ),
        (
            [
                "--district",
                "all",
                "--form",
                "volunteer",
                "--from",
                "2026-02-01",
                "--to",
                "2026-01-31",
            ],
            "Error: The start date (from) is after the end date (to).",
        ),
        (
            ["--district", "all", "--form", "volunteer", "--lang", "ar", "--appendix", "all"],
            "Error: Reports are available in: de, en. "
            "The appendix must be one of: none, text, roster.",
        ),
    ],
)
def test_report_errors_write_no_file(cli, tmp_path, options, message):
    folder = tmp_path / "reports"
    folder.mkdir()
    result = cli("report", *options, "--out", str(folder / "report.pdf"))
    assert result.exit_code == 2
    assert result.stderr.strip().splitlines()[-1] == message
    assert list(folder.iterdir()) == []


def test_report_into_missing_folder(cli, tmp_path):
    out = tmp_path / "missing" / "report.pdf"
    result = cli("report", "--district", "mainz-bingen", "--form", "volunteer", "--out", str(out))
    assert result.exit_code == 2
    assert (
        f"Error: Invalid value for --out: the folder {tmp_path / 'missing'} does not exist"
        in result.stderr
    )
    assert not out.parent.exists()


# forms


def test_forms_validate_good_file(cli):
    result = cli("forms", "validate", str(FORMS_DIR / "volunteer.yaml"))
    assert result.exit_code == 0, result.output
    assert result.output == "volunteer.yaml: OK, form 'volunteer' with 15 fields\n"


def test_forms_validate_prints_every_problem_with_the_file_name(cli, tmp_path):
    path = tmp_path / "broken.yaml"
    path.write_text(
        "form: Broken Form\n"
        "default_language: de\n"
        "languages: [de]\n"
        "title: {de: Kaputt}\n"
        "fields:\n"
        "  - {name: age, type: integer, label: {de: Alter}, min: 9, max: 1}\n"
        "  - {name: age, type: text, label: {en: Age}}\n",
        encoding="utf-8",
    )
    result = cli("forms", "validate", str(path))
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        "broken.yaml: 'form' must be a slug like 'volunteer' (a-z, 0-9, '-')",
        "broken.yaml: field 'age' (fields[0]): 'min' is greater than 'max'",
        "broken.yaml: field 'age' (fields[1]): the name 'age' is used twice",
        "broken.yaml: field 'age' (fields[1]): 'label' has text for 'en', which is not in "
        "'languages'",
        "broken.yaml: field 'age' (fields[1]): 'label' needs a text in the default language 'de'",
    ]
    assert "OK" not in result.output


def test_forms_validate_missing_file(cli, tmp_path):
    result = cli("forms", "validate", str(tmp_path / "nowhere.yaml"))
    assert result.exit_code == 1
    assert result.stderr == "nowhere.yaml: file not found\n"


def test_forms_import_changed_form_creates_a_new_version(app, cli, tmp_path):
    original = (FORMS_DIR / "volunteer.yaml").read_text(encoding="utf-8")
    changed = original.replace(
        "Ehrenamtlich helfen und Integrationslotse werden", "Ehrenamtlich helfen im Landkreis"
    )
    assert changed != original
    path = tmp_path / "volunteer.yaml"
    path.write_text(changed, encoding="utf-8")
    # The running app has parsed version 1 (definitions are kept per process).
    before = app.test_client().get("/f/volunteer").get_data(as_text=True)
    assert "Ehrenamtlich helfen und Integrationslotse werden" in before

    result = cli("forms", "import", str(path))
    assert result.exit_code == 0, result.output
    assert result.output == (
        "Imported 'volunteer' as draft version 2; publish it with: forms publish volunteer\n"
    )
    again = cli("forms", "import", str(path))
    assert again.exit_code == 0, again.output
    assert again.output == "'volunteer' is unchanged (version 2).\n"
    assert count(app, FormVersion) == 3
    # A draft: respondents still see version 1.
    assert "Ehrenamtlich helfen und Integrationslotse werden" in app.test_client().get(
        "/f/volunteer"
    ).get_data(as_text=True)
    assert cli("forms", "list").output.splitlines()[1].startswith("volunteer\tv1\topen")

    published = cli("forms", "publish", "volunteer")
    assert published.exit_code == 0, published.output
    assert published.output == "Published 'volunteer' as version 2.\n"
    assert count(app, FormVersion) == 3
    listing = cli("forms", "list")
    assert listing.output.splitlines()[1].startswith("volunteer\tv2\topen\tde, en, ar, fa")
    # The public form shows the new title.
    assert "Ehrenamtlich helfen im Landkreis" in app.test_client().get("/f/volunteer").get_data(
        as_text=True
    )


def test_forms_import_of_the_unchanged_demo_form(app, cli):
    result = cli("forms", "import", str(FORMS_DIR / "newcomer.yaml"))
    assert result.exit_code == 0, result.output
    assert result.output == "'newcomer' is unchanged (version 1).\n"
    assert count(app, FormVersion) == 2


def test_forms_import_of_a_broken_file_imports_nothing(app, cli, tmp_path):
    path = tmp_path / "volunteer.yaml"
    path.write_text(
        (FORMS_DIR / "volunteer.yaml")
        .read_text(encoding="utf-8")
        .replace("type: municipality", "type: town"),
        encoding="utf-8",
    )
    result = cli("forms", "import", str(path))
    assert result.exit_code == 1
    assert result.stderr.startswith("volunteer.yaml: field 'municipality' (fields[4]): 'type'")
    assert "Imported" not in result.output
    assert count(app, FormVersion) == 2


def test_forms_list(cli):
    result = cli("forms", "list")
    assert result.exit_code == 0, result.output
    twelve = "de, en, ar, fa, ps, tr, ku, uk, ru, so, ti, fr"
    assert result.output.splitlines() == [
        f"newcomer\tv1\topen\t{twelve}",
        f"volunteer\tv1\topen\t{twelve}",
    ]


def test_users_create_with_link_prints_a_working_one_time_link(app, cli):
    app.config["PUBLIC_URL"] = "https://intake.example.org"
    result = cli(
        "users", "create", "--email", "link@example.org", "--role", "viewer",
        "--district", "bad-kreuznach", "--link",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    match = re.search(r"valid 72 hours\):\n(\S+)\n", result.output)
    assert match, result.output
    link = match.group(1)
    assert link.startswith("https://intake.example.org/admin/reset/")
    page = app.test_client().get(link.removeprefix("https://intake.example.org") + "?lang=en")
    assert page.status_code == 200
    assert "For the account link@example.org." in page.get_data(as_text=True)


def test_users_link_needs_a_public_url_outside_development(app, cli):
    app.config["PUBLIC_URL"] = None
    email = cli("users", "list").output.split("\t")[0]
    result = cli("users", "reset-link", email)
    assert result.exit_code == 2
    assert "set INTAKE_PUBLIC_URL" in result.output


def test_users_list_disable_enable(app, cli):
    listed = cli("users", "list")
    assert listed.exit_code == 0
    first = next(line for line in listed.output.splitlines() if "\tcoordinator\t" in line)
    email = first.split("\t")[0]
    assert first.endswith("\tactive")
    assert cli("users", "disable", email).exit_code == 0
    assert f"{email}\t" in cli("users", "list").output
    assert any(
        line.startswith(email) and line.endswith("\tdisabled")
        for line in cli("users", "list").output.splitlines()
    )
    refused = cli("users", "reset-link", email)
    assert refused.exit_code == 2
    assert "is disabled" in refused.output
    assert cli("users", "enable", email).exit_code == 0
    with app.app_context():
        user = db.session.scalar(sa.select(User).where(User.email == email))
        assert user.active
        actions = [e.target for e in db.session.scalars(sa.select(AuditEvent))]
    assert f"user:{user.id} disabled" in actions
    assert f"user:{user.id} active" in actions


def test_users_commands_explain_unknown_accounts(cli):
    for command in ("disable", "enable", "reset-link"):
        result = cli("users", command, "nobody@example.org")
        assert result.exit_code == 2
        assert "no account with the email nobody@example.org" in result.output


def test_last_admin_cannot_be_disabled(app, cli):
    created = cli(
        "users", "create", "--email", "root@example.org", "--role", "admin", "--password-stdin",
        input=f"{NEW_PASSWORD}\n",
    )  # fmt: skip
    assert created.exit_code == 0, created.output
    assert cli("users", "disable", "admin@intake.example").exit_code == 0  # one of two
    result = cli("users", "disable", "root@example.org")
    assert result.exit_code == 2
    assert "last active administrator" in result.output


def test_users_set_password_ends_sessions(app, cli, client, auth, create_user):
    create_user("mz@example.org", districts=("mainz-bingen",))
    auth.login("mz@example.org")
    assert client.get("/admin/").status_code == 200
    result = cli("users", "set-password", "mz@example.org", "--password-stdin", input="short\n")
    assert result.exit_code == 2
    assert "at least 12 characters" in result.output
    assert client.get("/admin/").status_code == 200
    result = cli(
        "users", "set-password", "mz@example.org", "--password-stdin", input=f"{NEW_PASSWORD}\n"
    )
    assert result.exit_code == 0, result.output
    assert client.get("/admin/").status_code == 302
    assert auth.login("mz@example.org", NEW_PASSWORD).status_code == 302
