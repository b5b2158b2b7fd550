"""Browser tests: Debian's chromium driven by sync Playwright against pytest-django's live_server.

Playwright's own browser download does not work here, so the tests use /usr/bin/chromium. Without it they
skip, except under CI (the CI variable set), where a missing browser fails: CI must never skip silently.
"""

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, sync_playwright

# Sync Playwright keeps an asyncio loop running in the test thread; Django refuses ORM calls from a thread
# with a running loop unless told it is safe. Here it is: the ORM calls are ordinary blocking ones.
os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
]
VIEWPORT = {"width": 1280, "height": 800}


@pytest.fixture(scope="session")
def chromium_path() -> str:
    if not (CHROMIUM.is_file() and os.access(CHROMIUM, os.X_OK)):
        reason = (
            f"{CHROMIUM} is missing: install Debian's chromium (apt-get install chromium) to run e2e tests."
        )
        if os.environ.get("CI"):
            pytest.fail(f"CI is set, so e2e tests must not skip: {reason}")
        pytest.skip(reason)
    return str(CHROMIUM)


@pytest.fixture
def page_errors() -> list[str]:
    """Uncaught JavaScript errors, HTTP error answers, Content-Security-Policy violations and dialogs
    (alert, confirm: the app opens none, so one means injected script ran) seen by `page`; a test asserts
    it is empty."""
    return []


# Reports each violation of the page's Content-Security-Policy (an inline script or style, or eval, the
# policy blocked). Playwright adds it outside the page, so the policy does not block the reporter itself.
CSP_REPORTER = """
document.addEventListener("securitypolicyviolation", (event) => {
  const where = `${event.sourceFile}:${event.lineNumber}`;
  window.reportCspViolation(`${event.effectiveDirective} blocked ${event.blockedURI || "inline"} at ${where}`);
});
"""


@pytest.fixture
def page(chromium_path: str, page_errors: list[str]) -> Iterator[Page]:
    """A fresh 1280x800 page in a fresh headless chromium."""
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_path, args=CHROMIUM_ARGS)
        context = browser.new_context(viewport=VIEWPORT)
        context.set_default_timeout(10_000)
        context.expose_function("reportCspViolation", lambda text: page_errors.append(f"CSP: {text}"))
        context.add_init_script(CSP_REPORTER)
        page = context.new_page()
        page.on("pageerror", lambda exc: page_errors.append(f"uncaught: {exc}"))
        page.on("dialog", lambda dialog: (page_errors.append(f"dialog: {dialog.message}"), dialog.dismiss()))
        # The app ships no favicon; chromium asks for one anyway. Any other 4xx/5xx answer is an error.
        page.on(
            "response",
            lambda r: (
                r.status >= 400
                and not r.url.endswith("/favicon.ico")
                and page_errors.append(f"HTTP {r.status}: {r.request.method} {r.url}")
            ),
        )
        try:
            yield page
        finally:
            context.close()
            browser.close()
