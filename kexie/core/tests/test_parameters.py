"""Run-time parameters: one registry, settings as defaults, bounded, audited, 三员分立 (AC-06)."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from kexie.core import parameters
from kexie.core.models import AuditEvent, Parameter
from kexie.core.parameters import (
    PARAMETERS,
    get_param,
    param_default,
    parameter_set,
    parameters_cache_clear,
)


def test_every_parameter_default_comes_from_the_settings(settings, db):
    # given settings that differ from the built-in fallbacks
    settings.KEXIE_INSTANCE_NAME = "额敏县科协"
    settings.KEXIE_MAX_UPLOAD_BYTES = 8 * 1024 * 1024
    settings.SESSION_COOKIE_AGE = 20 * 60
    settings.KEXIE_DORMANT_DAYS = 60
    # then, with nothing saved, the parameters are the settings (in the parameter's unit)
    assert get_param("instance_name") == "额敏县科协"
    assert get_param("max_upload_mb") == 8
    assert get_param("session_idle_minutes") == 20
    assert get_param("dormant_days") == 60
    assert get_param("lockout_minutes") == 30  # AXES_COOLOFF_TIME, a timedelta
    for key in PARAMETERS:
        assert param_default(key) is not None


def test_a_setting_outside_the_bounds_falls_back_to_the_documented_value(settings, db):
    settings.KEXIE_DORMANT_DAYS = 400  # more than AC-08 allows
    assert get_param("dormant_days") == 90


def test_unknown_parameters_are_a_programming_error(db):
    with pytest.raises(KeyError):
        get_param("no_such_parameter")
    with pytest.raises(ValidationError):
        parameter_set(actor=None, key="no_such_parameter", value=1)


def test_system_admin_changes_a_system_parameter_audited(system_admin):
    # when the system admin changes the upload limit
    changed = parameter_set(actor=system_admin, key="max_upload_mb", value="25")
    # then it is saved, read back and audited with old and new value
    assert changed is True
    assert get_param("max_upload_mb") == 25
    event = AuditEvent.objects.get(event_type="parameter.change")
    assert event.actor == system_admin
    assert event.details == {"key": "max_upload_mb", "category": "system", "old": 20, "new": 25}
    # and saving the same value again changes nothing and writes no event
    assert parameter_set(actor=system_admin, key="max_upload_mb", value=25) is False
    assert AuditEvent.objects.filter(event_type="parameter.change").count() == 1


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("session_idle_minutes", 31),  # AUTH-05
        ("dormant_days", 91),  # AC-08
        ("password_max_age_days", 120),  # AUTH-02
        ("password_history_count", 2),  # AUTH-02
        ("lockout_limit", 10),  # AUTH-04
        ("lockout_minutes", 5),  # AUTH-04
        ("session_idle_minutes", "many"),
    ],
)
def test_security_parameters_cannot_leave_the_requirements(security_admin, key, value):
    with pytest.raises(ValidationError):
        parameter_set(actor=security_admin, key=key, value=value)
    assert not Parameter.objects.filter(key=key).exists()
    assert not AuditEvent.objects.filter(event_type="parameter.change").exists()


def test_each_administrator_changes_only_their_own_category(
    system_admin, security_admin, audit_admin
):
    # AC-06: the system admin has no say over security parameters and vice versa
    with pytest.raises(PermissionDenied):
        parameter_set(actor=system_admin, key="session_idle_minutes", value=20)
    with pytest.raises(PermissionDenied):
        parameter_set(actor=security_admin, key="instance_name", value="改名")
    for key in ("instance_name", "dormant_days"):
        with pytest.raises(PermissionDenied):
            parameter_set(actor=audit_admin, key=key, value=30)
    assert not Parameter.objects.exists()


def test_a_county_level_system_admin_cannot_change_instance_parameters(tree):
    from kexie.accounts.tests.factories import staff

    county_sysadmin = staff(organisation=tree.emin, role="system_admin")
    with pytest.raises(PermissionDenied):
        parameter_set(actor=county_sysadmin, key="import_max_rows", value=1000)


def test_reads_are_cached_for_at_most_a_minute(db, monkeypatch):
    clock = {"now": 1000.0}
    monkeypatch.setattr(parameters.time, "monotonic", lambda: clock["now"])
    assert get_param("dormant_days") == 90
    # given another process saved a value (straight into the table)
    Parameter.objects.create(key="dormant_days", category="security", value=45)
    # then this process still answers from its cache …
    clock["now"] += parameters.CACHE_SECONDS - 1
    assert get_param("dormant_days") == 90
    # … but not longer than CACHE_SECONDS
    clock["now"] += 2
    assert get_param("dormant_days") == 45


def test_a_stored_value_that_no_longer_fits_is_ignored(db):
    Parameter.objects.create(key="session_idle_minutes", category="security", value=600)
    parameters_cache_clear()
    assert get_param("session_idle_minutes") == 30


# --- the pages -------------------------------------------------------------------------------


def test_system_parameters_page_saves_and_audits(system_admin, login):
    client = login(system_admin)
    page = client.get("/system/parameters/")
    assert page.status_code == 200
    assert "instance_name" in page.content.decode()
    data = {key: get_param(key) for key in parameters.parameters_of("system")}
    data["instance_name"] = "塔城地区科学技术协会"
    response = client.post("/system/parameters/", data)
    assert response.status_code == 302
    assert get_param("instance_name") == "塔城地区科学技术协会"
    assert AuditEvent.objects.filter(event_type="parameter.change").count() == 1


def test_a_bad_value_on_the_page_is_shown_and_nothing_is_saved(security_admin, login):
    client = login(security_admin)
    data = {key: get_param(key) for key in parameters.parameters_of("security")}
    data["dormant_days"] = 20  # valid
    data["session_idle_minutes"] = 45  # AUTH-05: too long
    response = client.post("/system/security-parameters/", data)
    assert response.status_code == 200
    assert "session_idle_minutes" in response.context["form"].errors
    # all or nothing: the valid change was not saved either
    assert not Parameter.objects.exists()


def test_security_parameters_page_refuses_the_system_admin(system_admin, login):
    client = login(system_admin)
    data = {key: get_param(key) for key in parameters.parameters_of("security")}
    data["session_idle_minutes"] = 10
    assert client.post("/system/security-parameters/", data).status_code == 403
    assert not Parameter.objects.exists()
