"""AC-08: dormant staff accounts and accounts past ``expires_at`` are disabled every day."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from kexie.accounts.models import User
from kexie.accounts.tests.factories import UserFactory, staff
from kexie.core.maintenance import LAST_RUN_KEY, maintenance_run_if_due
from kexie.core.models import AuditEvent, Parameter
from kexie.core.parameters import parameter_set


def _days_ago(days: int):
    return timezone.now() - timedelta(days=days)


def _set(user, **fields) -> None:
    User.objects.filter(pk=user.pk).update(**fields)


def _active(*users) -> list[bool]:
    return [User.objects.get(pk=u.pk).is_active for u in users]


def test_dormant_and_expired_accounts_are_disabled_one_event_each(tree):
    # given staff accounts in various states
    dormant = staff(organisation=tree.emin, role="clerk")
    _set(dormant, last_login=_days_ago(91))
    recent = staff(organisation=tree.emin, role="clerk")
    _set(recent, last_login=_days_ago(89))
    never = staff(organisation=tree.emin, role="viewer")
    _set(never, last_login=None, date_joined=_days_ago(100))
    new = staff(organisation=tree.emin, role="viewer")  # created today, never logged in
    no_role = UserFactory()  # not staff: the dormancy rule does not apply
    _set(no_role, last_login=_days_ago(400))
    expired = UserFactory()  # expiry applies to every account
    _set(expired, last_login=timezone.now(), expires_at=_days_ago(1))
    # when the command runs
    out = io.StringIO()
    call_command("disable_dormant_accounts", stdout=out)
    # then exactly the dormant, never-used and expired accounts are off
    assert _active(dormant, recent, never, new, no_role, expired) == [
        False,
        True,
        False,
        True,
        True,
        False,
    ]
    events = AuditEvent.objects.filter(event_type="account.dormant_disable")
    assert sorted(events.values_list("object_id", "reason")) == sorted(
        [(str(dormant.pk), "dormant"), (str(never.pk), "dormant"), (str(expired.pk), "expired")]
    )
    assert "Disabled 3 accounts" in out.getvalue()
    # and a second run finds nothing more to do
    call_command("disable_dormant_accounts", stdout=io.StringIO())
    assert AuditEvent.objects.filter(event_type="account.dormant_disable").count() == 3


def test_the_period_is_the_security_parameter(tree, security_admin):
    user = staff(organisation=tree.emin, role="clerk")
    _set(user, last_login=_days_ago(40))
    call_command("disable_dormant_accounts", stdout=io.StringIO())
    assert _active(user) == [True]
    parameter_set(actor=security_admin, key="dormant_days", value=30)
    call_command("disable_dormant_accounts", stdout=io.StringIO())
    assert _active(user) == [False]


def test_an_account_an_administrator_enabled_again_gets_a_full_period(tree, system_admin):
    from kexie.accounts.admin_services import user_enable

    user = staff(organisation=tree.emin, role="clerk")
    _set(user, last_login=_days_ago(120), is_active=False)
    user.refresh_from_db()
    user_enable(actor=system_admin, user=user, reason="回到岗位")
    call_command("disable_dormant_accounts", stdout=io.StringIO())
    assert _active(user) == [True]


def test_dry_run_changes_nothing(tree):
    user = staff(organisation=tree.emin, role="clerk")
    _set(user, last_login=_days_ago(200))
    out = io.StringIO()
    call_command("disable_dormant_accounts", "--dry-run", stdout=out)
    assert _active(user) == [True]
    assert user.username in out.getvalue()
    assert not AuditEvent.objects.filter(event_type="account.dormant_disable").exists()


def test_disabling_a_dormant_account_ends_its_sessions(tree, client):
    from kexie.accounts.models import UserSession

    user = staff(organisation=tree.emin, role="clerk")
    client.force_login(user)
    _set(user, last_login=_days_ago(100))
    call_command("disable_dormant_accounts", stdout=io.StringIO())
    assert not UserSession.objects.filter(user=user, ended_at__isnull=True).exists()
    assert client.get("/").status_code == 302


# --- run daily by the task worker ------------------------------------------------------------


def test_maintenance_runs_at_most_once_a_day(tree):
    user = staff(organisation=tree.emin, role="clerk")
    _set(user, last_login=_days_ago(100))
    now = timezone.now()
    # the first heartbeat of the day runs it
    assert maintenance_run_if_due(now=now) is True
    assert _active(user) == [False]
    # later heartbeats that day do not
    assert maintenance_run_if_due(now=now + timedelta(hours=23)) is False
    # the next day it runs again
    assert maintenance_run_if_due(now=now + timedelta(hours=25)) is True
    assert Parameter.objects.filter(key=LAST_RUN_KEY).count() == 1


def test_a_failing_maintenance_command_does_not_stop_the_heartbeat(db, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr("kexie.core.maintenance.call_command", broken)
    assert maintenance_run_if_due() is True  # ran (and logged the failure) without raising


@pytest.mark.django_db(transaction=True)
def test_the_worker_heartbeat_runs_the_maintenance(tree):
    import threading

    from kexie.core.management.commands.run_worker import Command

    user = staff(organisation=tree.emin, role="clerk")
    _set(user, last_login=_days_ago(100))

    class OneBeat(threading.Event):
        """Lets the heartbeat loop run exactly once."""

        def __init__(self) -> None:
            super().__init__()
            self.checks = 0

        def is_set(self) -> bool:
            self.checks += 1
            return self.checks > 1

        def wait(self, timeout=None) -> bool:
            return True

    Command()._beat("test-worker", OneBeat())
    assert _active(user) == [False]
    assert Parameter.objects.filter(key=LAST_RUN_KEY).exists()


def test_old_session_records_and_lockout_logs_are_purged(county_admin):
    """RES-01 / PI-09: the daily clean-up removes records login security no longer needs."""
    import io
    from datetime import timedelta

    from axes.models import AccessLog
    from django.core.management import call_command
    from django.utils import timezone

    from kexie.accounts.models import UserSession

    old = timezone.now() - timedelta(days=120)
    UserSession.objects.create(
        user=county_admin, session_key_hash="a" * 64, last_seen=old, ended_at=old
    )
    recent = UserSession.objects.create(
        user=county_admin, session_key_hash="b" * 64, last_seen=timezone.now()
    )
    log = AccessLog.objects.create(username="x", ip_address="192.0.2.1", user_agent="t")
    AccessLog.objects.filter(pk=log.pk).update(attempt_time=timezone.now() - timedelta(days=200))
    call_command("purge_expired_sessions", stdout=io.StringIO())
    assert list(UserSession.objects.values_list("pk", flat=True)) == [recent.pk]
    assert not AccessLog.objects.exists()
