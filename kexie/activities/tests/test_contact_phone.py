"""PI-05 / PI-06 for activities: the contact telephone is encrypted at rest and shown masked."""

from __future__ import annotations

from django.db import connection

from kexie.activities.tests.factories import make_activity
from kexie.core.crypto import active_key_id
from kexie.core.models import AuditEvent

PHONE = "13912345678"


def _raw_contact_phone(pk: int) -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT contact_phone FROM activities_activity WHERE id = %s", [pk])
        return cursor.fetchone()[0]


def test_the_contact_phone_is_encrypted_at_rest(tree, county_clerk):
    # given an activity with a contact phone
    activity = make_activity(tree.emin_town, actor=county_clerk, contact_phone=PHONE)
    # when the column is read as stored
    raw = _raw_contact_phone(activity.pk)
    # then it holds ciphertext under the active key, not the number
    assert raw.startswith(f"{active_key_id()}$")
    assert PHONE not in raw
    assert type(activity).objects.get(pk=activity.pk).contact_phone == PHONE


def test_the_contact_phone_is_shown_masked(tree):
    activity = make_activity(tree.emin_town, contact_phone="+86 139-1234-5678")
    assert activity.contact_phone == PHONE
    assert activity.masked_contact_phone == "139****5678"


def test_an_office_landline_is_accepted_and_masked(tree):
    activity = make_activity(tree.emin_town, contact_phone="0901-6222222")
    assert activity.contact_phone == "0901-6222222"
    assert "6222222" not in activity.masked_contact_phone


def test_no_audit_event_holds_the_number(tree, county_clerk):
    # AUD-03: events name fields, never values
    from kexie.activities.services import activity_update

    activity = make_activity(tree.emin_town, actor=county_clerk, contact_phone=PHONE)
    activity_update(actor=county_clerk, activity=activity, data={"contact_phone": "13912345679"})
    for event in AuditEvent.objects.all():
        assert PHONE not in f"{event.details} {event.reason} {event.object_repr}"
        assert "13912345679" not in f"{event.details} {event.reason} {event.object_repr}"
