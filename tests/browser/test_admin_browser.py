"""A coordinator logs in and downloads the PDF summary of their district in a real browser."""

from __future__ import annotations

import io
import unicodedata

from pypdf import PdfReader

from tests.browser.pages import admin_login
from tests.browser.test_accessibility import violations
from tests.conftest import PASSWORD, VOLUNTEER_ANSWERS


def test_coordinator_downloads_district_pdf(
    app, client, submit, create_user, live_server, browser, screenshots
):
    submit("volunteer", dict(VOLUNTEER_ANSWERS, experience="Ich helfe gern in Bingen."))
    create_user("mz@example.org", districts=("mainz-bingen",))
    context = browser.new_context(viewport={"width": 1024, "height": 768}, locale="de-DE")
    page = context.new_page()
    admin_login(page, live_server, "mz@example.org", PASSWORD)
    assert page.locator("h1").inner_text() == "Übersicht"
    page.screenshot(path=screenshots / "admin-dashboard-de.png", full_page=True)

    with page.expect_download() as download:
        page.get_by_role("link", name="PDF-Zusammenfassung Landkreis Mainz-Bingen").last.click()
    pdf = download.value.path().read_bytes()
    reader = PdfReader(io.BytesIO(pdf))
    text = unicodedata.normalize("NFKC", "\n".join(p.extract_text() for p in reader.pages))
    assert "Ich helfe gern in Bingen." in text
    assert download.value.suggested_filename.startswith("intake-mainz-bingen-volunteer-")
    context.close()


def test_background_summary_shows_progress_then_the_download(
    app, submit, create_user, live_server, browser, screenshots
):
    app.config["PDF_INLINE_MAX_ROWS"] = 0  # every summary with an appendix goes to a job
    submit("volunteer", dict(VOLUNTEER_ANSWERS, experience="Hintergrund im Browser"))
    create_user("mz@example.org", districts=("mainz-bingen",))
    context = browser.new_context(viewport={"width": 1024, "height": 768}, locale="de-DE")
    page = context.new_page()
    admin_login(page, live_server, "mz@example.org", PASSWORD)
    page.goto(f"{live_server}/admin/reports/mainz-bingen/volunteer.pdf?appendix=text")
    assert "/admin/jobs/" in page.url
    link = page.get_by_role("link", name="PDF herunterladen")
    link.wait_for(timeout=30_000)  # the page follows the job by itself
    page.screenshot(path=screenshots / "admin-report-job-de.png", full_page=True)
    assert violations(page) == []
    with page.expect_download() as download:
        link.click()
    pdf = download.value.path().read_bytes()
    reader = PdfReader(io.BytesIO(pdf))
    text = unicodedata.normalize("NFKC", "\n".join(p.extract_text() for p in reader.pages))
    assert "Hintergrund im Browser" in text
    context.close()
