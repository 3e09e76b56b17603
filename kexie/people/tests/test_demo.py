"""The people demo (issue 4 part 9): fictional, realistic in shape, idempotent."""

from __future__ import annotations

import pytest

from kexie.core.codetables import code_tables_sync
from kexie.core.validators import id_check_char
from kexie.people.choices import ReviewStatus
from kexie.people.demo import load_people_demo
from kexie.people.models import Person, RegistrationTarget
from kexie.portal.demo import load_demo


@pytest.fixture
def demo_orgs(db):
    code_tables_sync()
    load_demo()


@pytest.mark.django_db
def test_demo_persons_are_realistic_and_idempotent(demo_orgs):
    # when the demo is loaded with 600 persons
    result = load_people_demo(n=600, seed=7)
    # then they exist with a dozen duplicate records besides
    assert result["persons"] == 612
    assert Person.objects.count() == 612
    names = list(Person.objects.values_list("name", flat=True))
    dotted = sum("·" in n for n in names) / len(names)
    assert 0.03 <= dotted <= 0.15
    statuses = set(Person.objects.values_list("review_status", flat=True))
    assert {ReviewStatus.VERIFIED, ReviewStatus.PENDING, ReviewStatus.RETURNED} <= statuses
    # ID numbers are checksum-valid; 沙湾 persons carry the old county code
    for person in Person.objects.exclude(id_number="")[:200]:
        assert person.id_number[-1] == id_check_char(person.id_number[:17])
    shawan = Person.objects.filter(township__parent__code="654203").exclude(id_number="")
    assert shawan.exists()
    assert all(p.id_number.startswith(("654223", "654201", "654202")) for p in shawan[:50])
    # derived columns are those of the services
    assert not Person.objects.filter(name_key="").exists()
    assert Person.objects.filter(completeness__gte=80).exists()
    # this year's targets for the counties
    assert RegistrationTarget.objects.count() == 7
    # loading again does nothing
    assert load_people_demo(n=600)["persons"] == 0
    assert Person.objects.count() == 612


@pytest.mark.django_db
def test_demo_persons_are_searchable(demo_orgs):
    from kexie.accounts.models import User
    from kexie.accounts.services import role_grant
    from kexie.orgs.models import Organisation
    from kexie.people.selectors import person_search

    load_people_demo(n=200, seed=3)
    user = User.objects.create_user(username="v", password="x")
    role_grant(
        actor=None,
        user=user,
        organisation=Organisation.objects.get(code="KX654200"),
        role="viewer",
    )
    person = Person.objects.exclude(name__contains="·").first()
    assert person in person_search(user=user, query=person.name)
