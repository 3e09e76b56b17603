"""Drafting and changing activities: scope (AC-03), validation, audit, selectors."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.utils import translation

from kexie.activities.choices import ActivityStatus, Audience, CampaignKind
from kexie.activities.models import Activity
from kexie.activities.selectors import activity_get, activity_list, json_list_contains_q
from kexie.activities.services import activity_create, activity_update
from kexie.activities.tests.factories import in_days, make_activity, make_campaign
from kexie.core.choices import AuditOutcome
from kexie.core.models import AuditEvent, Region
from kexie.orgs.services import organisation_dissolve
from kexie.orgs.tests.factories import make_org

EMIN_TOWN = "654221100000"


def _data(**values):
    return {
        "title": "牛羊冬季养殖技术培训",
        "activity_type": "training",
        "starts_at": in_days(20),
        "ends_at": in_days(20, hour=16),
        "address": "额敏镇幸福村村委会",
        "audience": [Audience.FARMERS],
        **values,
    }


# --- Create ------------------------------------------------------------------------------------


def test_a_clerk_drafts_an_activity_for_a_township_of_the_county(tree, county_clerk):
    # when
    activity = activity_create(
        actor=county_clerk,
        organiser=tree.emin_town,
        data=_data(
            township=Region.objects.get(code=EMIN_TOWN), latitude="46.525", longitude=83.628
        ),
    )
    # then it is a draft of the township association, created by the clerk, and audited
    activity.refresh_from_db()
    assert (activity.status, activity.organiser, activity.created_by) == (
        ActivityStatus.DRAFT,
        tree.emin_town,
        county_clerk,
    )
    assert activity.languages == ["zh"]
    assert (activity.latitude, activity.longitude) == (Decimal("46.525000"), Decimal("83.628000"))
    event = AuditEvent.objects.get(event_type="activity.create", object_id=str(activity.pk))
    assert event.details["organiser"] == "KX654221100000"


def test_a_clerk_cannot_draft_for_another_county(tree, county_clerk):
    # when the 额敏 clerk drafts for 托里
    with pytest.raises(PermissionDenied):
        activity_create(actor=county_clerk, organiser=tree.toli_town, data=_data())
    # then nothing was created, and the refusal is audited
    assert not Activity.objects.exists()
    assert AuditEvent.objects.filter(
        event_type="activity.create", outcome=AuditOutcome.DENIED, actor=county_clerk
    ).exists()


def test_a_viewer_cannot_draft(tree, county_viewer):
    with pytest.raises(PermissionDenied):
        activity_create(actor=county_viewer, organiser=tree.emin, data=_data())
    assert not Activity.objects.exists()


def test_co_organisers_may_be_member_units_anywhere(tree, county_clerk):
    # given a member unit under 托里, outside the clerk's scope
    health_bureau = make_org(tree.toli, name="托里县卫生健康委员会", kind="member_unit")
    # when
    activity = activity_create(
        actor=county_clerk,
        organiser=tree.emin,
        data=_data(co_organisers=[health_bureau, tree.society, health_bureau]),
    )
    # then both are co-organisers, once each
    assert set(activity.co_organisers.all()) == {health_bureau, tree.society}


def test_a_dissolved_co_organiser_is_refused(tree, county_clerk):
    unit = make_org(tree.emin, name="额敏县原农机站", kind="member_unit")
    organisation_dissolve(actor=None, organisation=unit)
    unit.refresh_from_db()
    with pytest.raises(ValidationError) as excinfo:
        activity_create(actor=county_clerk, organiser=tree.emin, data=_data(co_organisers=[unit]))
    assert "co_organisers" in excinfo.value.message_dict


def test_the_organiser_is_not_its_own_co_organiser(tree, county_clerk):
    with pytest.raises(ValidationError) as excinfo:
        activity_create(
            actor=county_clerk, organiser=tree.emin, data=_data(co_organisers=[tree.emin])
        )
    assert "co_organisers" in excinfo.value.message_dict


@pytest.mark.parametrize(
    ("values", "field"),
    [
        ({"title": "  "}, "title"),
        ({"activity_type": "party"}, "activity_type"),
        ({"ends_at": in_days(19)}, "ends_at"),
        ({"audience": []}, "audience"),
        ({"audience": ["youth", "aliens"]}, "audience"),
        ({"audience": "youth"}, "audience"),
        ({"languages": ["fr"]}, "languages"),
        ({"is_online": True}, "online_url"),
        ({"online_url": "javascript:alert(1)"}, "online_url"),
        ({"address": ""}, "address"),
        ({"latitude": "46.5"}, "longitude"),
        ({"latitude": "96", "longitude": "83"}, "latitude"),
        ({"planned_participants": "-3"}, "planned_participants"),
        ({"capacity": 0}, "capacity"),
        ({"budget": "-100"}, "budget"),
        ({"signup_mode": "lottery"}, "signup_mode"),
        ({"contact_phone": "12345"}, "contact_phone"),
        ({"figures": {"kilometres": 3}}, "figures.kilometres"),
    ],
)
def test_bad_values_are_refused_by_field(tree, county_clerk, values, field):
    # when
    with translation.override("en"), pytest.raises(ValidationError) as excinfo:
        activity_create(actor=county_clerk, organiser=tree.emin, data=_data(**values))
    # then the error names the field, and nothing was created
    assert field in excinfo.value.message_dict
    assert not Activity.objects.exists()


def test_status_and_review_fields_cannot_be_written(tree, county_clerk):
    with pytest.raises(ValidationError):
        activity_create(
            actor=county_clerk, organiser=tree.emin, data=_data(status=ActivityStatus.PUBLISHED)
        )
    assert not Activity.objects.exists()


def test_an_online_activity_needs_no_address(tree, county_clerk):
    activity = activity_create(
        actor=county_clerk,
        organiser=tree.emin,
        data=_data(address="", is_online=True, online_url="https://live.example.cn/kexie/1"),
    )
    assert activity.is_online


# --- Campaign and figures ----------------------------------------------------------------------


def test_a_winter_session_records_its_figures(tree, county_clerk):
    # given the prefecture's 科技之冬
    winter = make_campaign(tree.prefecture, kind=CampaignKind.WINTER_SCIENCE)
    # when a township session is drafted with its figures as typed
    activity = activity_create(
        actor=county_clerk,
        organiser=tree.emin_town,
        data=_data(campaign=winter, figures={"village": "幸福村", "farmers_reached": "８６"}),
    )
    # then the figures are stored normalised
    activity.refresh_from_db()
    assert activity.figures == {"village": "幸福村", "farmers_reached": 86}
    assert activity.campaign_kinds() == [CampaignKind.WINTER_SCIENCE]


def test_a_tagged_campaign_adds_its_figures(tree, county_clerk):
    winter = make_campaign(tree.prefecture, kind=CampaignKind.WINTER_SCIENCE)
    caravan = make_campaign(tree.prefecture, kind=CampaignKind.CARAVAN)
    activity = activity_create(
        actor=county_clerk,
        organiser=tree.emin_town,
        data=_data(campaign=winter, campaign_tags=[caravan], figures={"people_served": 120}),
    )
    assert activity.figures == {"people_served": 120}
    assert activity.campaign_kinds() == [CampaignKind.WINTER_SCIENCE, CampaignKind.CARAVAN]


def test_an_activity_outside_the_campaign_period_is_refused(tree, county_clerk):
    winter = make_campaign(tree.prefecture, kind=CampaignKind.WINTER_SCIENCE)
    with pytest.raises(ValidationError) as excinfo:
        activity_create(
            actor=county_clerk,
            organiser=tree.emin,
            data=_data(campaign=winter, starts_at=in_days(200), ends_at=in_days(200, 12)),
        )
    assert "starts_at" in excinfo.value.message_dict


def test_an_inactive_campaign_takes_no_new_activities(tree, county_clerk):
    winter = make_campaign(tree.prefecture, is_active=False)
    with pytest.raises(ValidationError) as excinfo:
        activity_create(actor=county_clerk, organiser=tree.emin, data=_data(campaign=winter))
    assert "campaign" in excinfo.value.message_dict


# --- Update ------------------------------------------------------------------------------------


def test_update_saves_only_what_changed_and_audits_field_names(tree, county_clerk):
    activity = make_activity(tree.emin_town, contact_phone="13912345678")
    # when
    changed = activity_update(
        actor=county_clerk,
        activity=activity,
        data={
            "title": "冬季养殖技术讲座（调整）",
            "contact_phone": "139 1234 5679",
            "budget": "800",
        },
    )
    # then
    assert changed == ["title", "contact_phone", "budget"]
    activity.refresh_from_db()
    assert (activity.contact_phone, activity.budget) == ("13912345679", Decimal("800.00"))
    event = AuditEvent.objects.get(event_type="activity.update", object_id=str(activity.pk))
    assert event.details == {"fields": ["title", "contact_phone", "budget"]}


def test_an_update_without_changes_writes_nothing(tree, county_clerk):
    activity = make_activity(tree.emin_town)
    assert (
        activity_update(actor=county_clerk, activity=activity, data={"title": activity.title}) == []
    )
    assert not AuditEvent.objects.filter(event_type="activity.update").exists()


def test_an_outsider_cannot_change_an_activity(tree, outsider):
    activity = make_activity(tree.emin_town, title="原标题")
    with pytest.raises(PermissionDenied):
        activity_update(actor=outsider, activity=activity, data={"title": "改掉"})
    activity.refresh_from_db()
    assert activity.title == "原标题"


def test_an_activity_cannot_be_moved_out_of_the_writers_scope(tree, county_clerk):
    activity = make_activity(tree.emin_town)
    # when the 额敏 clerk moves it to 托里
    with pytest.raises(PermissionDenied):
        activity_update(actor=county_clerk, activity=activity, data={"organiser": tree.toli_town})
    # then it stays in 额敏
    activity.refresh_from_db()
    assert activity.organiser == tree.emin_town


def test_an_activity_moves_inside_the_writers_scope(tree, county_clerk):
    activity = make_activity(tree.emin_town)
    changed = activity_update(actor=county_clerk, activity=activity, data={"organiser": tree.emin})
    activity.refresh_from_db()
    assert (changed, activity.organiser) == (["organiser"], tree.emin)


# --- Selectors ---------------------------------------------------------------------------------


def test_lists_hold_the_activities_of_the_users_subtree(tree, county_admin, prefecture_admin):
    emin = make_activity(tree.emin_town)
    toli = make_activity(tree.toli_town)
    assert set(activity_list(user=county_admin)) == {emin}
    assert set(activity_list(user=prefecture_admin)) == {emin, toli}


def test_an_activity_outside_the_scope_does_not_exist(tree, outsider):
    activity = make_activity(tree.emin_town)
    with pytest.raises(Http404):
        activity_get(user=outsider, pk=activity.pk)


def test_the_list_reads_a_page_in_a_bounded_number_of_queries(
    tree, prefecture_admin, django_assert_max_num_queries
):
    winter = make_campaign(tree.prefecture)
    for org in (tree.emin_town, tree.toli_town, tree.emin, tree.emin_school, tree.society):
        make_activity(org, campaign=winter, township=Region.objects.get(code=EMIN_TOWN))
    # when a page is read with its organisers, campaigns and townships
    with django_assert_max_num_queries(5):
        rows = [
            (a.organiser.name, a.campaign.title, a.township.name)
            for a in activity_list(user=prefecture_admin)[:50]
        ]
    # then
    assert len(rows) == 5


def test_activities_are_found_by_audience_on_every_database(tree, prefecture_admin):
    youth = make_activity(tree.emin_town, audience=[Audience.YOUTH, Audience.PUBLIC])
    make_activity(tree.emin_town, audience=[Audience.FARMERS])
    found = activity_list(user=prefecture_admin).filter(json_list_contains_q("audience", "youth"))
    assert list(found) == [youth]
