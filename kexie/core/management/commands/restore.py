"""``python manage.py restore DIR --database-url URL [--yes]`` (BAK-01, BAK-02, BAK-04).

Restore is deliberately command-line only. The backup's signature and every checksum are
verified before anything is touched; the target database must be new and empty (SQLite: a
file that does not exist yet; PostgreSQL: a database without tables, e.g. fresh from
``createdb``). After the restore the integrity check runs and every table's row count and
content hash is compared with the manifest.

Exit status: 0 restored and proven; 2 refused (tampered, incomplete, target not empty: nothing
was touched); 3 restored but the comparison found differences; 1 any other failure.
"""

from __future__ import annotations

import sys
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from kexie.core.backup import BackupError, BackupRefused, backup_restore

from .backup import backup_actor


class Command(BaseCommand):
    help = "Verify a backup and restore it into a new, empty database (audited)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("directory", help="the backup directory (holds manifest.json)")
        parser.add_argument(
            "--database-url",
            required=True,
            help="the new database, e.g. sqlite:////srv/kexie/var/restored.sqlite3 or "
            "postgres://kexie@127.0.0.1:5432/kexie_restore (password from PGPASSWORD is fine)",
        )
        parser.add_argument("--media-root", help="empty directory for the uploaded files")
        parser.add_argument(
            "--no-media", action="store_true", help="restore the database only, not the files"
        )
        parser.add_argument("--yes", action="store_true", help="do not ask for confirmation")
        parser.add_argument("--user", help="act as this 系统管理员 (default: the operator)")

    def handle(self, *args, **opts) -> None:
        actor = backup_actor(opts["user"])
        media_root = None
        if not opts["no_media"]:
            media_root = Path(opts["media_root"] or settings.MEDIA_ROOT)

        def confirm(manifest: dict) -> bool:
            self.stdout.write(
                f"Backup {manifest['name']} ({manifest['vendor']}, {manifest['created_at']}, "
                f"Kexie {manifest['kexie_version']}): signature and checksums verified."
            )
            if opts["yes"]:
                return True
            if not sys.stdin.isatty():
                raise BackupRefused("Not a terminal: pass --yes to restore without asking.")
            return input("Restore it into the target database? Type 'yes': ").strip() == "yes"

        try:
            report = backup_restore(
                actor=actor,
                path=Path(opts["directory"]),
                database_url=opts["database_url"],
                media_root=media_root,
                confirm=confirm,
            )
        except BackupRefused as exc:
            message = f"Restore refused, nothing was changed: {exc}"
            raise CommandError(message, returncode=2) from exc
        except BackupError as exc:
            raise CommandError(f"Restore failed: {exc}") from exc

        self.stdout.write(f"Restored into {report.target}.")
        self.stdout.write(f"Integrity check: {report.integrity}")
        for check in report.mismatches:
            self.stdout.write(
                f"  MISMATCH {check.table}: rows {check.expected_rows} in the manifest, "
                f"{check.actual_rows} restored; content hash "
                f"{'equal' if check.expected_sha256 == check.actual_sha256 else 'different'}"
            )
        equal = len(report.tables) - len(report.mismatches)
        self.stdout.write(
            f"Tables: {equal} of {len(report.tables)} equal to the manifest "
            "(row counts and content hashes)."
        )
        self.stdout.write(
            "Migrations: "
            + ("as recorded in the manifest" if report.migrations_equal else "DIFFERENT")
        )
        if report.pending_migrations:
            self.stdout.write(
                f"This code has {report.pending_migrations} migrations the restored database "
                "lacks: run `manage.py migrate` against it before use."
            )
        if report.media_files:
            self.stdout.write(f"Files restored: {report.media_files}")
        if not report.ok:
            raise CommandError("The restored database differs from the backup.", returncode=3)
        self.stdout.write(self.style.SUCCESS("Restore verified."))
