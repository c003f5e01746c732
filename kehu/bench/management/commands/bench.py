"""``kehu bench generate|run``: the benchmark suite on its own database.

Never on the user's data: the command works on a dedicated database next to the
configured one — PostgreSQL: a database named ``kehu_bench`` on the same server (dropped
and created again by ``generate``); SQLite: ``bench.sqlite3`` in the data folder. It
re-runs itself in a child process whose DATABASE_URL names that database, so the
server it starts for the HTTP workloads uses the same one.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection
from django.utils.translation import gettext as _

from kehu.bench import generator, report, workloads

BENCH_DB = "kehu_bench"
BENCH_FILE = "bench.sqlite3"
ACTIVE = "KEHU_BENCH_ACTIVE"


def bench_database_url() -> str:
    """The bench database next to the configured one."""
    url = os.environ.get("DATABASE_URL", "")
    if url.startswith(("postgres://", "postgresql://")):
        parts = urlsplit(url)
        return urlunsplit((parts.scheme, parts.netloc, f"/{BENCH_DB}", parts.query, ""))
    return f"sqlite:///{Path(settings.DATA_DIR) / BENCH_FILE}"


def child_arguments(options: dict[str, Any]) -> list[str]:
    """The same subcommand and options, for the child bound to the bench database."""
    args = [options["action"], "--scale", options["scale"], "--seed", str(options["seed"])]
    if options["action"] == "generate":
        return [*args, "--tenant", options["tenant"]]
    args += ["--output", str(Path(options["output"]).resolve())]
    return [*args, "--only", options["only"]] if options.get("only") else args


def meta_path() -> Path:
    return Path(settings.DATA_DIR) / f"bench-{connection.vendor}.json"


class Command(BaseCommand):
    help = ("Benchmarks on a dedicated database: 'generate' writes a deterministic tenant, "
            "'run' measures the workloads against their raw-SQL floors.")

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        gen = sub.add_parser("generate", help="(Re)create the bench database and its data.")
        gen.add_argument("--scale", choices=sorted(generator.SCALES), default="S")
        gen.add_argument("--seed", type=int, default=1)
        gen.add_argument("--tenant", default=generator.DEFAULT_TENANT)
        run = sub.add_parser("run", help="Run the workloads and write the results.")
        run.add_argument("--scale", choices=sorted(generator.SCALES), default="S")
        run.add_argument("--only", choices=workloads.WORKLOADS)
        run.add_argument("--output", default="bench/results")
        run.add_argument("--seed", type=int, default=1)

    def say(self, text: str) -> None:
        self.stdout.write(text)
        self.stdout.flush()

    def handle(self, *args: Any, **options: Any) -> None:
        if os.environ.get(ACTIVE) != "1":
            self._delegate(options)
            return
        if options["action"] == "generate":
            self._generate(options)
        else:
            self._run(options)

    # ---- parent: pick the bench database, then run in a child bound to it

    def _delegate(self, options: dict[str, Any]) -> None:
        url = bench_database_url()
        if options["action"] == "generate":
            if options["scale"] == "L" and connection.vendor != "postgresql":
                raise CommandError(_("Scale L runs on PostgreSQL only (set DATABASE_URL)."))
            self._recreate(url)
        env = dict(os.environ, DATABASE_URL=url, **{ACTIVE: "1"})
        self.say(f"bench database: {url.rsplit('@', 1)[-1]}")
        code = subprocess.call([sys.executable, "-m", "kehu.cli", "bench",  # noqa: S603
                                *child_arguments(options)], env=env)
        if code:
            raise CommandError(_("kehu bench %(action)s failed (exit %(code)s).")
                               % {"action": options["action"], "code": code})

    def _recreate(self, url: str) -> None:
        if connection.vendor == "postgresql":
            # A maintenance connection (database "postgres"): the bench database may not
            # exist yet, and one cannot drop the database one is connected to.
            with connection._nodb_cursor() as cursor:
                cursor.execute(f"DROP DATABASE IF EXISTS {BENCH_DB} WITH (FORCE)")
                cursor.execute(f"CREATE DATABASE {BENCH_DB} ENCODING 'UTF8' "
                               "LC_COLLATE 'C.UTF-8' LC_CTYPE 'C.UTF-8' TEMPLATE template0")
        else:
            path = Path(url.removeprefix("sqlite:///"))
            assert path.name == BENCH_FILE  # never anything but the bench file
            for suffix in ("", "-wal", "-shm"):
                Path(f"{path}{suffix}").unlink(missing_ok=True)

    # ---- child: bound to the bench database

    def _generate(self, options: dict[str, Any]) -> None:
        started = time.perf_counter()
        self.say("migrating the bench database…")
        call_command("migrate", interactive=False, verbosity=0)
        self.say(f"migrated in {time.perf_counter() - started:.1f}s")
        world = generator.generate(options["scale"], options["seed"], options["tenant"],
                                   say=self.say)
        meta = {"scale": options["scale"], "seed": options["seed"],
                "tenant": options["tenant"], "counts": world.counts}
        meta_path().write_text(json.dumps(meta, ensure_ascii=False, indent=2),
                               encoding="utf-8")

    def _run(self, options: dict[str, Any]) -> None:
        try:
            meta = json.loads(meta_path().read_text(encoding="utf-8"))
        except (OSError, ValueError):
            raise CommandError(
                _("No bench data for %(vendor)s: run 'kehu bench generate --scale %(scale)s' "
                  "first.") % {"vendor": connection.vendor, "scale": options["scale"]}
            ) from None
        if meta["scale"] != options["scale"]:
            raise CommandError(
                _("The bench database holds scale %(held)s, not %(scale)s: run 'kehu bench "
                  "generate --scale %(scale)s' first.")
                % {"held": meta["scale"], "scale": options["scale"]})
        scale = generator.SCALES[options["scale"]]
        world = generator.BenchWorld.load(meta["tenant"])
        results = workloads.run_all(world, scale, only=options["only"],
                                    seed=options["seed"], say=self.say)
        doc = report.document(scale=scale.name, seed=meta["seed"], generated=meta["counts"],
                              results=results)
        json_path, md_path = report.write(doc, Path(options["output"]))
        self.say(report.markdown(doc))
        self.say(f"results: {json_path} and {md_path}")
