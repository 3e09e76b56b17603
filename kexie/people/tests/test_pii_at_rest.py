"""PI-06 for the registry: a person's ID number and phone are in neither the raw SQLite file
nor a dump of the database, though their rows (and blind indexes) are."""

from __future__ import annotations

import datetime as dt
import os
import shutil
import subprocess

import pytest
from django.contrib.contenttypes.models import ContentType
from django.core.management import call_command
from django.db import connection, connections

from kexie.accounts.tests.test_pii import _file_database, _forms_of
from kexie.people.models import Person
from kexie.people.services import person_create
from kexie.people.synthetic import make_id_number

ID_NUMBER = make_id_number("654221", dt.date(1979, 11, 2), 17, male=False)
PHONE = "19909914321"


def _probe(organisation=None) -> Person:
    from kexie.core.models import Region

    data = {"name": "测试探针", "id_number": ID_NUMBER, "phone": PHONE}
    if organisation is None:
        data["township"] = Region.objects.get(code="654221100000")
    return person_create(actor=None, organisation=organisation, data=data)


def test_id_number_and_phone_are_not_in_the_raw_sqlite_file(tmp_path, django_db_blocker):
    path = tmp_path / "pi06p.sqlite3"
    file_db = _file_database(path)
    original = connections["default"]
    with django_db_blocker.unblock():
        connections["default"] = file_db
        try:
            # given a migrated file database with code tables, a tree and one probe person
            call_command("migrate", database="default", verbosity=0, interactive=False)
            call_command("sync_code_tables", verbosity=0)
            from kexie.orgs.tests.factories import build_demo_tree

            build_demo_tree()
            person = _probe()
            assert Person.objects.get(pk=person.pk).id_number == ID_NUMBER
            index = Person.objects.values_list("id_index", flat=True).get(pk=person.pk)
            # when the write-ahead log is checkpointed into the main file
            with file_db.cursor() as cursor:
                cursor.execute("PRAGMA wal_checkpoint(FULL)")
        finally:
            file_db.close()
            connections["default"] = original
            ContentType.objects.clear_cache()
    # then no file of the database holds the numbers, though the blind index is there
    data = b"".join(f.read_bytes() for f in sorted(tmp_path.glob("pi06p.sqlite3*")))
    assert index.encode() in data
    for value in (ID_NUMBER, PHONE):
        for form in _forms_of(value):
            assert form not in data


@pytest.mark.django_db(transaction=True)
def test_id_number_and_phone_are_not_in_a_dump(tree):
    person = _probe(tree.emin_town)
    index = Person.objects.values_list("id_index", flat=True).get(pk=person.pk)
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
        dump = subprocess.run(command, capture_output=True, check=True, env=env, timeout=120).stdout  # noqa: S603
    else:
        connection.ensure_connection()
        dump = "\n".join(connection.connection.iterdump()).encode("utf-8")
    assert index.encode() in dump
    for value in (ID_NUMBER, PHONE):
        for form in _forms_of(value):
            assert form not in dump
