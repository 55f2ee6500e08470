"""Web pages served by the gateway, from its own files only.

A page is an HTML shell that loads scripts and style sheets from ``static/`` (the gateway's own
files, third-party builds included, under ``static/vendor/``), served under a
Content-Security-Policy that lets the browser load nothing from elsewhere and run no inline
script: the pages work without internet, and an injected script has nowhere to come from or to
send to. GraphiQL is one such page; the door page for venue staff is another.
"""

from __future__ import annotations

from dataclasses import dataclass
from html import escape
from pathlib import Path

from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.routing import Mount
from starlette.staticfiles import StaticFiles

STATIC_DIR = Path(__file__).parent / "static"
STATIC_PATH = "/static"

#: Everything from the gateway itself; images and fonts also as ``data:`` URLs (GraphiQL's style
#: sheet embeds its fonts and icons); no inline script, no plugin, no framing by other sites.
CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "font-src 'self' data:",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    )
)

SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Opener-Policy": "same-origin",
}


@dataclass(frozen=True)
class Page:
    """A page: its title, its scripts and style sheets (paths under ``static/``, loaded in this
    order), and the HTML of its body, into which the scripts render."""

    title: str
    scripts: tuple[str, ...]
    styles: tuple[str, ...] = ()
    body: str = ""

    def __post_init__(self) -> None:
        for path in (*self.scripts, *self.styles):
            if not (STATIC_DIR / path).is_file():
                raise FileNotFoundError(f"{path} is not among the gateway's static files")

    def html(self, root_path: str = "") -> str:
        base = f"{root_path}{STATIC_PATH}"
        styles = "".join(
            f'\n    <link rel="stylesheet" href="{escape(f"{base}/{s}")}">' for s in self.styles
        )
        scripts = "".join(
            f'\n    <script src="{escape(f"{base}/{s}")}" defer></script>' for s in self.scripts
        )
        return f"""<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8">
    <meta name="viewport" content="width=device-width, initial-scale=1">
    <title>{escape(self.title)}</title>
    <link rel="icon" href="data:,">{styles}{scripts}
  </head>
  <body>
    {self.body}
  </body>
</html>
"""

    def response(self, request: Request) -> HTMLResponse:
        return HTMLResponse(self.html(request.scope.get("root_path", "")), headers=SECURITY_HEADERS)


def static_files() -> Mount:
    """The gateway's own files, at ``/static``."""
    return Mount(STATIC_PATH, app=StaticFiles(directory=STATIC_DIR), name="static")


GRAPHIQL = Page(
    title="Loyalty platform · GraphiQL",
    scripts=(
        "vendor/react/react.production.min.js",
        "vendor/react-dom/react-dom.production.min.js",
        "vendor/graphiql/graphiql.min.js",
        "vendor/graphiql-plugin-explorer/index.umd.js",
        "graphiql.js",
    ),
    styles=(
        "vendor/graphiql/graphiql.min.css",
        "vendor/graphiql-plugin-explorer/style.css",
        "graphiql.css",
    ),
    body='<div id="graphiql">Loading GraphiQL…</div>',
)
