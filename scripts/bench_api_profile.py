"""Summarise ``bench_api --profile`` output (``python -m scripts.bench_api_profile DIR``): for each
scenario, the share of the server's samples spent in each frame (inclusive: the frame or anything it
called), the frames with the largest share first, per thread kind (event loop, worker threads)."""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from pathlib import Path


def shares(path: Path, top: int) -> list[tuple[str, float]]:
    """The ``top`` frames by inclusive share of the samples in one py-spy raw (collapsed) file."""
    inclusive: Counter[str] = Counter()
    total = 0
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        n = int(count)
        total += n
        for frame in set(stack.split(";")):
            inclusive[_short(frame)] += n
    if not total:
        return []
    return [(frame, n / total) for frame, n in inclusive.most_common(top)]


def _short(frame: str) -> str:
    # "function (path/to/module.py:123)" -> "function (module.py)": lines differ per call site.
    name, _, where = frame.partition(" (")
    return f"{name} ({where.rsplit('/', 1)[-1].split(':')[0]})" if where else name


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m scripts.bench_api_profile", description=__doc__)
    parser.add_argument("directory", type=Path)
    parser.add_argument("--top", type=int, default=25)
    args = parser.parse_args(argv)
    files = sorted(args.directory.glob("*.txt"))
    if not files:
        print(f"no profiles in {args.directory}", file=sys.stderr)
        return 1
    for path in files:
        print(f"## {path.stem}")
        for frame, share in shares(path, args.top):
            print(f"{100 * share:5.1f} %  {frame}")
        print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
