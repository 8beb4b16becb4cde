"""``python -m pipedsl``."""

from pipedsl.cli import main

main()
