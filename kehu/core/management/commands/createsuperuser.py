"""Kehu has no cross-tenant superuser: every account belongs to a company."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError


class Command(BaseCommand):
    help = "Not used in Kehu: create a company with `kehu createtenant` (its administrator)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("args", nargs="*")
        parser.add_argument("--noinput", "--no-input", action="store_true")
        parser.add_argument("--email")
        parser.add_argument("--full_name")
        parser.add_argument("--database")

    def handle(self, *args: Any, **options: Any) -> None:
        raise CommandError(
            "Kehu has no superuser across companies. Create a company and its administrator "
            "with `kehu createtenant --company … --admin-name … --email …`, or add a user to "
            "a company with `kehu createuser`."
        )
