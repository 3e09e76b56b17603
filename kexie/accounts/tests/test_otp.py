"""The second factor (AUTH-07) and re-authentication with it (AUTH-09)."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest
from django.test import Client, override_settings
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from kexie.accounts.models import RecoveryCode, UserSession
from kexie.accounts.reauth import SESSION_KEY as REAUTH_SESSION_KEY
from kexie.accounts.security import recovery_codes_generate, session_key_hash
from kexie.conftest import PASSWORD
from kexie.core.models import AuditEvent

START = datetime(2026, 3, 2, 1, 0, 0, tzinfo=UTC)  # 09:00 Beijing time


@pytest.fixture
def frozen(time_machine):
    time_machine.move_to(START, tick=False)
    return time_machine


def _code(device: TOTPDevice, *, offset_steps: int = 0) -> str:
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    totp.time = time.time() + offset_steps * device.step
    return f"{totp.token():0{device.digits}d}"


def _device(user) -> TOTPDevice:
    return TOTPDevice.objects.create(user=user, name="TOTP", confirmed=True)


def _events(event_type: str) -> int:
    return AuditEvent.objects.filter(event_type=event_type).count()


def _password_step(client, username: str = "emin_admin", next_url: str = ""):
    url = "/accounts/login/" + (f"?next={next_url}" if next_url else "")
    return client.post(url, {"username": username, "password": PASSWORD})


# --- login in two steps ---------------------------------------------------------------------------


def test_login_with_a_device_needs_the_code_before_any_page(client, county_admin, frozen):
    # given an admin with a confirmed authenticator
    device = _device(county_admin)
    # when the password is right
    response = _password_step(client, next_url="/orgs/")
    # then the code page comes next, and no page opens before it
    assert response.status_code == 302
    assert response["Location"] == "/accounts/2fa/verify/?next=%2Forgs%2F"
    assert client.get("/orgs/")["Location"] == "/accounts/2fa/verify/?next=%2Forgs%2F"
    assert client.get("/accounts/password/").status_code == 302
    assert client.get("/accounts/sessions/").status_code == 302
    assert client.get("/accounts/reauth/").status_code == 302
    assert _events("auth.login") == 0
    page = client.get("/accounts/2fa/verify/?next=/orgs/")
    assert page.status_code == 200
    # when the code from the app is entered
    key_before = client.session.session_key
    response = client.post("/accounts/2fa/verify/", {"token": _code(device), "next": "/orgs/"})
    # then the admin is in, with a new session key that is still tracked, and one login event
    assert response.status_code == 302
    assert response["Location"] == "/orgs/"
    assert client.get("/orgs/").status_code == 200
    assert client.session.session_key != key_before
    tracked = UserSession.objects.get(user=county_admin)
    assert tracked.session_key_hash == session_key_hash(client.session.session_key)
    event = AuditEvent.objects.get(event_type="auth.login")
    assert (event.actor, event.details) == (county_admin, {"second_factor": "totp"})


def test_wrong_code_is_refused_and_audited(client, county_admin, frozen):
    device = _device(county_admin)
    _password_step(client)
    wrong = "000000" if _code(device) != "000000" else "111111"
    response = client.post("/accounts/2fa/verify/", {"token": wrong})
    assert response.status_code == 200
    assert response.context["form"].errors["token"]
    assert _events("auth.otp_verify_failed") == 1
    assert client.get("/")["Location"].startswith("/accounts/2fa/verify/")


def test_a_code_works_only_once(county_admin, frozen):
    # given a code used to log in
    device = _device(county_admin)
    first, second = Client(), Client()
    _password_step(first)
    code = _code(device)
    assert first.post("/accounts/2fa/verify/", {"token": code}).status_code == 302
    # when the same code is replayed in another login within its time step
    _password_step(second)
    response = second.post("/accounts/2fa/verify/", {"token": code})
    # then it is refused (django-otp's last_t)
    assert response.status_code == 200
    assert second.get("/").status_code == 302
    # and the next time step's code works
    frozen.shift(timedelta(seconds=device.step + 5))
    assert second.post("/accounts/2fa/verify/", {"token": _code(device)}).status_code == 302


def test_codes_are_throttled_after_a_failure(client, county_admin, frozen):
    device = _device(county_admin)
    _password_step(client)
    # given a wrong code
    client.post("/accounts/2fa/verify/", {"token": "12345x"})
    client.post("/accounts/2fa/verify/", {"token": "000001"})
    # when the right code follows at once, it is refused: after a failure 1 s must pass
    # (the clock stands still here), and the try in between did not count
    response = client.post("/accounts/2fa/verify/", {"token": _code(device)})
    assert response.status_code == 200
    assert AuditEvent.objects.filter(event_type="auth.otp_verify_failed", outcome="denied").exists()
    # and after the wait it works
    frozen.shift(timedelta(seconds=3))
    assert client.post("/accounts/2fa/verify/", {"token": _code(device)}).status_code == 302


def test_a_recovery_code_works_once_and_is_stored_hashed(client, county_admin, frozen):
    # given recovery codes
    _device(county_admin)
    codes = recovery_codes_generate(user=county_admin)
    assert len(codes) == 10 and len(set(codes)) == 10
    stored = list(
        RecoveryCode.objects.filter(user=county_admin).values_list("code_hash", flat=True)
    )
    assert all(code.replace("-", "") not in h and code not in h for code in codes for h in stored)
    # when one is used (typed in capitals, with spaces) to log in
    _password_step(client)
    typed = codes[3].upper().replace("-", " ")
    response = client.post("/accounts/2fa/verify/", {"token": typed})
    # then it logs in, and is audited
    assert response.status_code == 302
    assert client.get("/").status_code == 200
    assert _events("auth.recovery_code_used") == 1
    assert RecoveryCode.objects.filter(user=county_admin, used_at__isnull=False).count() == 1
    # and it cannot be used a second time
    other = Client()
    _password_step(other)
    frozen.shift(timedelta(seconds=60))
    assert other.post("/accounts/2fa/verify/", {"token": codes[3]}).status_code == 200
    assert other.get("/").status_code == 302


def test_verify_page_without_a_device_goes_on(county_admin, login):
    response = login(county_admin).get("/accounts/2fa/verify/?next=/orgs/")
    assert response.status_code == 302
    assert response["Location"] == "/orgs/"


def test_without_a_device_and_2fa_off_the_password_is_enough(client, county_admin):
    response = _password_step(client)
    assert response["Location"] == "/"
    assert client.get("/").status_code == 200
    assert _events("auth.login") == 1


# --- enrolment ------------------------------------------------------------------------------------


def _enrol(client, user) -> list[str]:
    page = client.get("/accounts/2fa/setup/")
    assert page.status_code == 200
    key = client.session["kexie_otp_pending_key"]
    device = TOTPDevice(user=user, key=key)
    response = client.post("/accounts/2fa/setup/", {"token": _code(device)})
    assert response.status_code == 200
    assert "accounts/otp_recovery_codes.html" in [t.name for t in response.templates]
    return response.context["codes"]


def test_enrolment_shows_a_local_qr_code_and_the_secret(county_admin, login):
    client = login(county_admin)
    response = client.get("/accounts/2fa/setup/")
    html = response.content.decode()
    assert response.status_code == 200
    assert '<svg width="' in html and 'class="kexie-qr"' in html
    assert "<img" not in html.split('data-testid="otp-qr"')[1].split("</div>")[0]
    secret = response.context["secret"].replace(" ", "")
    assert len(secret) == 32 and secret in html.replace(" ", "")
    assert not TOTPDevice.objects.filter(user=county_admin).exists()  # GET writes no device


def test_enrolment_with_a_wrong_code_enrols_nothing(county_admin, login, frozen):
    client = login(county_admin)
    client.get("/accounts/2fa/setup/")
    device = TOTPDevice(key=client.session["kexie_otp_pending_key"])
    wrong = "000000" if _code(device) != "000000" else "111111"
    response = client.post("/accounts/2fa/setup/", {"token": wrong})
    assert response.status_code == 200
    assert response.context["form"].errors["token"]
    assert not TOTPDevice.objects.filter(user=county_admin, confirmed=True).exists()
    assert _events("auth.otp_verify_failed") == 1
    assert _events("auth.otp_enrol") == 0


def test_enrolment_confirms_the_device_and_shows_ten_recovery_codes_once(
    county_admin, login, frozen
):
    client = login(county_admin)
    codes = _enrol(client, county_admin)
    # then the device is confirmed, the codes are shown once and kept only as hashes
    assert TOTPDevice.objects.get(user=county_admin).confirmed
    assert len(codes) == 10
    assert RecoveryCode.objects.filter(user=county_admin).count() == 10
    assert _events("auth.otp_enrol") == 1
    assert "kexie_otp_pending_key" not in client.session
    # and this session counts as verified
    assert client.get("/").status_code == 200
    overview = client.get("/accounts/2fa/")
    assert overview.context["codes_left"] == 10
    assert codes[0] not in overview.content.decode()


@override_settings(KEXIE_REQUIRE_2FA=True)
def test_required_2fa_sends_a_user_without_device_to_enrolment(client, county_admin, frozen):
    # when a user without a device logs in with the password
    response = _password_step(client, next_url="/orgs/")
    # then enrolment comes next and nothing else opens
    assert response["Location"] == "/accounts/2fa/setup/?next=%2Forgs%2F"
    for url in ("/", "/orgs/", "/accounts/password/", "/accounts/sessions/", "/accounts/2fa/"):
        assert client.get(url)["Location"].startswith("/accounts/2fa/setup/"), url
    # when they enrol
    page = client.get("/accounts/2fa/setup/?next=/orgs/")
    device = TOTPDevice(key=client.session["kexie_otp_pending_key"])
    response = client.post("/accounts/2fa/setup/", {"token": _code(device), "next": "/orgs/"})
    assert page.status_code == response.status_code == 200
    assert response.context["next"] == "/orgs/"
    # then the pages open
    assert client.get("/orgs/").status_code == 200


@override_settings(KEXIE_REQUIRE_2FA=True)
def test_required_2fa_still_lets_an_unenrolled_user_log_out(client, county_admin):
    _password_step(client)
    assert client.post("/accounts/logout/").status_code == 302
    assert "_auth_user_id" not in client.session


def test_replacing_the_device_needs_reauthentication_with_the_old_code(
    client, county_admin, frozen
):
    # given an admin logged in with their device
    old = _device(county_admin)
    _password_step(client)
    client.post("/accounts/2fa/verify/", {"token": _code(old)})
    session = client.session
    session.pop(REAUTH_SESSION_KEY, None)
    session.save()
    # when they open the setup page, they must confirm it is them first
    response = client.get("/accounts/2fa/setup/")
    assert response["Location"] == "/accounts/reauth/?next=%2Faccounts%2F2fa%2Fsetup%2F"
    # the re-authentication asks for the password and a code
    page = client.get(response["Location"])
    assert set(page.context["form"].fields) == {"password", "token"}
    frozen.shift(timedelta(seconds=old.step))
    response = client.post(
        "/accounts/reauth/",
        {"password": PASSWORD, "token": _code(old), "next": "/accounts/2fa/setup/"},
    )
    assert response["Location"] == "/accounts/2fa/setup/"
    # and after the new device is confirmed the old one is gone
    _enrol(client, county_admin)
    assert not TOTPDevice.objects.filter(pk=old.pk).exists()
    assert TOTPDevice.objects.filter(user=county_admin, confirmed=True).count() == 1


# --- re-authentication (AUTH-09) ------------------------------------------------------------------


def test_reauth_without_the_code_is_refused_for_a_user_with_a_device(client, county_admin, frozen):
    device = _device(county_admin)
    _password_step(client)
    client.post("/accounts/2fa/verify/", {"token": _code(device)})
    session = client.session
    session.pop(REAUTH_SESSION_KEY, None)
    session.save()
    frozen.shift(timedelta(seconds=device.step))
    # when only the password is given
    response = client.post("/accounts/reauth/", {"password": PASSWORD, "next": "/"})
    # then it is refused and audited as a failure
    assert response.status_code == 200
    assert "token" in response.context["form"].errors
    assert REAUTH_SESSION_KEY not in client.session
    # a wrong password is refused before the code is even tried
    response = client.post(
        "/accounts/reauth/", {"password": "wrong", "token": _code(device), "next": "/"}
    )
    assert "password" in response.context["form"].errors
    assert AuditEvent.objects.filter(event_type="auth.reauth", outcome="failure").count() == 2
    # with password and code it passes
    response = client.post(
        "/accounts/reauth/", {"password": PASSWORD, "token": _code(device), "next": "/"}
    )
    assert response.status_code == 302
    assert REAUTH_SESSION_KEY in client.session


def test_reauth_for_a_user_without_a_device_asks_only_the_password(county_admin, login):
    client = login(county_admin)
    page = client.get("/accounts/reauth/?next=/")
    assert set(page.context["form"].fields) == {"password"}
    response = client.post("/accounts/reauth/", {"password": PASSWORD, "next": "/"})
    assert response.status_code == 302
