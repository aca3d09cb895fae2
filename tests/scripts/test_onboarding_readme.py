"""The README's onboarding block, run as written against a fresh ``make run`` stack.

The issue's bar: on a fresh clone, ``make run`` and then only documented calls onboard a business and an
inspector. So the block is taken from README.md verbatim (only the API port and the ``uv run``
launcher are pointed at this test's stack and virtualenv) and run with ``bash -euo pipefail``; ``-f`` on
every curl makes any 4xx/5xx fail it.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.scripts.test_run_stack import StackProcess, _stack_env

ROOT = Path(__file__).resolve().parents[2]


def onboarding_block() -> str:
    readme = (ROOT / "README.md").read_text()
    section = readme[readme.index("## Onboarding") :]
    start = section.index("```bash\n") + len("```bash\n")
    return section[start : section.index("```\n", start)]


def test_the_readme_block_is_found_and_uses_only_documented_calls() -> None:
    block = onboarding_block()
    assert "passport admin bootstrap" in block
    assert "sqlite" not in block.lower()  # no file is touched by hand


@pytest.mark.node
@pytest.mark.slow
def test_make_run_then_the_readme_onboards_a_business_and_an_inspector(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    env, api_url = _stack_env(tmp_path, monkeypatch, "anvil")
    stack = StackProcess(env, api_url)
    try:
        stack.wait_ready()
        passport = Path(sys.executable).with_name("passport")
        script = (
            onboarding_block()
            .replace("http://127.0.0.1:8000", api_url)
            .replace("uv run passport", str(passport))
        )
        result = subprocess.run(
            ["bash", "-euo", "pipefail", "-c", script],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        assert result.returncode == 0, result.stdout + result.stderr
        assert '"status":"verified"' in result.stdout
        assert '"on_chain_role":"INSPECTOR_ROLE"' in result.stdout
        directory = httpx.get(f"{api_url}/api/v1/businesses", params={"kind": "RECYCLER"}).json()
        assert [b["name"] for b in directory["items"]] == ["Busan Battery Recycling Co."]
        page_url = result.stdout.rsplit("page: ", 1)[1].strip()
        page = httpx.get(page_url)
        assert page.status_code == 200
        assert "Busan Battery Recycling Co." in page.text
        kotsa = json.loads(
            subprocess.run(
                [str(passport), "admin", "participant", "show", "kotsa", "--json"],
                env=env,
                capture_output=True,
                text=True,
                check=True,
            ).stdout
        )
        assert kotsa["roles"] == ["inspector"]
        assert len(kotsa["keys"]) == 1
    finally:
        assert stack.terminate() == 0, stack.output
