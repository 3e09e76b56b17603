"""Login sessions: new id at login, ended at logout (SES-01), idle timeout (SES-02), absolute
lifetime (SES-03), ended by role changes and elsewhere (SES-04), "My sessions" (SES-05)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.conf import settings
from django.test import Client

from kexie.accounts.models import RoleAssignment, UserSession
from kexie.accounts.security import session_key_hash, user_sessions_end
from kexie.accounts.services import role_grant, role_revoke
from kexie.conftest import PASSWORD
from kexie.core.models import AuditEvent

START = datetime(2026, 3, 2, 1, 0, 0, tzinfo=UTC)
BROWSER = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/120.0 Safari/537.36"


@pytest.fixture
def clock(time_machine):
    time_machine.move_to(START, tick=False)
    return time_machine


def _logged_in(username: str = "emin_admin", **headers) -> Client:
    client = Client(**headers)
    response = client.post("/accounts/login/", {"username": username, "password": PASSWORD})
    assert response.status_code == 302
    return client


def _is_logged_in(client: Client) -> bool:
    response = client.get("/")
    if response.status_code == 200:
        return True
    assert response["Location"].startswith("/accounts/login/")
    return False


# --- SES-01 ---------------------------------------------------------------------------------------


def test_login_gives_a_new_session_id(client, county_admin):
    # given an anonymous session with something in it
    session = client.session
    session["probe"] = 1
    session.save()
    before = session.session_key
    client.cookies[settings.SESSION_COOKIE_NAME] = before
    # when the person logs in
    client.post("/accounts/login/", {"username": "emin_admin", "password": PASSWORD})
    # then the session id is a new one, and the old one is gone from the server
    after = client.cookies[settings.SESSION_COOKIE_NAME].value
    assert after and after != before
    from django.contrib.sessions.models import Session

    assert not Session.objects.filter(session_key=before).exists()


def test_logout_makes_the_old_session_cookie_useless(county_admin):
    # given a logged-in browser whose cookie someone copied
    client = _logged_in()
    stolen = client.cookies[settings.SESSION_COOKIE_NAME].value
    # when the owner logs out
    assert client.post("/accounts/logout/").status_code == 302
    # then the copied cookie opens nothing
    thief = Client()
    thief.cookies[settings.SESSION_COOKIE_NAME] = stolen
    assert not _is_logged_in(thief)
    assert UserSession.objects.get(user=county_admin).ended_at is not None


def test_each_login_is_tracked_by_a_hash_of_its_key(county_admin):
    client = _logged_in(HTTP_USER_AGENT=BROWSER, REMOTE_ADDR="10.1.2.3")
    key = client.cookies[settings.SESSION_COOKIE_NAME].value
    tracked = UserSession.objects.get(user=county_admin)
    assert tracked.session_key_hash == session_key_hash(key)
    assert key not in tracked.session_key_hash
    assert (tracked.ip_address, tracked.user_agent) == ("10.1.2.3", BROWSER)


# --- SES-02 / SES-03 ------------------------------------------------------------------------------


def test_idle_timeout_is_30_minutes_and_sliding(county_admin, clock):
    client = _logged_in()
    # activity every 29 minutes keeps the session alive
    for _ in range(3):
        clock.shift(timedelta(minutes=29))
        assert _is_logged_in(client)
    # 31 minutes without a request end it
    clock.shift(timedelta(minutes=31))
    assert not _is_logged_in(client)


def test_absolute_lifetime_ends_even_an_active_session(county_admin, clock, settings):
    settings.KEXIE_SESSION_MAX_HOURS = 12
    client = _logged_in()
    # given a person active every 20 minutes for 11 h 40 min
    for _ in range(35):
        clock.shift(timedelta(minutes=20))
        assert _is_logged_in(client)
    # when the session passes 12 hours
    clock.shift(timedelta(minutes=21))
    # then it is over, and that is audited
    assert not _is_logged_in(client)
    event = AuditEvent.objects.get(event_type="session.end")
    assert (event.reason, event.object_id) == ("max_age", str(county_admin.pk))
    assert UserSession.objects.get(user=county_admin).ended_at is not None


def test_last_seen_is_written_at_most_once_a_minute(county_admin, clock):
    client = _logged_in()
    tracked = UserSession.objects.get(user=county_admin)
    clock.shift(timedelta(seconds=30))
    client.get("/")
    tracked.refresh_from_db()
    assert tracked.last_seen == START
    clock.shift(timedelta(seconds=40))
    client.get("/")
    tracked.refresh_from_db()
    assert tracked.last_seen == START + timedelta(seconds=70)


# --- SES-04 ---------------------------------------------------------------------------------------


def test_role_grant_ends_the_users_sessions(tree, county_clerk):
    # given the clerk logged in on two devices
    phone, desk = _logged_in("emin_clerk"), _logged_in("emin_clerk")
    # when they are given another role
    role_grant(actor=None, user=county_clerk, organisation=tree.emin, role="reviewer")
    # then both sessions are logged out, audited once
    assert not _is_logged_in(phone)
    assert not _is_logged_in(desk)
    event = AuditEvent.objects.get(event_type="session.end")
    assert (event.reason, event.details["count"]) == ("role_change", 2)


def test_role_revoke_ends_the_users_sessions(tree, county_clerk, security_admin):
    client = _logged_in("emin_clerk")
    assignment = RoleAssignment.objects.get(user=county_clerk)
    role_revoke(actor=security_admin, assignment=assignment)
    assert not _is_logged_in(client)
    assert AuditEvent.objects.get(event_type="session.end").actor == security_admin


def test_user_sessions_end_can_spare_one_session(county_admin):
    keep, end = _logged_in(), _logged_in()
    ended = user_sessions_end(
        user=county_admin,
        except_session_key=keep.cookies[settings.SESSION_COOKIE_NAME].value,
        reason="account_disable",
    )
    assert ended == 1
    assert _is_logged_in(keep)
    assert not _is_logged_in(end)


def test_a_password_change_ends_the_other_sessions_but_not_this_one(county_admin):
    this, other = _logged_in(), _logged_in()
    response = this.post(
        "/accounts/password/",
        {
            "old_password": PASSWORD,
            "new_password1": "Kexie-Changed-2026!",
            "new_password2": "Kexie-Changed-2026!",
        },
    )
    assert response.status_code == 302
    assert _is_logged_in(this)
    assert not _is_logged_in(other)
    # the session kept its row although its key changed
    key = this.cookies[settings.SESSION_COOKIE_NAME].value
    assert UserSession.objects.get(session_key_hash=session_key_hash(key)).ended_at is None


def test_an_untracked_session_is_not_trusted(county_admin, login):
    client = login(county_admin)
    UserSession.objects.all().delete()
    assert not _is_logged_in(client)


# --- SES-05: my sessions --------------------------------------------------------------------------


def test_my_sessions_lists_own_sessions_with_the_current_one_marked(county_admin, outsider):
    this = _logged_in(HTTP_USER_AGENT=BROWSER, REMOTE_ADDR="10.1.2.3")
    _logged_in(HTTP_USER_AGENT="Mozilla/5.0 (Linux; Android 14) Firefox/125.0")
    _logged_in("toli_admin")
    response = this.get("/accounts/sessions/")
    assert response.status_code == 200
    rows = response.context["rows"]
    assert len(rows) == 2
    assert [row["current"] for row in rows].count(True) == 1
    assert {row["browser"] for row in rows} == {"Chrome · Windows", "Firefox · Android"}
    html = response.content.decode()
    assert html.count('data-testid="current-session"') == 1
    assert "10.1.2.3" in html


def test_ending_another_session_logs_it_out(county_admin):
    this, other = _logged_in(), _logged_in()
    other_key = other.cookies[settings.SESSION_COOKIE_NAME].value
    target = UserSession.objects.get(session_key_hash=session_key_hash(other_key))
    # GET changes nothing
    assert this.get(f"/accounts/sessions/{target.pk}/end/").status_code == 405
    assert _is_logged_in(other)
    # when it is ended from the page
    response = this.post(f"/accounts/sessions/{target.pk}/end/")
    assert response.status_code == 302
    # then the other browser is logged out, this one is not, and it is audited
    assert not _is_logged_in(other)
    assert _is_logged_in(this)
    event = AuditEvent.objects.get(event_type="session.end")
    assert (event.actor, event.reason) == (county_admin, "user")


def test_someone_elses_session_cannot_be_ended(county_admin, outsider):
    mine = _logged_in()
    theirs = _logged_in("toli_admin")
    target = UserSession.objects.get(user=outsider)
    assert mine.post(f"/accounts/sessions/{target.pk}/end/").status_code == 404
    assert _is_logged_in(theirs)
    assert not AuditEvent.objects.filter(event_type="session.end").exists()


def test_the_current_session_is_not_ended_from_the_list(county_admin):
    this = _logged_in()
    key = this.cookies[settings.SESSION_COOKIE_NAME].value
    current = UserSession.objects.get(session_key_hash=session_key_hash(key))
    assert this.post(f"/accounts/sessions/{current.pk}/end/").status_code == 404
    assert _is_logged_in(this)


def test_end_all_other_sessions(county_admin, outsider):
    this, second, third = _logged_in(), _logged_in(), _logged_in()
    theirs = _logged_in("toli_admin")
    response = this.post("/accounts/sessions/end-others/")
    assert response.status_code == 302
    assert _is_logged_in(this)
    assert not _is_logged_in(second)
    assert not _is_logged_in(third)
    assert _is_logged_in(theirs)
    event = AuditEvent.objects.get(event_type="session.end")
    assert (event.actor, event.details["count"]) == (county_admin, 2)


def test_a_saved_idle_timeout_parameter_shortens_the_session(county_admin, security_admin, client):
    """SES-02 with the 安全管理员's parameter: the session expires after that many minutes."""
    from kexie.core.parameters import parameter_set, parameters_cache_clear

    parameter_set(actor=security_admin, key="session_idle_minutes", value=10)
    parameters_cache_clear()
    client.force_login(county_admin)
    client.get("/")
    assert client.session.get_expiry_age() == 600
