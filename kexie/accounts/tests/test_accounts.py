"""Accounts: login answers, case-insensitive usernames, the admin triad, create_staff."""

from __future__ import annotations

import io

import pytest
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command

from kexie.accounts.models import RoleAssignment, User
from kexie.accounts.services import role_grant, user_create
from kexie.conftest import PASSWORD
from kexie.core.models import AuditEvent


def test_login_with_wrong_password_and_unknown_user_answer_the_same(client, county_admin):
    # when one login uses a wrong password and another an unknown username
    wrong = client.post("/accounts/login/", {"username": "emin_admin", "password": "nope"})
    unknown = client.post("/accounts/login/", {"username": "nobody_here", "password": "nope"})
    # then both get the same page and message (AUTH-11)
    assert wrong.status_code == unknown.status_code == 200
    assert wrong.context["form"].errors == unknown.context["form"].errors
    assert AuditEvent.objects.filter(event_type="auth.login_failed").count() == 2


def test_login_is_case_insensitive_and_audited(client, county_admin):
    response = client.post("/accounts/login/", {"username": "EMIN_ADMIN", "password": PASSWORD})
    assert response.status_code == 302
    assert AuditEvent.objects.filter(event_type="auth.login", actor=county_admin).count() == 1


def test_usernames_are_unique_regardless_of_case(db):
    user_create(actor=None, username="Zhang_Clerk", password=PASSWORD)
    with pytest.raises(ValidationError):
        user_create(actor=None, username="zhang_clerk", password=PASSWORD)


@pytest.mark.parametrize("name", ["admin", "Root", "test"])
def test_shared_account_names_are_refused(db, name):
    with pytest.raises(ValidationError):
        user_create(actor=None, username=name, password=PASSWORD)


def test_one_account_holds_at_most_one_admin_role(tree, system_admin):
    # when the system admin is also made security admin
    with pytest.raises(ValidationError):
        role_grant(
            actor=None, user=system_admin, organisation=tree.prefecture, role="security_admin"
        )
    # then nothing was granted
    assert set(RoleAssignment.objects.filter(user=system_admin).values_list("role", flat=True)) == {
        "system_admin"
    }


def test_admin_roles_and_business_roles_are_separate_accounts(tree, county_admin, system_admin):
    with pytest.raises(ValidationError):
        role_grant(actor=None, user=county_admin, organisation=tree.emin, role="audit_admin")
    with pytest.raises(ValidationError):
        role_grant(actor=None, user=system_admin, organisation=tree.emin, role="clerk")


def test_logout_is_post_only_and_ends_the_session(client, county_admin, login):
    client = login(county_admin)
    assert client.get("/accounts/logout/").status_code == 405
    assert client.post("/accounts/logout/").status_code == 302
    assert client.get("/").status_code == 302


def test_create_staff_with_password_from_stdin(tree, monkeypatch):
    monkeypatch.setattr("sys.stdin", io.StringIO("Strong-Pass-2026\n"))
    out = io.StringIO()
    call_command(
        "create_staff",
        "yumin_clerk",
        "--org",
        "kx654221",
        "--role",
        "clerk",
        "--password-stdin",
        stdout=out,
    )
    user = User.objects.get(username="yumin_clerk")
    assert user.check_password("Strong-Pass-2026")
    assert RoleAssignment.objects.get(user=user).organisation == tree.emin
    assert "clerk at KX654221" in out.getvalue()


def test_create_staff_without_password_prints_an_activation_link(tree, client):
    out = io.StringIO()
    call_command(
        "create_staff", "new_admin", "--org", "KX654224", "--role", "unit_admin", stdout=out
    )
    link = [line for line in out.getvalue().splitlines() if "/accounts/activate/" in line][0]
    path = link.split("http://127.0.0.1:8000", 1)[1]
    user = User.objects.get(username="new_admin")
    assert not user.has_usable_password()
    # when the person follows the link and sets a password
    response = client.get(path, follow=True)
    assert response.status_code == 200
    set_url = response.redirect_chain[-1][0]
    response = client.post(
        set_url, {"new_password1": "Toli-Admin-2026", "new_password2": "Toli-Admin-2026"}
    )
    assert response.status_code == 302
    user.refresh_from_db()
    assert user.check_password("Toli-Admin-2026")
    assert not user.must_change_password


def test_create_staff_rejects_an_unknown_organisation(tree):
    with pytest.raises(CommandError):
        call_command("create_staff", "x_clerk", "--org", "KX000000", "--role", "clerk")


def test_weak_passwords_are_refused(db):
    with pytest.raises(ValidationError):
        user_create(actor=None, username="weakling", password="abcdefgh")


def test_django_admin_is_refused_to_business_staff(tree, county_admin, system_admin, login):
    client = login(county_admin)
    assert client.get("/django-admin/").status_code == 302
    system_admin.is_staff = True
    system_admin.save(update_fields=["is_staff"])
    client.force_login(system_admin)
    assert client.get("/django-admin/").status_code == 200
