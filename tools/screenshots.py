#!/usr/bin/env python3
"""Refresh the README's screenshots (docs/screenshots/*.png) from the browser tests.

    python tools/screenshots.py          # run tests/test_browser.py, then copy what it took
    python tools/screenshots.py --copy   # only copy tests/artifacts/screenshots/ as it is

The browser tests write a screenshot of every page they check to tests/artifacts/screenshots/
(not tracked), so a test run never rewrites tracked files; this script is the one step that does,
on purpose, when the pages have changed.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TAKEN = ROOT / "tests" / "artifacts" / "screenshots"
DOCS = ROOT / "docs" / "screenshots"
PAGES = ("home", "work", "work-translation", "manifestation", "agent", "error", "query")  # the ones the README shows


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--copy", action="store_true", help="copy the screenshots already taken; run no tests")
    args = p.parse_args(argv)
    if not args.copy:
        run = subprocess.run([sys.executable, "-m", "pytest", "-q", "-o", "addopts=", "-p", "no:cacheprovider",
                              "tests/test_browser.py"], cwd=ROOT)
        if run.returncode != 0:
            sys.stderr.write("the browser tests failed: screenshots not copied\n")
            return run.returncode
    missing = [name for name in PAGES if not (TAKEN / f"{name}.png").is_file()]
    if missing:
        sys.stderr.write(f"no screenshot of {', '.join(missing)} in {TAKEN.relative_to(ROOT)} "
                         f"(were the browser tests skipped?)\n")
        return 1
    DOCS.mkdir(parents=True, exist_ok=True)
    for name in PAGES:
        shutil.copyfile(TAKEN / f"{name}.png", DOCS / f"{name}.png")
        print(f"{(DOCS / f'{name}.png').relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
