"""What the operational scripts share: how they log to the terminal."""

from __future__ import annotations

import logging


def configure_logging(verbose: bool = False) -> None:
    """INFO lines from our packages on stderr; httpx's one-line-per-request INFO only with ``verbose``."""
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO, format="%(levelname)s %(name)s: %(message)s"
    )
    if not verbose:
        # Readiness polls and balance checks would otherwise bury the lines that matter.
        logging.getLogger("httpx").setLevel(logging.WARNING)
        logging.getLogger("web3").setLevel(logging.WARNING)
