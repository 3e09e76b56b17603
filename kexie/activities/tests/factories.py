"""Campaigns and activities for tests, built through the services (validation and audit
included). Titles and places are fictional."""

from __future__ import annotations

import datetime as dt
import itertools
from typing import Any

from django.utils import timezone

from kexie.activities.choices import ActivityType, Audience, CampaignKind
from kexie.activities.models import Activity, Campaign
from kexie.activities.services import activity_create, campaign_create

_seq = itertools.count(1)


def in_days(days: int, hour: int = 10) -> dt.datetime:
    """A moment ``days`` from today at ``hour`` local time."""
    day = timezone.localdate() + dt.timedelta(days=days)
    return timezone.make_aware(dt.datetime.combine(day, dt.time(hour)))


def make_campaign(
    organiser, *, kind: str = CampaignKind.WINTER_SCIENCE, actor=None, **values: Any
) -> Campaign:
    """A campaign running from 60 days ago to 120 days ahead (activities fit in it)."""
    today = timezone.localdate()
    data = {
        "kind": kind,
        "title": f"测试活动季{next(_seq)}",
        "season": str(today.year),
        "starts_on": today - dt.timedelta(days=60),
        "ends_on": today + dt.timedelta(days=120),
        **values,
    }
    return campaign_create(actor=actor, organiser=organiser, data=data)


def make_activity(organiser, *, actor=None, **values: Any) -> Activity:
    """A draft lecture 30 days ahead, offline, for farmers and herders, in Chinese and Kazakh."""
    data = {
        "title": f"冬季种植技术讲座{next(_seq)}",
        "activity_type": ActivityType.LECTURE,
        "starts_at": in_days(30),
        "ends_at": in_days(30, hour=12),
        "address": "额敏镇文化活动中心",
        "audience": [Audience.FARMERS],
        "languages": ["zh", "kk"],
        **values,
    }
    return activity_create(actor=actor, organiser=organiser, data=data)
