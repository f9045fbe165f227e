"""``python -m web.cli`` runs ``irpm`` (what the scheduler tests spawn)."""

from . import main

main()
