"""Campaigns and their targets: set up by the prefecture, seen by the counties."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.utils import translation

from kexie.activities.choices import CampaignKind
from kexie.activities.models import Campaign, CampaignTarget
from kexie.activities.selectors import campaign_get, campaign_list
from kexie.activities.services import campaign_create, campaign_target_set, campaign_update
from kexie.activities.tests.factories import make_activity, make_campaign
from kexie.core.choices import AuditOutcome
from kexie.core.models import AuditEvent

WINTER = {
    "kind": CampaignKind.WINTER_SCIENCE,
    "title": "2023—2024年度“科技之冬”活动",
    "season": "2023-24",
    "starts_on": dt.date(2023, 11, 1),
    "ends_on": dt.date(2024, 3, 31),
}


def test_the_prefecture_sets_up_a_winter_campaign(tree, prefecture_admin):
    # when
    campaign = campaign_create(actor=prefecture_admin, organiser=tree.prefecture, data=WINTER)
    # then the season is written the one way, and the creation audited
    campaign.refresh_from_db()
    assert (campaign.season, campaign.is_active) == ("2023–24", True)
    assert AuditEvent.objects.filter(
        event_type="campaign.create", object_id=str(campaign.pk)
    ).exists()


@pytest.mark.parametrize(("typed", "stored"), [("2023", "2023"), ("２０２３－２０２４", "2023–24")])
def test_seasons_are_normalised(tree, prefecture_admin, typed, stored):
    campaign = campaign_create(
        actor=prefecture_admin, organiser=tree.prefecture, data={**WINTER, "season": typed}
    )
    assert campaign.season == stored


@pytest.mark.parametrize("season", ["23-24", "2023-25", "二〇二三", ""])
def test_bad_seasons_are_refused(tree, prefecture_admin, season):
    with pytest.raises(ValidationError) as excinfo:
        campaign_create(
            actor=prefecture_admin, organiser=tree.prefecture, data={**WINTER, "season": season}
        )
    assert "season" in excinfo.value.message_dict


def test_a_campaign_cannot_end_before_it_starts(tree, prefecture_admin):
    with pytest.raises(ValidationError) as excinfo:
        campaign_create(
            actor=prefecture_admin,
            organiser=tree.prefecture,
            data={**WINTER, "ends_on": dt.date(2023, 10, 1)},
        )
    assert "ends_on" in excinfo.value.message_dict


def test_one_campaign_of_a_kind_per_season(tree, prefecture_admin):
    campaign_create(actor=prefecture_admin, organiser=tree.prefecture, data=WINTER)
    with pytest.raises(ValidationError) as excinfo:
        campaign_create(actor=prefecture_admin, organiser=tree.prefecture, data=WINTER)
    assert "season" in excinfo.value.message_dict
    assert Campaign.objects.count() == 1


def test_a_county_cannot_set_up_a_campaign(tree, county_admin):
    # for the prefecture: not in its scope
    with pytest.raises(PermissionDenied):
        campaign_create(actor=county_admin, organiser=tree.prefecture, data=WINTER)
    # for itself: campaigns are the prefecture's
    with pytest.raises(ValidationError) as excinfo:
        campaign_create(actor=county_admin, organiser=tree.emin, data=WINTER)
    assert "organiser" in excinfo.value.message_dict
    assert not Campaign.objects.exists()
    assert AuditEvent.objects.filter(
        event_type="campaign.create", outcome=AuditOutcome.DENIED
    ).exists()


def test_a_prefecture_reviewer_cannot_set_up_a_campaign(tree, prefecture_reviewer):
    with pytest.raises(PermissionDenied):
        campaign_create(actor=prefecture_reviewer, organiser=tree.prefecture, data=WINTER)


def test_update_changes_named_fields(tree, prefecture_admin):
    campaign = make_campaign(tree.prefecture)
    changed = campaign_update(
        actor=prefecture_admin,
        campaign=campaign,
        data={"title": "科技之冬（更新）", "is_active": False},
    )
    campaign.refresh_from_db()
    assert changed == ["title", "is_active"]
    assert (campaign.title, campaign.is_active) == ("科技之冬（更新）", False)


def test_the_kind_is_fixed_once_activities_belong_to_the_campaign(tree, prefecture_admin):
    campaign = make_campaign(tree.prefecture)
    make_activity(tree.emin_town, campaign=campaign)
    with pytest.raises(ValidationError) as excinfo:
        campaign_update(
            actor=prefecture_admin, campaign=campaign, data={"kind": CampaignKind.CARAVAN}
        )
    assert "kind" in excinfo.value.message_dict
    campaign.refresh_from_db()
    assert campaign.kind == CampaignKind.WINTER_SCIENCE


def test_the_county_cannot_change_the_prefectures_campaign(tree, county_admin):
    campaign = make_campaign(tree.prefecture, title="原标题")
    with pytest.raises(PermissionDenied):
        campaign_update(actor=county_admin, campaign=campaign, data={"title": "改掉"})
    campaign.refresh_from_db()
    assert campaign.title == "原标题"


# --- Targets -----------------------------------------------------------------------------------


def test_the_prefecture_sets_a_countys_targets(tree, prefecture_admin):
    campaign = make_campaign(tree.prefecture)
    # when, then again with new numbers
    campaign_target_set(
        actor=prefecture_admin,
        campaign=campaign,
        organisation=tree.emin,
        targets={"activities": 20},
    )
    campaign_target_set(
        actor=prefecture_admin,
        campaign=campaign,
        organisation=tree.emin,
        targets={"activities": "２８", "farmers_reached": 1913, "kilometres": "2046"},
    )
    # then one row per campaign and county, holding the latest numbers
    target = CampaignTarget.objects.get()
    assert target.targets == {"activities": 28, "farmers_reached": 1913, "kilometres": 2046.0}
    assert target.set_by == prefecture_admin
    assert AuditEvent.objects.filter(event_type="campaign.target_set").count() == 2


def test_bad_targets_are_refused(tree, prefecture_admin):
    campaign = make_campaign(tree.prefecture)
    with translation.override("en"), pytest.raises(ValidationError) as excinfo:
        campaign_target_set(
            actor=prefecture_admin,
            campaign=campaign,
            organisation=tree.emin,
            targets={"activities": -1, "village": "幸福村"},
        )
    assert excinfo.value.message_dict == {
        "activities": ["The number cannot be negative."],
        "village": ["This campaign sets no target for this figure."],
    }
    assert not CampaignTarget.objects.exists()


def test_a_target_is_for_an_association_inside_the_campaigns_area(tree, prefecture_admin):
    campaign = make_campaign(tree.prefecture)
    with pytest.raises(ValidationError):
        campaign_target_set(
            actor=prefecture_admin,
            campaign=campaign,
            organisation=tree.prefecture,
            targets={"activities": 5},
        )


def test_a_county_cannot_set_its_own_target(tree, county_admin):
    campaign = make_campaign(tree.prefecture)
    with pytest.raises(PermissionDenied):
        campaign_target_set(
            actor=county_admin, campaign=campaign, organisation=tree.emin, targets={"activities": 1}
        )
    assert not CampaignTarget.objects.exists()


# --- Selectors ---------------------------------------------------------------------------------


def test_counties_see_the_prefectures_campaigns(tree, county_clerk, outsider):
    campaign = make_campaign(tree.prefecture)
    assert list(campaign_list(user=county_clerk)) == [campaign]
    assert campaign_get(user=outsider, pk=campaign.pk) == campaign


def test_a_login_without_a_role_sees_no_campaign(tree, no_role):
    campaign = make_campaign(tree.prefecture)
    with pytest.raises(Http404):
        campaign_get(user=no_role, pk=campaign.pk)


def test_inactive_campaigns_can_be_left_out(tree, county_clerk):
    active = make_campaign(tree.prefecture)
    make_campaign(tree.prefecture, kind=CampaignKind.CARAVAN, is_active=False)
    assert list(campaign_list(user=county_clerk, active_only=True)) == [active]
