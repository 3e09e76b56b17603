"""Factories for organisations. Names are real places; people never appear here.

Organisations are created through ``organisation_create`` (paths, counts and audit events are
the service's job), so the factory overrides ``_create`` instead of saving the model itself.
"""

from __future__ import annotations

from dataclasses import dataclass

import factory

from kexie.core.models import Region
from kexie.orgs.models import Organisation
from kexie.orgs.services import organisation_create

_counter = {"n": 0}


def region(code: str) -> Region:
    return Region.objects.get(code=code)


class OrganisationFactory(factory.django.DjangoModelFactory):
    """``OrganisationFactory(parent=org)`` makes a member unit below ``org`` in its region."""

    class Meta:
        model = Organisation

    name = factory.Sequence(lambda n: f"工厂单位{n}")
    kind = "member_unit"
    code = factory.Sequence(lambda n: f"F{n:07d}")
    parent = None
    region = factory.LazyAttribute(lambda o: o.parent.region if o.parent else None)

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        return organisation_create(actor=None, **kwargs)


def make_org(
    parent: Organisation,
    *,
    name: str | None = None,
    kind: str = "member_unit",
    code: str | None = None,
    region_code: str | None = None,
    **extra,
) -> Organisation:
    _counter["n"] += 1
    n = _counter["n"]
    return organisation_create(
        actor=None,
        parent=parent,
        name=name or f"测试单位{n}",
        kind=kind,
        code=code or f"T{n:06d}",
        region=region(region_code) if region_code else parent.region,
        **extra,
    )


@dataclass
class DemoTree:
    prefecture: Organisation
    emin: Organisation
    toli: Organisation
    emin_town: Organisation
    emin_school: Organisation
    toli_town: Organisation
    society: Organisation


def build_demo_tree() -> DemoTree:
    prefecture = organisation_create(
        actor=None,
        parent=None,
        name="塔城地区科学技术协会",
        short_name="塔城地区科协",
        kind="prefecture_association",
        code="KX654200",
        region=region("654200"),
    )
    emin = make_org(
        prefecture,
        name="额敏县科学技术协会",
        kind="county_association",
        code="KX654221",
        region_code="654221",
    )
    toli = make_org(
        prefecture,
        name="托里县科学技术协会",
        kind="county_association",
        code="KX654224",
        region_code="654224",
    )
    emin_town = make_org(
        emin,
        name="额敏镇科普协会",
        kind="township_association",
        code="KX654221100000",
        region_code="654221100000",
    )
    emin_school = make_org(emin, name="额敏县第一中学", kind="school", code="SCH654221001")
    toli_town = make_org(
        toli,
        name="托里镇科普协会",
        kind="township_association",
        code="KX654224100000",
        region_code="654224100000",
    )
    society = make_org(prefecture, name="塔城地区农学会", kind="society", code="XH654200001")
    return DemoTree(prefecture, emin, toli, emin_town, emin_school, toli_town, society)
