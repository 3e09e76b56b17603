"""Passwords (AUTH-02/03/10), lock-outs (AUTH-04/11) and production cookies (SES-06)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from django.contrib.auth.hashers import make_password
from django.core.exceptions import PermissionDenied, ValidationError
from django.test import override_settings
from django.utils import timezone

from kexie.accounts.models import PasswordHistory, User
from kexie.accounts.security import account_unlock, locked_usernames, user_set_password
from kexie.accounts.services import activation_path, user_create
from kexie.conftest import PASSWORD
from kexie.core.models import AuditEvent

ROOT = Path(__file__).resolve().parents[3]
NEW = ["Kexie-New-2026a!", "Kexie-New-2026b!", "Kexie-New-2026c!", "Kexie-New-2026d!"]


def _events(event_type: str) -> int:
    return AuditEvent.objects.filter(event_type=event_type).count()


def _login(client, username: str, password: str = PASSWORD):
    return client.post("/accounts/login/", {"username": username, "password": password})


# --- AUTH-02: password rules ---------------------------------------------------------------------


def test_user_set_password_records_history_and_restarts_the_clock(county_clerk):
    # given a clerk who must change their password
    county_clerk.must_change_password = True
    county_clerk.save(update_fields=["must_change_password"])
    old_hash = county_clerk.password
    before = timezone.now()
    # when the password is set through the service
    user_set_password(actor=county_clerk, user=county_clerk, raw=NEW[0])
    # then the hash is remembered, the clock restarts, the flag is cleared, one event is written
    county_clerk.refresh_from_db()
    assert county_clerk.check_password(NEW[0])
    assert county_clerk.password_changed_at >= before
    assert county_clerk.must_change_password is False
    # (the persona's first password was set by create_user: it joins the history too)
    history = list(PasswordHistory.objects.filter(user=county_clerk).order_by("-created_at", "-pk"))
    assert [entry.password for entry in history] == [county_clerk.password, old_hash]
    assert NEW[0] not in history[0].password
    assert _events("account.password_change") == 1


@override_settings(KEXIE_PASSWORD_HISTORY=5)
def test_the_last_five_passwords_cannot_be_reused(county_clerk):
    # given six passwords set one after the other
    passwords = [f"Kexie-Hist-{n}x!" for n in range(6)]
    for raw in passwords:
        user_set_password(actor=county_clerk, user=county_clerk, raw=raw)
    # then only five hashes are kept
    assert PasswordHistory.objects.filter(user=county_clerk).count() == 5
    # and each of the last five (the current one included) is refused
    for raw in passwords[1:]:
        with pytest.raises(ValidationError) as refused:
            user_set_password(actor=county_clerk, user=county_clerk, raw=raw)
        assert "password_reused" in [e.code for e in refused.value.error_list]
    # while the sixth-last is allowed again
    user_set_password(actor=county_clerk, user=county_clerk, raw=passwords[0])
    county_clerk.refresh_from_db()
    assert county_clerk.check_password(passwords[0])


def test_the_current_password_cannot_be_set_again(county_clerk):
    # given a persona whose password was never set through the service (no history yet)
    assert not PasswordHistory.objects.filter(user=county_clerk).exists()
    # when the same password is chosen again, it is refused
    with pytest.raises(ValidationError):
        user_set_password(actor=county_clerk, user=county_clerk, raw=PASSWORD)


def test_password_must_not_contain_the_username(county_clerk):
    with pytest.raises(ValidationError) as refused:
        user_set_password(actor=county_clerk, user=county_clerk, raw="X9!Emin_Clerk")
    assert "password_contains_username" in [e.code for e in refused.value.error_list]


@pytest.mark.parametrize("raw", ["Kexie!13912345678", "Kexie!345678Ab", "Kx!139-1234-5678"])
def test_password_must_not_contain_the_phone_number(county_clerk, raw):
    # given a clerk with a phone number
    county_clerk.phone = "13912345678"
    county_clerk.save(update_fields=["phone"])
    # when the password holds the number or six of its digits in a row, it is refused
    with pytest.raises(ValidationError) as refused:
        user_set_password(actor=county_clerk, user=county_clerk, raw=raw)
    assert "password_contains_phone" in [e.code for e in refused.value.error_list]


def test_minimum_length_comes_from_the_settings(county_clerk, settings):
    settings.KEXIE_PASSWORD_MIN_LENGTH = 14
    with pytest.raises(ValidationError):
        user_set_password(actor=county_clerk, user=county_clerk, raw="Kexie-2026ab!")  # 13
    user_set_password(actor=county_clerk, user=county_clerk, raw="Kexie-2026abc!")  # 14
    county_clerk.refresh_from_db()
    assert county_clerk.check_password("Kexie-2026abc!")


def test_user_create_with_a_password_records_it(db):
    user = user_create(actor=None, username="yumin_clerk", password=NEW[0])
    assert user.password_changed_at is not None
    assert PasswordHistory.objects.filter(user=user).count() == 1
    # the creation is one event, not two
    assert _events("account.create") == 1
    assert _events("account.password_change") == 0


def test_user_create_with_a_weak_password_writes_nothing(db):
    with pytest.raises(ValidationError):
        user_create(actor=None, username="yumin_clerk", password="yumin_clerk1A")
    assert not User.objects.filter(username="yumin_clerk").exists()


def test_password_change_page_uses_the_rules_and_the_history(county_clerk, login):
    client = login(county_clerk)
    # when the clerk changes the password on the page
    response = client.post(
        "/accounts/password/",
        {"old_password": PASSWORD, "new_password1": NEW[0], "new_password2": NEW[0]},
    )
    # then it is changed, remembered, and the clerk stays logged in
    assert response.status_code == 302
    county_clerk.refresh_from_db()
    assert county_clerk.check_password(NEW[0])
    assert PasswordHistory.objects.filter(user=county_clerk).count() == 2  # old and new
    assert client.get("/").status_code == 200
    # and going back to the previous password is refused with a message
    response = client.post(
        "/accounts/password/",
        {"old_password": NEW[0], "new_password1": PASSWORD, "new_password2": PASSWORD},
    )
    assert response.status_code == 200
    assert "new_password2" in response.context["form"].errors
    county_clerk.refresh_from_db()
    assert county_clerk.check_password(NEW[0])


def test_activation_sets_the_first_password_through_the_service(tree, client):
    # given a new account waiting for its activation link (AUTH-10)
    user = user_create(actor=None, username="toli_new", display_name="新人")
    assert user.must_change_password
    response = client.get(activation_path(user), follow=True)
    set_url = response.redirect_chain[-1][0]
    # when the person sets a password
    response = client.post(set_url, {"new_password1": NEW[1], "new_password2": NEW[1]})
    # then it is recorded like every other password, and the account is not logged in
    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/"
    user.refresh_from_db()
    assert user.check_password(NEW[1])
    assert user.password_changed_at is not None
    assert not user.must_change_password
    assert PasswordHistory.objects.filter(user=user).count() == 1
    assert _events("account.activate") == 1
    assert "_auth_user_id" not in client.session


# --- AUTH-02 / AUTH-10: the forced password change ------------------------------------------------


@override_settings(KEXIE_PASSWORD_MAX_AGE_DAYS=90)
def test_expired_password_allows_only_the_change_page(county_admin, login):
    # given a password changed 91 days ago
    county_admin.password_changed_at = timezone.now() - timedelta(days=91)
    county_admin.save(update_fields=["password_changed_at"])
    client = login(county_admin)
    # when the admin opens any page, they are sent to the change page and back afterwards
    response = client.get("/orgs/")
    assert response.status_code == 302
    assert response["Location"] == "/accounts/password/?next=%2Forgs%2F"
    assert client.get("/").status_code == 302
    page = client.get("/accounts/password/?next=/orgs/")
    assert page.status_code == 200
    assert 'data-testid="password-forced"' in page.content.decode()
    response = client.post(
        "/accounts/password/",
        {
            "old_password": PASSWORD,
            "new_password1": NEW[2],
            "new_password2": NEW[2],
            "next": "/orgs/",
        },
    )
    assert response.status_code == 302
    assert response["Location"] == "/orgs/"
    # then everything is open again
    assert client.get("/orgs/").status_code == 200


def test_password_changed_89_days_ago_is_still_fine(county_admin, login):
    county_admin.password_changed_at = timezone.now() - timedelta(days=89)
    county_admin.save(update_fields=["password_changed_at"])
    assert login(county_admin).get("/").status_code == 200


def test_must_change_password_sends_to_the_change_page_but_allows_logout(county_admin, login):
    county_admin.must_change_password = True
    county_admin.save(update_fields=["must_change_password"])
    client = login(county_admin)
    assert client.get("/").headers["Location"].startswith("/accounts/password/")
    assert client.get("/accounts/sessions/").status_code == 302
    assert client.post("/accounts/logout/").status_code == 302
    assert client.get("/").headers["Location"].startswith("/accounts/login/")


# --- AUTH-03: Argon2id, legacy hashes upgraded ----------------------------------------------------


@override_settings(
    PASSWORD_HASHERS=[
        "django.contrib.auth.hashers.Argon2PasswordHasher",
        "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    ]
)
def test_legacy_pbkdf2_hash_is_upgraded_to_argon2id_at_login(county_admin, client):
    # given an account still holding a PBKDF2 hash
    User.objects.filter(pk=county_admin.pk).update(
        password=make_password(PASSWORD, hasher="pbkdf2_sha256")
    )
    # when its owner logs in
    response = _login(client, "emin_admin")
    # then the login works and the stored hash is now Argon2id
    assert response.status_code == 302
    county_admin.refresh_from_db()
    assert county_admin.password.startswith("argon2$argon2id$")
    assert county_admin.check_password(PASSWORD)


# --- AUTH-04 / AUTH-11: lock-out ------------------------------------------------------------------


def _strip_tokens(html: str) -> str:
    return re.sub(r'name="csrfmiddlewaretoken" value="[^"]*"', "", html)


def _fail(client, username: str, times: int) -> None:
    for _ in range(times):
        response = _login(client, username, "wrong-password")
        assert response.status_code == 200


@override_settings(AXES_FAILURE_LIMIT=5)
def test_five_failures_lock_the_username_with_a_generic_page(client, county_admin):
    # given four failures
    _fail(client, "emin_admin", 4)
    # when the fifth fails
    response = _login(client, "emin_admin", "wrong-password")
    # then the username is locked with a generic 429 page, audited once
    assert response.status_code == 429
    assert "accounts/locked_out.html" in [t.name for t in response.templates]
    assert "emin_admin" not in response.content.decode()
    assert _events("auth.locked_out") == 1
    # and even the right password is refused while the lock lasts
    response = _login(client, "emin_admin")
    assert response.status_code == 429
    assert "_auth_user_id" not in client.session
    assert _events("auth.locked_out") == 1
    assert _events("auth.login") == 0


def test_lock_out_page_is_the_same_for_unknown_usernames(client, county_admin):
    # given five failures for an existing and five for an unknown username
    _fail(client, "emin_admin", 5 - 1)
    known = _login(client, "emin_admin", "wrong-password")
    _fail(client, "nobody_here", 5 - 1)
    unknown = _login(client, "nobody_here", "wrong-password")
    # then both get the very same answer (AUTH-11)
    assert known.status_code == unknown.status_code == 429
    assert known["Retry-After"] == unknown["Retry-After"] == str(30 * 60)
    assert _strip_tokens(known.content.decode()) == _strip_tokens(unknown.content.decode())
    assert _events("auth.locked_out") == 2


def test_changing_the_case_of_the_username_does_not_dodge_the_lock(client, county_admin):
    for username in ["emin_admin", "EMIN_ADMIN", "Emin_Admin", "emin_ADMIN"]:
        _login(client, username, "wrong-password")
    response = _login(client, "eMIN_admin", "wrong-password")
    assert response.status_code == 429
    assert _login(client, "emin_admin").status_code == 429


def test_the_lock_is_per_address(county_admin):
    from django.test import Client

    attacker = Client(REMOTE_ADDR="10.0.0.66")
    _fail(attacker, "emin_admin", 4)
    assert _login(attacker, "emin_admin", "wrong").status_code == 429
    # the owner, from their own address, still gets in
    owner = Client(REMOTE_ADDR="10.0.0.7")
    assert _login(owner, "emin_admin").status_code == 302


def test_security_admin_unlocks_and_it_is_audited(client, county_admin, security_admin):
    # given a locked username
    _fail(client, "emin_admin", 4)
    assert _login(client, "emin_admin", "wrong").status_code == 429
    assert [row["username"] for row in locked_usernames()] == ["emin_admin"]
    # when the security administrator unlocks it
    cleared = account_unlock(actor=security_admin, username="EMIN_admin ")
    # then the lock is gone, audited, and the owner can log in
    assert cleared >= 1
    assert locked_usernames() == []
    event = AuditEvent.objects.get(event_type="auth.unlock")
    assert (event.actor, event.object_repr) == (security_admin, "emin_admin")
    assert _login(client, "emin_admin").status_code == 302


def test_only_holders_of_the_unlock_right_may_unlock(client, county_admin, system_admin):
    _fail(client, "emin_admin", 4)
    _login(client, "emin_admin", "wrong")
    with pytest.raises(PermissionDenied):
        account_unlock(actor=system_admin, username="emin_admin")
    with pytest.raises(PermissionDenied):
        account_unlock(actor=None, username="emin_admin")
    assert _events("auth.unlock") == 0
    assert _login(client, "emin_admin").status_code == 429


# --- SES-06: production cookies -------------------------------------------------------------------


def test_production_cookies_are_secure_httponly_and_samesite():
    # given the production settings with the keys they require
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KEXIE_", "SECRET_KEY"))}
    env.update(
        {
            "SECRET_KEY": "prod-secret-" + "x" * 50,
            "KEXIE_FIELD_KEYS": "k1:" + "A" * 43 + "=",
            "KEXIE_BLIND_INDEX_KEY": "B" * 43 + "=",
            "KEXIE_AUDIT_KEY": "C" * 43 + "=",
            "ALLOWED_HOSTS": "kexie.example.cn",
        }
    )
    names = [
        "SESSION_COOKIE_SECURE",
        "SESSION_COOKIE_HTTPONLY",
        "SESSION_COOKIE_SAMESITE",
        "CSRF_COOKIE_SECURE",
        "CSRF_COOKIE_SAMESITE",
        "SESSION_COOKIE_AGE",
        "SESSION_SAVE_EVERY_REQUEST",
        "KEXIE_REQUIRE_2FA",
        "KEXIE_SESSION_MAX_HOURS",
        "DEBUG",
    ]
    code = (
        "import json, kexie.settings.production as s; "
        f"print(json.dumps({{n: getattr(s, n) for n in {names!r}}}))"
    )
    # when they are imported
    result = subprocess.run(  # noqa: S603 - our own interpreter and module
        [sys.executable, "-c", code],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    values = json.loads(result.stdout.strip().splitlines()[-1])
    # then the session and CSRF cookies are Secure, HttpOnly (session) and SameSite
    assert values["SESSION_COOKIE_SECURE"] is True
    assert values["SESSION_COOKIE_HTTPONLY"] is True
    assert values["SESSION_COOKIE_SAMESITE"] in ("Lax", "Strict")
    assert values["CSRF_COOKIE_SECURE"] is True
    assert values["CSRF_COOKIE_SAMESITE"] in ("Lax", "Strict")
    # and the session timeouts and the second factor hold there too
    assert values["SESSION_COOKIE_AGE"] <= 30 * 60
    assert values["SESSION_SAVE_EVERY_REQUEST"] is True
    assert values["KEXIE_SESSION_MAX_HOURS"] <= 12
    assert values["KEXIE_REQUIRE_2FA"] is True
    assert values["DEBUG"] is False


@override_settings(SESSION_COOKIE_SECURE=True, CSRF_COOKIE_SECURE=True)
def test_session_cookie_carries_the_flags(client, county_admin):
    response = _login(client, "emin_admin")
    cookie = response.cookies["sessionid"]
    assert cookie["secure"] is True
    assert cookie["httponly"] is True
    assert cookie["samesite"] == "Lax"
