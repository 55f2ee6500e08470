"""GraphiQL works with the network off: headless Chromium (Debian's package) loads ``/graphql``
from ``loyalty serve`` with every request beyond loopback refused, runs the README's first
query through GraphiQL's editor and Run button, and shows the API's answer; no request left
loopback and the page's Content-Security-Policy reported no violation."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from browser import CSP_VIOLATIONS, Loopback, launched
from readme import examples
from served import Served

pytestmark = pytest.mark.e2e

RESULT = "document.querySelector('.graphiql-response .CodeMirror').CodeMirror.getValue()"


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with launched() as started:
        yield started


def answer_shown(page: Any, timeout: float = 30) -> str:
    """The text of GraphiQL's response pane once an answer is there. (Polled from here: the
    page's policy forbids the string evaluation that Playwright's own waiting would use.)"""
    deadline = time.monotonic() + timeout
    while True:
        shown = str(page.evaluate(RESULT))
        if '"data"' in shown or '"errors"' in shown:
            return shown
        if time.monotonic() > deadline:
            pytest.fail(f"GraphiQL showed no answer: {shown!r}")
        page.wait_for_timeout(100)


def test_graphiql_runs_the_readmes_first_query_with_the_network_off(
    browser: Any, newcomer: Served
) -> None:
    first = examples()[0]
    assert first.variables == {} and first.headers == {}  # the first example stands alone
    expected = httpx.post(f"{newcomer.url}/graphql", json={"query": first.query}, timeout=10)
    assert expected.status_code == 200 and "errors" not in expected.json()

    context = browser.new_context()
    loopback = Loopback()
    loopback.install(context)
    page = context.new_page()
    console: list[str] = []
    page.on("console", lambda message: console.append(f"{message.type}: {message.text}"))
    page.on("pageerror", lambda error: console.append(f"pageerror: {error}"))
    page.add_init_script(CSP_VIOLATIONS)
    try:
        response = page.goto(f"{newcomer.url}/graphql")
        assert response is not None and response.status == 200
        assert "default-src 'self'" in response.headers["content-security-policy"]

        editor = page.locator(".graphiql-query-editor .CodeMirror")
        editor.click(timeout=30_000)
        page.keyboard.press("Control+A")
        page.keyboard.insert_text(first.query)
        page.locator(".graphiql-execute-button").click()
        shown = json.loads(answer_shown(page))
        violations = page.evaluate("window.__violations")
    finally:
        context.close()

    assert shown == expected.json()
    assert loopback.refused == []
    assert {urlsplit(url).netloc for url in loopback.requested} == {urlsplit(newcomer.url).netloc}
    assert any(
        urlsplit(url).path == "/static/vendor/graphiql/graphiql.min.js"
        for url in loopback.requested
    )
    assert violations == []
    assert [line for line in console if "error" in line.lower()] == []


def test_the_graphiql_page_names_nothing_beyond_the_gateway(newcomer: Served) -> None:
    page = httpx.get(f"{newcomer.url}/graphql", headers={"accept": "text/html"}, timeout=10)
    assert page.status_code == 200
    assert page.headers["content-type"] == "text/html; charset=utf-8"
    assert page.headers["content-security-policy"] == (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "font-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; "
        "form-action 'self'; frame-ancestors 'none'"
    )
    assert "http://" not in page.text and "https://" not in page.text
    assert "<script>" not in page.text  # scripts are files, never inline
