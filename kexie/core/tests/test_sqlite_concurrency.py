"""REL-01: the SQLite settings hold under concurrent writers on a file database."""

from __future__ import annotations

import threading

import pytest
from django.conf import settings
from django.db import connections, transaction
from django.db.backends.sqlite3.base import DatabaseWrapper

from kexie.settings.base import DATABASES as CONFIGURED  # the options `make run` uses


def _wrapper(path) -> DatabaseWrapper:
    base = dict(settings.DATABASES["default"])
    base.update(
        {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": str(path),
            "OPTIONS": dict(CONFIGURED["default"].get("OPTIONS", {})),
            "TIME_ZONE": None,
            "CONN_MAX_AGE": 0,
            "CONN_HEALTH_CHECKS": False,
            "AUTOCOMMIT": True,
            "ATOMIC_REQUESTS": False,
            "TEST": {},
        }
    )
    return DatabaseWrapper(base, alias="concurrency")


@pytest.fixture(autouse=True)
def _own_connections(django_db_blocker):
    # These tests open their own file databases, not the test database.
    with django_db_blocker.unblock():
        yield


def test_configured_sqlite_uses_wal_immediate_and_full_sync(tmp_path):
    if CONFIGURED["default"]["ENGINE"] != "django.db.backends.sqlite3":
        pytest.skip("DATABASE_URL points at another database; the SQLite defaults are not used")
    db = _wrapper(tmp_path / "pragmas.sqlite3")
    with db.cursor() as cursor:
        assert cursor.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert cursor.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
        assert cursor.execute("PRAGMA secure_delete").fetchone()[0] == 1
        assert cursor.execute("PRAGMA busy_timeout").fetchone()[0] >= 5000
    assert db.transaction_mode == "IMMEDIATE"
    db.close()


def test_eight_threads_of_read_modify_write_lose_nothing(tmp_path):
    if CONFIGURED["default"]["ENGINE"] != "django.db.backends.sqlite3":
        pytest.skip("DATABASE_URL points at another database; the SQLite defaults are not used")
    path = tmp_path / "concurrency.sqlite3"
    setup = _wrapper(path)
    with setup.cursor() as cursor:
        cursor.execute("CREATE TABLE counter (id INTEGER PRIMARY KEY, value INTEGER NOT NULL)")
        cursor.execute("INSERT INTO counter (id, value) VALUES (1, 0)")
    setup.close()
    errors: list[BaseException] = []
    threads_n, rounds = 8, 50

    def worker() -> None:
        db = _wrapper(path)
        connections["concurrency"] = db  # thread-local: each thread registers its own
        try:
            for _ in range(rounds):
                # atomic() on this connection issues BEGIN IMMEDIATE (transaction_mode).
                with transaction.atomic(using="concurrency"), db.cursor() as cursor:
                    value = cursor.execute("SELECT value FROM counter WHERE id = 1").fetchone()[0]
                    cursor.execute("UPDATE counter SET value = %s WHERE id = 1", [value + 1])
        except BaseException as exc:  # noqa: BLE001 - collected and asserted below
            errors.append(exc)
        finally:
            db.close()
            del connections["concurrency"]

    threads = [threading.Thread(target=worker) for _ in range(threads_n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    check = _wrapper(path)
    with check.cursor() as cursor:
        total = cursor.execute("SELECT value FROM counter WHERE id = 1").fetchone()[0]
    check.close()
    assert errors == []
    assert total == threads_n * rounds
