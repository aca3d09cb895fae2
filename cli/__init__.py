"""The ``passport`` command line: one module per command group, mirroring ``api/routes/``.

``cli.main`` builds the root Typer ``app`` and registers each group; ``cli.output`` holds the exit codes,
JSON/table output and the translation of project errors into a message and an exit code;
``cli.session`` builds the settings once per invocation and opens the ledger through
``passport.ledger.open_ledger``. Nothing in ``passport``, ``oracle`` or ``api`` imports this package.
"""
