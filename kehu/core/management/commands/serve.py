"""``kehu serve``: run the ASGI application with uvicorn, and (``KEHU_EMBEDDED_WORKER``, on
by default without Redis) the background task consumer as a child process, stopped with it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import DEFAULT_DB_ALIAS

from kehu.core import metrics
from kehu.core import worker as embedded_worker

LOOPBACK = {"127.0.0.1", "localhost", "::1", "[::1]"}


class Command(BaseCommand):
    help = "Serve Kehu over HTTP with uvicorn (ASGI: kehu.asgi:application)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1",
                            help="Interface to listen on (default 127.0.0.1; 0.0.0.0 for all).")
        parser.add_argument("--port", type=int, default=8000, help="Port (default 8000).")
        parser.add_argument("--reload", action="store_true",
                            help="Restart when Python files change (development).")
        parser.add_argument("--workers", type=int, default=1,
                            help="Worker processes (default 1; not with --reload).")

    def handle(self, *args: Any, **options: Any) -> None:
        import uvicorn

        host, port = options["host"], options["port"]
        if not 0 < port < 65536:
            raise CommandError(f"--port {port} is not a valid port number.")
        if options["workers"] < 1:
            raise CommandError("--workers must be at least 1.")
        if options["reload"] and options["workers"] > 1:
            raise CommandError("--reload and --workers cannot be combined.")
        # Database checks (e.g. the UTF-8 ctype Chinese search needs) run before serving.
        self.check(databases=[DEFAULT_DB_ALIAS])
        # WhiteNoise serves from the finders (no collectstatic needed) but warns when
        # STATIC_ROOT is missing; an empty one keeps the log quiet.
        Path(settings.STATIC_ROOT).mkdir(parents=True, exist_ok=True)
        shown = f"[{host}]" if ":" in host else host
        self.stdout.write(f"Kehu is serving on http://{shown}:{port}/ (Ctrl+C stops it).")
        if host not in LOOPBACK and "*" not in settings.ALLOWED_HOSTS:
            self.stdout.write(
                "Note: requests must use a host name in KEHU_ALLOWED_HOSTS "
                f"(now {', '.join(settings.ALLOWED_HOSTS)})."
            )
        metrics.forget_dead_processes()  # metric files of processes that are gone
        worker_process = None
        if embedded_worker.embedded_enabled():
            worker_process = embedded_worker.start_embedded()
            self.stdout.write("Background jobs run in this process's worker "
                              "(KEHU_EMBEDDED_WORKER=0 to run `kehu worker` separately).")
        self.stdout.flush()
        try:
            self._serve(uvicorn, host, port, options)
        finally:
            if worker_process is not None:
                embedded_worker.stop_embedded(worker_process)

    def _serve(self, uvicorn: Any, host: str, port: int, options: dict[str, Any]) -> None:
        uvicorn.run(
            "kehu.asgi:application", host=host, port=port, reload=options["reload"],
            reload_dirs=[str(settings.BASE_DIR)] if options["reload"] else None,
            workers=options["workers"] if options["workers"] > 1 else None,
            lifespan="off",  # Django's ASGI handler does not implement lifespan events.
            proxy_headers=True, server_header=False,
            # JSON logs: uvicorn's own lines go through Kehu's handlers too, and its access
            # log is left to kehu.request, which carries the route and request id.
            **({"log_config": None, "access_log": False}
               if settings.KEHU_LOG_FORMAT == "json" else {}),
        )
