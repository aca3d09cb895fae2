"""Recompile ``contracts/`` and write the committed artifacts under ``passport/_artifacts``.

Run as ``python -m scripts.compile_contracts`` (``make artifacts``); ``--check`` exits 1 if the committed
artifacts differ from a fresh build instead of writing them.
"""

from __future__ import annotations

import argparse
import logging
import sys

from devtools.compiler import ARTIFACT_CONTRACTS, compile_contracts
from passport.chain.artifacts import ARTIFACTS_DIR, artifact_text
from passport.errors import PassportError


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="compare with the committed artifacts only")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    try:
        compiled = compile_contracts()
    except PassportError as exc:
        print(exc, file=sys.stderr)
        return 1
    stale = []
    for name in ARTIFACT_CONTRACTS:
        path = ARTIFACTS_DIR / f"{name}.json"
        text = artifact_text(compiled[name].as_artifact())
        if args.check:
            if not path.is_file() or path.read_text(encoding="utf-8") != text:
                stale.append(path)
        else:
            path.write_text(text, encoding="utf-8")
            print(f"wrote {path}")
    for path in stale:
        print(f"{path} is out of date: run `make artifacts`", file=sys.stderr)
    return 1 if stale else 0


if __name__ == "__main__":
    sys.exit(main())
