"""Audit events: who, from where, and that the business change and its event go together."""

from __future__ import annotations

import pytest
from django.test import RequestFactory

from kexie.core.audit import client_ip
from kexie.core.models import AuditEvent


@pytest.mark.parametrize(
    ("remote", "forwarded", "trusted", "expected"),
    [
        ("203.0.113.9", "", [], "203.0.113.9"),
        ("203.0.113.9", "198.51.100.1", [], "203.0.113.9"),  # header from a client: ignored
        ("127.0.0.1", "198.51.100.1", ["127.0.0.1"], "198.51.100.1"),
        ("127.0.0.1", "6.6.6.6, 198.51.100.1", ["127.0.0.1"], "198.51.100.1"),  # forged left
        ("127.0.0.1", "198.51.100.1, 10.0.0.2", ["127.0.0.1", "10.0.0.2"], "198.51.100.1"),
        ("127.0.0.1", "not-an-ip", ["127.0.0.1"], "127.0.0.1"),
    ],
)
def test_client_ip_trusts_forwarded_for_only_from_our_proxies(
    settings, remote, forwarded, trusted, expected
):
    settings.KEXIE_TRUSTED_PROXIES = trusted
    request = RequestFactory().get("/", REMOTE_ADDR=remote, HTTP_X_FORWARDED_FOR=forwarded)
    assert client_ip(request) == expected


def test_a_page_write_records_ip_user_agent_and_request_id(tree, county_admin, client):
    client.force_login(county_admin)
    client.post(
        f"/orgs/{tree.emin_school.pk}/edit/",
        {
            "name": "额敏县第一中学",
            "short_name": "额敏一中",
            "kind": "school",
            "code": "SCH654221001",
            "region": tree.emin.region_id,
        },
        HTTP_USER_AGENT="KexieTest/1.0",
        REMOTE_ADDR="192.0.2.7",
    )
    event = AuditEvent.objects.get(event_type="org.update")
    assert (event.actor, event.actor_roles) == (county_admin, "unit_admin")
    assert event.ip_address == "192.0.2.7"
    assert event.user_agent == "KexieTest/1.0"
    assert len(event.request_id) == 32
    assert event.details == {"fields": ["short_name"]}


def test_if_the_audit_event_cannot_be_written_the_change_rolls_back(
    tree, county_admin, monkeypatch
):
    from kexie.orgs import services
    from kexie.orgs.models import Organisation

    def broken(**kwargs):
        raise RuntimeError("audit store unavailable")

    monkeypatch.setattr(services, "audit_log", broken)
    with pytest.raises(RuntimeError):
        services.organisation_update(
            actor=county_admin, organisation=tree.emin_school, data={"short_name": "改"}
        )
    assert Organisation.objects.get(pk=tree.emin_school.pk).short_name == ""
