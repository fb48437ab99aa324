"""``python -m quizsession.entrypoints.cli``: the same commands as ``quizsession``."""

from quizsession.entrypoints.cli import main

main()
