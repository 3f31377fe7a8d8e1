"""``python -m wise_al`` runs the CLI."""

from wise_al.cli import main

main()
