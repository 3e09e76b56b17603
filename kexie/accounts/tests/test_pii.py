"""Personal data of accounts: phone storage (PI-06), masking on every page (PI-05) and the
audited reveal (AC-04, AUTH-09)."""

from __future__ import annotations

import io
import os
import re
import shutil
import subprocess
import time
import zipfile

import pytest
from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management import call_command
from django.db import connection, connections
from django.db.backends.sqlite3.base import DatabaseWrapper
from django.urls import URLPattern, URLResolver, get_resolver

from kexie.accounts.models import User
from kexie.accounts.pii import (
    user_find_by_phone,
    user_get_in_scope,
    user_phone_reveal,
    user_set_phone,
)
from kexie.accounts.reauth import SESSION_KEY
from kexie.core.crypto import blind_index
from kexie.core.models import AuditEvent

PHONE = "13900001234"  # the known synthetic test phone (PI-06)
# Bounded by anything but letters and digits, so that runs of digits inside hex digests (the
# audit chain's HMACs, request ids) do not count; the seeded phones are also searched as plain
# substrings, which catches them anywhere.
UNMASKED_PHONE_RE = re.compile(r"(?<![0-9A-Za-z])1[3-9]\d{9}(?![0-9A-Za-z])")
UNMASKED_ID_RE = re.compile(r"(?<![0-9A-Za-z])\d{17}[\dXx](?![0-9A-Za-z])")


def reauthenticated(client):
    """The client's session as if the password had just been confirmed (AUTH-09)."""
    session = client.session
    session[SESSION_KEY] = int(time.time())
    session.save()
    return client


def events(event_type: str):
    return AuditEvent.objects.filter(event_type=event_type).order_by("sequence")


# --- services ---------------------------------------------------------------------------------


def test_set_phone_normalises_encrypts_indexes_and_audits_without_the_value(county_clerk):
    # when the clerk's phone is set in a typed form
    user_set_phone(actor=county_clerk, user=county_clerk, phone="+86 139 0000 1234")
    # then it is stored normalised, indexed, and the change is audited without the number
    county_clerk.refresh_from_db()
    assert county_clerk.phone == PHONE
    assert county_clerk.phone_index == blind_index(PHONE, purpose="phone")
    event = events("account.phone_change").get()
    assert (event.actor, event.object_id) == (county_clerk, str(county_clerk.pk))
    assert event.details == {"fields": ["phone"], "cleared": False}
    row = AuditEvent.objects.filter(pk=event.pk).values().get()
    assert "0000" not in repr(row)


def test_set_phone_refuses_an_invalid_number_and_changes_nothing(county_clerk):
    user_set_phone(actor=None, user=county_clerk, phone=PHONE)
    with pytest.raises(ValidationError) as caught:
        user_set_phone(actor=county_clerk, user=county_clerk, phone="12345")
    assert "phone" in caught.value.message_dict
    county_clerk.refresh_from_db()
    assert county_clerk.phone == PHONE
    assert events("account.phone_change").count() == 1


def test_set_phone_refuses_a_number_of_another_account(county_clerk, county_viewer):
    user_set_phone(actor=None, user=county_viewer, phone=PHONE)
    with pytest.raises(ValidationError):
        user_set_phone(actor=county_clerk, user=county_clerk, phone=PHONE)
    county_clerk.refresh_from_db()
    assert county_clerk.phone == ""


def test_set_phone_with_an_empty_value_clears_number_and_index(county_clerk):
    user_set_phone(actor=None, user=county_clerk, phone=PHONE)
    user_set_phone(actor=county_clerk, user=county_clerk, phone="")
    county_clerk.refresh_from_db()
    assert (county_clerk.phone, county_clerk.phone_index) == ("", "")
    assert user_find_by_phone(PHONE) is None


def test_nobody_else_sets_a_phone_without_managing_accounts(county_clerk, county_admin, outsider):
    for intruder in (county_admin, outsider):
        with pytest.raises(PermissionDenied):
            user_set_phone(actor=intruder, user=county_clerk, phone=PHONE)
    county_clerk.refresh_from_db()
    assert county_clerk.phone == ""


def test_find_by_phone_is_blind_index_equality(county_clerk, county_viewer):
    user_set_phone(actor=None, user=county_clerk, phone=PHONE)
    user_set_phone(actor=None, user=county_viewer, phone="13900001235")
    assert user_find_by_phone("139-0000-1234") == county_clerk
    assert user_find_by_phone("13900001235") == county_viewer
    assert user_find_by_phone("1390000") is None
    assert user_find_by_phone("not a phone") is None


def test_reveal_own_phone(county_clerk):
    user_set_phone(actor=None, user=county_clerk, phone=PHONE)
    assert user_phone_reveal(actor=county_clerk, user=county_clerk, reason="核对本人号码") == PHONE
    event = events("pii.reveal").get()
    assert (event.actor, event.outcome, event.reason) == (county_clerk, "success", "核对本人号码")
    assert event.details == {"field": "phone"}


def test_county_admin_reveals_phone_of_a_user_in_the_county_with_a_reason(
    county_admin, county_clerk
):
    user_set_phone(actor=None, user=county_clerk, phone=PHONE)
    # when the 额敏 admin reveals the 额敏 clerk's phone
    phone = user_phone_reveal(actor=county_admin, user=county_clerk, reason="电话通知培训")
    # then they get it, and exactly one event records who, whose, why and which field
    assert phone == PHONE
    event = events("pii.reveal").get()
    assert (event.actor, event.object_type, event.object_id) == (
        county_admin,
        "accounts.user",
        str(county_clerk.pk),
    )
    assert (event.reason, event.details, event.outcome) == (
        "电话通知培训",
        {"field": "phone"},
        "success",
    )
    assert PHONE not in repr(AuditEvent.objects.filter(pk=event.pk).values().get())


@pytest.mark.parametrize("reason", ["", "   ", "x" * 201])
def test_reveal_needs_a_reason_of_at_most_200_characters(county_admin, county_clerk, reason):
    user_set_phone(actor=None, user=county_clerk, phone=PHONE)
    with pytest.raises(ValidationError) as caught:
        user_phone_reveal(actor=county_admin, user=county_clerk, reason=reason)
    assert "reason" in caught.value.message_dict
    assert not events("pii.reveal").exists()


def test_reveal_accepts_a_reason_of_exactly_200_characters(county_admin, county_clerk):
    user_set_phone(actor=None, user=county_clerk, phone=PHONE)
    assert user_phone_reveal(actor=county_admin, user=county_clerk, reason="因" * 200) == PHONE


@pytest.mark.parametrize(
    "persona", ["county_viewer", "outsider", "system_admin", "security_admin", "audit_admin"]
)
def test_reveal_is_refused_and_the_refusal_audited(request, county_clerk, persona):
    user_set_phone(actor=None, user=county_clerk, phone=PHONE)
    actor = request.getfixturevalue(persona)
    with pytest.raises(PermissionDenied):
        user_phone_reveal(actor=actor, user=county_clerk, reason="看看")
    event = events("pii.reveal").get()
    assert (event.actor, event.outcome, event.reason) == (actor, "denied", "")


@pytest.mark.parametrize("persona", ["system_admin", "security_admin", "audit_admin"])
def test_the_three_administrators_never_see_unmasked_data_not_even_their_own(request, persona):
    admin = request.getfixturevalue(persona)
    user_set_phone(actor=None, user=admin, phone=PHONE)
    with pytest.raises(PermissionDenied):
        user_phone_reveal(actor=admin, user=admin, reason="本人")


def test_scope_of_users_is_the_organisation_subtree(
    county_admin, county_clerk, outsider, prefecture_admin, no_role
):
    from django.http import Http404

    assert user_get_in_scope(actor=county_admin, pk=county_clerk.pk) == county_clerk
    assert user_get_in_scope(actor=prefecture_admin, pk=county_clerk.pk) == county_clerk
    assert user_get_in_scope(actor=no_role, pk=no_role.pk) == no_role
    for actor, pk in ((outsider, county_clerk.pk), (county_admin, no_role.pk), (county_admin, 0)):
        with pytest.raises(Http404):
            user_get_in_scope(actor=actor, pk=pk)


# --- pages ------------------------------------------------------------------------------------


def test_profile_shows_account_roles_and_masked_phone(tree, county_admin, login):
    user_set_phone(actor=None, user=county_admin, phone=PHONE)
    client = login(county_admin)
    response = client.get("/accounts/profile/")
    html = response.content.decode()
    assert response.status_code == 200
    assert "emin_admin" in html
    assert "139****1234" in html
    assert PHONE not in html
    assert "额敏县科学技术协会" in html and "KX654221" in html
    assert response["Cache-Control"] == "no-store"


def test_changing_the_phone_needs_a_recent_reauthentication(county_clerk, login):
    client = login(county_clerk)
    # when the clerk opens the change form without having confirmed the password
    response = client.get("/accounts/profile/phone/")
    # then they are sent to confirm it first, and come back here
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/reauth/?next=")
    response = client.post("/accounts/profile/phone/", {"phone": PHONE})
    assert response.status_code == 302
    county_clerk.refresh_from_db()
    assert county_clerk.phone == ""


def test_change_phone_through_the_page(county_clerk, login):
    user_set_phone(actor=None, user=county_clerk, phone="13700001111")
    client = reauthenticated(login(county_clerk))
    html = client.get("/accounts/profile/phone/").content.decode()
    assert "137****1111" in html and "13700001111" not in html  # never pre-filled
    response = client.post("/accounts/profile/phone/", {"phone": "139 0000 1234"})
    assert response.status_code == 302
    assert response["Location"] == "/accounts/profile/"
    county_clerk.refresh_from_db()
    assert county_clerk.phone == PHONE
    assert events("account.phone_change").filter(actor=county_clerk).count() == 1


def test_change_phone_page_shows_validation_errors(county_clerk, login):
    client = reauthenticated(login(county_clerk))
    response = client.post("/accounts/profile/phone/", {"phone": "12345"})
    assert response.status_code == 200
    assert response.context["form"].errors["phone"]
    county_clerk.refresh_from_db()
    assert county_clerk.phone == ""


# the reveal, by persona: target is the 额敏 clerk
L = "login"
REVEAL_MATRIX = {
    "anonymous": L,
    "no_role": 404,
    "county_viewer": 403,
    "county_clerk": 200,  # themself
    "county_reviewer": 200,
    "county_admin": 200,
    "outsider": 404,
    "prefecture_admin": 200,
    "system_admin": 403,
    "security_admin": 403,
    "audit_admin": 404,
}


@pytest.mark.parametrize(("persona", "expected"), REVEAL_MATRIX.items())
def test_reveal_page_by_persona(request, client, county_clerk, persona, expected):
    # given the clerk's phone and the persona, freshly re-authenticated
    user_set_phone(actor=None, user=county_clerk, phone=PHONE)
    if persona != "anonymous":
        client.force_login(request.getfixturevalue(persona))
        reauthenticated(client)
    # when they ask for the full number with a reason
    response = client.post(
        f"/accounts/users/{county_clerk.pk}/phone/reveal/",
        {"reason": "电话通知培训"},
        HTTP_HX_REQUEST="true",
    )
    body = response.content.decode()
    # then exactly the expected answer; the number only when allowed, each reveal audited
    if expected == L:
        assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    else:
        assert response.status_code == expected
    if expected == 200:
        assert PHONE in body
        assert response["Cache-Control"] == "no-store"
        assert events("pii.reveal").filter(outcome="success").count() == 1
    else:
        assert PHONE not in body
        assert not events("pii.reveal").filter(outcome="success").exists()
    assert events("pii.reveal").filter(outcome="denied").count() == (expected == 403)


def test_reveal_is_post_only(county_admin, county_clerk, login):
    client = reauthenticated(login(county_admin))
    assert client.get(f"/accounts/users/{county_clerk.pk}/phone/reveal/").status_code == 405


def test_reveal_without_recent_reauthentication_asks_for_the_password(
    county_admin, county_clerk, login
):
    user_set_phone(actor=None, user=county_clerk, phone=PHONE)
    client = login(county_admin)
    url = f"/accounts/users/{county_clerk.pk}/phone/reveal/"
    # a plain form post goes to the re-authentication page and back to where it came from
    response = client.post(url, {"reason": "核对", "next": "/accounts/profile/"})
    assert response.status_code == 302
    assert response["Location"] == "/accounts/reauth/?next=%2Faccounts%2Fprofile%2F"
    # an HTMX post gets the same as an HX-Redirect
    response = client.post(
        url,
        {"reason": "核对"},
        HTTP_HX_REQUEST="true",
        HTTP_HX_CURRENT_URL="http://testserver/accounts/profile/",
    )
    assert response["HX-Redirect"] == "/accounts/reauth/?next=%2Faccounts%2Fprofile%2F"
    assert PHONE not in response.content.decode()
    assert not events("pii.reveal").exists()


def test_reveal_without_reason_shows_the_form_again(county_admin, county_clerk, login):
    user_set_phone(actor=None, user=county_clerk, phone=PHONE)
    client = reauthenticated(login(county_admin))
    response = client.post(
        f"/accounts/users/{county_clerk.pk}/phone/reveal/", {"reason": " "}, HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 200
    assert response.context["form"].errors["reason"]
    assert PHONE not in response.content.decode()
    assert not events("pii.reveal").exists()


def test_reveal_without_htmx_renders_a_page(county_clerk, login):
    user_set_phone(actor=None, user=county_clerk, phone=PHONE)
    client = reauthenticated(login(county_clerk))
    response = client.post(
        f"/accounts/users/{county_clerk.pk}/phone/reveal/",
        {"reason": "核对本人号码", "next": "https://evil.example/"},
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert PHONE in html
    assert "<html" in html
    assert 'href="/accounts/profile/"' in html  # an outside "next" is not followed


def test_own_profile_offers_the_reveal_form_but_not_to_administrators(
    county_clerk, system_admin, login
):
    for user in (county_clerk, system_admin):
        user_set_phone(
            actor=None, user=user, phone=PHONE if user == county_clerk else "13700002222"
        )
    html = login(county_clerk).get("/accounts/profile/").content.decode()
    assert f"/accounts/users/{county_clerk.pk}/phone/reveal/" in html
    html = login(system_admin).get("/accounts/profile/").content.decode()
    assert "/phone/reveal/" not in html


# --- PI-06: the phone is nowhere in the stored bytes ------------------------------------------


def _forms_of(value: str) -> list[bytes]:
    return [value.encode("utf-8"), value.encode("utf-16-le"), value.encode("utf-16-be")]


def _file_database(path) -> DatabaseWrapper:
    """A file SQLite database with the project's options (WAL, secure_delete …) as ``default``."""
    from kexie.settings.base import DATABASES as CONFIGURED

    sqlite_options = {}
    if CONFIGURED["default"]["ENGINE"] == "django.db.backends.sqlite3":
        sqlite_options = dict(CONFIGURED["default"].get("OPTIONS", {}))
    else:  # the PostgreSQL run: the options base.py would give SQLite
        sqlite_options = {
            "transaction_mode": "IMMEDIATE",
            "init_command": "PRAGMA journal_mode=WAL;PRAGMA secure_delete=ON;",
        }
    settings_dict = dict(settings.DATABASES["default"])
    settings_dict.update(
        {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": str(path),
            "USER": "",
            "PASSWORD": "",
            "HOST": "",
            "PORT": "",
            "OPTIONS": sqlite_options,
            "TIME_ZONE": None,
            "CONN_MAX_AGE": 0,
            "CONN_HEALTH_CHECKS": False,
            "AUTOCOMMIT": True,
            "ATOMIC_REQUESTS": False,
            "TEST": {},
        }
    )
    return DatabaseWrapper(settings_dict, alias="default")


def test_phone_is_not_in_the_raw_sqlite_database_file(tmp_path, django_db_blocker):
    from django.contrib.contenttypes.models import ContentType

    from kexie.accounts.services import user_create

    path = tmp_path / "pi06.sqlite3"
    file_db = _file_database(path)
    original = connections["default"]
    with django_db_blocker.unblock():
        connections["default"] = file_db
        try:
            # given a migrated file database, and a user whose phone is set through the service
            call_command("migrate", database="default", verbosity=0, interactive=False)
            user = user_create(actor=None, username="pi06_probe")
            user_set_phone(actor=None, user=user, phone=PHONE)
            index = User.objects.values_list("phone_index", flat=True).get(pk=user.pk)
            assert User.objects.get(pk=user.pk).phone == PHONE  # it is really there
            # when the write-ahead log is checkpointed into the main file
            with file_db.cursor() as cursor:
                cursor.execute("PRAGMA wal_checkpoint(FULL)")
        finally:
            file_db.close()
            connections["default"] = original
            ContentType.objects.clear_cache()
    # then no file of the database holds the number in any encoding, though the row is there
    files = sorted(tmp_path.glob("pi06.sqlite3*"))
    data = b"".join(f.read_bytes() for f in files)
    assert path in files and len(data) > 100_000
    assert index.encode() in data
    assert b"t1$" in data
    for form in _forms_of(PHONE):
        assert form not in data


@pytest.mark.django_db(transaction=True)
def test_phone_is_not_in_a_dump_of_the_database(tree):
    # given a committed user with the known phone
    user = User.objects.create_user(username="pi06_dump", password=None)
    user_set_phone(actor=None, user=user, phone=PHONE)
    index = User.objects.values_list("phone_index", flat=True).get(pk=user.pk)
    # when the database is dumped (pg_dump on PostgreSQL, the SQL dump on SQLite)
    if connection.vendor == "postgresql":
        if shutil.which("pg_dump") is None:
            if os.environ.get("CI") == "true":
                pytest.fail("pg_dump is required in CI for the PI-06 dump test")
            pytest.skip("pg_dump is not installed; install postgresql-client to run PI-06 dump")
        db = connection.settings_dict
        env = dict(os.environ)
        if db.get("PASSWORD"):
            env["PGPASSWORD"] = db["PASSWORD"]
        command = [
            "pg_dump",
            "-h",
            db.get("HOST") or "127.0.0.1",
            "-p",
            str(db.get("PORT") or 5432),
            "-U",
            db.get("USER") or "postgres",
            db["NAME"],
        ]
        dump = subprocess.run(command, capture_output=True, check=True, env=env, timeout=120).stdout
    else:
        connection.ensure_connection()
        dump = "\n".join(connection.connection.iterdump()).encode("utf-8")
    # then the number is not in it, though its row is
    assert index.encode() in dump
    for form in _forms_of(PHONE):
        assert form not in dump


# --- PI-05: no page shows an unmasked phone or ID number --------------------------------------

PERSONAS = [
    "anonymous",
    "no_role",
    "county_viewer",
    "county_clerk",
    "county_reviewer",
    "county_admin",
    "outsider",
    "prefecture_admin",
    "system_admin",
    "security_admin",
    "audit_admin",
]


def _routes(patterns, prefix="", namespace=""):
    for p in patterns:
        if isinstance(p, URLResolver):
            ns = f"{namespace}{p.namespace}:" if p.namespace else namespace
            yield from _routes(p.url_patterns, prefix + str(p.pattern), ns)
        elif isinstance(p, URLPattern):
            yield prefix + str(p.pattern), (namespace + p.name) if p.name else ""


def _crawl_urls(tree, users, persons=()) -> list[str]:
    """Every parameter-less URL, and every ``<int:pk>`` URL for the demo tree, the users and
    the registry's persons."""
    org_pks = [o.pk for o in vars(tree).values()]
    person_pks = [p.pk for p in persons]
    user_pks = [u.pk for u in users]
    urls = []
    for route, name in _routes(get_resolver().url_patterns):
        route = route.lstrip("^").rstrip("$").replace("\\Z", "")
        if "<" not in route and "(?P" not in route:
            urls.append("/" + route)
            continue
        placeholders = re.findall(r"<(?:int:)?(\w+)>", route)
        if placeholders != ["pk"] or "<int:pk>" not in route:
            continue
        if name.startswith("accounts:"):
            pks = user_pks
        elif name.startswith("people:"):
            pks = person_pks
        else:
            pks = org_pks
        urls.extend("/" + route.replace("<int:pk>", str(pk)) for pk in pks)
    return urls


def _body(response) -> str:
    content = b"".join(response.streaming_content) if response.streaming else response.content
    if content[:4] == b"PK\x03\x04":  # an XLSX download: read every part of it
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            return "\n".join(archive.read(n).decode("utf-8", "replace") for n in archive.namelist())
    return content.decode("utf-8", "replace")


def test_no_page_shows_an_unmasked_phone_or_id_number(request, client, tree):
    # given every persona with a known phone
    users = {}
    for n, persona in enumerate(PERSONAS[1:]):
        users[persona] = request.getfixturevalue(persona)
        user_set_phone(actor=None, user=users[persona], phone=f"1390000{n + 1230:04d}")
    phones = set(User.objects.exclude(phone="").values_list("phone", flat=True))
    assert PHONE in phones and len(phones) == len(users)
    # and registry records with synthetic ID numbers and phones in two counties
    from kexie.people.tests.factories import make_person, synthetic_id

    persons = [
        make_person(tree.emin_town, name="王芳", id_number=synthetic_id(), phone="19909917771"),
        make_person(tree.toli_town, name="李强", id_number=synthetic_id(), phone="19909917772"),
    ]
    id_numbers = {p.id_number for p in persons}
    phones |= {p.phone for p in persons}
    urls = _crawl_urls(tree, users.values(), persons)
    assert f"/people/{persons[0].pk}/" in urls
    assert "/accounts/profile/" in urls and len(urls) > 30
    leaks = []
    fetched = 0
    for persona in PERSONAS:
        client.logout()
        if persona != "anonymous":
            client.force_login(users[persona])
            reauthenticated(client)
        for url in urls:
            # when the persona fetches the page
            response = client.get(url)
            fetched += 1
            body = _body(response)
            # then nothing in it looks like an unmasked phone or ID number
            found = [
                body[max(m.start() - 20, 0) : m.end() + 20]
                for regex in (UNMASKED_PHONE_RE, UNMASKED_ID_RE)
                for m in regex.finditer(body)
            ]
            found += [phone for phone in phones if phone in body]
            found += [number for number in id_numbers if number in body]
            if found:
                leaks.append((persona, url, response.status_code, found))
        if persona != "anonymous":
            # and the crawl did see the persona's own number, masked
            own = users[persona].phone
            masked = f"{own[:3]}****{own[7:]}"
            assert masked in client.get("/accounts/profile/").content.decode()
    assert fetched > 300
    assert leaks == []
