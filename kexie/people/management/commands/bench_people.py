"""Benchmark the talent registry on scratch databases (issue 4 part 10).

    manage.py bench_people --quick                     20,000 persons, SQLite and PostgreSQL
    manage.py bench_people --persons 1000000           the full size
    manage.py bench_people --database sqlite           one database only

Never touches the configured database: every run happens in a child process whose
DATABASE_URL points at a scratch SQLite file under var/bench/ or a scratch PostgreSQL
database (``kexie_bench_<pid>``, created and dropped here; the server is BENCH_PG_URL, default
postgres://postgres@127.0.0.1:5432/postgres). Prints ``bench: <name> <value> <unit>`` lines.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import connection

DEFAULT_PG_URL = "postgres://postgres@127.0.0.1:5432/postgres"
PG_DATABASE = "kexie_bench"  # plus the process id: runs at the same time do not collide


class Command(BaseCommand):
    help = "Benchmark search, list page, import and export on scratch databases."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--persons", type=int, default=None, help="Default 1,000,000.")
        parser.add_argument("--quick", action="store_true", help="20,000 persons, fewer rows.")
        parser.add_argument("--database", choices=["sqlite", "postgres", "both"], default="both")
        parser.add_argument("--import-rows", type=int, default=None, help="Default 100,000.")
        parser.add_argument("--repeat", type=int, default=None)
        # internal: the child process that works in the scratch database
        parser.add_argument("--inner", action="store_true", help="(internal)")
        parser.add_argument("--io", choices=["import", "export"], help="(internal)")
        parser.add_argument("--file", help="(internal)")

    def handle(self, *args, **options) -> None:
        quick = options["quick"]
        persons = options["persons"] or (20_000 if quick else 1_000_000)
        import_rows = options["import_rows"] or (5_000 if quick else 100_000)
        repeat = options["repeat"] or (8 if quick else 20)
        if options["io"]:
            self._check_scratch()
            self._io(options["io"], options["file"], import_rows)
        elif options["inner"]:
            self._check_scratch()
            self._inner(persons, import_rows, repeat)
        else:
            self._outer(options["database"], persons, import_rows, repeat, quick)

    # --- the parent: one child process per scratch database ---------------------------------

    def _outer(self, which: str, persons: int, import_rows: int, repeat: int, quick: bool):
        args = ["--persons", str(persons), "--import-rows", str(import_rows)]
        args += ["--repeat", str(repeat)]
        if which in ("sqlite", "both"):
            bench_dir = Path(settings.BASE_DIR) / "var" / "bench"
            bench_dir.mkdir(parents=True, exist_ok=True)
            db = bench_dir / f"bench-{os.getpid()}.sqlite3"
            for suffix in ("", "-wal", "-shm"):
                Path(f"{db}{suffix}").unlink(missing_ok=True)
            try:
                self._child(f"sqlite:///{db}", args)
            finally:
                for suffix in ("", "-wal", "-shm"):
                    Path(f"{db}{suffix}").unlink(missing_ok=True)
        if which in ("postgres", "both"):
            database = f"{PG_DATABASE}_{os.getpid()}"
            server = os.environ.get("BENCH_PG_URL", DEFAULT_PG_URL)
            try:
                self._pg(server, f"DROP DATABASE IF EXISTS {database}")
                self._pg(server, f"CREATE DATABASE {database} ENCODING 'UTF8' TEMPLATE template0")
            except Exception as exc:  # noqa: BLE001 - report and go on
                self.stdout.write(
                    f"bench: postgresql skipped (unreachable: {exc.__class__.__name__})"
                )
                return
            try:
                self._child(server.rsplit("/", 1)[0] + f"/{database}", args)
            finally:
                self._pg(server, f"DROP DATABASE IF EXISTS {database}")

    @staticmethod
    def _pg(server: str, sql: str) -> None:
        import psycopg

        with psycopg.connect(server, autocommit=True, connect_timeout=5) as conn:
            conn.execute(sql)

    def _child(self, url: str, args: list[str]) -> None:
        env = {**os.environ, "DATABASE_URL": url, "DJANGO_SETTINGS_MODULE": "kexie.settings.test"}
        manage = Path(settings.BASE_DIR) / "manage.py"
        command = [sys.executable, str(manage), "bench_people", "--inner", *args]
        result = subprocess.run(command, env=env, stdout=sys.stdout, stderr=sys.stderr)  # noqa: S603
        if result.returncode:
            raise CommandError(f"the benchmark failed on {url.split(':', 1)[0]}")

    # --- the child: fill and measure ------------------------------------------------------

    @staticmethod
    def _check_scratch() -> None:
        name = str(connection.settings_dict["NAME"])
        if "bench" not in name and "test" not in name and "memory" not in name:
            raise CommandError(f"Refusing to fill {name!r}: not a benchmark database.")

    def _inner(self, persons: int, import_rows: int, repeat: int) -> None:
        from kexie.people import bench

        out = self.stdout.write
        bench.setup_database(out=out)
        bench.run(persons, out=out, repeat=repeat)
        with tempfile.TemporaryDirectory(prefix="kexie-bench-") as tmp:
            path = os.path.join(tmp, "import.xlsx")
            bench.write_import_file(path, import_rows, out=out)
            # import and export each in a fresh process: the peak memory is theirs alone
            for io_kind in ("export", "import"):
                start = time.perf_counter()
                command = [
                    sys.executable,
                    str(Path(settings.BASE_DIR) / "manage.py"),
                    "bench_people",
                    "--io",
                    io_kind,
                    "--file",
                    path,
                    "--import-rows",
                    str(import_rows),
                ]
                result = subprocess.run(command, stdout=sys.stdout, stderr=sys.stderr)  # noqa: S603
                if result.returncode:
                    out(f"bench: {io_kind} failed (exit {result.returncode})")
                else:
                    out(f"  {io_kind} process: {time.perf_counter() - start:.0f} s")

    def _io(self, kind: str, path: str | None, rows: int) -> None:
        from kexie.people import bench

        if kind == "import":
            if not path:
                raise CommandError("--file is needed")
            bench.import_figures(path, out=self.stdout.write)
        else:
            bench.export_figures(rows, out=self.stdout.write)
