"""AUD-04: the audit tables are append-only, enforced by the database itself.

Triggers refuse every UPDATE and DELETE on ``core_auditevent`` and ``core_auditchainanchor``.
The retention purge (AUD-05, ``core.audit_chain.audit_purge``) is the one exception:

- PostgreSQL: DELETE passes while ``current_setting('kexie.audit_purge', true) = 'on'``, which
  the purge sets for its own transaction only (``set_config(..., true)`` = ``SET LOCAL``).
- SQLite: DELETE passes while a row exists in ``core_auditpurgepermit`` (a plain table created
  here, not a Django model); the purge inserts it, deletes, and removes it in one transaction,
  so no other connection ever sees it.

TRUNCATE is not covered on purpose (the test suite flushes PostgreSQL with it); the
application's database role must not own the tables in production, so it cannot truncate.

SQLite drops a table's triggers when Django rebuilds the table (``ALTER`` of a column): a later
migration that alters ``core_auditevent`` must re-create them. A test checks they exist.
Hand-written, and imports no app code.
"""

from django.db import migrations

SQLITE_FORWARD = [
    """
    CREATE TABLE IF NOT EXISTS core_auditpurgepermit (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        granted_at TEXT NOT NULL
    )
    """,
    """
    CREATE TRIGGER IF NOT EXISTS core_auditevent_no_update
    BEFORE UPDATE ON core_auditevent
    BEGIN
        SELECT RAISE(ABORT, 'core_auditevent is append-only: UPDATE refused (AUD-04)');
    END
    """,
    """
    CREATE TRIGGER IF NOT EXISTS core_auditevent_no_delete
    BEFORE DELETE ON core_auditevent
    WHEN NOT EXISTS (SELECT 1 FROM core_auditpurgepermit)
    BEGIN
        SELECT RAISE(ABORT, 'core_auditevent is append-only: DELETE refused (AUD-04)');
    END
    """,
    """
    CREATE TRIGGER IF NOT EXISTS core_auditchainanchor_no_update
    BEFORE UPDATE ON core_auditchainanchor
    BEGIN
        SELECT RAISE(ABORT, 'core_auditchainanchor is append-only: UPDATE refused (AUD-04)');
    END
    """,
    """
    CREATE TRIGGER IF NOT EXISTS core_auditchainanchor_no_delete
    BEFORE DELETE ON core_auditchainanchor
    WHEN NOT EXISTS (SELECT 1 FROM core_auditpurgepermit)
    BEGIN
        SELECT RAISE(ABORT, 'core_auditchainanchor is append-only: DELETE refused (AUD-04)');
    END
    """,
]

SQLITE_REVERSE = [
    "DROP TRIGGER IF EXISTS core_auditchainanchor_no_delete",
    "DROP TRIGGER IF EXISTS core_auditchainanchor_no_update",
    "DROP TRIGGER IF EXISTS core_auditevent_no_delete",
    "DROP TRIGGER IF EXISTS core_auditevent_no_update",
    "DROP TABLE IF EXISTS core_auditpurgepermit",
]

# restrict_violation (SQLSTATE 23001) reaches Django as an IntegrityError.
POSTGRES_FORWARD = [
    """
    CREATE OR REPLACE FUNCTION core_audit_append_only() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
        IF TG_OP = 'DELETE' AND current_setting('kexie.audit_purge', true) = 'on' THEN
            RETURN OLD;
        END IF;
        RAISE EXCEPTION USING
            ERRCODE = 'restrict_violation',
            MESSAGE = TG_TABLE_NAME || ' is append-only: ' || TG_OP || ' refused (AUD-04)';
    END;
    $$
    """,
    """
    CREATE TRIGGER core_auditevent_append_only
    BEFORE UPDATE OR DELETE ON core_auditevent
    FOR EACH ROW EXECUTE FUNCTION core_audit_append_only()
    """,
    """
    CREATE TRIGGER core_auditchainanchor_append_only
    BEFORE UPDATE OR DELETE ON core_auditchainanchor
    FOR EACH ROW EXECUTE FUNCTION core_audit_append_only()
    """,
]

POSTGRES_REVERSE = [
    "DROP TRIGGER IF EXISTS core_auditchainanchor_append_only ON core_auditchainanchor",
    "DROP TRIGGER IF EXISTS core_auditevent_append_only ON core_auditevent",
    "DROP FUNCTION IF EXISTS core_audit_append_only()",
]


def _statements(vendor: str, *, forward: bool) -> list[str]:
    if vendor == "sqlite":
        return SQLITE_FORWARD if forward else SQLITE_REVERSE
    if vendor == "postgresql":
        return POSTGRES_FORWARD if forward else POSTGRES_REVERSE
    raise RuntimeError(f"Kexie's audit triggers exist for SQLite and PostgreSQL, not {vendor}.")


def create_triggers(apps, schema_editor):
    for statement in _statements(schema_editor.connection.vendor, forward=True):
        schema_editor.execute(statement)


def drop_triggers(apps, schema_editor):
    for statement in _statements(schema_editor.connection.vendor, forward=False):
        schema_editor.execute(statement)


class Migration(migrations.Migration):
    dependencies = [
        ("core", "0001_initial"),
    ]

    operations = [
        migrations.RunPython(create_triggers, drop_triggers, elidable=False),
    ]
