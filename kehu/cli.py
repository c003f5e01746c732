"""The ``kehu`` command: serve, migrate, demo, createtenant, createuser, worker, shell,
and any other Django management command passed through."""

from __future__ import annotations

import os
import sys

# Names that differ from the underlying Django command.
SHORTCUTS = {
    "worker": "run_huey",
}
PRODUCTION_SETTINGS = "kehu.settings"
# Commands whose app only their own settings install (production never loads it).
COMMAND_SETTINGS = {"bench": "kehu.bench.settings"}

KEHU_COMMANDS = [
    ("serve", "Serve the web application with uvicorn [--host 127.0.0.1] [--port 8000] "
              "[--reload]"),
    ("migrate", "Create or update the database tables"),
    ("demo", "Create the demo company 演示集团 with one user per built-in role (once)"),
    ("createtenant", "Create a company and its administrator: --company --admin-name "
                     "--email [--password]"),
    ("createuser", "Create a user: --tenant-email --email --name --unit --role [--password]"),
    ("import", "Import a spreadsheet: customers|contacts|interactions FILE [--map '源列=field'] "
               "[--encoding gbk] [--dry-run] [--as EMAIL] [--duplicates skip|update|create]"),
    ("bench", "Benchmarks: generate --scale S|M|L --seed N; run --scale S|M"),
    ("worker", "Run the background task consumer (Huey)"),
    ("sweep_uploads", "Delete uploaded files no row points at [--grace-hours 6] "
                      "(the worker does it hourly)"),
    ("shell", "Open a Python shell with Kehu loaded"),
    ("check", "Check the configuration; add --deploy before going live"),
]


def usage() -> str:
    width = max(len(name) for name, _ in KEHU_COMMANDS)
    lines = [
        "Usage: kehu <command> [options]",
        "",
        "Kehu commands:",
        *(f"  {name.ljust(width)}  {text}" for name, text in KEHU_COMMANDS),
        "",
        "'kehu <command> --help' describes a command's options. Every Django management",
        "command works too, e.g. 'kehu check --deploy', 'kehu dbshell', 'kehu makemigrations'.",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    args = list(sys.argv[1:] if argv is None else argv)
    configured = os.environ.get("DJANGO_SETTINGS_MODULE", PRODUCTION_SETTINGS)
    if args and args[0] in COMMAND_SETTINGS and configured == PRODUCTION_SETTINGS:
        configured = COMMAND_SETTINGS[args[0]]
    os.environ["DJANGO_SETTINGS_MODULE"] = configured
    from django.core.management import ManagementUtility, execute_from_command_line

    from kehu.env import ConfigError

    try:
        if not args or args == ["help"] or args[0] in ("-h", "--help"):
            print(usage())
            print("\nAll management commands:")
            print(ManagementUtility(["kehu"]).main_help_text(commands_only=True))
            return
        if args[0] in SHORTCUTS:
            args[0] = SHORTCUTS[args[0]]
        execute_from_command_line(["kehu", *args])
    except ConfigError as exc:
        print(f"Configuration error: {exc}", file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    main()
