"""Writing audit events (AUD-01/02). Every service that changes state calls ``audit_log``.

Events are written inside the caller's transaction: if the event cannot be written, the
business change rolls back with it (AUD-06). Values of personal data never go in — only
field names (AUD-03).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import ipaddress
import json
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from .choices import AuditOutcome
from .models import AuditEvent


@dataclass(frozen=True)
class RequestContext:
    ip_address: str | None
    user_agent: str
    request_id: str


_request_context: ContextVar[RequestContext | None] = ContextVar("kexie_request", default=None)


def _valid_ip(raw: str) -> str | None:
    try:
        return str(ipaddress.ip_address(raw.strip()))
    except ValueError:
        return None


def client_ip(request) -> str | None:
    """The client's address (AUD-02): REMOTE_ADDR, unless it is one of our own proxies.

    Behind nginx, REMOTE_ADDR is the proxy; then X-Forwarded-For is read from the right,
    skipping our proxies, so a client cannot forge its address by sending the header itself.
    """
    remote = _valid_ip(request.META.get("REMOTE_ADDR", ""))
    trusted = set(settings.KEXIE_TRUSTED_PROXIES)
    if remote is None or remote not in trusted:
        return remote
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    for hop in reversed([part for part in forwarded.split(",") if part.strip()]):
        address = _valid_ip(hop)
        if address is None:
            return remote
        if address not in trusted:
            return address
    return remote


class AuditContextMiddleware:
    """Remembers who is asking (IP, user agent, request id) for the audit events of a request."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        token = _request_context.set(
            RequestContext(
                ip_address=client_ip(request),
                user_agent=request.headers.get("User-Agent", "")[:255],
                request_id=getattr(request, "request_id", ""),
            )
        )
        try:
            return self.get_response(request)
        finally:
            _request_context.reset(token)


def _roles_of(actor) -> str:
    if actor is None or not getattr(actor, "is_authenticated", False):
        return ""
    from kexie.accounts.scope import user_roles

    return ",".join(sorted(user_roles(actor)))


def _audit_key() -> bytes:
    text = settings.KEXIE_AUDIT_KEY
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def audit_key_id() -> str:
    """A short, non-secret name for the chain key (which key signed a row)."""
    return hashlib.sha256(_audit_key()).hexdigest()[:12]


def canonical_event(event: AuditEvent) -> bytes:
    """The bytes an event's HMAC covers: every recorded column, in a fixed form."""
    occurred = event.occurred_at.astimezone(UTC).isoformat(timespec="microseconds")
    payload = {
        "sequence": event.sequence,
        "occurred_at": occurred,
        "actor_id": event.actor_id,
        "actor_username": event.actor_username,
        "actor_roles": event.actor_roles,
        "event_type": event.event_type,
        "object_type": event.object_type,
        "object_id": event.object_id,
        "object_repr": event.object_repr,
        "outcome": event.outcome,
        "reason": event.reason,
        "details": event.details,
        "ip_address": event.ip_address,
        "user_agent": event.user_agent,
        "request_id": event.request_id,
        "key_id": event.key_id,
    }
    return json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode()


def event_hmac(event: AuditEvent, prev_hmac: str) -> str:
    return hmac.new(
        _audit_key(), prev_hmac.encode("ascii") + b"\x00" + canonical_event(event), hashlib.sha256
    ).hexdigest()


def _lock_chain() -> None:
    """Serialise writers of the chain. SQLite's IMMEDIATE transactions already do."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [0x4B455849])  # "KEXI"


def audit_log(
    *,
    actor,
    event_type: str,
    obj=None,
    object_type: str = "",
    object_id: str = "",
    object_repr: str = "",
    outcome: str = AuditOutcome.SUCCESS,
    reason: str = "",
    details: dict | None = None,
) -> AuditEvent:
    """Write one audit event. ``event_type`` is a stable dotted code, e.g. ``org.create``."""
    if obj is not None:
        object_type = object_type or obj._meta.label_lower
        object_id = object_id or str(obj.pk)
        object_repr = object_repr or str(obj)[:255]
    ctx = _request_context.get()
    authenticated = actor is not None and getattr(actor, "is_authenticated", False)
    event = AuditEvent(
        occurred_at=timezone.now(),
        actor=actor if authenticated else None,
        actor_username=actor.get_username() if authenticated else "",
        actor_roles=_roles_of(actor),
        event_type=event_type,
        object_type=object_type,
        object_id=object_id,
        object_repr=object_repr,
        outcome=outcome,
        reason=reason[:500],
        details=details or {},
        ip_address=ctx.ip_address if ctx else None,
        user_agent=ctx.user_agent if ctx else "",
        request_id=ctx.request_id if ctx else "",
        key_id=audit_key_id(),
    )
    # AUD-06: inside the caller's transaction (or our own), so a failed write undoes both.
    with transaction.atomic():
        _lock_chain()
        last = AuditEvent.objects.order_by("-sequence").values("sequence", "hmac").first()
        if last is None:
            from .models import AuditChainAnchor

            anchor = AuditChainAnchor.objects.order_by("-sequence").values("sequence", "hmac")
            last = anchor.first() or {"sequence": 0, "hmac": ""}
        event.sequence = last["sequence"] + 1
        event.prev_hmac = last["hmac"]
        event.hmac = event_hmac(event, event.prev_hmac)
        event.full_clean()
        event.save(force_insert=True)
    return event
