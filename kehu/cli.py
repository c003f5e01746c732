"""The ``kehu`` command: serve, migrate, demo, createtenant, createuser, worker, shell,
and any other Django management command passed through."""

from __future__ import annotations

import os
import sys

SHORTCUTS = {
    "worker": "run_huey",
}


def main(argv: list[str] | None = None) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kehu.settings")
    args = list(sys.argv[1:] if argv is None else argv)
    from django.core.management import execute_from_command_line

    if args and args[0] in SHORTCUTS:
        args[0] = SHORTCUTS[args[0]]
    execute_from_command_line(["kehu", *args])


if __name__ == "__main__":
    main()
