"""The gateway's pages load only its own files, and the third-party builds among them are the
pinned ones, each with its licence."""

from __future__ import annotations

import hashlib
import importlib.util
import json
import re
import sys
from pathlib import Path
from typing import Any

import pytest

from graphql_schema.pages import GRAPHIQL, STATIC_DIR, Page

VENDOR = STATIC_DIR / "vendor"


def test_a_page_loads_its_files_from_the_static_folder_in_order_and_runs_no_inline_script() -> None:
    page = Page("A page & more", scripts=("graphiql.js",), styles=("graphiql.css",), body="<p></p>")
    html = page.html("/prefix")
    assert re.findall(r'(?:href|src)="([^"]+)"', html) == [
        "data:,",
        "/prefix/static/graphiql.css",
        "/prefix/static/graphiql.js",
    ]
    assert "<title>A page &amp; more</title>" in html
    assert "<script>" not in html and "<style>" not in html


def test_a_page_naming_a_file_the_gateway_does_not_have_is_refused_at_start_up() -> None:
    with pytest.raises(FileNotFoundError, match=r"vendor/react/react\.development\.js"):
        Page("Broken", scripts=("vendor/react/react.development.js",))


def test_graphiql_loads_react_before_graphiql_before_its_plugin_before_the_page_script() -> None:
    assert [s.split("/")[-1] for s in GRAPHIQL.scripts] == [
        "react.production.min.js",
        "react-dom.production.min.js",
        "graphiql.min.js",
        "index.umd.js",
        "graphiql.js",
    ]


def _vendoring_script() -> Any:
    """``scripts/vendor_graphiql.py``, whose pins the vendored files must match."""
    path = Path(__file__).resolve().parents[3] / "scripts" / "vendor_graphiql.py"
    spec = importlib.util.spec_from_file_location("vendor_graphiql", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the script loads
    spec.loader.exec_module(module)
    return module


def test_the_vendored_files_are_the_pinned_builds_each_with_its_licence() -> None:
    versions = json.loads((VENDOR / "VERSIONS.json").read_text())
    pinned = {p.name: p.version for p in _vendoring_script().PACKAGES}
    assert {name: entry["version"] for name, entry in versions.items()} == pinned
    assert (
        pinned.items()
        >= {
            "react": "18.3.1",
            "react-dom": "18.3.1",
            "graphiql": "4.1.2",
            "@graphiql/plugin-explorer": "4.0.6",
        }.items()
    )
    on_disk = {p.relative_to(VENDOR).as_posix() for p in VENDOR.rglob("*") if p.is_file()}
    recorded = {"VERSIONS.json"}
    for entry in versions.values():
        assert "LICENSE" in entry["files"]
        for name, sha256 in entry["files"].items():
            path = VENDOR / entry["folder"] / name
            assert hashlib.sha256(path.read_bytes()).hexdigest() == sha256, path
            recorded.add(f"{entry['folder']}/{name}")
        for bundled in entry["bundles"]:
            assert f"LICENSE.{bundled}" in entry["files"]
    assert on_disk == recorded  # nothing unrecorded lies beside them


def test_no_file_the_pages_load_names_a_public_cdn() -> None:
    for path in (*GRAPHIQL.scripts, *GRAPHIQL.styles):
        text = (STATIC_DIR / path).read_text(errors="replace")
        for cdn in ("unpkg.com", "jsdelivr.net", "esm.sh", "cdnjs.cloudflare.com"):
            assert cdn not in text, (path, cdn)
