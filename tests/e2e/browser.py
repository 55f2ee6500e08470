"""Debian's Chromium driven by Playwright for the gateway's pages: where it is, how it starts (as
root in CI), a guard that refuses every request beyond loopback and records what was asked, and
a recorder of the page's Content-Security-Policy violations."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

CHROMIUM = Path("/usr/bin/chromium")

#: Run in the page before its own scripts: every CSP violation lands in ``window.__violations``.
CSP_VIOLATIONS = """
window.__violations = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.__violations.push(`${e.violatedDirective} ${e.blockedURI}`);
});
"""


def chromium() -> Path:
    """Debian's Chromium; in CI (``.ci/run`` installs it) its absence is a failure."""
    if CHROMIUM.exists():
        return CHROMIUM
    if os.environ.get("CI"):
        pytest.fail(f"no Chromium at {CHROMIUM}: .ci/run installs Debian's chromium package")
    pytest.skip(f"no Chromium at {CHROMIUM} (apt-get install chromium); CI installs it")


@contextmanager
def launched(*args: str) -> Iterator[Any]:
    """Chromium, headless, with ``args`` besides those it always needs here."""
    from playwright.sync_api import sync_playwright

    executable = chromium()
    with sync_playwright() as playwright:
        # --no-sandbox: Chromium's sandbox cannot start as root (CI runs as root)
        browser = playwright.chromium.launch(
            executable_path=str(executable), args=["--no-sandbox", "--disable-gpu", *args]
        )
        try:
            yield browser
        finally:
            browser.close()


@dataclass
class Loopback:
    """Installed on a browser context: lets requests to 127.0.0.1 through and refuses the rest
    as if the network were down, remembering both."""

    requested: list[str] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)
    posted: list[str] = field(default_factory=list)  # the bodies of POST requests let through

    def install(self, context: Any) -> None:
        context.route("**/*", self._route)

    def _route(self, route: Any) -> None:
        request = route.request
        self.requested.append(request.url)
        if urlsplit(request.url).hostname != "127.0.0.1":
            self.refused.append(request.url)
            route.abort("internetdisconnected")
            return
        if request.method == "POST":
            self.posted.append(request.post_data or "")
        route.continue_()
