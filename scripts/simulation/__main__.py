"""``python -m scripts.simulation``: the same as ``passport simulate`` (``cli.simulate``).

python -m scripts.simulation [--evs 2500] [--days 365] [--seed 7] [--chain anvil|ganache]
                             [--out DIR] [--naive-sample 200] [--verify-sample 200]
"""

from __future__ import annotations

import logging

import typer

from cli.simulate import simulate_command

if __name__ == "__main__":
    logging.basicConfig(level=logging.WARNING)
    typer.run(simulate_command)
