"""`python -m reconciler` runs the `meetings` command line (useful where scripts are not on PATH)."""

from reconciler.cli import main

main()
