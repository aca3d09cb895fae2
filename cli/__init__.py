"""The command-line interface (``passport`` and its command groups)."""
