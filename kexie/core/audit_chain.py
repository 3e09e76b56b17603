"""Checking and trimming the tamper-evident audit chain (AUD-04, AUD-05).

``audit_log`` links every event to the one before: ``hmac = HMAC(key, prev_hmac ‖ 0x00 ‖
canonical row)``. ``chain_verify`` walks the whole table in sequence order and names the first
row that breaks the chain; ``audit_purge`` removes the oldest events past the retention period,
leaving an ``AuditChainAnchor`` so that verification can start again from a known link.

The tables refuse UPDATE and DELETE through database triggers (migration
``core/0002_audit_append_only``); ``audit_purge`` is the one writer allowed to delete, through a
permit that lives only inside its own transaction.
"""

from __future__ import annotations

import hmac as hmac_module
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from .audit import _lock_chain, audit_key_id, audit_log, event_hmac
from .models import AuditChainAnchor, AuditEvent

# AUD-05: audit events are kept at least this long, whatever the settings say.
MIN_RETENTION_DAYS = 180

# SQLite: a row in ``core_auditpurgepermit`` (a table of the migration, not a model) lets the
# triggers accept DELETE. Only ``audit_purge`` writes one, and removes it in the same transaction.
# PostgreSQL: the triggers accept DELETE while this setting is "on" in the transaction.
POSTGRES_PURGE_SETTING = "kexie.audit_purge"


@dataclass(frozen=True)
class ChainBreak:
    """The first row where the chain does not hold, and why."""

    sequence: int
    event_id: int
    occurred_at: datetime
    event_type: str
    problem: str

    def describe(self) -> str:
        when = timezone.localtime(self.occurred_at).strftime("%Y-%m-%d %H:%M:%S %Z")
        return _("sequence %(sequence)s (id %(id)s, %(time)s, %(event)s): %(problem)s") % {
            "sequence": self.sequence,
            "id": self.event_id,
            "time": when,
            "event": self.event_type,
            "problem": self.problem,
        }


@dataclass(frozen=True)
class ChainReport:
    checked: int
    first_sequence: int | None
    last_sequence: int | None
    anchor_sequence: int | None
    broken: ChainBreak | None = None

    @property
    def ok(self) -> bool:
        return self.broken is None


def chain_start() -> tuple[int, str]:
    """The link the first remaining event must continue: the newest anchor, or the origin."""
    anchor = AuditChainAnchor.objects.order_by("-sequence").values("sequence", "hmac").first()
    if anchor is None:
        return 0, ""
    return anchor["sequence"], anchor["hmac"]


def _row_problem(
    event: AuditEvent, expected_sequence: int, expected_prev: str, key_id: str = ""
) -> str:
    """What is wrong with ``event`` given the link before it ("" when nothing is)."""
    if event.sequence != expected_sequence:
        if event.sequence > expected_sequence:
            return _(
                "sequence gap: expected %(expected)s, found %(found)s "
                "(events %(expected)s to %(before)s are missing)"
            ) % {
                "expected": expected_sequence,
                "found": event.sequence,
                "before": event.sequence - 1,
            }
        return _("sequence out of order: expected %(expected)s, found %(found)s") % {
            "expected": expected_sequence,
            "found": event.sequence,
        }
    if not hmac_module.compare_digest(event.prev_hmac, expected_prev):
        return _("the link to the previous event does not match (prev_hmac)")
    if event.key_id != (key_id or audit_key_id()):
        return _("signed with another chain key (key id %(key)s)") % {"key": event.key_id}
    if not hmac_module.compare_digest(event.hmac, event_hmac(event, event.prev_hmac)):
        return _("the HMAC does not match the row's content (the row was changed)")
    return ""


def _confirms(event: AuditEvent, anchor: AuditChainAnchor) -> bool:
    """Whether ``event`` is the (chained, signed) record of the purge that left ``anchor``."""
    details = event.details if isinstance(event.details, dict) else {}
    return (
        event.event_type == "audit.purge"
        and details.get("through_sequence") == anchor.sequence
        and details.get("purged") == anchor.purged_count
    )


def chain_verify(*, chunk_size: int = 2000) -> ChainReport:
    """Walk every event in sequence order; stop at the first broken row.

    Streams the table (``iterator``), so memory stays flat for millions of rows. Anchors are
    not signed, so the newest one must be confirmed by the ``audit.purge`` event that wrote
    it (which is): an anchor inserted by hand to hide deleted rows is reported.
    """
    anchor = AuditChainAnchor.objects.order_by("-sequence").first()
    anchor_sequence, prev_hmac = (anchor.sequence, anchor.hmac) if anchor else (0, "")
    confirmed = anchor is None
    expected = anchor_sequence + 1
    events = AuditEvent.objects.order_by("sequence").iterator(chunk_size=chunk_size)
    checked = 0
    first = last = None
    key_id = audit_key_id()
    for event in events:
        problem = _row_problem(event, expected, prev_hmac, key_id)
        if problem:
            broken = ChainBreak(
                sequence=event.sequence,
                event_id=event.pk,
                occurred_at=event.occurred_at,
                event_type=event.event_type,
                problem=problem,
            )
            return ChainReport(checked, first, last, anchor_sequence or None, broken)
        confirmed = confirmed or _confirms(event, anchor)
        checked += 1
        first = event.sequence if first is None else first
        last = event.sequence
        expected = event.sequence + 1
        prev_hmac = event.hmac
    if not confirmed:
        broken = ChainBreak(
            sequence=anchor.sequence,
            event_id=anchor.pk,
            occurred_at=anchor.created_at,
            event_type=_("chain anchor"),
            problem=_(
                "no audit.purge event records this anchor; the events before it may have "
                "been deleted by hand"
            ),
        )
        return ChainReport(checked, first, last, anchor_sequence, broken)
    return ChainReport(checked, first, last, anchor_sequence or None)


def event_link_problem(event: AuditEvent) -> str:
    """Check one event against its predecessor (for the detail page); "" when it holds."""
    if event.sequence > 1:
        previous = (
            AuditEvent.objects.filter(sequence=event.sequence - 1).values_list("hmac", flat=True)
        ).first()
        if previous is None:
            previous = (
                AuditChainAnchor.objects.filter(sequence=event.sequence - 1).values_list(
                    "hmac", flat=True
                )
            ).first()
        if previous is None:
            return _("the previous event (sequence %(sequence)s) is missing") % {
                "sequence": event.sequence - 1
            }
    else:
        previous = ""
    return _row_problem(event, event.sequence, previous)


# --- Retention (AUD-05) ------------------------------------------------------------------------


@dataclass(frozen=True)
class PurgeResult:
    purged: int
    through_sequence: int | None
    cutoff: datetime
    event: AuditEvent | None = None


def retention_days_default() -> int:
    return int(getattr(settings, "KEXIE_AUDIT_RETENTION_DAYS", 365))


def _delete_with_permit(queryset) -> int:
    """Delete ``queryset`` past the append-only triggers; the permit ends with this call."""
    vendor = connection.vendor
    with connection.cursor() as cursor:
        if vendor == "postgresql":
            cursor.execute("SELECT set_config(%s, 'on', true)", [POSTGRES_PURGE_SETTING])
        elif vendor == "sqlite":
            cursor.execute(
                "INSERT INTO core_auditpurgepermit (granted_at) VALUES (%s)",
                [timezone.now().isoformat()],
            )
        else:  # pragma: no cover - Kexie runs on SQLite and PostgreSQL only
            raise NotImplementedError(vendor)
    deleted, _per_model = queryset.delete()
    with connection.cursor() as cursor:
        if vendor == "postgresql":
            # SET LOCAL would last until the outermost transaction ends; end it now.
            cursor.execute("SELECT set_config(%s, 'off', true)", [POSTGRES_PURGE_SETTING])
        else:
            cursor.execute("DELETE FROM core_auditpurgepermit")
    return deleted


@transaction.atomic
def audit_purge(
    *, actor=None, older_than_days: int, operator: str = "", now: datetime | None = None
) -> PurgeResult:
    """Delete the oldest contiguous run of events older than ``older_than_days`` days.

    One transaction: the deletion, an ``AuditChainAnchor`` (sequence and HMAC of the newest
    purged event) and the ``audit.purge`` event, itself chained. Refused for fewer than
    ``MIN_RETENTION_DAYS`` days, and refused when the chain does not verify — a purge must
    never erase the evidence of tampering. ``operator`` names who ran the command when there
    is no ``actor`` (the command line).
    """
    if older_than_days < MIN_RETENTION_DAYS:
        raise ValidationError(
            _("Audit events are kept at least %(days)s days.") % {"days": MIN_RETENTION_DAYS},
            code="retention_too_short",
        )
    cutoff = (now or timezone.now()) - timedelta(days=older_than_days)
    _lock_chain()  # no event is written while we cut the chain
    first_kept = (
        AuditEvent.objects.filter(occurred_at__gte=cutoff)
        .order_by("sequence")
        .values_list("sequence", flat=True)
        .first()
    )
    doomed = AuditEvent.objects.all()
    if first_kept is not None:
        doomed = doomed.filter(sequence__lt=first_kept)
    newest = doomed.order_by("-sequence").values("sequence", "hmac").first()
    purged = 0
    through = None
    if newest is not None:
        report = chain_verify()
        if not report.ok:
            raise ValidationError(
                _("The audit chain is broken at %(where)s; nothing was purged.")
                % {"where": report.broken.describe()},
                code="chain_broken",
            )
        through = newest["sequence"]
        purged = _delete_with_permit(doomed)
        AuditChainAnchor.objects.create(sequence=through, hmac=newest["hmac"], purged_count=purged)
    event = audit_log(
        actor=actor,
        event_type="audit.purge",
        object_type="core.auditevent",
        details={
            "purged": purged,
            "through_sequence": through,
            "older_than_days": older_than_days,
            "cutoff": cutoff.isoformat(),
            **({"operator": operator[:64]} if operator else {}),
        },
    )
    return PurgeResult(purged=purged, through_sequence=through, cutoff=cutoff, event=event)


__all__ = [
    "MIN_RETENTION_DAYS",
    "ChainBreak",
    "ChainReport",
    "PurgeResult",
    "audit_purge",
    "chain_start",
    "chain_verify",
    "event_link_problem",
    "retention_days_default",
]
