"""python -m graphstore.browser [DIR]: rewrite the packaged guide, or write all three files into DIR."""
from __future__ import annotations

import sys
from pathlib import Path

from graphstore.browser import GUIDE_PATH, guide_html, write_assets


def main(argv: list[str]) -> int:
    if len(argv) > 1 or (argv and argv[0].startswith("-")):
        print("usage: python -m graphstore.browser [DIR]", file=sys.stderr)
        return 2
    if argv:
        for path in write_assets(Path(argv[0])).values():
            print(path)
        return 0
    text = guide_html()
    changed = not GUIDE_PATH.exists() or GUIDE_PATH.read_text() != text
    if changed:
        GUIDE_PATH.write_text(text)
    print(f"{GUIDE_PATH}: {'updated' if changed else 'up to date'}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
