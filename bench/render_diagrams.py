"""Render every Mermaid diagram of generated/CPG_SCHEMA.md to PNG and report their sizes.

A manual check (CI has no browser): mermaid-cli renders each diagram in a headless Chromium, so
a diagram that does not parse fails here. Set up once, outside the repository:

    mkdir /tmp/mmd && cd /tmp/mmd && PUPPETEER_SKIP_DOWNLOAD=1 npm install @mermaid-js/mermaid-cli
    apt-get install -y chromium

    python bench/render_diagrams.py --mmdc /tmp/mmd/node_modules/.bin/mmdc --out /tmp/diagrams
"""

from __future__ import annotations

import argparse
import json
import re
import struct
import subprocess
import tempfile
from pathlib import Path

PROJECT = Path(__file__).resolve().parent.parent
CATALOG = PROJECT / "generated" / "CPG_SCHEMA.md"
_BLOCK = re.compile(r"^(#+ .*?)$|^```mermaid\n(.*?)^```$", re.DOTALL | re.MULTILINE)


def diagrams(text: str) -> list[tuple[str, str]]:
    """(name, source) of each Mermaid block, named after the heading above it."""
    found = []
    heading = "overview"
    for match in _BLOCK.finditer(text):
        if match.group(1):
            heading = re.sub(r"[^a-z0-9]+", "-", match.group(1).lower()).strip("-")
        else:
            found.append((f"{len(found):02d}-{heading}", match.group(2)))
    return found


def png_size(path: Path) -> tuple[int, int]:
    """Width and height from a PNG's IHDR chunk."""
    width, height = struct.unpack(">II", path.read_bytes()[16:24])
    return width, height


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mmdc", required=True, help="the mermaid-cli executable")
    parser.add_argument("--chromium", default="/usr/bin/chromium")
    parser.add_argument("--out", type=Path, required=True, help="folder for the PNGs")
    parser.add_argument("--catalog", type=Path, default=CATALOG, help="default: %(default)s")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as scratch:
        config = Path(scratch, "puppeteer.json")
        config.write_text(json.dumps({"executablePath": args.chromium, "args": ["--no-sandbox"]}))
        print("| diagram | PNG bytes | width x height |")
        print("|---|---|---|")
        for name, source in diagrams(args.catalog.read_text(encoding="utf-8")):
            mmd = Path(scratch, f"{name}.mmd")
            mmd.write_text(source, encoding="utf-8")
            png = args.out / f"{name}.png"
            subprocess.run(
                [args.mmdc, "-p", str(config), "-i", str(mmd), "-o", str(png), "-b", "white"],
                check=True,
                capture_output=True,
            )
            width, height = png_size(png)
            print(f"| {name} | {png.stat().st_size} | {width} x {height} |")


if __name__ == "__main__":
    main()
