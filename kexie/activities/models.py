"""Campaigns and activities (DOMAIN.md §5): each activity recorded once, every campaign table
and tally derived from it.

An activity is owned by its organiser, an organisation; scope hangs on that organisation
(AC-02). Type-specific figures (科技之冬 farmers reached, 大篷车 kilometres, …) are data in
``Activity.figures``, described by ``figures.py``, not one model per campaign. The review chain
(unit → county → prefecture for key activities → published) is ``services.ALLOWED_TRANSITIONS``;
every step is one ``ActivityReview`` row and one audit event.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from kexie.core.crypto import EncryptedTextField
from kexie.core.masking import mask_phone
from kexie.core.models import Region, TimeStampedModel
from kexie.orgs.models import Organisation
from kexie.orgs.tree import owned_by_subtrees_q

from .choices import (
    ActivityAction,
    ActivityStatus,
    ActivityType,
    CampaignKind,
    SignupMode,
)


class Campaign(TimeStampedModel):
    """A recurring campaign in one season (全国科普日 2023, 科技之冬 2023–24, …), run by an
    association; its activities are counted against the targets it sets per county."""

    kind = models.CharField(
        verbose_name=_("campaign kind"),
        max_length=32,
        choices=CampaignKind.choices,
    )
    title = models.CharField(
        verbose_name=_("title"),
        max_length=200,
    )
    season = models.CharField(
        verbose_name=_("season"),
        max_length=20,
        help_text=_("The year or winter it belongs to, e.g. 2023 or 2023–24."),
    )
    starts_on = models.DateField(
        verbose_name=_("starts on"),
    )
    ends_on = models.DateField(
        verbose_name=_("ends on"),
    )
    organiser = models.ForeignKey(
        Organisation,
        verbose_name=_("organiser"),
        on_delete=models.PROTECT,
        related_name="campaigns",
    )
    description = models.TextField(
        verbose_name=_("description"),
        blank=True,
    )
    is_active = models.BooleanField(
        verbose_name=_("active"),
        default=True,
        help_text=_("Inactive campaigns can no longer be chosen for new activities."),
    )

    class Meta:
        ordering = ["-starts_on", "-id"]
        verbose_name = _("campaign")
        verbose_name_plural = _("campaigns")
        indexes = [
            models.Index(fields=["-starts_on", "-id"], name="activities_campaign_start"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(ends_on__gte=models.F("starts_on")),
                name="activities_campaign_ends_after_start",
            ),
            models.CheckConstraint(
                condition=~models.Q(title=""),
                name="activities_campaign_title_not_empty",
            ),
            # Two 科技之冬 2023–24 of one association would split every tally in two.
            models.UniqueConstraint(
                fields=["organiser", "kind", "season"],
                condition=~models.Q(kind=CampaignKind.OTHER),
                name="activities_campaign_one_per_kind_season",
            ),
        ]

    def __str__(self) -> str:
        return self.title


class CampaignTarget(models.Model):
    """What one organisation (usually a county association) should reach in a campaign:
    figure key → number, e.g. ``{"activities": 28, "farmers_reached": 1900}``; the keys are
    ``figures.target_specs(campaign.kind)``."""

    campaign = models.ForeignKey(
        Campaign,
        verbose_name=_("campaign"),
        on_delete=models.CASCADE,
        related_name="targets",
    )
    organisation = models.ForeignKey(
        Organisation,
        verbose_name=_("organisation"),
        on_delete=models.PROTECT,
        related_name="campaign_targets",
    )
    targets = models.JSONField(
        verbose_name=_("targets"),
        default=dict,
        blank=True,
    )
    set_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("set by"),
        on_delete=models.SET_NULL,
        related_name="+",
        null=True,
        blank=True,
    )
    updated_at = models.DateTimeField(
        verbose_name=_("updated at"),
        auto_now=True,
    )

    class Meta:
        ordering = ["campaign", "organisation"]
        verbose_name = _("campaign target")
        verbose_name_plural = _("campaign targets")
        constraints = [
            models.UniqueConstraint(
                fields=["campaign", "organisation"],
                name="activities_campaigntarget_one_per_campaign_org",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.campaign_id} {self.organisation_id}"


class ActivityQuerySet(models.QuerySet["Activity"]):
    def visible_to(self, user, action: str = "view") -> ActivityQuerySet:
        """Activities whose organiser lies inside ``user``'s subtrees for ``action`` (AC-02)."""
        from kexie.accounts.scope import scope_paths

        paths = scope_paths(user, action)
        if not paths:
            return self.none()
        return self.filter(owned_by_subtrees_q(paths, field="organiser"))


class Activity(TimeStampedModel):
    """One activity — a lecture, a 科技之冬 village session, a 大篷车 trip — recorded once.

    ``audience`` and ``languages`` are JSON lists of ``Audience`` / ``ActivityLanguage``
    values (no ArrayField: the same code runs on SQLite and PostgreSQL); filter them with
    ``selectors.json_list_contains_q``. ``contact_phone`` is encrypted at rest (PI-06) and
    shown masked (``masked_contact_phone``).
    """

    title = models.CharField(
        verbose_name=_("title"),
        max_length=200,
    )
    activity_type = models.CharField(
        verbose_name=_("activity type"),
        max_length=32,
        choices=ActivityType.choices,
    )
    # Indexed through activities_act_campaign_org (campaign first), not on its own.
    campaign = models.ForeignKey(
        Campaign,
        verbose_name=_("campaign"),
        on_delete=models.PROTECT,
        related_name="activities",
        null=True,
        blank=True,
        db_index=False,
    )
    campaign_tags = models.ManyToManyField(
        Campaign,
        verbose_name=_("also counted for"),
        related_name="tagged_activities",
        blank=True,
        help_text=_("Other campaigns this activity is counted for."),
    )
    # Indexed through activities_act_org_status (organiser first), not on its own.
    organiser = models.ForeignKey(
        Organisation,
        verbose_name=_("organiser"),
        on_delete=models.PROTECT,
        related_name="organised_activities",
        db_index=False,
    )
    co_organisers = models.ManyToManyField(
        Organisation,
        verbose_name=_("co-organisers"),
        related_name="co_organised_activities",
        blank=True,
    )
    starts_at = models.DateTimeField(
        verbose_name=_("starts at"),
    )
    ends_at = models.DateTimeField(
        verbose_name=_("ends at"),
    )
    address = models.CharField(
        verbose_name=_("address"),
        max_length=200,
        blank=True,
    )
    township = models.ForeignKey(
        Region,
        verbose_name=_("township"),
        on_delete=models.PROTECT,
        related_name="activities",
        null=True,
        blank=True,
        limit_choices_to={"level": "township"},
    )
    latitude = models.DecimalField(
        verbose_name=_("latitude"),
        max_digits=9,
        decimal_places=6,
        null=True,
        blank=True,
    )
    longitude = models.DecimalField(
        verbose_name=_("longitude"),
        max_digits=9,
        decimal_places=6,
        null=True,
        blank=True,
    )
    is_online = models.BooleanField(
        verbose_name=_("online"),
        default=False,
    )
    online_url = models.URLField(
        verbose_name=_("online link"),
        max_length=300,
        blank=True,
    )
    audience = models.JSONField(
        verbose_name=_("audience"),
        default=list,
        blank=True,
    )
    languages = models.JSONField(
        verbose_name=_("languages"),
        default=list,
        blank=True,
    )
    contact_name = models.CharField(
        verbose_name=_("contact person"),
        max_length=40,
        blank=True,
    )
    contact_phone = EncryptedTextField(
        verbose_name=_("contact telephone"),
        blank=True,
    )
    planned_participants = models.PositiveIntegerField(
        verbose_name=_("planned participants"),
        default=0,
    )
    actual_participants = models.PositiveIntegerField(
        verbose_name=_("actual participants"),
        null=True,
        blank=True,
        help_text=_("Recorded when the activity is closed."),
    )
    materials = models.TextField(
        verbose_name=_("materials handed out"),
        blank=True,
    )
    budget = models.DecimalField(
        verbose_name=_("budget (yuan)"),
        max_digits=12,
        decimal_places=2,
        null=True,
        blank=True,
    )
    is_key_activity = models.BooleanField(
        verbose_name=_("key activity"),
        default=False,
        help_text=_("Key activities (重点活动) are also reviewed by the prefecture."),
    )
    status = models.CharField(
        verbose_name=_("status"),
        max_length=20,
        choices=ActivityStatus.choices,
        default=ActivityStatus.DRAFT,
    )
    review_level = models.PositiveSmallIntegerField(
        verbose_name=_("review level"),
        default=0,
        help_text=_("Level of the last review decision: 0 none, 1 county, 2 prefecture."),
    )
    returned_reason = models.CharField(
        verbose_name=_("reason for return"),
        max_length=300,
        blank=True,
        help_text=_("Why the activity was last returned or rejected; the organiser sees it."),
    )
    submitted_at = models.DateTimeField(
        verbose_name=_("submitted at"),
        null=True,
        blank=True,
    )
    published_at = models.DateTimeField(
        verbose_name=_("published at"),
        null=True,
        blank=True,
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        on_delete=models.SET_NULL,
        related_name="+",
        null=True,
        blank=True,
    )
    figures = models.JSONField(
        verbose_name=_("figures"),
        default=dict,
        blank=True,
        help_text=_("Figures specific to the campaign (figures.py), figure key → value."),
    )
    capacity = models.PositiveIntegerField(
        verbose_name=_("capacity"),
        null=True,
        blank=True,
        help_text=_("Places for sign-up; empty for no limit."),
    )
    signup_mode = models.CharField(
        verbose_name=_("sign-up"),
        max_length=12,
        choices=SignupMode.choices,
        default=SignupMode.NONE,
    )

    objects = ActivityQuerySet.as_manager()

    class Meta:
        ordering = ["-starts_at", "-id"]
        verbose_name = _("activity")
        verbose_name_plural = _("activities")
        # Every index slows every insert (200,000 activities in the benchmark); each one here
        # serves a selector: the scoped list by organiser, the review queues and calendar by
        # status and time, the campaign workspace and tally by campaign and organiser.
        indexes = [
            models.Index(fields=["-starts_at", "-id"], name="activities_act_start"),
            models.Index(fields=["organiser", "status"], name="activities_act_org_status"),
            models.Index(fields=["status", "starts_at"], name="activities_act_status_start"),
            models.Index(fields=["campaign", "organiser"], name="activities_act_campaign_org"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=~models.Q(title=""),
                name="activities_activity_title_not_empty",
            ),
            models.CheckConstraint(
                condition=models.Q(ends_at__gte=models.F("starts_at")),
                name="activities_activity_ends_after_start",
            ),
            models.CheckConstraint(
                condition=models.Q(review_level__lte=2),
                name="activities_activity_review_level_range",
            ),
            models.CheckConstraint(
                condition=models.Q(latitude__isnull=True, longitude__isnull=True)
                | models.Q(
                    latitude__isnull=False,
                    longitude__isnull=False,
                    latitude__gte=-90,
                    latitude__lte=90,
                    longitude__gte=-180,
                    longitude__lte=180,
                ),
                name="activities_activity_coordinates_valid",
            ),
            models.CheckConstraint(
                condition=models.Q(budget__isnull=True) | models.Q(budget__gte=0),
                name="activities_activity_budget_not_negative",
            ),
            models.CheckConstraint(
                condition=models.Q(capacity__isnull=True) | models.Q(capacity__gte=1),
                name="activities_activity_capacity_positive",
            ),
            models.CheckConstraint(
                condition=~models.Q(is_online=True, online_url=""),
                name="activities_activity_online_has_link",
            ),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def masked_contact_phone(self) -> str:
        """The contact telephone as pages, exports and logs show it (PI-05)."""
        return mask_phone(self.contact_phone)

    def campaign_kinds(self) -> list[str]:
        """Kinds of the campaign and the tagged campaigns (which figures the activity has).

        Reads ``campaign_tags`` (prefetch it for lists)."""
        kinds = [self.campaign.kind] if self.campaign_id else []
        if self.pk:
            kinds += [tag.kind for tag in self.campaign_tags.all()]
        return list(dict.fromkeys(kinds))


class ActivityReview(models.Model):
    """One step of an activity's review chain: who did what, at which level, and why.

    Level 0 is the organiser (submit, cancel), 1 the county, 2 the prefecture.
    """

    activity = models.ForeignKey(
        Activity,
        verbose_name=_("activity"),
        on_delete=models.CASCADE,
        related_name="reviews",
    )
    reviewer = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("by"),
        on_delete=models.SET_NULL,
        related_name="+",
        null=True,
        blank=True,
    )
    level = models.PositiveSmallIntegerField(
        verbose_name=_("level"),
    )
    decision = models.CharField(
        verbose_name=_("decision"),
        max_length=12,
        choices=ActivityAction.choices,
    )
    reason = models.CharField(
        verbose_name=_("reason"),
        max_length=300,
        blank=True,
    )
    status_before = models.CharField(
        verbose_name=_("status before"),
        max_length=20,
        choices=ActivityStatus.choices,
    )
    status_after = models.CharField(
        verbose_name=_("status after"),
        max_length=20,
        choices=ActivityStatus.choices,
    )
    created_at = models.DateTimeField(
        verbose_name=_("at"),
        auto_now_add=True,
    )

    class Meta:
        ordering = ["activity", "id"]
        verbose_name = _("activity review step")
        verbose_name_plural = _("activity review steps")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(level__lte=2),
                name="activities_activityreview_level_range",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.activity_id}: {self.decision} ({self.level})"
