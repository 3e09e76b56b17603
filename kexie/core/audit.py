"""Writing audit events (AUD-01/02). Every service that changes state calls ``audit_log``.

Events are written inside the caller's transaction: if the event cannot be written, the
business change rolls back with it (AUD-06). Values of personal data never go in — only
field names (AUD-03).
"""

from __future__ import annotations

import ipaddress
from contextvars import ContextVar
from dataclasses import dataclass

from django.conf import settings

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
    )
    event.full_clean()
    event.save()
    return event
