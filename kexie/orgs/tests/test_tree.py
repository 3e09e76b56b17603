"""The organisation tree: paths, moves, dissolution, and scope (AC-02/AC-03)."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kexie.accounts.models import User
from kexie.accounts.services import role_grant
from kexie.core.models import AuditEvent, Region
from kexie.orgs.models import Organisation
from kexie.orgs.services import (
    organisation_create,
    organisation_dissolve,
    organisation_move,
    organisation_update,
)
from kexie.orgs.tests.factories import make_org
from kexie.orgs.tree import path_upper_bound, subtree_q


def test_children_get_consecutive_fixed_width_paths(tree):
    # given the demo tree
    # then each child extends its parent's path by one 5-digit segment
    assert tree.prefecture.path == "00001"
    assert tree.emin.path == "0000100001"
    assert tree.toli.path == "0000100002"
    assert tree.emin_town.path == "000010000100001"
    assert tree.emin_town.depth == 3


def test_path_upper_bound_carries_into_the_previous_segment():
    assert path_upper_bound("0000199998") == "0000199999"
    assert path_upper_bound("0000199999") == "0000200000"


def test_subtree_query_uses_a_range_not_like(tree):
    # given a subtree query
    qs = Organisation.objects.filter(subtree_q([tree.emin.path]))
    # when it is turned into SQL
    sql = str(qs.query)
    # then it is a range on the indexed path column
    assert "LIKE" not in sql.upper()
    assert set(qs.values_list("code", flat=True)) == {"KX654221", "KX654221100000", "SCH654221001"}


def test_association_code_must_be_kx_plus_region(tree):
    with pytest.raises(ValidationError) as exc:
        organisation_create(
            actor=None,
            parent=tree.prefecture,
            name="裕民县科协",
            kind="county_association",
            code="KX999999",
            region=Region.objects.get(code="654225"),
        )
    assert "KX654225" in str(exc.value)
    assert not Organisation.objects.filter(code="KX999999").exists()


def test_region_must_lie_within_the_parents_region(tree):
    with pytest.raises(ValidationError):
        make_org(tree.emin, region_code="654224")


def test_county_admin_cannot_create_under_another_county(tree, county_admin):
    before = Organisation.objects.count()
    with pytest.raises(PermissionDenied):
        make_org_as(county_admin, tree.toli)
    assert Organisation.objects.count() == before


def make_org_as(actor, parent):
    return organisation_create(
        actor=actor,
        parent=parent,
        name="某单位",
        kind="member_unit",
        code="ZZ000001",
        region=parent.region,
    )


def test_move_rewrites_the_whole_subtree(tree, prefecture_admin):
    # given a village station with a unit below it, hanging directly under 额敏县科协
    station = make_org(tree.emin, name="某村科普站", kind="village", region_code="654221100000")
    child = make_org(station, name="某村科普e站")
    # when the station moves below the township association where it belongs
    organisation_move(actor=prefecture_admin, organisation=station, new_parent=tree.emin_town)
    # then the station and its unit now sit below the township and counts follow
    station.refresh_from_db()
    child.refresh_from_db()
    assert station.parent_id == tree.emin_town.pk
    assert station.path.startswith(tree.emin_town.path)
    assert child.path.startswith(station.path)
    assert child.depth == station.depth + 1 == 5
    assert Organisation.objects.get(pk=tree.emin.pk).child_count == 2
    assert Organisation.objects.get(pk=tree.emin_town.pk).child_count == 1
    assert AuditEvent.objects.filter(event_type="org.move", object_id=str(station.pk)).count() == 1


def test_move_into_a_foreign_region_is_refused(tree, prefecture_admin):
    with pytest.raises(ValidationError):
        organisation_move(
            actor=prefecture_admin, organisation=tree.emin_school, new_parent=tree.toli
        )


def test_move_below_itself_is_refused(tree, prefecture_admin):
    with pytest.raises(ValidationError):
        organisation_move(actor=prefecture_admin, organisation=tree.emin, new_parent=tree.emin_town)


def test_county_admin_cannot_move_a_unit_out_of_their_county(tree, county_admin):
    with pytest.raises(PermissionDenied):
        organisation_move(actor=county_admin, organisation=tree.emin_school, new_parent=tree.toli)
    assert Organisation.objects.get(pk=tree.emin_school.pk).parent_id == tree.emin.pk


def test_dissolve_keeps_the_row_and_refuses_with_active_children(tree, prefecture_admin):
    # given 额敏 with active units below
    with pytest.raises(ValidationError):
        organisation_dissolve(actor=prefecture_admin, organisation=tree.emin)
    # when a leaf is dissolved
    organisation_dissolve(actor=prefecture_admin, organisation=tree.emin_school, reason="合并")
    # then it is still there, marked dissolved
    school = Organisation.objects.get(pk=tree.emin_school.pk)
    assert school.status == "dissolved"
    assert school.dissolved_on is not None


def test_county_admin_cannot_dissolve_their_own_association(tree, county_admin):
    with pytest.raises(ValidationError):
        organisation_dissolve(actor=county_admin, organisation=tree.emin)


def test_update_writes_changed_field_names_only(tree, county_admin):
    changed = organisation_update(
        actor=county_admin, organisation=tree.emin_school, data={"short_name": "额敏一中"}
    )
    assert changed == ["short_name"]
    event = AuditEvent.objects.get(event_type="org.update", object_id=str(tree.emin_school.pk))
    assert event.details == {"fields": ["short_name"]}
    assert (
        organisation_update(
            actor=county_admin, organisation=tree.emin_school, data={"short_name": "额敏一中"}
        )
        == []
    )


# --- AC-02 property test: visible_to equals an independent subtree oracle --------------------


def _oracle(parents: list[int | None], roots: set[int]) -> set[int]:
    """Nodes that are a root or have a root among their ancestors, by walking parent links."""
    visible = set()
    for node in range(len(parents)):
        cursor: int | None = node
        while cursor is not None:
            if cursor in roots:
                visible.add(node)
                break
            cursor = parents[cursor]
    return visible


trees = st.integers(min_value=1, max_value=18).flatmap(
    lambda n: st.tuples(
        st.just(n),
        st.lists(st.integers(min_value=0, max_value=10**6), min_size=n - 1, max_size=n - 1),
        st.lists(
            st.tuples(st.integers(0, n - 1), st.sampled_from(["viewer", "clerk", "unit_admin"])),
            max_size=4,
        ),
    )
)


@pytest.mark.django_db
@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(trees)
def test_visible_to_equals_the_subtree_oracle(spec):
    n, parent_draws, grants = spec
    with transaction.atomic():
        region = Region.objects.get(code="654200")
        parents: list[int | None] = [None]
        nodes = [
            organisation_create(
                actor=None,
                parent=None,
                name="根",
                kind="prefecture_association",
                code="KX654200",
                region=region,
            )
        ]
        for i in range(1, n):
            p = parent_draws[i - 1] % i
            parents.append(p)
            nodes.append(
                organisation_create(
                    actor=None,
                    parent=nodes[p],
                    name=f"单位{i}",
                    kind="member_unit",
                    code=f"P{i:04d}",
                    region=region,
                )
            )
        user = User.objects.create_user(username="prop", password="x")
        for node, role in grants:
            role_grant(actor=None, user=user, organisation=nodes[node], role=role)
        user = User.objects.get(pk=user.pk)
        expected = {nodes[i].pk for i in _oracle(parents, {node for node, _ in grants})}
        actual = set(Organisation.objects.visible_to(user).values_list("pk", flat=True))
        assert actual == expected
        transaction.set_rollback(True)


def test_create_root_org_bootstraps_an_empty_deployment(db):
    import io

    from django.core.management import call_command

    # given an empty tree
    out = io.StringIO()
    # when the operator creates the top, twice
    call_command(
        "create_root_org", "--region", "654200", "--name", "塔城地区科学技术协会", stdout=out
    )
    call_command(
        "create_root_org", "--region", "654200", "--name", "塔城地区科学技术协会", stdout=out
    )
    # then there is exactly one prefecture association with the KX code
    root = Organisation.objects.get(parent__isnull=True)
    assert (root.code, root.kind, root.path) == ("KX654200", "prefecture_association", "00001")
    assert Organisation.objects.count() == 1


def test_factories_build_through_the_services(tree):
    from kexie.accounts.tests.factories import staff
    from kexie.orgs.tests.factories import OrganisationFactory

    # given a unit made by the factory below 额敏 and a clerk there
    unit = OrganisationFactory(parent=tree.emin)
    clerk = staff(organisation=tree.emin, role="clerk")
    # then it sits in the tree and the clerk sees it, but not 托里
    assert unit.path.startswith(tree.emin.path)
    assert AuditEvent.objects.filter(event_type="org.create", object_id=str(unit.pk)).exists()
    visible = set(Organisation.objects.visible_to(clerk).values_list("pk", flat=True))
    assert unit.pk in visible
    assert tree.toli.pk not in visible
