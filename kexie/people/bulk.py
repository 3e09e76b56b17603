"""Writing many persons at once: the importer, the demo loader and the benchmark.

``Person.objects.bulk_create`` spends most of its time in Django's per-field SQL compilation
(about 0.25 ms a row here, and on SQLite it splits every 1,000 rows into 46 statements of 22
rows); a 100,000-row import must write in well under a minute (issue 4). So this module
prepares each row's values the way the fields prepare them and sends them with one prepared
statement (SQLite ``executemany``) or ``COPY`` (PostgreSQL). Nothing else is bypassed: the
callers clean and derive every value through the services first (``person_clean``,
``_derive``), index the rows for search (``search.index_rows``) and audit the write.

Ids come from the database: on PostgreSQL from the table's sequence (``nextval``, safe with
concurrent writers); on SQLite as ``max(id) + 1`` inside the caller's transaction, which is an
IMMEDIATE one (REL-01), so no other writer can take the same ids.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager

from django.db import connection, transaction
from django.db.models import DateTimeField
from django.utils import timezone

from kexie.core.crypto import EncryptedTextField

from .models import Person

_TABLE = Person._meta.db_table
# SQLite's page cache during a bulk write, in KiB (negative: a size, not a page count). Each new
# row touches a random page of each of the person table's random-keyed indexes (ID and phone
# blind indexes, name and birth date); at a million rows those indexes pass the connection's
# usual 32 MB and the write re-reads pages: 100,000 rows took 19 s with 32 MB, 15 s with 128
# (96 keeps the import below its 400 MB budget).
BULK_CACHE_KIB = 98_304


_PG_NEXT_IDS = "SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)"
_SQLITE_MAX_ID = f"SELECT COALESCE(MAX(id), 0) FROM {_TABLE}"  # noqa: S608 - constant
_BULK_CACHE_SQL = f"PRAGMA cache_size=-{BULK_CACHE_KIB}"
# Back to the size every connection gets (settings/base.py, init_command).
_USUAL_CACHE_SQL = "PRAGMA cache_size=-32768"


@contextmanager
def bulk_page_cache() -> Iterator[None]:
    """A larger SQLite page cache for the duration of a bulk write (nothing on PostgreSQL,
    whose shared buffers are the server's)."""
    if connection.vendor != "sqlite":
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute(_BULK_CACHE_SQL)
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute(_USUAL_CACHE_SQL)


class PersonBulkInserter:
    """Insert prepared ``Person`` instances in batches; sets their ``pk`` and timestamps."""

    def __init__(self) -> None:
        self.fields = [f for f in Person._meta.concrete_fields if f.attname != "id"]
        self.columns = ["id", *(f.column for f in self.fields)]
        self.converters = [
            (lambda value, field=field: field.get_db_prep_save(value, connection))
            if isinstance(field, EncryptedTextField | DateTimeField)
            else None
            for field in self.fields
        ]
        columns = ", ".join(self.columns)
        marks = ", ".join(["%s"] * len(self.columns))
        self._insert_sql = f"INSERT INTO {_TABLE} ({columns}) VALUES ({marks})"  # noqa: S608
        self._copy_sql = f"COPY {_TABLE} ({columns}) FROM STDIN"
        self._next_sqlite_id: int | None = None

    def _reserve_ids(self, count: int) -> list[int]:
        with connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                cursor.execute(_PG_NEXT_IDS, [_TABLE, count])
                return [row[0] for row in cursor.fetchall()]
            if self._next_sqlite_id is None:
                cursor.execute(_SQLITE_MAX_ID)
                self._next_sqlite_id = cursor.fetchone()[0] + 1
        first = self._next_sqlite_id
        self._next_sqlite_id += count
        return list(range(first, first + count))

    def _row(self, person: Person) -> tuple:
        values = [person.pk]
        for field, convert in zip(self.fields, self.converters, strict=True):
            value = getattr(person, field.attname)
            values.append(convert(value) if convert is not None else value)
        return tuple(values)

    def insert(self, persons: Sequence[Person]) -> None:
        """Write ``persons`` (already cleaned and derived). Must run inside a transaction."""
        if not persons:
            return
        if not connection.in_atomic_block:
            raise transaction.TransactionManagementError("bulk inserts need a transaction")
        now = timezone.now()
        for person, pk in zip(persons, self._reserve_ids(len(persons)), strict=True):
            person.pk = pk
            person.created_at = person.updated_at = now
            person._state.adding = False
        rows = [self._row(person) for person in persons]
        with connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                with cursor.cursor.copy(self._copy_sql) as copy:
                    for row in rows:
                        copy.write_row(row)
            else:
                cursor.executemany(self._insert_sql, rows)
