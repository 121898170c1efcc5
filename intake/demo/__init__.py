"""Demo data: the two districts, the demo forms, demo coordinators, synthetic responses."""

from __future__ import annotations

import random
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import sqlalchemy as sa

from intake.engine.definition import FieldDef, FormDefinition, load_file
from intake.extensions import db
from intake.kiosk.store import create_event, new_pin
from intake.passwords import hash_password
from intake.storage.forms import all_published, import_definition
from intake.storage.models import (
    Answer,
    District,
    Event,
    Form,
    Municipality,
    Response,
    User,
    utcnow,
)
from intake.storage.responses import make_reference

FORMS_DIR = Path(__file__).parent / "forms"

#: Verbandsgemeinden and towns outside them; a few member towns help people who know
#: their town but not their Verbandsgemeinde.
DISTRICTS = {
    "mainz-bingen": (
        "Landkreis Mainz-Bingen",
        [
            ("bingen-am-rhein", "Bingen am Rhein"),
            ("ingelheim-am-rhein", "Ingelheim am Rhein"),
            ("budenheim", "Budenheim"),
            ("vg-bodenheim", "VG Bodenheim (Bodenheim, Nackenheim, Lörzweiler …)"),
            ("vg-gau-algesheim", "VG Gau-Algesheim (Gau-Algesheim, Ockenheim …)"),
            ("vg-nieder-olm", "VG Nieder-Olm (Nieder-Olm, Essenheim, Zornheim …)"),
            ("vg-rhein-selz", "VG Rhein-Selz (Oppenheim, Nierstein, Guntersblum …)"),
            ("vg-sprendlingen-gensingen", "VG Sprendlingen-Gensingen (Sprendlingen, Gensingen …)"),
        ],
    ),
    "bad-kreuznach": (
        "Landkreis Bad Kreuznach",
        [
            ("stadt-bad-kreuznach", "Bad Kreuznach (Stadt)"),
            ("vg-bad-kreuznach", "VG Bad Kreuznach (Hackenheim, Pfaffen-Schwabenheim …)"),
            ("vg-kirner-land", "VG Kirner Land (Kirn …)"),
            (
                "vg-langenlonsheim-stromberg",
                "VG Langenlonsheim-Stromberg (Langenlonsheim, Stromberg …)",
            ),
            ("vg-nahe-glan", "VG Nahe-Glan (Bad Sobernheim, Meisenheim …)"),
            ("vg-ruedesheim", "VG Rüdesheim (Rüdesheim …)"),
        ],
    ),
}

DEMO_USERS = (
    ("koordination@mainz-bingen.example", "coordinator", ["mainz-bingen"]),
    ("koordination@bad-kreuznach.example", "coordinator", ["bad-kreuznach"]),
    ("kooperation@intake.example", "coordinator", ["mainz-bingen", "bad-kreuznach"]),
    ("admin@intake.example", "admin", []),
)


@dataclass
class SeedResult:
    """What seeding created; passwords only for accounts created in this run."""

    forms_created: list[str]
    passwords: dict[str, str]
    responses: int
    #: The demo event's kiosk token and staff PIN, when this run created it.
    kiosk: tuple[str, str] | None = None


def seed(
    responses: int = 0,
    progress: Callable[[int, int], None] | None = None,
    event: bool = False,
) -> SeedResult:
    """Create (or complete) the demo set-up; safe to run again.

    `event` adds a demo event with a kiosk (when there is no event yet).
    """
    districts = ensure_districts()
    created = []
    for path in sorted(FORMS_DIR.glob("*.yaml")):
        version, new = import_definition(load_file(path))
        if new:
            created.append(f"{version.form.slug} v{version.number}")
    passwords = {}
    for email, role, slugs in DEMO_USERS:
        if db.session.scalar(sa.select(User).where(User.email == email)) is None:
            password = secrets.token_urlsafe(12)
            db.session.add(
                User(
                    email=email,
                    role=role,
                    password_hash=hash_password(password),
                    districts=[districts[s] for s in slugs],
                )
            )
            passwords[email] = password
    db.session.commit()
    kiosk = _demo_event(districts["mainz-bingen"]) if event else None
    count = synthetic_responses(responses, progress) if responses else 0
    return SeedResult(created, passwords, count, kiosk)


def _demo_event(district: District) -> tuple[str, str] | None:
    """An information evening with both demo forms on its tablets."""
    if db.session.scalar(sa.select(sa.func.count()).select_from(Event)):
        return None
    pin = new_pin()
    forms = list(
        db.session.scalars(sa.select(Form).where(Form.slug.in_(["volunteer", "newcomer"])))
    )
    made = create_event(
        name="Infoabend Ingelheim (Demo)",
        district=district,
        forms=forms,
        pin=pin,
        languages=["de", "ar", "fa", "ps", "uk", "ru", "tr", "ku", "so", "ti", "fr", "en"],
    )
    db.session.commit()
    return made.token, pin


def reset_demo_passwords() -> dict[str, str]:
    """New random passwords for the demo accounts that exist."""
    passwords = {}
    for email, _role, _districts in DEMO_USERS:
        user = db.session.scalar(sa.select(User).where(User.email == email))
        if user is not None:
            passwords[email] = secrets.token_urlsafe(12)
            user.password_hash = hash_password(passwords[email])
    db.session.commit()
    return passwords


def ensure_districts() -> dict[str, District]:
    """The demo districts and their municipalities, created where missing."""
    out = {}
    for slug, (name, places) in DISTRICTS.items():
        district = db.session.scalar(sa.select(District).where(District.slug == slug))
        if district is None:
            district = District(slug=slug, name=name)
            db.session.add(district)
        known = {m.slug for m in district.municipalities}
        for place_slug, place_name in places:
            if place_slug not in known:
                district.municipalities.append(Municipality(slug=place_slug, name=place_name))
        out[slug] = district
    db.session.flush()
    return out


# Made-up names and answers in several scripts, for load and layout tests.
FIRST_NAMES = [
    "Anna",
    "Jonas",
    "Leila",
    "Omar",
    "Fatima",
    "Ahmad",
    "Olena",
    "Dmytro",
    "Zainab",
    "Samir",
    "Marie",
    "Yusuf",
    "أحمد",
    "فاطمة",
    "Мария",
    "Selin",
]
LAST_NAMES = [
    "Becker",
    "Schmitt",
    "Haddad",
    "Karimi",
    "Yilmaz",
    "Kovalenko",
    "Mohammadi",
    "Weber",
    "الخطيب",
    "Nouri",
    "Ahmadi",
    "Schneider",
    "Шевченко",
    "Hassan",
]
TEXTS = [
    "Ich kann am Wochenende helfen.",
    "Ich suche eine Wohnung für meine Familie.",
    "أحتاج إلى مساعدة في تعلم اللغة الألمانية",
    "I can help with translation at the doctor.",
    "نحتاج إلى روضة أطفال",
    "Ich habe Erfahrung mit Behördengängen.",
]


def synthetic_responses(
    per_form_and_district: int,
    progress: Callable[[int, int], None] | None = None,
    seed_value: int | None = None,
    districts: list[District] | None = None,
    form_slugs: tuple[str, ...] | None = None,
) -> int:
    """Insert N made-up responses per demo form per district, in fast bulk statements.

    `districts` and `form_slugs` narrow it (benchmarks fill one form in one district).
    """
    rng = random.Random(seed_value)  # noqa: S311 - demo data, not security
    if districts is None:
        districts = list(db.session.scalars(sa.select(District).order_by(District.slug)))
    newest = [
        (version, definition)
        for form, version, definition in all_published()
        if form_slugs is None or form.slug in form_slugs
    ]
    total = per_form_and_district * len(districts) * len(newest)
    done = 0
    batch = 1000
    now = utcnow()
    for version, definition in newest:
        for district in districts:
            places = [m.slug for m in district.municipalities]
            remaining = per_form_and_district
            while remaining:
                n = min(batch, remaining)
                rows, answers = [], []
                for _ in range(n):
                    lang = rng.choice(definition.languages)
                    rows.append(
                        {
                            "form_id": version.form_id,
                            "form_version_id": version.id,
                            "district_id": district.id,
                            "language": lang,
                            "source": rng.choice([None, "poster", "newsletter", "whatsapp"]),
                            "created_at": now - timedelta(minutes=rng.randrange(60 * 24 * 180)),
                            "idempotency_key": secrets.token_urlsafe(24),
                            "reference": make_reference(),
                            "consent_version": definition.consent_version,
                        }
                    )
                    answers.append(_fake_answers(definition, places, rng))
                ids = db.session.scalars(
                    sa.insert(Response).returning(Response.id, sort_by_parameter_order=True),
                    rows,
                ).all()
                db.session.execute(
                    sa.insert(Answer),
                    [
                        {"response_id": rid, "field": name, "value": value}
                        for rid, fields in zip(ids, answers, strict=True)
                        for name, values in fields.items()
                        for value in values
                    ],
                )
                db.session.commit()
                remaining -= n
                done += n
                if progress:
                    progress(done, total)
    return done


def _fake_answers(
    definition: FormDefinition, places: list[str], rng: random.Random
) -> dict[str, list[str]]:
    """Plausible answers for every field of a definition."""
    out: dict[str, list[str]] = {}
    for fdef in definition.fields:
        value = _fake_value(fdef, places, rng)
        if value:
            out[fdef.name] = value
    return out


def _fake_value(fdef: FieldDef, places: list[str], rng: random.Random) -> list[str]:
    """A made-up answer in the field's stored format (intake.engine.fieldtypes `stored`)."""
    stored = fdef.kind.stored
    if not fdef.required and stored != "yes" and rng.random() < 0.2:
        return []  # a consent is always given: without it nothing is stored
    options = [c["value"] for c in fdef.choices]
    if stored == "choice":
        return [rng.choice(options)]
    if stored == "choices":
        return rng.sample(options, k=rng.randint(1, min(3, len(options))))
    if stored == "place":
        return [rng.choice(places)]
    if stored == "yes_no":
        return [rng.choice(fdef.kind.values)]
    if stored == "yes":
        return list(fdef.kind.values)
    if stored == "integer":
        low, high = (fdef.bounds[0] or 0), (fdef.bounds[1] or 10)
        return [str(rng.randint(low, min(high, low + 8)))]
    if stored == "date":
        return [f"2026-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"]
    if stored == "email":
        return [f"person{rng.randrange(10**6)}@example.org"]
    if stored == "phone":
        return [f"+49151{rng.randrange(10**7, 10**8)}"]
    if fdef.name in ("first_name", "name"):
        return [rng.choice(FIRST_NAMES)]
    if fdef.name == "last_name":
        return [rng.choice(LAST_NAMES)]
    return [rng.choice(TEXTS)]
