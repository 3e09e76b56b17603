from __future__ import annotations

import io

import pytest
from django.core.management import CommandError, call_command
from django.test import override_settings

from kexie.accounts.models import RoleAssignment, User
from kexie.orgs.models import Organisation


@pytest.mark.django_db
@override_settings(KEXIE_DEMO=True)
def test_demo_data_is_idempotent_and_has_the_real_shape():
    # when the demo is loaded twice
    call_command("load_demo", stdout=io.StringIO())
    counts = (Organisation.objects.count(), User.objects.count(), RoleAssignment.objects.count())
    out = io.StringIO()
    call_command("load_demo", stdout=out)
    # then nothing new appears the second time
    assert counts == (
        Organisation.objects.count(),
        User.objects.count(),
        RoleAssignment.objects.count(),
    )
    assert "0 organisations and 0 accounts created" in out.getvalue()
    # and the tree has the prefecture, its 7 counties and their associations
    assert Organisation.objects.get(code="KX654200").kind == "prefecture_association"
    assert Organisation.objects.filter(kind="county_association").count() == 7
    assert Organisation.objects.filter(kind="society").count() == 15
    assert Organisation.objects.filter(kind="township_association").count() > 90
    assert not Organisation.objects.filter(code__startswith="KX", region__is_xpcc=True).exists()
    emin = Organisation.objects.get(code="KX654221")
    assert emin.child_count > 5
    # every role exists at the prefecture, and business roles at two counties
    roles = set(RoleAssignment.objects.values_list("organisation__code", "role"))
    for role in ("clerk", "reviewer", "unit_admin", "viewer"):
        assert {("KX654200", role), ("KX654221", role), ("KX654224", role)} <= roles
    for role in ("system_admin", "security_admin", "audit_admin"):
        assert ("KX654200", role) in roles


@pytest.mark.django_db
@override_settings(KEXIE_DEMO=False)
def test_demo_data_refuses_a_non_demo_instance():
    with pytest.raises(CommandError):
        call_command("load_demo", stdout=io.StringIO())
