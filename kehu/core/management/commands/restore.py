"""``kehu restore ARCHIVE [--force]``: an installation back from a ``kehu backup`` archive."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from kehu.core import backups, dumps


class Command(BaseCommand):
    help = ("Restore a `kehu backup` archive into an empty installation: checks every "
            "checksum, loads the database and documents, then migrates forward.")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("archive", help="The kehu-backup-….tar.gz file.")
        parser.add_argument("--force", action="store_true",
                            help="Replace an installation that already holds data.")
        parser.add_argument("--check", action="store_true",
                            help="Only verify the archive's checksums; change nothing.")

    def handle(self, *args: Any, **options: Any) -> None:
        archive = Path(options["archive"]).expanduser()
        try:
            if options["check"]:
                manifest = backups.verify(archive)
                self.stdout.write(f"{archive} is intact ({len(manifest['members'])} members, "
                                  f"made {manifest.get('created_at')}).")
                return
            info = backups.restore(archive, force=options["force"])
        except (backups.BackupError, dumps.DumpError) as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(
            f"Restored the backup of {info.created_at} (Kehu {info.kehu_version}): "
            f"{info.tables} tables, {info.rows} rows, {info.documents} documents; every "
            "checksum matched.")
        if info.migrated:
            self.stdout.write(f"Migrated forward: {', '.join(info.migrated)}.")
