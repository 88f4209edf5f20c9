"""`python -m shouldtune.cli` runs the command line."""

from .main import main

main()
