"""Page objects: what a respondent sees and does, in words of the page."""

from __future__ import annotations

from playwright.sync_api import Page


class FormPage:
    """A public form page."""

    def __init__(self, page: Page, base_url: str):
        self.page = page
        self.base_url = base_url

    def open(self, slug: str, **query: str) -> FormPage:
        params = "&".join(f"{k}={v}" for k, v in query.items())
        self.page.goto(f"{self.base_url}/f/{slug}?{params}")
        return self

    @property
    def lang(self) -> str | None:
        return self.page.get_attribute("html", "lang")

    @property
    def dir(self) -> str | None:
        return self.page.get_attribute("html", "dir")

    def type(self, label: str, text: str) -> None:
        self.page.get_by_label(label, exact=True).fill(text)

    def choose(self, option: str, question: str | None = None) -> None:
        """Tick a radio button or checkbox by its visible label (within a question)."""
        scope = self.page.get_by_role("group", name=question) if question else self.page
        scope.get_by_label(option, exact=True).check()

    def select(self, label: str, option: str) -> None:
        self.page.get_by_label(label, exact=True).select_option(label=option)

    def send(self, button: str) -> None:
        self.page.get_by_role("button", name=button).click()

    @property
    def reference(self) -> str:
        return self.page.locator(".reference bdi").inner_text()

    @property
    def error_summary(self) -> str:
        return self.page.locator(".error-summary").inner_text()


def admin_login(page: Page, base_url: str, email: str, password: str) -> None:
    """Log in to the back office in German, as a coordinator would."""
    page.goto(f"{base_url}/admin/login?lang=de")
    page.get_by_label("E-Mail").fill(email)
    page.get_by_label("Passwort").fill(password)
    page.get_by_role("button", name="Anmelden").click()
