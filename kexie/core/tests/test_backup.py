"""BAK-01/02/04: every backup is proven by a restore.

The commands run in subprocesses against their own file databases (and, when the suite runs
on PostgreSQL, their own fresh PostgreSQL databases), exactly as an operator runs them: a
writer keeps inserting rows while the backup is taken, the backup is restored into a fresh
database, the integrity check passes and every table's row count and content hash equals the
manifest. A backup with one changed byte, or with a changed manifest value, is refused.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
import threading
import uuid
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from kexie.core.backup import (
    BackupRefused,
    _canonical,
    _connection,
    backup_restore,
    backup_verify,
    table_stats,
)
from kexie.core.models import AuditEvent

ROOT = Path(__file__).resolve().parents[3]
MEDIA_BYTES = "活动照片 · synthetic evidence file\n".encode() * 100


@pytest.fixture(autouse=True)
def _english_messages():
    # Several assertions read the English source text of refusals.
    from django.utils import translation

    with translation.override("en"):
        yield


def _env(database_url: str, media_root: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "kexie.settings.test",
            "DATABASE_URL": database_url,
            "MEDIA_ROOT": str(media_root),
            "LOG_LEVEL": "WARNING",
        }
    )
    return env


def _manage(env: dict[str, str], *args: str, timeout: int = 180) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


class Writer(threading.Thread):
    """Inserts a row into core_parameter every few milliseconds until stopped."""

    def __init__(self, connect, insert_sql: str) -> None:
        super().__init__(daemon=True)
        self.connect, self.insert_sql = connect, insert_sql
        self.stop = threading.Event()
        self.running = threading.Event()  # set once rows are flowing
        self.inserted = 0
        self.error: BaseException | None = None

    def run(self) -> None:
        conn = self.connect()
        try:
            while not self.stop.is_set():
                key = f"writer.{self.inserted}"
                value = json.dumps({"n": self.inserted, "text": "写入中"}, ensure_ascii=False)
                conn.execute(self.insert_sql, (key, value, datetime.now(UTC).isoformat()))
                conn.commit()
                self.inserted += 1
                if self.inserted == 50:
                    self.running.set()
                # pace the writer so the backup gets its turn at the write lock
                self.stop.wait(0.002)
        except BaseException as exc:  # noqa: BLE001 - asserted by the test
            self.error = exc
        finally:
            conn.close()


def _backup_while_writing(env, writer: Writer, count_rows, output: Path) -> tuple[Path, dict]:
    writer.start()
    assert writer.running.wait(timeout=60), writer.error
    before = count_rows()
    result = _manage(env, "backup", "--output", str(output))
    after = count_rows()
    writer.stop.set()
    writer.join(timeout=10)
    assert writer.error is None
    assert result.returncode == 0, result.stdout + result.stderr
    path = Path(result.stdout.strip().splitlines()[-1])
    manifest = json.loads((path / "manifest.json").read_text("utf-8"))
    snapshot_rows = manifest["tables"]["core_parameter"]["rows"]
    # the writer went on during the backup, and the backup is one moment between the two
    assert before < snapshot_rows < after
    return path, manifest


# --- SQLite ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def sqlite_backup(tmp_path_factory):
    """A migrated file database with code tables and an uploaded file, backed up while a
    writer thread keeps inserting rows."""
    base = tmp_path_factory.mktemp("sqlite-backup")
    source = base / "source.sqlite3"
    media = base / "media"
    (media / "evidence" / "2026").mkdir(parents=True)
    (media / "evidence" / "2026" / "photo.txt").write_bytes(MEDIA_BYTES)
    env = _env(f"sqlite:///{source}", media)
    for command in (("migrate", "-v", "0"), ("sync_code_tables",)):
        result = _manage(env, *command)
        assert result.returncode == 0, result.stderr

    def connect():
        conn = sqlite3.connect(source, timeout=20)
        conn.execute("PRAGMA busy_timeout=20000")
        return conn

    def count_rows() -> int:
        with sqlite3.connect(source, timeout=20) as conn:
            return conn.execute("SELECT count(*) FROM core_parameter").fetchone()[0]

    insert = (
        "INSERT INTO core_parameter (key, category, value, updated_at) VALUES (?, 'system', ?, ?)"
    )
    path, manifest = _backup_while_writing(env, Writer(connect, insert), count_rows, base / "out")
    return {"base": base, "source": source, "env": env, "path": path, "manifest": manifest}


def test_sqlite_backup_taken_while_writing_restores_with_equal_tables(
    sqlite_backup, tmp_path, django_db_blocker
):
    # given a backup taken while a writer was inserting rows
    path, manifest = sqlite_backup["path"], sqlite_backup["manifest"]
    assert manifest["vendor"] == "sqlite"
    assert {"database.sqlite3", "media.tar"} <= set(manifest["files"])
    assert manifest["tables"]["core_region"]["rows"] > 100
    assert "0001_initial" in manifest["migrations"]["core"]
    # when it is restored into a fresh database
    target = tmp_path / "restored.sqlite3"
    media = tmp_path / "media"
    result = _manage(
        sqlite_backup["env"],
        "restore",
        str(path),
        "--database-url",
        f"sqlite:///{target}",
        "--media-root",
        str(media),
        "--yes",
    )
    # then the restore is verified table by table
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Integrity check: ok" in result.stdout
    assert "Restore verified." in result.stdout
    # and, checked here independently: integrity, row counts and content hashes
    with sqlite3.connect(target) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        for table, expected in manifest["tables"].items():
            count = conn.execute(f'SELECT count(*) FROM "{table}"').fetchone()[0]  # noqa: S608
            assert count == expected["rows"], table
    restored = {"ENGINE": "django.db.backends.sqlite3", "NAME": str(target)}
    with django_db_blocker.unblock(), _connection(restored, "restored") as db:
        stats = table_stats(db)
    assert stats == manifest["tables"]
    assert (media / "evidence" / "2026" / "photo.txt").read_bytes() == MEDIA_BYTES
    # the source went on growing after the snapshot
    with sqlite3.connect(sqlite_backup["source"]) as conn:
        live = conn.execute("SELECT count(*) FROM core_parameter").fetchone()[0]
    assert live > manifest["tables"]["core_parameter"]["rows"]


def test_backup_and_restore_are_audited(sqlite_backup, tmp_path):
    target = tmp_path / "audited.sqlite3"
    result = _manage(
        sqlite_backup["env"],
        "restore",
        str(sqlite_backup["path"]),
        "--database-url",
        f"sqlite:///{target}",
        "--no-media",
        "--yes",
    )
    assert result.returncode == 0, result.stderr
    with sqlite3.connect(sqlite_backup["source"]) as conn:
        rows = conn.execute(
            "SELECT event_type, outcome, object_repr FROM core_auditevent "
            "WHERE event_type LIKE 'backup.%' ORDER BY sequence"
        ).fetchall()
    name = sqlite_backup["path"].name
    assert ("backup.create", "success", name) in rows
    assert ("backup.restore", "success", name) in rows


def _copy(backup: Path, tmp_path: Path) -> Path:
    copy = tmp_path / backup.name
    shutil.copytree(backup, copy)
    return copy


def _flip_byte(path: Path, offset: int | None = None) -> None:
    data = bytearray(path.read_bytes())
    offset = len(data) // 2 if offset is None else offset
    data[offset] ^= 0x01
    path.write_bytes(bytes(data))


def _rewrite_manifest(path: Path, change) -> None:
    manifest = json.loads((path / "manifest.json").read_text("utf-8"))
    change(manifest)
    (path / "manifest.json").write_text(json.dumps(manifest), "utf-8")


def test_a_backup_with_one_changed_byte_is_refused_before_anything_is_touched(
    sqlite_backup, tmp_path
):
    # given a backup whose database file has one changed byte
    backup = _copy(sqlite_backup["path"], tmp_path)
    _flip_byte(backup / "database.sqlite3")
    target = tmp_path / "never.sqlite3"
    # when it is restored
    result = _manage(
        sqlite_backup["env"],
        "restore",
        str(backup),
        "--database-url",
        f"sqlite:///{target}",
        "--no-media",
        "--yes",
    )
    # then it is refused with a clear message, a non-zero exit, and no database was created
    assert result.returncode == 2
    assert "Restore refused, nothing was changed" in result.stderr
    assert "database.sqlite3" in result.stderr
    assert not target.exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("tamper", "message"),
    [
        ("manifest_rows", "signature"),
        ("manifest_hash", "signature"),
        ("recomputed_sha256", "signature"),
        ("media_byte", "media.tar"),
        ("missing_file", "missing"),
        ("manifest_gone", "manifest"),
    ],
)
def test_tampered_backups_are_refused(sqlite_backup, tmp_path, tamper, message):
    import hashlib

    backup = _copy(sqlite_backup["path"], tmp_path)
    if tamper == "manifest_rows":  # a value changed; the signature left as it was
        _rewrite_manifest(backup, lambda m: m["tables"]["core_region"].update(rows=1))
    elif tamper == "manifest_hash":
        _rewrite_manifest(backup, lambda m: m["tables"]["core_region"].update(sha256="0" * 64))
    elif tamper == "recomputed_sha256":  # a byte changed and its SHA-256 recomputed
        _flip_byte(backup / "database.sqlite3")
        digest = hashlib.sha256((backup / "database.sqlite3").read_bytes()).hexdigest()
        _rewrite_manifest(backup, lambda m: m["files"]["database.sqlite3"].update(sha256=digest))
    elif tamper == "media_byte":
        _flip_byte(backup / "media.tar", offset=600)
    elif tamper == "missing_file":
        (backup / "media.tar").unlink()
    else:
        (backup / "manifest.json").unlink()
    target = tmp_path / "never.sqlite3"
    with pytest.raises(BackupRefused) as refused:
        backup_restore(actor=None, path=backup, database_url=f"sqlite:///{target}")
    assert message in str(refused.value)
    assert not target.exists()
    event = AuditEvent.objects.get(event_type="backup.restore")
    assert event.outcome == "failure"


@pytest.mark.django_db
def test_restore_refuses_a_database_that_is_not_empty(sqlite_backup):
    # given the live source database as the "target"
    source = sqlite_backup["source"]
    before = source.read_bytes()[:4096]
    # when someone restores over it
    with pytest.raises(BackupRefused, match="already exists"):
        backup_restore(actor=None, path=sqlite_backup["path"], database_url=f"sqlite:///{source}")
    # then nothing was touched
    assert source.read_bytes()[:4096] == before


def test_restore_refuses_files_into_a_directory_that_is_not_empty(sqlite_backup, tmp_path):
    media = tmp_path / "media"
    media.mkdir()
    (media / "keep.txt").write_text("x")
    result = _manage(
        sqlite_backup["env"],
        "restore",
        str(sqlite_backup["path"]),
        "--database-url",
        f"sqlite:///{tmp_path / 'new.sqlite3'}",
        "--media-root",
        str(media),
        "--yes",
    )
    assert result.returncode == 2
    assert "不为空" in result.stderr
    assert not (tmp_path / "new.sqlite3").exists()


def test_verify_accepts_the_untouched_backup(sqlite_backup):
    manifest = backup_verify(sqlite_backup["path"])
    assert manifest["name"] == sqlite_backup["path"].name


# --- the backup page and its background job ------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_backup_page_runs_a_backup_job_the_list_then_shows_verified(
    system_admin, client, settings, tmp_path
):
    # given a system administrator and an empty backup directory
    settings.KEXIE_BACKUP_DIR = tmp_path / "backups"
    settings.MEDIA_ROOT = tmp_path / "media"
    client.force_login(system_admin)
    # when they start a backup and the worker runs it
    response = client.post("/system/backups/new/")
    assert response.status_code == 302
    call_command("run_worker", "--batch", "--interval", "0")
    # then the job succeeded, the backup verifies and the page lists it as verified
    from kexie.core.models import Job

    job = Job.objects.get(kind="core.backup")
    assert job.status == "succeeded", job.message
    (backup,) = list((tmp_path / "backups").iterdir())
    manifest = backup_verify(backup)
    assert manifest["created_by"] == system_admin.username
    assert manifest["tables"]["accounts_user"]["rows"] >= 1
    html = client.get("/system/backups/").content.decode()
    assert backup.name in html
    assert 'data-testid="backup-status">校验通过' in html
    event = AuditEvent.objects.get(event_type="backup.create")
    assert (event.actor, event.outcome) == (system_admin, "success")
    # and a changed byte shows on the page
    _flip_byte(backup / manifest["database_file"])
    html = client.get("/system/backups/").content.decode()
    assert 'data-testid="backup-status">校验通过' not in html


@pytest.mark.django_db
def test_backup_cli_user_must_hold_the_backup_right(county_admin):
    with pytest.raises(CommandError, match="backup right"):
        call_command("backup", "--user", county_admin.username)


def test_backup_pages_refuse_a_county_level_system_admin(tree, login, settings, tmp_path):
    from kexie.accounts.tests.factories import staff

    settings.KEXIE_BACKUP_DIR = tmp_path
    county_sysadmin = staff(organisation=tree.emin, role="system_admin")
    client = login(county_sysadmin)
    assert client.get("/system/backups/").status_code == 403
    assert client.post("/system/backups/new/").status_code == 403
    assert list(tmp_path.iterdir()) == []


# --- canonical values ------------------------------------------------------------------------


def test_canonical_values_do_not_depend_on_the_driver():
    from kexie.core.models import AuditEvent as E
    from kexie.core.models import Job, Region

    field = {f.name: f for f in E._meta.get_fields() if hasattr(f, "column")}
    # SQLite gives strings and integers where PostgreSQL gives typed values
    when = datetime(2026, 1, 2, 3, 4, 5, 123456, tzinfo=UTC)
    assert _canonical("2026-01-02 03:04:05.123456", field["occurred_at"]) == _canonical(
        when, field["occurred_at"]
    )
    assert _canonical('{"b": 1, "a": [1, 2]}', field["details"]) == _canonical(
        {"a": [1, 2], "b": 1}, field["details"]
    )
    latitude = Region._meta.get_field("latitude")
    assert _canonical(46.7461, latitude) == _canonical(Decimal("46.746100"), latitude)
    assert _canonical(1, Job._meta.get_field("progress_done")) == "1"
    boolean = Region._meta.get_field("is_xpcc")
    assert _canonical(1, boolean) == _canonical(True, boolean) == "true"
    assert _canonical(None, boolean) is None


# --- PostgreSQL --------------------------------------------------------------------------------


def _postgres_url() -> str | None:
    url = os.environ.get("DATABASE_URL", "")
    return url if url.startswith(("postgres://", "postgresql://")) else None


@pytest.fixture
def postgres(tmp_path):
    """Connection settings for fresh PostgreSQL databases, created with psql (createdb)."""
    url = _postgres_url()
    if url is None:
        pytest.skip("DATABASE_URL is not PostgreSQL: the pg_dump/pg_restore path is not run")
    for program in ("pg_dump", "pg_restore", "psql"):
        if shutil.which(program) is None:
            if os.environ.get("CI") == "true":
                pytest.fail(f"{program} is required in CI")
            pytest.skip(f"{program} is not installed")
    import dj_database_url

    params = dj_database_url.parse(url)
    created: list[str] = []

    def psql(sql: str) -> None:
        args = ["psql", "-v", "ON_ERROR_STOP=1", "-d", "postgres", "-c", sql]
        if params.get("HOST"):
            args += ["-h", str(params["HOST"])]
        if params.get("PORT"):
            args += ["-p", str(params["PORT"])]
        args += ["-U", str(params.get("USER") or "postgres")]
        env = dict(os.environ)
        if params.get("PASSWORD"):
            env["PGPASSWORD"] = str(params["PASSWORD"])
        subprocess.run(args, env=env, check=True, capture_output=True, timeout=60)

    def createdb() -> tuple[str, dict]:
        name = f"kexie_bak_{uuid.uuid4().hex[:10]}"
        psql(f"CREATE DATABASE \"{name}\" ENCODING 'UTF8' TEMPLATE template0")
        created.append(name)
        return url.rsplit("/", 1)[0] + "/" + name, {**params, "NAME": name}

    yield createdb
    for name in created:
        psql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_postgresql_backup_taken_while_writing_restores_with_equal_tables(postgres, tmp_path):
    import psycopg

    # given a migrated PostgreSQL database with code tables and an uploaded file
    source_url, source = postgres()
    media = tmp_path / "media"
    media.mkdir()
    (media / "photo.txt").write_bytes(MEDIA_BYTES)
    env = _env(source_url, media)
    for command in (("migrate", "-v", "0"), ("sync_code_tables",)):
        result = _manage(env, *command)
        assert result.returncode == 0, result.stderr
    conninfo = {
        "dbname": source["NAME"],
        "host": source.get("HOST") or None,
        "port": source.get("PORT") or None,
        "user": source.get("USER") or None,
        "password": source.get("PASSWORD") or None,
    }

    def connect(dbname: str | None = None):
        options = {k: v for k, v in conninfo.items() if v}
        return psycopg.connect(**{**options, "dbname": dbname or source["NAME"]})

    def count_rows() -> int:
        with connect() as conn:
            return conn.execute("SELECT count(*) FROM core_parameter").fetchone()[0]

    insert = (
        "INSERT INTO core_parameter (key, category, value, updated_at) "
        "VALUES (%s, 'system', %s::jsonb, %s::timestamptz)"
    )
    # when it is backed up while a writer keeps inserting
    path, manifest = _backup_while_writing(env, Writer(connect, insert), count_rows, tmp_path)
    assert manifest["vendor"] == "postgresql"
    assert manifest["database_file"] == "database.dump"
    # and restored into a freshly created database
    target_url, target = postgres()
    restored_media = tmp_path / "restored-media"
    result = _manage(
        env,
        "restore",
        str(path),
        "--database-url",
        target_url,
        "--media-root",
        str(restored_media),
        "--yes",
    )
    # then pg_restore succeeded and every table equals the manifest
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Restore verified." in result.stdout
    with psycopg.connect(
        **{**{k: v for k, v in conninfo.items() if v}, "dbname": target["NAME"]}
    ) as c:
        for table, expected in manifest["tables"].items():
            count = c.execute(f'SELECT count(*) FROM "{table}"').fetchone()[0]  # noqa: S608
            assert count == expected["rows"], table
    assert (restored_media / "photo.txt").read_bytes() == MEDIA_BYTES
    # and a changed byte in the dump is refused, touching nothing
    _flip_byte(path / "database.dump")
    fresh_url, fresh = postgres()
    result = _manage(env, "restore", str(path), "--database-url", fresh_url, "--no-media", "--yes")
    assert result.returncode == 2
    assert "database.dump" in result.stderr
    with psycopg.connect(
        **{**{k: v for k, v in conninfo.items() if v}, "dbname": fresh["NAME"]}
    ) as c:
        tables = c.execute(
            "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'"
        ).fetchone()[0]
    assert tables == 0
