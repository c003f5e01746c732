"""``kehu backup [--to DIR]``: one archive of the database, the documents and a manifest."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from kehu.core import backups, dumps


class Command(BaseCommand):
    help = ("Back up the database and the stored documents into one archive with a "
            "manifest (the field-encryption key is not included: keep it apart).")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--to", metavar="DIR",
                            help="Folder for the archive (default KEHU_BACKUP_DIR, "
                                 "KEHU_DATA_DIR/backups).")
        parser.add_argument("--prune", action="store_true",
                            help="Afterwards delete archives in that folder beyond "
                                 "KEHU_BACKUP_KEEP_DAILY days and KEHU_BACKUP_KEEP_WEEKLY weeks.")

    def handle(self, *args: Any, **options: Any) -> None:
        to = Path(options["to"]).expanduser() if options["to"] else None
        try:
            info = backups.create(to)
        except (backups.BackupError, dumps.DumpError) as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(
            f"Backup written: {info.path} ({info.size} bytes; {info.tables} tables, "
            f"{info.rows} rows, {info.documents} documents).")
        self.stdout.write(
            f"The field-encryption key is NOT in the archive. It is in {info.key_location}: "
            "keep a copy of it apart from the backups; without it the ID numbers in them "
            "cannot be read.")
        if options["prune"]:
            removed = backups.prune(info.path.parent, daily=settings.KEHU_BACKUP_KEEP_DAILY,
                                    weekly=settings.KEHU_BACKUP_KEEP_WEEKLY)
            for path in removed:
                self.stdout.write(f"Removed old backup {path.name}.")
