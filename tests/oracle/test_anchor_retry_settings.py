"""The anchoring worker's longest retry wait comes from ``Settings.anchor_retry_max_s``."""

from __future__ import annotations

from oracle.anchoring import AnchoringPolicy
from passport.settings import Settings


def test_the_policy_takes_its_longest_retry_wait_from_the_settings() -> None:
    assert AnchoringPolicy.from_settings(Settings(anchor_retry_max_s=2)).retry_max_s == 2
    # The default resumes within seconds of the chain's return, not after minutes of backoff.
    assert AnchoringPolicy.from_settings(Settings()).retry_max_s <= 5
    assert AnchoringPolicy.from_settings(Settings(), retry_max_s=30).retry_max_s == 30
