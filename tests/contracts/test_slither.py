"""slither on contracts/ (as `make lint` runs it): no High or Medium finding, and it really analyses."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from devtools.compiler import PROJECT_ROOT


@pytest.mark.node
@pytest.mark.slow
def test_slither_reports_no_high_or_medium_finding(tmp_path: Path) -> None:
    report = tmp_path / "slither.json"
    run = subprocess.run(
        [sys.executable, "-m", "scripts.slither", "--json", str(report)],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert report.is_file(), run.stderr[-3000:]
    result = json.loads(report.read_text())
    assert result["success"], result["error"]
    findings = result["results"].get("detectors", [])
    serious = [
        f"{f['check']} ({f['impact']}): {f['first_markdown_element']}"
        for f in findings
        if f["impact"] in ("High", "Medium")
    ]
    assert serious == [], "\n".join(serious)
    assert run.returncode == 0, run.stderr[-3000:]
    # It analysed our contracts (an empty build-info would also give "no findings").
    analysed = re.search(r"analyzed \((\d+) contracts", run.stderr)
    assert analysed is not None, run.stderr[-3000:]
    assert int(analysed[1]) > 0, run.stderr[-3000:]
