"""``kehu sweep_uploads``: delete uploaded files no row points at (the worker does it
hourly)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from kehu.core import uploads


class Command(BaseCommand):
    help = (
        "Delete files under the upload folders (documents, imports) that no row points at "
        "and that are older than the grace period: what a crash between writing a file and "
        "committing its row leaves behind. The worker runs it every hour."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--grace-hours", type=float, default=uploads.SWEEP_GRACE.total_seconds() / 3600,
            help="Keep files younger than this many hours (default 6): their row may still "
                 "be on its way.")

    def handle(self, *args: Any, **options: Any) -> None:
        grace = timedelta(hours=max(0.0, options["grace_hours"]))
        deleted = uploads.sweep(grace)
        total = sum(deleted.values())
        details = ", ".join(f"{key}: {n}" for key, n in sorted(deleted.items()))
        self.stdout.write(f"Deleted {total} orphaned file(s){f' ({details})' if details else ''}.")
