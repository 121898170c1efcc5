"""PDF summary speed and memory against 1k, 10k and 100k responses.

Run: .venv/bin/python bench/pdf_summary.py [--sizes 1000,10000,100000] [--repeat 3]

For each size a fresh SQLite database in a temporary folder gets the demo forms and
N synthetic responses for one form in one district (Mainz-Bingen, volunteer form),
through the same bulk insert `seed-demo --responses` uses. Then the summary without
appendices (`appendix=none`) is computed in SQL and rendered to PDF, as the
`/admin/reports/<district>/<form>.pdf` route does. The baseline, measured in the same
run, is the same summary of an empty form: the ratio shows what the responses cost on
top of a render of fixed size. Memory is the peak traced by tracemalloc during one
more render (traced apart, so tracing does not slow the timed runs).
Targets (issue #6): under 2 s for 10,000 and under 5 s for 100,000 responses.
"""

from __future__ import annotations

import argparse
import os
import platform
import secrets
import statistics
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from flask_migrate import upgrade  # noqa: E402

from intake import create_app, demo  # noqa: E402
from intake.reports import params as report_params  # noqa: E402
from intake.reports.pdf import render_summary  # noqa: E402
from intake.reports.summary import build_summary  # noqa: E402
from intake.storage.districts import by_slug  # noqa: E402
from intake.storage.forms import published  # noqa: E402


def make_app(folder: Path):
    app = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": secrets.token_urlsafe(48),
            "DATABASE_URL": f"sqlite:///{folder / 'bench.sqlite3'}",
        }
    )
    with app.app_context():
        upgrade(directory=app.extensions["migrate"].directory)
        demo.seed()
    return app


def fill(app, n: int) -> float:
    """Insert n responses to the volunteer form in Mainz-Bingen; seconds taken."""
    started = time.perf_counter()
    with app.app_context():
        demo.synthetic_responses(
            n, seed_value=7, districts=[by_slug("mainz-bingen")], form_slugs=("volunteer",)
        )
    return time.perf_counter() - started


def render(app, trace: bool = False) -> tuple[float, float, int, int]:
    """(seconds for SQL summary, seconds for PDF, peak bytes if traced, responses)."""
    with app.app_context(), app.test_request_context():
        form, _version, definition = published("volunteer")
        params, problems = report_params.parse(None, None, "de", "none", "de")
        assert not problems
        district = by_slug("mainz-bingen")
        t0 = time.perf_counter()
        summary = build_summary(form, definition, [district], params, may_see_personal=False)
        t1 = time.perf_counter()
        if trace:
            tracemalloc.start()
        pdf = render_summary(summary)
        peak = tracemalloc.get_traced_memory()[1] if trace else 0
        if trace:
            tracemalloc.stop()
        t2 = time.perf_counter()
        assert pdf.startswith(b"%PDF")
        return t1 - t0, t2 - t1, peak, summary.total


def timed(app, repeat: int) -> dict:
    """Median times of `repeat` renders (untraced), then one traced render for memory."""
    runs = [render(app) for _ in range(repeat)]
    peak = render(app, trace=True)[2]
    return {
        "sql": statistics.median(r[0] for r in runs),
        "pdf": statistics.median(r[1] for r in runs),
        "total": statistics.median(r[0] + r[1] for r in runs),
        "peak_mb": peak / 1e6,
        "responses": runs[0][3],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,10000,100000")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    machine = platform.processor() or platform.machine()
    print(f"# PDF summary benchmark · {platform.node()} · {machine} · {os.cpu_count()} cores")
    print(f"# Python {platform.python_version()} · {time.strftime('%Y-%m-%d %H:%M')}")
    with tempfile.TemporaryDirectory() as tmp:
        base_app = make_app(Path(tmp))
        started = time.perf_counter()
        render(base_app)  # the first render in a process also loads the fonts
        first = time.perf_counter() - started
        baseline = timed(base_app, args.repeat)
    print(f"first render in a process (fonts loaded): {first:.3f} s")
    print(
        f"baseline (0 responses): {baseline['total']:.3f} s "
        f"(SQL {baseline['sql']:.3f} s, PDF {baseline['pdf']:.3f} s), "
        f"peak {baseline['peak_mb']:.1f} MB"
    )
    print("| responses | insert s | SQL s | PDF s | total s | x baseline | peak MB |")
    print("|---:|---:|---:|---:|---:|---:|---:|")
    for n in sizes:
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp)
            app = make_app(folder)
            inserted = fill(app, n)
            result = timed(app, args.repeat)
        assert result["responses"] == n, result
        print(
            f"| {n:,} | {inserted:.1f} | {result['sql']:.3f} | {result['pdf']:.3f} | "
            f"{result['total']:.3f} | {result['total'] / baseline['total']:.2f} | "
            f"{result['peak_mb']:.1f} |"
        )


if __name__ == "__main__":
    main()
