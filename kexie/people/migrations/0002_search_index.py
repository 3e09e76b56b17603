"""The search index of the registry: an FTS5 table on SQLite, a text[] + GIN table on
PostgreSQL (see kexie/people/search.py and docs/decisions/0006-registry-search.md).

No foreign key to people_person: Django's flush (tests) truncates the tables it knows, and a
referencing table it does not know would make that fail. The services keep both in step.

The SQL lives in this migration (not imported from app code) so it never changes under it.
"""

from django.db import migrations

PG_TABLE = "people_person_search"
FTS_TABLE = "people_person_fts"


def create(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(
            f"CREATE TABLE IF NOT EXISTS {PG_TABLE} ("
            " person_id bigint PRIMARY KEY, tokens text[] NOT NULL)"
        )
        schema_editor.execute(
            f"CREATE INDEX IF NOT EXISTS {PG_TABLE}_gin ON {PG_TABLE} USING gin (tokens)"
        )
    elif vendor == "sqlite":
        schema_editor.execute(
            f"CREATE VIRTUAL TABLE IF NOT EXISTS {FTS_TABLE} USING fts5("
            "tokens, tokenize='unicode61 remove_diacritics 0', detail=none, columnsize=0)"
        )
    else:
        raise NotImplementedError(f"no registry search index for {vendor}")


def drop(apps, schema_editor):
    table = PG_TABLE if schema_editor.connection.vendor == "postgresql" else FTS_TABLE
    schema_editor.execute(f"DROP TABLE IF EXISTS {table}")


class Migration(migrations.Migration):
    dependencies = [("people", "0001_initial")]

    operations = [migrations.RunPython(create, drop)]
