"""``kehu import customers|contacts|interactions FILE``: the spreadsheet import, from the
command line.

The same engine as the wizard and the API (kehu.customers.services.imports): the file is
stored, its columns mapped (automatically, then ``--map`` overrides), checked, and unless
``--dry-run`` imported in one transaction, in this process (no worker needed). The
report printed is the one the UI shows. Exit status 1 when the file is unreadable or no
row could be imported.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from kehu.core.management.base import call_service
from kehu.core.models import User
from kehu.customers.importing import report as import_reports
from kehu.customers.importing.mapping import entity_choices
from kehu.customers.models import ImportJob
from kehu.customers.services import imports as import_services


def acting_user(email: str | None) -> User:
    """``--as`` when given; otherwise the only active tenant administrator there is."""
    users = User.objects.filter(is_active=True, tenant__is_active=True) \
        .select_related("org_unit", "tenant")
    if email:
        user = users.filter(email__iexact=email.strip()).first()
        if user is None:
            raise CommandError(f"No active user with email {email}.")
        return user
    admins = list(users.filter(roles__builtin_key="tenant_admin").distinct()[:2])
    if len(admins) != 1:
        raise CommandError("Say who imports: --as EMAIL (there is not exactly one tenant "
                           "administrator to act for you).")
    return admins[0]


def parse_maps(values: list[str]) -> dict[str, str]:
    mapping: dict[str, str] = {}
    for value in values:
        column, sep, target = value.rpartition("=")
        if not sep or not column.strip():
            raise CommandError(f"--map takes \"column=field\" (got {value!r}); an empty field "
                               "leaves the column out.")
        mapping[column.strip()] = target.strip()
    return mapping


class Command(BaseCommand):
    help = ("Import customers, contacts or interactions from a CSV (UTF-8, UTF-8 with BOM, "
            "GBK/GB18030) or XLSX file; prints the report of accepted and refused rows.")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("entity", choices=[key for key, _label in entity_choices()])
        parser.add_argument("file", type=Path)
        parser.add_argument("--map", action="append", default=[], metavar="COLUMN=FIELD",
                            help="Map a column to a field (repeatable), e.g. --map 源列=phones; "
                                 "--map 备注= leaves the column out.")
        parser.add_argument("--encoding", default="",
                            help="The CSV's encoding when detection guesses wrong (gbk, utf-8…).")
        parser.add_argument("--dry-run", action="store_true",
                            help="Check every row and print the report; write nothing.")
        parser.add_argument("--as", dest="as_user", metavar="EMAIL",
                            help="The user who imports (owner of the new records, checked for "
                                 "permissions). Required when there is more than one tenant "
                                 "administrator.")
        parser.add_argument("--duplicates", choices=import_services.DUPLICATE_ACTIONS,
                            default="skip",
                            help="What to do with rows matching existing records (default "
                                 "skip).")

    def handle(self, *args: Any, **options: Any) -> None:
        path: Path = options["file"]
        if not path.is_file():
            raise CommandError(f"No file at {path}.")
        actor = acting_user(options["as_user"])
        job = call_service(import_services.import_create_from_path, actor=actor,
                           entity=options["entity"], path=path, encoding=options["encoding"])
        overrides = parse_maps(options["map"])
        job = call_service(import_services.import_set_mapping, actor=actor, job_id=job.pk,
                           mapping={**job.mapping, **overrides})
        self.stdout.write("Columns:")
        for header in job.headers:
            self.stdout.write(f"  {header} → {job.mapping.get(header) or '(not imported)'}")
        job = call_service(import_services.import_set_duplicates, actor=actor, job_id=job.pk,
                           default=options["duplicates"])
        job = call_service(import_services.import_check, actor=actor, job_id=job.pk)
        if not options["dry_run"] and job.counts.get("accepted", 0):
            job = call_service(import_services.import_queue, actor=actor, job_id=job.pk)
            job = import_services.run_job(job.pk) or job
        for line in import_reports.summary_lines(job, limit=200):
            self.stdout.write(line)
        self.stdout.write(f"Import #{job.pk}: {job.get_state_display()}.")
        if job.state == ImportJob.State.FAILED:
            raise CommandError(f"The import failed and wrote nothing: {job.error}")
        if not job.counts.get("accepted", 0):
            raise CommandError("No row could be imported.")
