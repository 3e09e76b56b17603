"""Factories for persons, built through the services (tokens, indexes and audit included).

Names are fictional; ID numbers are synthetic with valid check characters (PI-12).
"""

from __future__ import annotations

import datetime as dt
import itertools

from kexie.core.models import Region
from kexie.people.models import Person
from kexie.people.services import person_create
from kexie.people.synthetic import make_id_number, make_mobile

_seq = itertools.count(1)


def synthetic_id(
    region_code: str = "654221", birth: dt.date = dt.date(1985, 3, 14), *, male=True
) -> str:
    return make_id_number(region_code, birth, next(_seq), male=male)


def make_person(
    organisation=None,
    *,
    name: str = "张伟",
    township_code: str | None = None,
    with_id: bool = False,
    actor=None,
    **values,
) -> Person:
    """A person; ``township_code`` decides the responsible organisation when ``organisation``
    is None. ``with_id`` gives a synthetic ID number (birth 1985, Emin) unless one is given."""
    data = {"name": name, **values}
    if township_code:
        data["township"] = Region.objects.get(code=township_code)
    if with_id and "id_number" not in data:
        data["id_number"] = synthetic_id()
    if "phone" not in data and with_id:
        data["phone"] = make_mobile(next(_seq))
    return person_create(actor=actor, organisation=organisation, data=data)
