"""三员分立 (AC-05..07): the 系统管理员's account pages, the 安全管理员's role grants and lock-outs,
and what each of the three may not do. Denied writes assert that nothing changed."""

from __future__ import annotations

import time

import pytest
from axes.models import AccessAttempt
from django.contrib import admin
from django.utils import timezone

from kexie.accounts.models import RoleAssignment, User
from kexie.accounts.reauth import SESSION_KEY
from kexie.accounts.tests.factories import staff
from kexie.core.models import AuditEvent

ADMIN_PAGES = [
    "/accounts/admin/users/",
    "/accounts/admin/users/new/",
    "/accounts/admin/roles/",
    "/accounts/admin/roles/grant/",
    "/accounts/admin/unlock/",
    "/system/parameters/",
    "/system/security-parameters/",
    "/system/backups/",
]


def _reauthenticated(client):
    session = client.session
    session[SESSION_KEY] = int(time.time())
    session.save()
    return client


def _roles(user) -> set[tuple[str, str]]:
    return set(RoleAssignment.objects.filter(user=user).values_list("role", "organisation__code"))


# --- 系统管理员: accounts ------------------------------------------------------------------


def test_system_admin_creates_an_account_and_sees_its_activation_link_once(
    system_admin, login, client
):
    admin_client = login(system_admin)
    # when the system admin creates an account
    response = admin_client.post(
        "/accounts/admin/users/new/",
        {"username": "emin_zhangsan", "display_name": "张三", "email": "zs@example.cn"},
    )
    # then the page shows an activation link, the account has no password and no role
    assert response.status_code == 200
    link = response.context["link"]
    assert "/accounts/activate/" in link
    user = User.objects.get(username="emin_zhangsan")
    assert not user.has_usable_password()
    assert _roles(user) == set()
    assert AuditEvent.objects.filter(event_type="account.create", actor=system_admin).count() == 1
    # and the detail page does not show the link again
    detail = admin_client.get(f"/accounts/admin/users/{user.pk}/").content.decode()
    assert "/accounts/activate/" not in detail
    # and the link works for the new person (AUTH-10)
    admin_client.logout()
    follow = client.get(link.split("testserver", 1)[1], follow=True)
    assert follow.status_code == 200


def test_reserved_usernames_are_refused_on_the_page(system_admin, login):
    client = login(system_admin)
    response = client.post("/accounts/admin/users/new/", {"username": "Admin", "display_name": "x"})
    assert response.status_code == 200
    assert "username" in response.context["form"].errors
    assert not User.objects.filter(username__iexact="admin").exists()


def test_account_list_searches_shows_roles_and_is_paginated(
    tree, system_admin, county_clerk, login, django_assert_max_num_queries
):
    for n in range(55):
        staff(organisation=tree.emin, role="viewer", username=f"viewer{n:02d}")
    client = login(system_admin)
    with django_assert_max_num_queries(20):
        response = client.get("/accounts/admin/users/")
    assert response.status_code == 200
    assert len(response.context["page_obj"]) == 50
    assert response.context["page_obj"].has_next()
    html = client.get("/accounts/admin/users/?q=emin_cl").content.decode()
    assert "emin_clerk" in html
    assert "viewer01" not in html
    assert "Clerk" in html or "录入员" in html


def test_a_county_system_admin_manages_only_accounts_of_their_county(
    tree, county_clerk, outsider, login
):
    county_sysadmin = staff(organisation=tree.emin, role="system_admin")
    client = login(county_sysadmin)
    html = client.get("/accounts/admin/users/").content.decode()
    assert "emin_clerk" in html
    assert "toli_admin" not in html
    # out of scope → 404, and nothing changes
    response = client.post(
        f"/accounts/admin/users/{outsider.pk}/disable/", {"reason": "离职"}, follow=False
    )
    assert response.status_code == 404
    outsider.refresh_from_db()
    assert outsider.is_active


def test_system_admin_disables_an_account_which_ends_its_sessions(
    system_admin, county_clerk, login, client
):
    from django.test import Client

    clerk_client = Client()
    clerk_client.force_login(county_clerk)
    assert clerk_client.get("/").status_code == 200
    # when the system admin disables the clerk with a reason
    admin_client = login(system_admin)
    response = admin_client.post(
        f"/accounts/admin/users/{county_clerk.pk}/disable/", {"reason": "调离岗位"}
    )
    # then the account is off, audited with the reason, and the clerk is logged out (SES-04)
    assert response.status_code == 302
    county_clerk.refresh_from_db()
    assert not county_clerk.is_active
    event = AuditEvent.objects.get(event_type="account.disable")
    assert (event.actor, event.object_id, event.reason) == (
        system_admin,
        str(county_clerk.pk),
        "调离岗位",
    )
    assert clerk_client.get("/").status_code == 302
    from kexie.accounts.models import UserSession

    assert not UserSession.objects.filter(user=county_clerk, ended_at__isnull=True).exists()
    # when the system admin enables it again
    response = admin_client.post(f"/accounts/admin/users/{county_clerk.pk}/enable/")
    assert response.status_code == 302
    county_clerk.refresh_from_db()
    assert county_clerk.is_active
    assert AuditEvent.objects.filter(event_type="account.enable").count() == 1


def test_disabling_needs_a_reason_and_never_oneself(system_admin, county_clerk, login):
    client = login(system_admin)
    response = client.post(f"/accounts/admin/users/{county_clerk.pk}/disable/", {"reason": ""})
    assert response.status_code == 200
    response = client.post(f"/accounts/admin/users/{system_admin.pk}/disable/", {"reason": "x"})
    assert response.status_code == 200
    assert response.context["form"].errors
    county_clerk.refresh_from_db()
    system_admin.refresh_from_db()
    assert county_clerk.is_active and system_admin.is_active
    assert not AuditEvent.objects.filter(event_type="account.disable").exists()


def test_enabling_an_expired_account_removes_the_past_expiry(system_admin, county_clerk, login):
    county_clerk.is_active = False
    county_clerk.expires_at = timezone.now() - timezone.timedelta(days=1)
    county_clerk.save(update_fields=["is_active", "expires_at"])
    client = login(system_admin)
    client.post(f"/accounts/admin/users/{county_clerk.pk}/enable/")
    county_clerk.refresh_from_db()
    assert county_clerk.is_active
    assert county_clerk.expires_at is None
    event = AuditEvent.objects.get(event_type="account.enable")
    assert event.details == {"expiry_cleared": True}


# --- AC-06: what each of the three may not do ------------------------------------------------


def test_system_admin_cannot_grant_roles(tree, system_admin, no_role, login):
    client = _reauthenticated(login(system_admin))
    response = client.post(
        "/accounts/admin/roles/grant/",
        {"username": "norole", "organisation_code": "KX654221", "role": "clerk"},
    )
    assert response.status_code == 403
    assert _roles(no_role) == set()
    # nor through the service
    from django.core.exceptions import PermissionDenied

    from kexie.accounts.services import role_grant

    with pytest.raises(PermissionDenied):
        role_grant(actor=system_admin, user=no_role, organisation=tree.emin, role="clerk")
    assert _roles(no_role) == set()


def test_system_admin_cannot_read_the_audit_log(system_admin, login):
    client = login(system_admin)
    assert client.get("/audit/").status_code == 403


def test_system_admin_never_sees_a_full_phone_number(system_admin, county_clerk, login):
    county_clerk.phone = "13912345678"
    county_clerk.save(update_fields=["phone"])
    client = login(system_admin)
    for url in ("/accounts/admin/users/", f"/accounts/admin/users/{county_clerk.pk}/"):
        html = client.get(url).content.decode()
        assert "13912345678" not in html
        assert "12345678" not in html


def test_security_admin_cannot_create_accounts_or_read_the_audit_log(security_admin, login):
    client = login(security_admin)
    assert client.get("/accounts/admin/users/new/").status_code == 403
    response = client.post(
        "/accounts/admin/users/new/", {"username": "sneaky_user", "display_name": "x"}
    )
    assert response.status_code == 403
    assert not User.objects.filter(username="sneaky_user").exists()
    assert client.get("/audit/").status_code == 403


def test_audit_admin_gets_only_the_audit_pages(audit_admin, login):
    client = login(audit_admin)
    for url in ADMIN_PAGES:
        assert client.get(url).status_code == 403, url
    assert client.get("/audit/").status_code == 200


def test_one_account_holds_at_most_one_admin_role_through_the_page(
    security_admin, system_admin, login
):
    client = _reauthenticated(login(security_admin))
    response = client.post(
        "/accounts/admin/roles/grant/",
        {"username": "sysadmin", "organisation_code": "KX654200", "role": "audit_admin"},
    )
    assert response.status_code == 200
    assert response.context["form"].errors
    assert _roles(system_admin) == {("system_admin", "KX654200")}


# --- 安全管理员: role grants ---------------------------------------------------------------------


def test_role_grant_needs_a_fresh_reauthentication(security_admin, no_role, login):
    client = login(security_admin)
    response = client.post(
        "/accounts/admin/roles/grant/",
        {"username": "norole", "organisation_code": "KX654221", "role": "clerk"},
    )
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/reauth/")
    assert _roles(no_role) == set()


def test_security_admin_grants_and_revokes_a_role(security_admin, no_role, login):
    client = _reauthenticated(login(security_admin))
    assert client.get("/accounts/admin/roles/grant/").status_code == 200
    # when they grant a clerk role at 额敏县科协 (the code in any case)
    response = client.post(
        "/accounts/admin/roles/grant/",
        {"username": "NOROLE", "organisation_code": "kx654221", "role": "clerk"},
    )
    # then it is granted and audited
    assert response.status_code == 302
    assert _roles(no_role) == {("clerk", "KX654221")}
    assert AuditEvent.objects.filter(event_type="account.role_grant", actor=security_admin).exists()
    assignment = RoleAssignment.objects.get(user=no_role)
    assert "norole" in client.get("/accounts/admin/roles/").content.decode()
    # when they revoke it
    assert client.get(f"/accounts/admin/roles/{assignment.pk}/revoke/").status_code == 200
    response = client.post(f"/accounts/admin/roles/{assignment.pk}/revoke/")
    assert response.status_code == 302
    assert _roles(no_role) == set()
    assert AuditEvent.objects.filter(
        event_type="account.role_revoke", actor=security_admin
    ).exists()


def test_security_admin_cannot_change_their_own_roles(security_admin, login):
    client = _reauthenticated(login(security_admin))
    response = client.post(
        "/accounts/admin/roles/grant/",
        {"username": "secadmin", "organisation_code": "KX654221", "role": "security_admin"},
    )
    assert response.status_code == 200
    own = RoleAssignment.objects.get(user=security_admin)
    response = client.post(f"/accounts/admin/roles/{own.pk}/revoke/")
    assert response.status_code == 200
    assert _roles(security_admin) == {("security_admin", "KX654200")}


def test_a_county_security_admin_grants_and_revokes_only_in_their_county(
    tree, no_role, outsider, login
):
    county_secadmin = staff(organisation=tree.emin, role="security_admin")
    client = _reauthenticated(login(county_secadmin))
    response = client.post(
        "/accounts/admin/roles/grant/",
        {"username": "norole", "organisation_code": "KX654224", "role": "clerk"},
    )
    assert response.status_code == 200
    assert "organisation_code" in response.context["form"].errors
    assert _roles(no_role) == set()
    toli = RoleAssignment.objects.get(user=outsider)
    assert client.post(f"/accounts/admin/roles/{toli.pk}/revoke/").status_code == 404
    assert _roles(outsider) == {("unit_admin", "KX654224")}
    assert "toli_admin" not in client.get("/accounts/admin/roles/").content.decode()


# --- 安全管理员: lock-outs -----------------------------------------------------------------------


def _lock(username: str, failures: int = 5) -> AccessAttempt:
    return AccessAttempt.objects.create(
        username=username,
        ip_address="192.0.2.10",
        user_agent="test",
        http_accept="*/*",
        path_info="/accounts/login/",
        get_data="",
        post_data="",
        failures_since_start=failures,
    )


def test_security_admin_sees_and_lifts_a_lockout(security_admin, county_clerk, login):
    _lock("emin_clerk")
    _lock("emin_viewer", failures=2)  # not locked yet
    client = login(security_admin)
    html = client.get("/accounts/admin/unlock/").content.decode()
    assert "emin_clerk" in html
    assert "emin_viewer" not in html
    response = client.post("/accounts/admin/unlock/lift/", {"username": "emin_clerk"})
    assert response.status_code == 302
    assert not AccessAttempt.objects.filter(username="emin_clerk").exists()
    event = AuditEvent.objects.get(event_type="auth.unlock")
    assert event.actor == security_admin


def test_a_county_security_admin_cannot_lift_a_lockout_elsewhere(tree, outsider, login):
    _lock("toli_admin")
    county_secadmin = staff(organisation=tree.emin, role="security_admin")
    client = login(county_secadmin)
    assert "toli_admin" not in client.get("/accounts/admin/unlock/").content.decode()
    assert (
        client.post("/accounts/admin/unlock/lift/", {"username": "toli_admin"}).status_code == 403
    )
    assert AccessAttempt.objects.filter(username="toli_admin").exists()


def test_system_admin_cannot_lift_lockouts(system_admin, county_clerk, login):
    _lock("emin_clerk")
    client = login(system_admin)
    assert (
        client.post("/accounts/admin/unlock/lift/", {"username": "emin_clerk"}).status_code == 403
    )
    assert AccessAttempt.objects.filter(username="emin_clerk").exists()


# --- AC-07: Django admin -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "persona",
    ["no_role", "county_viewer", "county_clerk", "county_reviewer", "county_admin", "outsider"],
)
def test_django_admin_refuses_business_staff_even_with_is_staff(persona, request, client):
    user = request.getfixturevalue(persona)
    user.is_staff = True
    user.save(update_fields=["is_staff"])
    client.force_login(user)
    # when they open Django admin (following every redirect: no loop back to the login)
    response = client.get("/django-admin/", follow=True)
    # then they are refused
    assert response.status_code == 403


def test_no_business_model_is_registered_in_django_admin():
    business_apps = {"orgs", "portal", "people", "teams", "activities", "venues", "thinktank"}
    business_apps |= {"nominations", "supervision", "news", "stats"}
    registered = {model._meta.app_label for model in admin.site._registry}
    assert registered & business_apps == set()
