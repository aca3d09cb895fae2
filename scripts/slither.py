"""Run slither on ``contracts/``: write the build-info it reads, then analyse (``make slither``).

Hardhat is not installed; crytic-compile reads a Hardhat-format build-info written from the project's
own solc-js compile (``devtools.compiler.write_build_info``), so slither sees exactly the bytecode and
ASTs we ship. Options (and the reason for each exclusion) live in ``slither.config.json``. Exits with
slither's status: non-zero on any High or Medium finding (``fail_on``). ``--json FILE`` keeps the report.
"""

from __future__ import annotations

import argparse
import logging
import shutil
import subprocess
import sys
from pathlib import Path

from devtools.compiler import PROJECT_ROOT, write_build_info
from passport.errors import PassportError

ARTIFACTS_DIR = PROJECT_ROOT / ".build" / "slither" / "artifacts"  # as in slither.config.json


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", type=Path, help="also write slither's JSON report here")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    try:
        write_build_info(ARTIFACTS_DIR)
    except PassportError as exc:
        print(exc, file=sys.stderr)
        return 1
    slither = shutil.which("slither", path=str(Path(sys.executable).parent)) or shutil.which("slither")
    if slither is None:
        print("slither is not installed (it is a dev dependency: `uv sync`)", file=sys.stderr)
        return 1
    command = [slither, ".", "--config-file", "slither.config.json"]
    if args.json is not None:
        args.json.unlink(missing_ok=True)  # slither refuses to overwrite a report
        command += ["--json", str(args.json.resolve())]
    return subprocess.run(command, cwd=PROJECT_ROOT, check=False).returncode


if __name__ == "__main__":
    sys.exit(main())
