"""What a repeat costs a form page and a submission, by its max_count.

Run: .venv/bin/python bench/repeats.py [--counts 6,20,50] [--repeat 200]

A repeat's entries wait on the page up to its max_count (hidden until added) and every
entry's questions are checked on every send (intake.engine.repeats), so the cost grows
with max_count, not with the entries a person adds. For each max_count this measures,
in one process with Flask's test client and SQLite: the page's size, a GET of the form
page, and a POST of a household of three (checked, calculated, stored). The baseline,
measured in the same run, is the same form without the repeat (its five questions asked
once): the ratios show what the repeat costs on top.
"""

from __future__ import annotations

import argparse
import copy
import os
import platform
import re
import secrets
import statistics
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from flask_migrate import upgrade  # noqa: E402

from intake import create_app, demo  # noqa: E402
from intake.engine.validation import validate  # noqa: E402
from intake.extensions import db  # noqa: E402
from intake.storage.forms import import_definition  # noqa: E402

FORM = yaml.safe_load((ROOT / "tests" / "forms" / "members.yaml").read_text(encoding="utf-8"))  # noqa: S506


def variant(max_count: int | None) -> dict:
    """The members form with the repeat's max_count, or (None) without the repeat."""
    raw = copy.deepcopy(FORM)
    raw["form"] = f"bench-{max_count or 'flat'}"
    if max_count is None:
        repeat = next(f for f in raw["fields"] if f["type"] == "repeat")
        at = raw["fields"].index(repeat)
        children = [c for c in repeat["fields"] if c["name"] != "entry_no"]
        raw["fields"][at : at + 1] = children
        raw["fields"] = [f for f in raw["fields"] if f["name"] not in ("size", "ages", "info")]
        raw["fields"] = [
            {k: v for k, v in f.items() if k != "relevant" or "member_age" in v}
            for f in raw["fields"]
        ]
        for f in raw["fields"]:
            if f["name"] == "rooms":
                f.pop("relevant", None)
    else:
        next(f for f in raw["fields"] if f["type"] == "repeat")["max_count"] = max_count
    return validate(raw, "bench.yaml")


ANSWERS = {
    "contact": "Amal",
    "members": "3",
    "member_name-1": "Omar",
    "member_age-1": "41",
    "relation-1": "partner",
    "member_name-2": "Lina",
    "member_age-2": "9",
    "relation-2": "child",
    "school-2": "yes",
    "member_name-3": "Yusuf",
    "member_age-3": "4",
    "relation-3": "child",
    "rooms": "3",
}
FLAT = {"contact": "Amal", "member_name": "Omar", "member_age": "41", "relation": "partner"}


def hidden(html: str, name: str) -> str:
    found = re.search(rf'name="{name}"[^>]*value="([^"]*)"', html) or re.search(
        rf'value="([^"]*)"[^>]*name="{name}"', html
    )
    return found.group(1) if found else ""


def measure(app, slug: str, answers: dict, repeat: int) -> tuple[int, float, float]:
    """(page bytes, median GET s, median POST s) of `repeat` sends of `answers`."""
    client = app.test_client()
    url = f"/f/{slug}?district=mainz-bingen&lang=de"
    gets, posts, size = [], [], 0
    for _ in range(repeat):
        started = time.perf_counter()
        page = client.get(url)
        gets.append(time.perf_counter() - started)
        html = page.get_data(as_text=True)
        size = len(page.get_data())
        data = {n: hidden(html, n) for n in ("csrf_token", "idempotency_key", "district", "src")}
        data.update(answers, nav="send")
        started = time.perf_counter()
        sent = client.post(url, data=data)
        posts.append(time.perf_counter() - started)
        assert sent.status_code == 303, sent.get_data(as_text=True)[:500]
    return size, statistics.median(gets), statistics.median(posts)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--counts", default="6,20,50")
    parser.add_argument("--repeat", type=int, default=200)
    args = parser.parse_args()
    counts = [int(c) for c in args.counts.split(",")]
    with tempfile.TemporaryDirectory() as tmp:
        app = create_app(
            {
                "TESTING": True,
                "SECRET_KEY": secrets.token_urlsafe(48),
                "DATABASE_URL": f"sqlite:///{Path(tmp) / 'bench.sqlite3'}",
                "SUBMIT_LIMIT_PER_ADDRESS": "",
            }
        )
        with app.app_context():
            upgrade(directory=app.extensions["migrate"].directory)
            demo.seed()
            for max_count in [None, *counts]:
                import_definition(variant(max_count))
            db.session.commit()
        python = platform.python_version()
        print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {python}")
        measure(app, "bench-flat", FLAT, 20)  # warm up: templates, caches
        base = measure(app, "bench-flat", FLAT, args.repeat)
        print(
            f"baseline (no repeat): page {base[0]:,} bytes, GET {base[1] * 1000:.2f} ms, "
            f"POST {base[2] * 1000:.2f} ms"
        )
        print("| max_count | page bytes | x | GET ms | x | POST ms | x |")
        print("|---:|---:|---:|---:|---:|---:|---:|")
        for max_count in counts:
            slug = f"bench-{max_count}"
            measure(app, slug, ANSWERS, 20)
            size, get, post = measure(app, slug, ANSWERS, args.repeat)
            print(
                f"| {max_count} | {size:,} | {size / base[0]:.1f} | {get * 1000:.2f} | "
                f"{get / base[1]:.1f} | {post * 1000:.2f} | {post / base[2]:.1f} |"
            )


if __name__ == "__main__":
    main()
