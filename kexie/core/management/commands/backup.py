"""``python manage.py backup [--output DIR] [--user USERNAME]`` (BAK-01, BAK-04).

Writes the database snapshot, the uploaded files and a signed manifest into a new directory
below ``--output`` (default ``settings.KEXIE_BACKUP_DIR``) and prints its path. Audited as
``backup.create``: by ``--user`` (who must hold the backup right at the top of the tree) or,
without it, by the trusted operator at the command line.
"""

from __future__ import annotations

from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from kexie.core.backup import BACKUP_ACTION, BackupError, backup_create, read_manifest
from kexie.core.parameters import holds_instance_wide


def backup_actor(username: str | None):
    """The account a command acts for; ``None`` is the trusted operator."""
    if not username:
        return None
    user = get_user_model().objects.filter(username__iexact=username, is_active=True).first()
    if user is None or not holds_instance_wide(user, BACKUP_ACTION):
        raise CommandError(
            f"{username!r} is not an active account holding the backup right for the whole tree."
        )
    return user


class Command(BaseCommand):
    help = "Back up the database and the uploaded files (checksummed, signed, audited)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--output", help="parent directory (default: KEXIE_BACKUP_DIR)")
        parser.add_argument("--user", help="act as this 系统管理员 (default: the operator)")

    def handle(self, *args, output: str | None, user: str | None, **options) -> None:
        actor = backup_actor(user)
        try:
            path = backup_create(actor=actor, output_dir=Path(output) if output else None)
        except BackupError as exc:
            raise CommandError(f"Backup failed: {exc}") from exc
        manifest = read_manifest(path)
        size = sum(info["bytes"] for info in manifest["files"].values())
        rows = sum(table["rows"] for table in manifest["tables"].values())
        self.stdout.write(
            f"{manifest['vendor']}: {len(manifest['tables'])} tables, {rows} rows, "
            f"{manifest['media']['files']} files, {size} bytes"
        )
        self.stdout.write(str(path))
