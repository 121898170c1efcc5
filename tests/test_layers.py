"""The lower layers on their own: a period's edges, the one scoped response filter,
sealing of sensitive answers, background lanes (which way the imports go:
tests/test_architecture.py)."""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime

import pytest
import sqlalchemy as sa
from flask import current_app

from intake import background, scope
from intake.extensions import db
from intake.period import Period
from intake.reports.params import ReportParams
from intake.storage import sealing
from intake.storage.districts import by_slug
from intake.storage.models import Answer, Form, Response, User
from intake.storage.responses import answer_values
from tests.conftest import VOLUNTEER_ANSWERS


@pytest.mark.parametrize(
    ("period", "start", "end"),
    [
        (Period(), None, None),
        # Winter (CET, UTC+1) and summer (CEST, UTC+2): local midnight, in UTC.
        (Period(date(2026, 1, 31), None), datetime(2026, 1, 30, 23, tzinfo=UTC), None),
        (Period(None, date(2026, 7, 31)), None, datetime(2026, 7, 31, 22, tzinfo=UTC)),
        # The day the clocks go forward has 23 hours.
        (
            Period(date(2026, 3, 29), date(2026, 3, 29)),
            datetime(2026, 3, 28, 23, tzinfo=UTC),
            datetime(2026, 3, 29, 22, tzinfo=UTC),
        ),
    ],
)
def test_a_period_of_local_dates_has_its_edges_in_utc(period, start, end):
    assert (period.start_utc, period.end_utc) == (start, end)


def test_report_parameters_name_their_period():
    params = ReportParams(date(2026, 3, 1), date(2026, 3, 31), "de", "none")
    assert params.period == Period(date(2026, 3, 1), date(2026, 3, 31))


#: Around the local day 2026-03-29: the last minute before it, its first and last
#: minutes, and the first minute after it (UTC).
MOMENTS = [
    datetime(2026, 3, 28, 22, 59, tzinfo=UTC),
    datetime(2026, 3, 28, 23, 0, tzinfo=UTC),
    datetime(2026, 3, 29, 21, 59, tzinfo=UTC),
    datetime(2026, 3, 29, 22, 0, tzinfo=UTC),
]


@pytest.fixture
def dated_responses(app, submit):
    """Four volunteer responses in Mainz-Bingen, at MOMENTS."""
    for _ in MOMENTS:
        submit("volunteer", VOLUNTEER_ANSWERS)
    with app.app_context():
        rows = db.session.scalars(sa.select(Response).order_by(Response.id)).all()
        for row, moment in zip(rows, MOMENTS, strict=True):
            row.created_at = moment
        db.session.commit()


def _count(*where) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(Response).where(*where))


def test_the_scoped_filter_keeps_districts_form_and_local_days(app, dated_responses):
    day = Period(date(2026, 3, 29), date(2026, 3, 29))
    with app.app_context():
        mainz, other = by_slug("mainz-bingen"), by_slug("bad-kreuznach")
        volunteer = db.session.scalar(sa.select(Form).where(Form.slug == "volunteer"))
        newcomer = db.session.scalar(sa.select(Form).where(Form.slug == "newcomer"))
        assert _count(*scope.responses_where()) == 4
        assert _count(*scope.responses_where([mainz], volunteer, day)) == 2
        assert _count(*scope.responses_where([mainz], period=Period(None, day.date_to))) == 3
        assert _count(*scope.responses_where([mainz], period=Period(day.date_from))) == 3
        assert _count(*scope.responses_where([other], volunteer, day)) == 0
        assert _count(*scope.responses_where([mainz], newcomer, day)) == 0


def test_the_query_of_whole_responses_keeps_to_the_users_districts(
    app, dated_responses, create_user
):
    create_user("mz@example.org", districts=("mainz-bingen",))
    create_user("kh@example.org", districts=("bad-kreuznach",))
    day = Period(date(2026, 3, 29), date(2026, 3, 29))
    with app.app_context():
        mz = db.session.scalar(sa.select(User).where(User.email == "mz@example.org"))
        kh = db.session.scalar(sa.select(User).where(User.email == "kh@example.org"))
        seen = db.session.scalars(scope.responses_query(mz, period=day)).all()
        assert [r.created_at for r in seen] == MOMENTS[1:3]
        # Asking for a district one may not see narrows to nothing, never widens.
        assert db.session.scalars(scope.responses_query(kh, [by_slug("mainz-bingen")])).all() == []


def test_sealed_answers_are_revealed_and_plain_ones_pass(app):
    with app.app_context():
        stored = sealing.seal({"health": ["chronic"], "wish": ["work"]}, ["health"])
        assert stored["wish"] == ["work"]
        assert stored["health"][0].startswith(sealing.PREFIX)
        assert "chronic" not in stored["health"][0]
        assert [sealing.reveal(v) for v in stored["health"]] == ["chronic"]
        assert sealing.reveal("plain text") == "plain text"


def test_readers_get_answers_back_revealed(app, submit):
    submit("volunteer", VOLUNTEER_ANSWERS)
    with app.app_context():
        answer = db.session.scalar(sa.select(Answer).where(Answer.field == "first_name"))
        [answer.value] = sealing.seal({"first_name": [answer.value]}, ["first_name"])["first_name"]
        db.session.commit()
        response = db.session.scalar(sa.select(Response))
        values = answer_values(response)
    assert values["first_name"] == [VOLUNTEER_ANSWERS["first_name"]]
    assert values["help_areas"] == VOLUNTEER_ANSWERS["help_areas"]


def _where_it_runs() -> tuple[str, str]:
    return threading.current_thread().name, current_app.name


def test_without_a_queue_a_task_runs_in_its_lane_inside_the_app(app):
    lane = background.Lane("test-lane")
    try:
        with app.app_context():
            future = background.submit(_where_it_runs, lane=lane)
        thread, app_name = future.result(10)
        lane.wait_idle(10)
    finally:
        lane.shutdown()
    assert thread.startswith("test-lane")
    assert app_name == app.name
