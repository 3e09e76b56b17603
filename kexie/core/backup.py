"""Backups of the database and the uploaded files, and their verified restore (BAK-01/02/04).

A backup is a directory ``kexie-<UTC time>-<random>/`` below ``settings.KEXIE_BACKUP_DIR``
(never served over HTTP) holding:

- ``database.sqlite3`` (SQLite online backup API: one consistent snapshot, taken while Kexie
  keeps writing) or ``database.dump`` (PostgreSQL ``pg_dump -Fc`` of an exported snapshot);
- ``media.tar``: the uploaded files below ``MEDIA_ROOT``;
- ``manifest.json``: SHA-256 and size of every file, the database vendor, the applied
  migrations, per-table row counts and content hashes *of the snapshot itself*, the Kexie
  version and time, signed with an HMAC whose key is derived from ``KEXIE_AUDIT_KEY`` — so a
  changed byte is found even by someone who recomputes the SHA-256 values.

``backup_restore`` checks the signature and every checksum before it touches anything, restores
into an empty database, checks its integrity and compares every table's row count and content
hash with the manifest. Both are audited 系统管理员 actions (``backup.create``,
``backup.restore``).

Content hashes are computed from rows ordered by primary key, columns ordered by name, every
value in a canonical text form that does not depend on the database driver (timestamps in
UTC ISO-8601, decimals at their scale, JSON with sorted keys, booleans as true/false).
Encrypted columns are hashed as stored: nothing is decrypted.
"""

from __future__ import annotations

import datetime as dt
import decimal
import getpass
import hashlib
import hmac
import json
import logging
import os
import secrets
import shutil
import sqlite3
import subprocess
import tarfile
import threading
import tomllib
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

import dj_database_url
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.apps import apps
from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db import connections
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.utils import load_backend
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime, parse_time
from django.utils.translation import gettext as _

from .audit import audit_log
from .jobs import Progress, job_handler
from .parameters import holds_instance_wide

logger = logging.getLogger(__name__)

FORMAT_VERSION = 1
MANIFEST = "manifest.json"
MEDIA_FILE = "media.tar"
DB_FILES = {"sqlite": "database.sqlite3", "postgresql": "database.dump"}
BACKUP_ACTION = "backup"  # kexie.accounts.roles.Action.BACKUP
_CHUNK = 1024 * 1024
_FETCH = 2000
_MANIFEST_MAX_BYTES = 20 * 1024 * 1024


class BackupError(Exception):
    """A backup or restore could not be completed."""


class BackupRefused(BackupError):
    """Verification failed before anything was touched (tampered, incomplete, wrong target)."""


# --- signing -----------------------------------------------------------------------------------


def _manifest_key() -> bytes:
    """A key of its own for manifests, derived from the audit key (never the audit key itself)."""
    return HKDF(
        algorithm=hashes.SHA256(), length=32, salt=None, info=b"kexie backup manifest v1"
    ).derive(settings.KEXIE_AUDIT_KEY.encode())


def _canonical_json(data: Any) -> bytes:
    return json.dumps(data, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode()


def manifest_hmac(manifest: dict) -> str:
    body = {k: v for k, v in manifest.items() if k != "hmac"}
    return hmac.new(_manifest_key(), _canonical_json(body), hashlib.sha256).hexdigest()


def manifest_key_id() -> str:
    return hashlib.sha256(_manifest_key()).hexdigest()[:12]


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


# --- canonical table contents ------------------------------------------------------------------

_INTEGER_TYPES = {
    "AutoField",
    "BigAutoField",
    "SmallAutoField",
    "IntegerField",
    "BigIntegerField",
    "SmallIntegerField",
    "PositiveIntegerField",
    "PositiveBigIntegerField",
    "PositiveSmallIntegerField",
}


def _utc_iso(value: dt.datetime) -> str:
    if timezone.is_naive(value):  # SQLite stores UTC without an offset (USE_TZ)
        value = value.replace(tzinfo=dt.UTC)
    return value.astimezone(dt.UTC).isoformat(timespec="microseconds")


def _micros(value: dt.timedelta) -> int:
    return (value.days * 86_400 + value.seconds) * 1_000_000 + value.microseconds


def _generic(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, decimal.Decimal):
        return str(value)
    if isinstance(value, dt.datetime):
        return _utc_iso(value)
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value).hex()
    if isinstance(value, uuid.UUID):
        return value.hex
    if isinstance(value, dict | list):
        return _canonical_json(value).decode()
    if isinstance(value, dt.timedelta):
        return str(_micros(value))
    return str(value)


def _canonical(value: Any, model_field) -> str | None:
    """``value`` as read from the database, in a form independent of vendor and driver."""
    if value is None or model_field is None:
        return _generic(value)
    while model_field.is_relation and getattr(model_field, "target_field", None) is not None:
        model_field = model_field.target_field
    kind = model_field.get_internal_type()
    if kind == "BooleanField":
        return "true" if value in (True, 1, "1", b"1") else "false"
    if kind in _INTEGER_TYPES:
        return str(int(value))
    if kind == "DateTimeField":
        parsed = value if isinstance(value, dt.datetime) else parse_datetime(str(value))
        return _utc_iso(parsed) if parsed else str(value)
    if kind == "DateField":
        parsed = value if isinstance(value, dt.date) else parse_date(str(value))
        return parsed.isoformat() if parsed else str(value)
    if kind == "TimeField":
        parsed = value if isinstance(value, dt.time) else parse_time(str(value))
        return parsed.isoformat(timespec="microseconds") if parsed else str(value)
    if kind == "DecimalField":
        places = decimal.Decimal(1).scaleb(-(model_field.decimal_places or 0))
        return str(decimal.Decimal(str(value)).quantize(places))
    if kind == "FloatField":
        return repr(float(value))
    if kind == "JSONField":
        return _canonical_json(json.loads(value) if isinstance(value, str) else value).decode()
    if kind == "DurationField":
        return str(_micros(value) if isinstance(value, dt.timedelta) else int(value))
    if kind == "UUIDField":
        return value.hex if isinstance(value, uuid.UUID) else uuid.UUID(str(value)).hex
    if kind == "BinaryField":
        return bytes(value).hex()
    return _generic(value)


def _model_fields_by_table() -> dict[str, dict[str, Any]]:
    tables: dict[str, dict[str, Any]] = {}
    for model in apps.get_models(include_auto_created=True):
        opts = model._meta
        if opts.proxy or not opts.managed:
            continue
        tables.setdefault(opts.db_table, {}).update(
            {f.column: f for f in opts.local_concrete_fields}
        )
    return tables


def _rows(cursor, sql: str) -> Iterator[tuple]:
    cursor.execute(sql)
    while batch := cursor.fetchmany(_FETCH):
        yield from batch


def table_stats(wrapper: BaseDatabaseWrapper) -> dict[str, dict[str, Any]]:
    """Row count and content hash of every table of the database behind ``wrapper``."""
    quote_name = wrapper.ops.quote_name
    model_fields = _model_fields_by_table()
    stats: dict[str, dict[str, Any]] = {}
    with wrapper.cursor() as cursor:
        tables = sorted(wrapper.introspection.table_names(cursor))
        for table in tables:
            columns = sorted(
                col.name for col in wrapper.introspection.get_table_description(cursor, table)
            )
            keys = wrapper.introspection.get_primary_key_columns(cursor, table) or columns
            fields = model_fields.get(table, {})
            # Identifiers come from the database's own catalogue and are quoted; no input here.
            sql = "SELECT {} FROM {} ORDER BY {}".format(  # noqa: S608
                ", ".join(quote_name(c) for c in columns),
                quote_name(table),
                ", ".join(quote_name(c) for c in keys),
            )
            digest = hashlib.sha256(_canonical_json(columns) + b"\n")
            count = 0
            for row in _rows(cursor, sql):
                values = [_canonical(v, fields.get(c)) for c, v in zip(columns, row, strict=True)]
                digest.update(_canonical_json(values) + b"\n")
                count += 1
            stats[table] = {"rows": count, "sha256": digest.hexdigest()}
    return stats


def applied_migrations(wrapper: BaseDatabaseWrapper) -> dict[str, list[str]]:
    with wrapper.cursor() as cursor:
        if "django_migrations" not in wrapper.introspection.table_names(cursor):
            return {}
        cursor.execute("SELECT app, name FROM django_migrations ORDER BY app, name")
        result: dict[str, list[str]] = {}
        for app, name in cursor.fetchall():
            result.setdefault(app, []).append(name)
    return result


# --- database connections outside ``settings.DATABASES`` -----------------------------------------

_DEFAULTS = {
    "ATOMIC_REQUESTS": False,
    "AUTOCOMMIT": True,
    "CONN_MAX_AGE": 0,
    "CONN_HEALTH_CHECKS": False,
    "OPTIONS": {},
    "TIME_ZONE": None,
    "USER": "",
    "PASSWORD": "",
    "HOST": "",
    "PORT": "",
    "TEST": {},
}


def _wrapper(settings_dict: dict, alias: str) -> BaseDatabaseWrapper:
    full = {**_DEFAULTS, **settings_dict}
    full["OPTIONS"] = dict(full.get("OPTIONS") or {})
    return load_backend(full["ENGINE"]).DatabaseWrapper(full, alias)


@contextmanager
def _connection(settings_dict: dict, alias: str) -> Iterator[BaseDatabaseWrapper]:
    """A connection registered under ``alias`` in this thread (introspection looks it up)."""
    wrapper = _wrapper(settings_dict, alias)
    connections[alias] = wrapper
    try:
        yield wrapper
    finally:
        wrapper.close()
        del connections[alias]


def _vendor_of(engine: str) -> str:
    if engine.endswith("sqlite3"):
        return "sqlite"
    if "postgresql" in engine:
        return "postgresql"
    raise BackupRefused(_("Only SQLite and PostgreSQL databases are supported."))


def _sqlite_reader(path: Path) -> dict:
    """Settings for a read-only connection to a SQLite file (a backup or a restored copy)."""
    return {"ENGINE": "django.db.backends.sqlite3", "NAME": f"file:{quote(str(path))}?mode=ro"}


def _pg_command(binary: str, settings_dict: dict) -> tuple[list[str], dict[str, str]]:
    """Connection arguments for pg_dump / pg_restore; the password goes in the environment."""
    args = [binary]
    if settings_dict.get("HOST"):
        args += ["--host", str(settings_dict["HOST"])]
    if settings_dict.get("PORT"):
        args += ["--port", str(settings_dict["PORT"])]
    if settings_dict.get("USER"):
        args += ["--username", str(settings_dict["USER"])]
    env = dict(os.environ)
    if settings_dict.get("PASSWORD"):
        env["PGPASSWORD"] = str(settings_dict["PASSWORD"])
    sslmode = (settings_dict.get("OPTIONS") or {}).get("sslmode")
    if sslmode:
        env["PGSSLMODE"] = str(sslmode)
    return args, env


def _run(args: list[str], env: dict[str, str]) -> None:
    if shutil.which(args[0]) is None:
        raise BackupError(_("%(program)s is not installed.") % {"program": args[0]})
    # A fixed program with arguments we built: no shell, nothing from a request.
    result = subprocess.run(args, env=env, capture_output=True, text=True, check=False)  # noqa: S603
    if result.returncode != 0:
        raise BackupError(
            _("%(program)s failed: %(error)s")
            % {"program": args[0], "error": result.stderr.strip()[-500:]}
        )


# --- snapshots of the running database ---------------------------------------------------------


def _sqlite_snapshot(connection, dest: Path) -> tuple[dict, dict]:
    """SQLite online backup API: all pages in one step, i.e. one consistent read snapshot.

    In WAL mode the writers are not blocked while it runs. The copy is switched to a rollback
    journal so that it is one self-contained file.
    """
    connection.ensure_connection()
    target = sqlite3.connect(dest)
    try:
        connection.connection.backup(target, pages=-1)
        target.execute("PRAGMA journal_mode=DELETE")
    finally:
        target.close()
    with _connection(_sqlite_reader(dest), "kexie_backup_reader") as reader:
        return table_stats(reader), applied_migrations(reader)


def _pg_snapshot(connection, dest: Path) -> tuple[dict, dict]:
    """``pg_dump -Fc`` of an exported snapshot; the counts and hashes read the same snapshot."""
    with _connection(dict(connection.settings_dict), "kexie_backup_snapshot") as snap:
        with snap.cursor() as cursor:
            cursor.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
            cursor.execute("SELECT pg_export_snapshot()")
            snapshot_id = cursor.fetchone()[0]
            args, env = _pg_command("pg_dump", snap.settings_dict)
            args += [
                "--format=custom",
                f"--snapshot={snapshot_id}",
                f"--file={dest}",
                "--no-password",
                str(snap.settings_dict["NAME"]),
            ]
            _run(args, env)
            stats, migrations = table_stats(snap), applied_migrations(snap)
            cursor.execute("COMMIT")
        return stats, migrations


def _media_archive(media_root: Path, dest: Path) -> dict[str, int]:
    """Every regular file below MEDIA_ROOT, in a fixed order; links are not followed."""
    count = size = 0
    with tarfile.open(dest, "w") as tar:
        if media_root.is_dir():
            for path in sorted(media_root.rglob("*")):
                if path.is_symlink() or not path.is_file():
                    continue
                tar.add(path, arcname=path.relative_to(media_root).as_posix(), recursive=False)
                count += 1
                size += path.stat().st_size
    return {"files": count, "bytes": size}


def kexie_version() -> str:
    try:
        with (Path(settings.BASE_DIR) / "pyproject.toml").open("rb") as fh:
            return str(tomllib.load(fh)["project"]["version"])
    except (OSError, KeyError, tomllib.TOMLDecodeError):
        return "unknown"


def _actor_name(actor) -> str:
    return actor.get_username() if actor is not None else ""


def _operator() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return ""


def _check_actor(actor) -> None:
    if actor is not None and not holds_instance_wide(actor, BACKUP_ACTION):
        raise PermissionDenied


def _private_dir(path: Path) -> None:
    """Create ``path`` readable by the owner only; an existing directory keeps its mode
    (``--output /srv/backups`` must not change who can read a shared directory)."""
    if not path.exists():
        path.mkdir(parents=True, exist_ok=True, mode=0o700)
        os.chmod(path, 0o700)  # mkdir's mode is filtered by the umask


def backup_create(
    *,
    actor,
    output_dir: Path | None = None,
    progress: Progress | None = None,
    using: str = "default",
) -> Path:
    """Write a backup of database ``using`` and MEDIA_ROOT; returns its directory.

    ``actor=None`` is the trusted operator at the command line. Audited as ``backup.create``
    (success or failure).
    """
    _check_actor(actor)
    connection = connections[using]
    vendor = _vendor_of(connection.settings_dict["ENGINE"])
    base = Path(output_dir or settings.KEXIE_BACKUP_DIR)
    _private_dir(base)
    started = timezone.now()
    name = f"kexie-{started:%Y%m%dT%H%M%SZ}-{secrets.token_hex(3)}"
    work = base / f".{name}.partial"
    _private_dir(work)
    if progress:
        progress.total(4)
    try:
        db_file = DB_FILES[vendor]
        snapshot = _sqlite_snapshot if vendor == "sqlite" else _pg_snapshot
        tables, migrations = snapshot(connection, work / db_file)
        if progress:
            progress.advance(1, force=True)
        media = _media_archive(Path(settings.MEDIA_ROOT), work / MEDIA_FILE)
        if progress:
            progress.advance(2, force=True)
        files = {}
        for file_name in (db_file, MEDIA_FILE):
            path = work / file_name
            os.chmod(path, 0o600)
            files[file_name] = {"sha256": file_sha256(path), "bytes": path.stat().st_size}
        if progress:
            progress.advance(3, force=True)
        manifest = {
            "format": FORMAT_VERSION,
            "name": name,
            "kexie_version": kexie_version(),
            "created_at": started.astimezone(dt.UTC).isoformat(timespec="seconds"),
            "created_by": _actor_name(actor),
            "vendor": vendor,
            "database_file": db_file,
            "files": files,
            "media": media,
            "migrations": migrations,
            "tables": tables,
            "key_id": manifest_key_id(),
        }
        manifest["hmac"] = manifest_hmac(manifest)
        manifest_path = work / MANIFEST
        manifest_path.write_text(json.dumps(manifest, indent=1, sort_keys=True), "utf-8")
        os.chmod(manifest_path, 0o600)
        final = base / name
        work.rename(final)
    except Exception as exc:
        shutil.rmtree(work, ignore_errors=True)
        _audit_quietly(
            actor=actor,
            event_type="backup.create",
            object_repr=name,
            outcome="failure",
            reason=str(exc)[:300],
        )
        raise
    audit_log(
        actor=actor,
        event_type="backup.create",
        object_type="backup",
        object_id=name,
        object_repr=name,
        details={
            "vendor": vendor,
            "tables": len(tables),
            "rows": sum(t["rows"] for t in tables.values()),
            "bytes": sum(f["bytes"] for f in files.values()),
            "manifest_sha256": file_sha256(final / MANIFEST),
            "operator": "" if actor is not None else _operator(),
        },
    )
    if progress:
        progress.advance(4, force=True)
    return final


def _audit_quietly(**kwargs) -> None:
    """Record a failure; the database may be the reason we failed, so this may fail too."""
    try:
        audit_log(**kwargs)
    except Exception:  # noqa: BLE001 - the original error is what the operator must see
        logger.exception("could not audit %s", kwargs.get("event_type"))


@job_handler("core.backup")
def backup_job(*, job, progress: Progress) -> str:
    """The backup page's background job: the same code as ``manage.py backup``."""
    path = backup_create(actor=job.created_by, progress=progress)
    return _("Backup %(name)s written.") % {"name": path.name}


# --- verification --------------------------------------------------------------------------------


def read_manifest(path: Path) -> dict:
    manifest_path = Path(path) / MANIFEST
    try:
        if manifest_path.stat().st_size > _MANIFEST_MAX_BYTES:
            raise BackupRefused(_("The manifest is too large."))
        manifest = json.loads(manifest_path.read_text("utf-8"))
    except FileNotFoundError:
        raise BackupRefused(_("No manifest.json in %(path)s.") % {"path": path}) from None
    except (OSError, ValueError) as exc:
        raise BackupRefused(_("The manifest cannot be read: %(error)s") % {"error": exc}) from None
    if not isinstance(manifest, dict):
        raise BackupRefused(_("The manifest cannot be read."))
    return manifest


def verify_signature(manifest: dict) -> None:
    given = manifest.get("hmac")
    if not isinstance(given, str) or not hmac.compare_digest(given, manifest_hmac(manifest)):
        raise BackupRefused(
            _(
                "The manifest signature does not match: the backup was changed, or it was made "
                "with another KEXIE_AUDIT_KEY."
            )
        )
    if manifest.get("format") != FORMAT_VERSION:
        raise BackupRefused(_("Unknown backup format."))


def _listed_files(manifest: dict) -> dict[str, dict]:
    files = manifest.get("files")
    if not isinstance(files, dict) or manifest.get("database_file") not in files:
        raise BackupRefused(_("The manifest lists no database file."))
    for name in files:
        if not isinstance(name, str) or name != Path(name).name or name.startswith("."):
            raise BackupRefused(_("The manifest names a file outside the backup."))
    return files


def backup_verify(path: Path) -> dict:
    """The manifest of the backup at ``path`` once its signature and every checksum hold.

    Raises ``BackupRefused`` naming the first problem.
    """
    path = Path(path)
    manifest = read_manifest(path)
    verify_signature(manifest)
    for name, info in _listed_files(manifest).items():
        file_path = path / name
        if not file_path.is_file():
            raise BackupRefused(_("%(file)s is missing.") % {"file": name})
        if file_path.stat().st_size != info.get("bytes"):
            raise BackupRefused(_("%(file)s has the wrong size.") % {"file": name})
        if not hmac.compare_digest(file_sha256(file_path), str(info.get("sha256"))):
            raise BackupRefused(_("The checksum of %(file)s does not match.") % {"file": name})
    return manifest


@dataclass
class BackupInfo:
    name: str
    path: Path
    created_at: dt.datetime | None
    vendor: str
    size_bytes: int
    created_by: str
    status: str  # "ok", "tampered", "unreadable"
    message: str = ""


_verified: dict[tuple, tuple[str, str]] = {}
_verified_lock = threading.Lock()


def _fingerprint(path: Path) -> tuple:
    entries = []
    for child in sorted(path.iterdir()):
        stat = child.stat()
        entries.append((child.name, stat.st_size, stat.st_mtime_ns, stat.st_ino))
    return (str(path), tuple(entries))


def _status_of(path: Path) -> tuple[str, str]:
    """Full verification, remembered while no file of the backup changes (size, mtime, inode)."""
    key = _fingerprint(path)
    with _verified_lock:
        if key in _verified:
            return _verified[key]
    try:
        backup_verify(path)
        result = ("ok", "")
    except BackupRefused as exc:
        result = ("tampered", str(exc))
    with _verified_lock:
        if len(_verified) > 1000:
            _verified.clear()
        _verified[key] = result
    return result


def backup_list(directory: Path | None = None, *, limit: int = 50) -> list[BackupInfo]:
    """The newest backups in ``directory`` with their checksum status, newest first."""
    base = Path(directory or settings.KEXIE_BACKUP_DIR)
    if not base.is_dir():
        return []
    candidates = sorted(
        (p for p in base.iterdir() if p.is_dir() and not p.name.startswith(".")),
        key=lambda p: p.name,
        reverse=True,
    )[:limit]
    result = []
    for path in candidates:
        size = sum(f.stat().st_size for f in path.iterdir() if f.is_file())
        try:
            manifest = read_manifest(path)
        except BackupRefused as exc:
            result.append(BackupInfo(path.name, path, None, "", size, "", "unreadable", str(exc)))
            continue
        created = parse_datetime(str(manifest.get("created_at", "")))
        status, message = _status_of(path)
        result.append(
            BackupInfo(
                name=path.name,
                path=path,
                created_at=created,
                vendor=str(manifest.get("vendor", "")),
                size_bytes=size,
                created_by=str(manifest.get("created_by", "")),
                status=status,
                message=message,
            )
        )
    return result


# --- restore -------------------------------------------------------------------------------------


@dataclass
class TableCheck:
    table: str
    expected_rows: int | None
    actual_rows: int | None
    expected_sha256: str | None = None
    actual_sha256: str | None = None

    @property
    def ok(self) -> bool:
        return self.expected_rows == self.actual_rows and self.expected_sha256 == self.actual_sha256


@dataclass
class RestoreReport:
    backup: str
    vendor: str
    target: str
    integrity: str = ""
    tables: list[TableCheck] = field(default_factory=list)
    migrations_equal: bool = False
    pending_migrations: int = 0
    media_files: int = 0

    @property
    def mismatches(self) -> list[TableCheck]:
        return [t for t in self.tables if not t.ok]

    @property
    def ok(self) -> bool:
        return self.integrity == "ok" and not self.mismatches and self.migrations_equal


def _describe(settings_dict: dict) -> str:
    """The target without its password, for messages and the audit log."""
    if settings_dict["ENGINE"].endswith("sqlite3"):
        return f"sqlite:{settings_dict['NAME']}"
    host = settings_dict.get("HOST") or "localhost"
    port = settings_dict.get("PORT") or 5432
    return f"postgresql://{settings_dict.get('USER', '')}@{host}:{port}/{settings_dict['NAME']}"


def _sqlite_target_path(settings_dict: dict) -> Path:
    name = str(settings_dict.get("NAME") or "")
    if not name or name == ":memory:" or name.startswith("file:"):
        raise BackupRefused(_("Restore SQLite into a file: sqlite:////path/to/new.sqlite3"))
    return Path(name)


def _ensure_empty(settings_dict: dict, vendor: str) -> None:
    if vendor == "sqlite":
        path = _sqlite_target_path(settings_dict)
        if path.exists() and path.stat().st_size > 0:
            raise BackupRefused(
                _("%(path)s already exists; restore only into a new database.") % {"path": path}
            )
        if not path.parent.is_dir():
            raise BackupRefused(_("The directory %(path)s does not exist.") % {"path": path.parent})
        return
    try:
        with (
            _connection(settings_dict, "kexie_restore_check") as target,
            target.cursor() as cursor,
        ):
            cursor.execute(
                "SELECT count(*) FROM information_schema.tables "
                "WHERE table_schema NOT IN ('pg_catalog', 'information_schema')"
            )
            tables = cursor.fetchone()[0]
    except Exception as exc:
        raise BackupRefused(
            _("The target database cannot be reached: %(error)s") % {"error": exc}
        ) from exc
    if tables:
        raise BackupRefused(
            _("The target database is not empty; restore only into a new database.")
        )


def _media_members(archive: Path) -> list[tarfile.TarInfo]:
    with tarfile.open(archive, "r") as tar:
        return [m for m in tar.getmembers() if m.isfile()]


def _ensure_media_target(archive: Path, media_root: Path | None) -> None:
    if media_root is None or not _media_members(archive):
        return
    if media_root.exists() and any(media_root.iterdir()):
        raise BackupRefused(
            _("%(path)s is not empty; restore the files into an empty directory.")
            % {"path": media_root}
        )


def _restore_media(archive: Path, media_root: Path) -> int:
    members = _media_members(archive)
    if not members:
        return 0
    media_root.mkdir(parents=True, exist_ok=True)
    with tarfile.open(archive, "r") as tar:
        # The "data" filter refuses absolute paths, "..", links out of the tree and devices.
        tar.extractall(media_root, members=members, filter="data")
    return len(members)


def _restore_database(path: Path, manifest: dict, settings_dict: dict, vendor: str) -> str:
    """Put the database in place; return the integrity verdict ("ok" or the problems)."""
    source = path / manifest["database_file"]
    if vendor == "sqlite":
        target = _sqlite_target_path(settings_dict)
        partial = target.with_name(target.name + ".restoring")
        try:
            shutil.copyfile(source, partial)
            os.chmod(partial, 0o600)
            os.replace(partial, target)
        finally:
            partial.unlink(missing_ok=True)  # RES-02: no half-written copy stays behind
        conn = sqlite3.connect(f"file:{quote(str(target))}?mode=ro", uri=True)
        try:
            problems = [row[0] for row in conn.execute("PRAGMA integrity_check")]
            foreign = conn.execute("PRAGMA foreign_key_check").fetchall()
        finally:
            conn.close()
        if problems != ["ok"]:
            return "; ".join(problems)[:500]
        if foreign:
            return _("%(count)s rows break a foreign key.") % {"count": len(foreign)}
        return "ok"
    args, env = _pg_command("pg_restore", settings_dict)
    args += [
        "--no-owner",
        "--no-privileges",
        "--exit-on-error",
        "--single-transaction",
        "--no-password",
        f"--dbname={settings_dict['NAME']}",
        str(source),
    ]
    _run(args, env)  # a non-zero exit status raises: the restore is rolled back as a whole
    return "ok"


def _close_connections_to(settings_dict: dict) -> None:
    """Close our own connections to the restore target (a disaster recovery restores into the
    configured database itself), so the next query opens the restored database."""
    for conn in connections.all(initialized_only=True):
        same = conn.settings_dict["ENGINE"] == settings_dict["ENGINE"] and str(
            conn.settings_dict["NAME"]
        ) == str(settings_dict["NAME"])
        if same and not conn.in_atomic_block:
            conn.close()


def _pending_migrations(applied: dict[str, list[str]]) -> int:
    from django.db.migrations.loader import MigrationLoader

    loader = MigrationLoader(None, ignore_no_migrations=True)
    done = {(app, name) for app, names in applied.items() for name in names}
    return len(set(loader.disk_migrations) - done)


def backup_restore(
    *,
    actor,
    path: Path,
    database_url: str,
    media_root: Path | None = None,
    confirm: Callable[[dict], bool] | None = None,
) -> RestoreReport:
    """Verify the backup at ``path``, restore it into the empty database at ``database_url``
    (and its files into ``media_root`` when given), then prove the copy against the manifest.

    Nothing is touched before the signature, every checksum and the emptiness of the target
    are confirmed (``BackupRefused``). Audited as ``backup.restore`` either way.
    """
    _check_actor(actor)
    path = Path(path)
    target: dict = {}
    try:
        manifest = backup_verify(path)
        target = dj_database_url.parse(database_url)
        vendor = _vendor_of(target["ENGINE"])
        if vendor != manifest["vendor"]:
            raise BackupRefused(
                _("This is a %(backup)s backup; it cannot be restored into %(target)s.")
                % {"backup": manifest["vendor"], "target": vendor}
            )
        _ensure_empty(target, vendor)
        _ensure_media_target(path / MEDIA_FILE, media_root)
        if confirm is not None and not confirm(manifest):
            raise BackupRefused(_("Restore cancelled."))
        report = RestoreReport(backup=path.name, vendor=vendor, target=_describe(target))
        _close_connections_to(target)  # the target may be our own database: no stale handle
        report.integrity = _restore_database(path, manifest, target, vendor)
        if media_root is not None:
            report.media_files = _restore_media(path / MEDIA_FILE, media_root)
        reader = _sqlite_reader(_sqlite_target_path(target)) if vendor == "sqlite" else target
        with _connection(reader, "kexie_restore_reader") as restored:
            stats, migrations = table_stats(restored), applied_migrations(restored)
        _close_connections_to(target)
    except Exception as exc:
        _audit_quietly(
            actor=actor,
            event_type="backup.restore",
            object_type="backup",
            object_id=path.name[:64],
            object_repr=path.name,
            outcome="failure",
            reason=str(exc)[:300],
            details={"target": _describe(target) if target else ""},
        )
        raise
    expected = manifest["tables"]
    for table in sorted(set(expected) | set(stats)):
        want, got = expected.get(table, {}), stats.get(table, {})
        report.tables.append(
            TableCheck(
                table=table,
                expected_rows=want.get("rows"),
                actual_rows=got.get("rows"),
                expected_sha256=want.get("sha256"),
                actual_sha256=got.get("sha256"),
            )
        )
    report.migrations_equal = migrations == manifest["migrations"]
    report.pending_migrations = _pending_migrations(migrations)
    audit_log(
        actor=actor,
        event_type="backup.restore",
        object_type="backup",
        object_id=path.name[:64],
        object_repr=path.name,
        outcome="success" if report.ok else "failure",
        details={
            "target": report.target,
            "integrity": report.integrity[:200],
            "tables": len(report.tables),
            "mismatched_tables": [t.table for t in report.mismatches][:50],
            "media_files": report.media_files,
            "operator": "" if actor is not None else _operator(),
        },
    )
    return report
