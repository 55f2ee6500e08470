"""Refresh the third-party files of the gateway's pages (GraphiQL, and the door page's QR decoder)
from the npm registry, at the versions pinned below: ``uv run python scripts/vendor_graphiql.py``
(needs ``npm`` and the registry).

The gateway serves these files itself, so its pages work without internet. Each package's
build and licence go to ``graphql_schema/static/vendor/<package>/``; ``VERSIONS.json`` there
records every version, the registry's integrity hash of each tarball and the SHA-256 of each
file written (a test checks the files against it). To move to another version, change the pins
and run the script again.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import subprocess
import tarfile
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
VENDOR = ROOT / "graphql_schema" / "static" / "vendor"


@dataclass(frozen=True)
class Package:
    name: str
    version: str
    folder: str
    files: dict[str, str]  # path in the tarball -> file name in the folder
    licence_from: str | None = None  # a package of the same repository, whose licence applies
    bundles: tuple[tuple[str, str], ...] = field(default=())  # packages compiled into the build


# React 18 is the last React with browser (UMD) builds; GraphiQL 4 is the last with one, and the
# explorer plugin 4 is the one made for it. (GraphiQL 5 ships ES modules and Monaco workers.)
PACKAGES = (
    Package(
        "react",
        "18.3.1",
        "react",
        {"package/umd/react.production.min.js": "react.production.min.js"},
    ),
    Package(
        "react-dom",
        "18.3.1",
        "react-dom",
        {"package/umd/react-dom.production.min.js": "react-dom.production.min.js"},
    ),
    Package(
        "graphiql",
        "4.1.2",
        "graphiql",
        {
            "package/graphiql.min.js": "graphiql.min.js",
            "package/graphiql.min.css": "graphiql.min.css",
        },
    ),
    Package(
        "@graphiql/plugin-explorer",
        "4.0.6",
        "graphiql-plugin-explorer",
        {"package/dist/index.umd.js": "index.umd.js", "package/dist/style.css": "style.css"},
        licence_from="graphiql",  # its tarball has no licence file; graphql/graphiql is MIT
        bundles=(("graphiql-explorer", "0.9.0"),),
    ),
    # The door page reads QR codes from the camera with the browser's BarcodeDetector where
    # there is one, and with this decoder elsewhere (Safari on iPhones, desktop browsers).
    Package("jsqr", "1.4.0", "jsqr", {"package/dist/jsQR.js": "jsQR.js"}),
)


def npm_pack(spec: str, into: Path) -> tuple[Path, str]:
    """Download one package's tarball with ``npm pack``; its path and the registry's integrity."""
    npm = shutil.which("npm")
    if npm is None:
        raise SystemExit("npm is needed to fetch the packages from the registry")
    out = subprocess.run(  # noqa: S603 - the pinned specs above, no shell
        [npm, "pack", spec, "--json", "--pack-destination", str(into)],
        check=True,
        capture_output=True,
        text=True,
    )
    [packed] = json.loads(out.stdout)
    return into / packed["filename"], packed["integrity"]


def read(tarball: Path, member: str) -> bytes:
    with tarfile.open(tarball) as tar:
        extracted = tar.extractfile(member)
        if extracted is None:
            raise FileNotFoundError(f"{member} in {tarball.name}")
        return extracted.read()


def licence(tarball: Path) -> bytes:
    with tarfile.open(tarball) as tar:
        names = [
            n for n in tar.getnames() if n.lower() in ("package/license", "package/license.md")
        ]
    if not names:
        raise FileNotFoundError(f"no licence in {tarball.name}")
    return read(tarball, names[0])


def refresh(vendor: Path) -> dict[str, object]:
    record: dict[str, object] = {}
    with tempfile.TemporaryDirectory() as tmp:
        packed = {p.name: npm_pack(f"{p.name}@{p.version}", Path(tmp)) for p in PACKAGES}
        if vendor.exists():
            shutil.rmtree(vendor)
        for package in PACKAGES:
            folder = vendor / package.folder
            folder.mkdir(parents=True)
            tarball, integrity = packed[package.name]
            contents = {name: read(tarball, member) for member, name in package.files.items()}
            contents["LICENSE"] = licence(packed[package.licence_from or package.name][0])
            for bundled, version in package.bundles:
                bundled_tarball, _ = npm_pack(f"{bundled}@{version}", Path(tmp))
                contents[f"LICENSE.{bundled}"] = licence(bundled_tarball)
            for name, data in contents.items():
                (folder / name).write_bytes(data)
            record[package.name] = {
                "version": package.version,
                "integrity": integrity,
                "folder": package.folder,
                "bundles": {name: version for name, version in package.bundles},
                "files": {
                    name: hashlib.sha256(data).hexdigest()
                    for name, data in sorted(contents.items())
                },
            }
    (vendor / "VERSIONS.json").write_text(json.dumps(record, indent=2) + "\n")
    return record


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--into", type=Path, default=VENDOR, help="where to write the files")
    args = parser.parse_args()
    for name, entry in refresh(args.into).items():
        print(f"{name}@{entry['version']}")  # type: ignore[index]


if __name__ == "__main__":
    main()
