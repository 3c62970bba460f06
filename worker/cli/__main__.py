"""``python -m worker.cli``: the same entry point as the ``tiersync`` console script."""

from worker.cli import main

main()
