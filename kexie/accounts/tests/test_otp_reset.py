"""AUTH-07: a 安全管理员 resets the second factor of a person who lost phone and codes."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied
from django_otp.plugins.otp_totp.models import TOTPDevice

from kexie.accounts.admin_services import second_factor_reset_by_admin
from kexie.accounts.models import RecoveryCode
from kexie.accounts.reauth import SESSION_KEY
from kexie.core.models import AuditEvent


@pytest.fixture
def enrolled(county_admin):
    TOTPDevice.objects.create(user=county_admin, name="TOTP", confirmed=True)
    RecoveryCode.objects.create(user=county_admin, code_hash="x")
    return county_admin


def test_security_admin_resets_the_second_factor_with_a_reason(enrolled, security_admin):
    # when the security admin resets the 额敏 admin's second factor
    second_factor_reset_by_admin(actor=security_admin, username="EMIN_ADMIN", reason="手机丢失")
    # then the authenticator and codes are gone, and the reset is audited with the reason
    assert not TOTPDevice.objects.filter(user=enrolled).exists()
    assert not RecoveryCode.objects.filter(user=enrolled).exists()
    event = AuditEvent.objects.get(event_type="auth.otp_reset")
    assert (event.actor, event.object_id, event.reason) == (
        security_admin,
        str(enrolled.pk),
        "手机丢失",
    )


@pytest.mark.parametrize("persona", ["system_admin", "audit_admin", "prefecture_admin"])
def test_only_the_security_admin_may_reset(enrolled, request, persona):
    actor = request.getfixturevalue(persona)
    with pytest.raises(PermissionDenied):
        second_factor_reset_by_admin(actor=actor, username="emin_admin", reason="x")
    assert TOTPDevice.objects.filter(user=enrolled).exists()


def test_a_reset_needs_a_reason_and_a_person_in_scope(enrolled, security_admin):
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError):
        second_factor_reset_by_admin(actor=security_admin, username="emin_admin", reason=" ")
    with pytest.raises(PermissionDenied):
        second_factor_reset_by_admin(actor=security_admin, username="nobody", reason="x")
    with pytest.raises(PermissionDenied):
        second_factor_reset_by_admin(actor=security_admin, username="secadmin", reason="x")
    assert TOTPDevice.objects.filter(user=enrolled).exists()


def test_the_reset_page_asks_for_the_password_first(enrolled, security_admin, client):
    client.force_login(security_admin)
    response = client.get("/accounts/admin/second-factor/reset/")
    assert response.status_code == 302
    assert "/accounts/reauth/" in response["Location"]
    session = client.session
    import time

    session[SESSION_KEY] = int(time.time())
    session.save()
    response = client.post(
        "/accounts/admin/second-factor/reset/", {"username": "emin_admin", "reason": "手机丢失"}
    )
    assert response.status_code == 302
    assert not TOTPDevice.objects.filter(user=enrolled).exists()
