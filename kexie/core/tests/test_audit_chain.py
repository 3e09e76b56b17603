"""AUD-01, AUD-04..06: the audit log is complete, append-only, tamper-evident and retained.

The append-only triggers are proven on whichever database the suite runs against (run it on
SQLite and on PostgreSQL). Tampering is simulated the only way an attacker could do it: by
dropping the trigger first, inside the test's transaction.
"""

from __future__ import annotations

import datetime as dt
import re
import threading
from collections import Counter
from pathlib import Path

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from django.db import DatabaseError, IntegrityError, connection, connections, transaction
from django.test import override_settings
from django.utils import timezone, translation

from kexie.conftest import PASSWORD
from kexie.core.audit import audit_log, event_hmac
from kexie.core.audit_chain import MIN_RETENTION_DAYS, audit_purge, chain_verify
from kexie.core.audit_events import EVENT_LABELS, event_label
from kexie.core.models import AuditChainAnchor, AuditEvent

KEXIE = Path(__file__).resolve().parents[2]

TRIGGERS = {
    "sqlite": [
        "core_auditevent_no_update",
        "core_auditevent_no_delete",
        "core_auditchainanchor_no_update",
        "core_auditchainanchor_no_delete",
    ],
    "postgresql": ["core_auditevent_append_only", "core_auditchainanchor_append_only"],
}


@pytest.fixture(autouse=True)
def english():
    # Messages are compared in their English source text.
    with translation.override("en"):
        yield


def _sql(statement: str, params: list | None = None) -> None:
    with connection.cursor() as cursor:
        cursor.execute(statement, params or [])


def _write(count: int, event_type: str = "org.update") -> list[AuditEvent]:
    return [
        audit_log(actor=None, event_type=event_type, object_repr=f"事件 {index}")
        for index in range(count)
    ]


def _drop_audit_event_triggers() -> None:
    """What an attacker with database access would do first. Rolled back with the test."""
    if connection.vendor == "sqlite":
        _sql("DROP TRIGGER core_auditevent_no_update")
        _sql("DROP TRIGGER core_auditevent_no_delete")
    else:
        _sql("DROP TRIGGER core_auditevent_append_only ON core_auditevent")


def _verify() -> str:
    out = []

    class Sink:
        def write(self, text):
            out.append(text)

        def flush(self):
            pass

    call_command("verify_audit_chain", stdout=Sink())
    return "".join(out)


def _installed_triggers() -> set[str]:
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'")
        else:
            cursor.execute("SELECT tgname FROM pg_trigger WHERE NOT tgisinternal")
        return {row[0] for row in cursor.fetchall()}


def _purge_permits() -> int:
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute("SELECT COUNT(*) FROM core_auditpurgepermit")
            return cursor.fetchone()[0]
        cursor.execute("SELECT current_setting('kexie.audit_purge', true)")
        return int(cursor.fetchone()[0] == "on")


# --- AUD-04: append-only, enforced by the database -----------------------------------------------


def test_the_append_only_triggers_are_installed(db):
    # A later migration that rebuilds core_auditevent on SQLite would silently drop them.
    assert set(TRIGGERS[connection.vendor]) <= _installed_triggers()


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE core_auditevent SET object_repr = 'changed' WHERE id = %s",
        "UPDATE core_auditevent SET hmac = '0' WHERE id = %s",
        "DELETE FROM core_auditevent WHERE id = %s",
        "DELETE FROM core_auditevent",
    ],
)
def test_the_database_refuses_to_change_or_delete_an_audit_event(db, statement):
    # given an event
    event = audit_log(actor=None, event_type="org.update", object_repr="原样")
    # when raw SQL tries to change or delete it
    with pytest.raises(IntegrityError, match="append-only"), transaction.atomic():
        _sql(statement, [event.pk] if "%s" in statement else [])
    # then the row is unchanged
    row = AuditEvent.objects.get(pk=event.pk)
    assert (row.object_repr, row.hmac, row.sequence) == ("原样", event.hmac, event.sequence)


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE core_auditchainanchor SET hmac = 'forged' WHERE id = %s",
        "DELETE FROM core_auditchainanchor WHERE id = %s",
    ],
)
def test_the_database_refuses_to_change_or_delete_a_chain_anchor(db, statement):
    anchor = AuditChainAnchor.objects.create(sequence=41, hmac="a" * 64, purged_count=41)
    with pytest.raises(IntegrityError, match="append-only"), transaction.atomic():
        _sql(statement, [anchor.pk])
    row = AuditChainAnchor.objects.get(pk=anchor.pk)
    assert (row.sequence, row.hmac) == (41, "a" * 64)


def test_the_orm_cannot_update_or_delete_audit_events_either(db):
    event = audit_log(actor=None, event_type="org.update", object_repr="原样")
    with pytest.raises(IntegrityError), transaction.atomic():
        AuditEvent.objects.filter(pk=event.pk).update(reason="改")
    with pytest.raises(IntegrityError), transaction.atomic():
        AuditEvent.objects.filter(pk=event.pk).delete()
    assert AuditEvent.objects.get(pk=event.pk).reason == ""


# --- AUD-04: verify_audit_chain -------------------------------------------------------------------


def test_verify_passes_on_an_intact_chain(db):
    # given a chain of events (the first one links to the empty origin)
    events = _write(7)
    first = AuditEvent.objects.order_by("sequence").first()
    assert first.prev_hmac == ""
    # when / then
    out = _verify()
    total = AuditEvent.objects.count()
    assert f"OK: {total} audit events verified" in out
    assert f"to {events[-1].sequence}" in out


def test_verify_on_an_empty_log_is_ok(db):
    assert "OK: 0 audit events" in _verify()


def test_verify_names_the_first_changed_row(db):
    # given an intact chain
    events = _write(6)
    target = events[2]
    # when someone drops the trigger and edits one row's object
    _drop_audit_event_triggers()
    _sql("UPDATE core_auditevent SET object_repr = %s WHERE id = %s", ["改过", target.pk])
    # then verification fails and names that row: sequence, id, event type and the problem
    with pytest.raises(CommandError) as failure:
        _verify()
    message = str(failure.value)
    assert f"sequence {target.sequence} (id {target.pk}," in message
    assert "org.update" in message
    assert "HMAC does not match" in message
    assert f"after {target.sequence - 1} intact events" in message


def test_verify_reports_a_deleted_row_as_a_gap(db):
    events = _write(5)
    gone, after = events[1], events[2]
    _drop_audit_event_triggers()
    _sql("DELETE FROM core_auditevent WHERE id = %s", [gone.pk])
    with pytest.raises(CommandError) as failure:
        _verify()
    message = str(failure.value)
    assert f"sequence {after.sequence} (id {after.pk}," in message
    assert f"sequence gap: expected {gone.sequence}, found {after.sequence}" in message


def test_verify_detects_a_row_forged_with_another_key(db):
    # given a chain whose newest row an attacker rewrites, recomputing its HMAC with a key
    # of their own (they do not have KEXIE_AUDIT_KEY)
    events = _write(4)
    target = events[-1]
    target.object_repr = "伪造"
    with override_settings(KEXIE_AUDIT_KEY="YXR0YWNrZXIta2V5LTMyLWJ5dGVzLWxvbmctMDAwMDA="):
        forged = event_hmac(target, target.prev_hmac)
    _drop_audit_event_triggers()
    _sql(
        "UPDATE core_auditevent SET object_repr = %s, hmac = %s WHERE id = %s",
        ["伪造", forged, target.pk],
    )
    # then the forgery is found
    with pytest.raises(CommandError) as failure:
        _verify()
    assert f"sequence {target.sequence} (id {target.pk}," in str(failure.value)
    assert "HMAC does not match" in str(failure.value)


def test_verify_detects_a_broken_link(db):
    # given a row whose prev_hmac was replaced (and its HMAC recomputed with the real key,
    # as an insider with the key but without the previous row would)
    events = _write(4)
    target = events[2]
    target.prev_hmac = "f" * 64
    _drop_audit_event_triggers()
    _sql(
        "UPDATE core_auditevent SET prev_hmac = %s, hmac = %s WHERE id = %s",
        [target.prev_hmac, event_hmac(target, target.prev_hmac), target.pk],
    )
    with pytest.raises(CommandError) as failure:
        _verify()
    assert f"sequence {target.sequence} (id {target.pk}," in str(failure.value)
    assert "link to the previous event" in str(failure.value)


def test_verify_reports_an_anchor_inserted_by_hand_to_hide_deleted_events(db):
    # given a chain whose two oldest events an attacker deletes, bridging the gap with an
    # anchor of their own (anchors carry no HMAC)
    events = _write(5)
    _drop_audit_event_triggers()
    _sql("DELETE FROM core_auditevent WHERE sequence <= %s", [events[1].sequence])
    AuditChainAnchor.objects.create(
        sequence=events[1].sequence, hmac=events[1].hmac, purged_count=2
    )
    # then no signed audit.purge event vouches for the anchor, and verification says so
    with pytest.raises(CommandError) as failure:
        _verify()
    assert f"sequence {events[1].sequence} " in str(failure.value)
    assert "no audit.purge event records this anchor" in str(failure.value)


def test_verify_streams_in_chunks(db):
    _write(25)
    report = chain_verify(chunk_size=10)
    assert report.ok
    assert report.checked == AuditEvent.objects.count()


# --- AUD-05: retention purge ----------------------------------------------------------------------


def _write_at(when: dt.datetime, count: int, event_type: str = "org.update") -> list[AuditEvent]:
    with time_machine.travel(when, tick=False):
        return _write(count, event_type)


def test_purge_refuses_less_than_180_days(db):
    old = _write_at(timezone.now() - dt.timedelta(days=400), 3)
    with pytest.raises(CommandError, match="at least 180 days"):
        call_command("purge_audit", "--older-than-days", "179")
    with pytest.raises(ValidationError):
        audit_purge(older_than_days=MIN_RETENTION_DAYS - 1)
    assert AuditEvent.objects.filter(pk__in=[e.pk for e in old]).count() == 3
    assert not AuditEvent.objects.filter(event_type="audit.purge").exists()


def test_retention_setting_defaults_to_a_year(settings):
    assert settings.KEXIE_AUDIT_RETENTION_DAYS == 365


def test_purge_deletes_only_older_events_anchors_the_chain_and_is_audited(db):
    # given events 400 days, 200 days and 1 day old
    now = timezone.now()
    very_old = _write_at(now - dt.timedelta(days=400), 3)
    old = _write_at(now - dt.timedelta(days=200), 2)
    recent = _write_at(now - dt.timedelta(days=1), 2)
    # when the default purge (365 days) runs from the command line
    call_command("purge_audit")
    # then exactly the 400-day-old events are gone
    remaining = set(AuditEvent.objects.values_list("pk", flat=True))
    assert not remaining & {e.pk for e in very_old}
    assert {e.pk for e in old + recent} <= remaining
    # and an anchor holds the newest purged event's link
    anchor = AuditChainAnchor.objects.get()
    assert (anchor.sequence, anchor.hmac, anchor.purged_count) == (
        very_old[-1].sequence,
        very_old[-1].hmac,
        3,
    )
    # and the purge itself is one chained audit event
    purge = AuditEvent.objects.get(event_type="audit.purge")
    assert purge.details["purged"] == 3
    assert purge.details["through_sequence"] == very_old[-1].sequence
    assert purge.details["older_than_days"] == 365
    assert purge.sequence == recent[-1].sequence + 1
    # and the chain still verifies from the anchor
    out = _verify()
    assert f"after purged sequence {very_old[-1].sequence}" in out
    # when a second purge at 180 days runs
    call_command("purge_audit", "--older-than-days", "180")
    # then the 200-day-old events go too, under a newer anchor, and the chain verifies
    assert not AuditEvent.objects.filter(pk__in=[e.pk for e in old]).exists()
    assert AuditChainAnchor.objects.order_by("-sequence").first().sequence == old[-1].sequence
    assert _verify().startswith("OK")
    assert AuditEvent.objects.filter(event_type="audit.purge").count() == 2


def test_purge_stops_at_the_first_event_inside_the_retention_period(db):
    # given an old event, a recent one, and another old one after it (clock skew)
    now = timezone.now()
    first = _write_at(now - dt.timedelta(days=500), 1)[0]
    middle = _write_at(now - dt.timedelta(days=10), 1)[0]
    late_old = _write_at(now - dt.timedelta(days=500), 1)[0]
    # when
    result = audit_purge(older_than_days=365)
    # then only the contiguous run before the recent event is purged: the chain stays whole
    assert result.purged == 1
    assert not AuditEvent.objects.filter(pk=first.pk).exists()
    assert AuditEvent.objects.filter(pk__in=[middle.pk, late_old.pk]).count() == 2
    assert chain_verify().ok


def test_purge_with_nothing_old_writes_only_its_own_event(db):
    _write(3)
    result = audit_purge(older_than_days=365)
    assert result.purged == 0
    assert not AuditChainAnchor.objects.exists()
    assert AuditEvent.objects.filter(event_type="audit.purge").get().details["purged"] == 0
    assert chain_verify().ok


def test_purge_refuses_to_erase_a_tampered_run(db):
    # given old events, one of which was changed
    old = _write_at(timezone.now() - dt.timedelta(days=400), 3)
    _drop_audit_event_triggers()
    _sql("UPDATE core_auditevent SET reason = %s WHERE id = %s", ["掩盖", old[1].pk])
    # when a purge would delete them, it refuses and deletes nothing
    with pytest.raises(ValidationError, match="broken"):
        audit_purge(older_than_days=365)
    assert AuditEvent.objects.filter(pk__in=[e.pk for e in old]).count() == 3
    assert not AuditChainAnchor.objects.exists()


def test_the_purge_permit_ends_with_the_purge(db):
    _write_at(timezone.now() - dt.timedelta(days=400), 2)
    survivor = _write(1)[0]
    audit_purge(older_than_days=365)
    # still inside the same (test) transaction: deletes are refused again
    assert _purge_permits() == 0
    with pytest.raises(IntegrityError), transaction.atomic():
        _sql("DELETE FROM core_auditevent WHERE id = %s", [survivor.pk])
    assert AuditEvent.objects.filter(pk=survivor.pk).exists()


# --- The test suite's own flush (kexie/conftest.py) ---------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_a_transactional_test_may_write_audit_events(tree):
    # pytest-django empties the tables after this test; see the conftest fixture.
    audit_log(actor=None, event_type="org.update", object_repr="flush")
    assert AuditEvent.objects.filter(object_repr="flush").exists()


def test_after_the_flush_no_permit_survives_and_deletes_are_refused(db):
    # runs after the transactional test above (file order)
    assert _purge_permits() == 0
    assert not AuditEvent.objects.filter(object_repr="flush").exists()
    event = audit_log(actor=None, event_type="org.update")
    with pytest.raises(IntegrityError), transaction.atomic():
        _sql("DELETE FROM core_auditevent WHERE id = %s", [event.pk])


# --- Event codes --------------------------------------------------------------------------------


CODE_LITERAL = re.compile(r"""event_type\s*=\s*["']([A-Za-z0-9_.]+)["']""")


def test_every_event_code_written_by_the_code_base_has_a_label():
    # given every event_type="…" literal outside the tests
    found: dict[str, str] = {}
    for path in KEXIE.rglob("*.py"):
        if "tests" in path.parts or "migrations" in path.parts:
            continue
        for code in CODE_LITERAL.findall(path.read_text(encoding="utf-8")):
            found.setdefault(code, str(path.relative_to(KEXIE)))
    assert len(found) >= 15  # the scan does find the codes
    # then each one is a known, labelled code
    missing = {code: where for code, where in found.items() if code not in EVENT_LABELS}
    assert missing == {}


def test_event_codes_are_stable_dotted_identifiers():
    assert all(re.fullmatch(r"[a-z]+\.[a-z_]+", code) for code in EVENT_LABELS)
    assert event_label("org.create") == "Organisation created"
    assert event_label("no.such_code") == "no.such_code"


# --- AUD-01: one event per action (table-driven) -------------------------------------------------


class Ctx:
    def __init__(self, request, client):
        self.request = request
        self.client = client

    def __getattr__(self, name):
        return self.request.getfixturevalue(name)


def _import_file(*codes: str):
    from kexie.orgs.tests.test_import_export import org_row, upload

    return upload(*[org_row(code, f"导入单位 {code}") for code in codes])


def _validated(ctx, *codes: str):
    from kexie.core.imports import import_validate
    from kexie.orgs.importers import OrganisationImporter

    return import_validate(
        user=ctx.county_admin, importer=OrganisationImporter(), upload=_import_file(*codes)
    )


def _committed(ctx, *codes: str):
    from kexie.core.imports import import_commit

    return import_commit(user=ctx.county_admin, log=_validated(ctx, *codes))


def _import_commit(ctx, log):
    from kexie.core.imports import import_commit

    import_commit(user=ctx.county_admin, log=log)


def _import_undo(ctx, log):
    from kexie.core.imports import import_undo

    import_undo(user=ctx.county_admin, log=log)


def _login(ctx, password):
    return ctx.client.post("/accounts/login/", {"username": "emin_admin", "password": password})


def _org_create(ctx):
    from kexie.orgs.services import organisation_create

    organisation_create(
        actor=ctx.county_admin,
        parent=ctx.tree.emin,
        name="额敏县第九中学",
        kind="school",
        code="SCH654221009",
        region=ctx.tree.emin.region,
    )


def _org_update(ctx):
    from kexie.orgs.services import organisation_update

    organisation_update(
        actor=ctx.county_admin, organisation=ctx.tree.emin_school, data={"short_name": "一中"}
    )


def _new_parent(ctx):
    from kexie.orgs.tests.factories import make_org

    return make_org(ctx.tree.emin, name="额敏县教育学会", kind="society", code="XH654221009")


def _org_move(ctx, new_parent):
    from kexie.orgs.services import organisation_move

    organisation_move(
        actor=ctx.county_admin, organisation=ctx.tree.emin_school, new_parent=new_parent
    )


def _org_dissolve(ctx):
    from kexie.orgs.services import organisation_dissolve

    organisation_dissolve(actor=ctx.county_admin, organisation=ctx.tree.emin_school, reason="合并")


def _new_user(ctx):
    from kexie.accounts.models import User

    ctx.security_admin  # noqa: B018 - created (and audited) before the action
    return User.objects.create_user(username="new_viewer", password=PASSWORD)


def _role_grant(ctx, user):
    from kexie.accounts.services import role_grant

    role_grant(actor=ctx.security_admin, user=user, organisation=ctx.tree.emin, role="viewer")


def _account_create(ctx):
    from kexie.accounts.services import user_create

    user_create(actor=ctx.system_admin, username="new_clerk", display_name="新录入员")


def _logged_in(ctx):
    ctx.client.force_login(ctx.county_admin)


def _prepare_system_admin(ctx):
    ctx.system_admin  # noqa: B018


def _nothing(ctx):
    return None


# (id, prepare(ctx) -> state, act(ctx, state), the new events expected, by code)
ACTIONS = [
    ("login", _nothing, lambda c, s: _login(c, PASSWORD), {"auth.login": 1}),
    ("login_failure", _nothing, lambda c, s: _login(c, "wrong"), {"auth.login_failed": 1}),
    ("logout", _logged_in, lambda c, s: c.client.post("/accounts/logout/"), {"auth.logout": 1}),
    ("org_create", _nothing, lambda c, s: _org_create(c), {"org.create": 1}),
    ("org_update", _nothing, lambda c, s: _org_update(c), {"org.update": 1}),
    ("org_move", _new_parent, _org_move, {"org.move": 1}),
    ("org_dissolve", _nothing, lambda c, s: _org_dissolve(c), {"org.dissolve": 1}),
    ("role_grant", _new_user, _role_grant, {"account.role_grant": 1}),
    (
        "account_create",
        _prepare_system_admin,
        lambda c, s: _account_create(c),
        {"account.create": 1},
    ),
    (
        "import_validate",
        _nothing,
        lambda c, s: _validated(c, "T900001", "T900002"),
        {"import.validate": 1},
    ),
    # An import writes its own event and, through the services, one per record it changes.
    (
        "import_commit",
        lambda c: _validated(c, "T900001", "T900002"),
        lambda c, log: _import_commit(c, log),
        {"import.commit": 1, "org.create": 2},
    ),
    (
        "import_undo",
        lambda c: _committed(c, "T900001"),
        lambda c, log: _import_undo(c, log),
        {"import.undo": 1, "org.delete": 1},
    ),
    (
        "export_download",
        _logged_in,
        lambda c, s: c.client.get("/orgs/export.xlsx"),
        {"export.download": 1},
    ),
]


@pytest.mark.parametrize(
    ("prepare", "act", "expected"),
    [entry[1:] for entry in ACTIONS],
    ids=[entry[0] for entry in ACTIONS],
)
def test_each_action_writes_exactly_its_audit_events(
    request, client, tree, county_admin, prepare, act, expected
):
    # given everything the action needs (its own events are not counted)
    ctx = Ctx(request, client)
    state = prepare(ctx)
    last = AuditEvent.objects.order_by("-sequence").values_list("sequence", flat=True).first()
    # when the action runs
    act(ctx, state)
    # then exactly the expected events were written, each chained after the last one
    new = AuditEvent.objects.filter(sequence__gt=last or 0)
    assert Counter(new.values_list("event_type", flat=True)) == Counter(expected)
    assert all(code in EVENT_LABELS for code in expected)
    assert chain_verify().ok


# --- AUD-06: no business change without its event ----------------------------------------------


def _break_audit_insert(monkeypatch):
    original = AuditEvent.save

    def refuse(self, *args, **kwargs):
        if self._state.adding:
            raise DatabaseError("audit store unavailable")
        return original(self, *args, **kwargs)

    monkeypatch.setattr(AuditEvent, "save", refuse)


def test_if_the_event_cannot_be_inserted_the_org_change_rolls_back(tree, county_admin, monkeypatch):
    from kexie.orgs.models import Organisation
    from kexie.orgs.services import organisation_create, organisation_update

    _break_audit_insert(monkeypatch)
    with pytest.raises(DatabaseError):
        organisation_update(
            actor=county_admin, organisation=tree.emin_school, data={"short_name": "改"}
        )
    assert Organisation.objects.get(pk=tree.emin_school.pk).short_name == ""
    with pytest.raises(DatabaseError):
        organisation_create(
            actor=county_admin,
            parent=tree.emin,
            name="不应存在",
            kind="school",
            code="SCH654221099",
            region=tree.emin.region,
        )
    assert not Organisation.objects.filter(code="SCH654221099").exists()


def test_if_the_event_cannot_be_inserted_no_account_or_role_is_created(
    tree, security_admin, system_admin, monkeypatch
):
    from kexie.accounts.models import RoleAssignment, User
    from kexie.accounts.services import role_grant, user_create

    target = User.objects.create_user(username="target_user", password=PASSWORD)
    _break_audit_insert(monkeypatch)
    with pytest.raises(DatabaseError):
        user_create(actor=system_admin, username="ghost_user")
    assert not User.objects.filter(username="ghost_user").exists()
    with pytest.raises(DatabaseError):
        role_grant(actor=security_admin, user=target, organisation=tree.emin, role="viewer")
    assert not RoleAssignment.objects.filter(user=target).exists()


# --- Concurrent writers on PostgreSQL -------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_concurrent_writers_keep_the_sequence_gapless_on_postgresql():
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL only; SQLite writers are serialised (test_sqlite_concurrency)")
    threads_count, per_thread = 4, 20
    start = threading.Barrier(threads_count)
    errors: list[BaseException] = []

    def writer(number: int) -> None:
        try:
            start.wait(timeout=10)
            for index in range(per_thread):
                audit_log(
                    actor=None, event_type="org.update", object_repr=f"writer {number} #{index}"
                )
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)
        finally:
            connections.close_all()  # this thread's own connection

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(threads_count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    sequences = list(AuditEvent.objects.order_by("sequence").values_list("sequence", flat=True))
    assert len(sequences) == threads_count * per_thread
    assert sequences == list(range(sequences[0], sequences[0] + len(sequences)))
    assert chain_verify().ok
