"""The talent registry (人才库): one ``Person`` per human being, and what hangs on it.

A person is owned by an organisation (the township or county association responsible for the
township they live in, REG-02); that ownership is what scope hangs on (AC-02). ID number and
phone are encrypted at rest with blind indexes for equality look-up (PI-06). Search tokens live
in a separate, database-specific index kept by ``people/search.py`` (DOMAIN.md §7).
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from kexie.core.choices import TitleLevel
from kexie.core.crypto import EncryptedTextField
from kexie.core.models import Region, TimeStampedModel
from kexie.orgs.models import Organisation
from kexie.orgs.tree import owned_by_subtrees_q

from .choices import (
    ConsentKind,
    ContactChannel,
    DuplicateCertainty,
    DuplicateReason,
    DuplicateStatus,
    EmployerCategory,
    PersonSource,
    RequestChannel,
    ReviewDecision,
    ReviewStatus,
    SubjectRequestKind,
    SubjectRequestStatus,
)

STALE_AFTER_MONTHS = 24
CONFIRM_AFTER_MONTHS = 12


class PersonQuerySet(models.QuerySet["Person"]):
    def visible_to(self, user, action: str = "view") -> PersonQuerySet:
        """Persons owned by organisations inside ``user``'s subtrees for ``action`` (AC-02)."""
        from kexie.accounts.scope import scope_paths

        paths = scope_paths(user, action)
        if not paths:
            return self.none()
        return self.filter(owned_by_subtrees_q(paths))

    def current(self) -> PersonQuerySet:
        """Records that stand for a person: not merged into another record."""
        return self.filter(merged_into__isnull=True)

    def verified(self) -> PersonQuerySet:
        return self.filter(review_status=ReviewStatus.VERIFIED)

    def stale(self, today: dt.date) -> PersonQuerySet:
        cutoff = _months_before(today, STALE_AFTER_MONTHS)
        return self.filter(
            models.Q(last_confirmed_on__lt=cutoff) | models.Q(last_confirmed_on=None)
        )


def _months_before(day: dt.date, months: int) -> dt.date:
    year, month = divmod(day.year * 12 + day.month - 1 - months, 12)
    month += 1
    last_day = [31, 29 if year % 4 == 0 and (year % 100 or year % 400 == 0) else 28, 31, 30, 31,
                30, 31, 31, 30, 31, 30, 31][month - 1]  # fmt: skip
    return dt.date(year, month, min(day.day, last_day))


class Person(TimeStampedModel):
    """A science and technology worker (科技工作者) in the registry — one row per human being,
    whatever roles they later hold (volunteer, lecturer, expert, member)."""

    organisation = models.ForeignKey(
        Organisation,
        verbose_name=_("responsible organisation"),
        on_delete=models.PROTECT,
        related_name="registered_people",
        help_text=_("The association that reviews and looks after this record."),
    )
    name = models.CharField(
        verbose_name=_("name"),
        max_length=60,
    )
    name_key = models.CharField(
        verbose_name=_("name search key"),
        max_length=60,
        editable=False,
    )
    gender = models.CharField(
        verbose_name=_("gender"),
        max_length=1,
        blank=True,
    )
    ethnicity = models.CharField(
        verbose_name=_("ethnic group"),
        max_length=2,
        blank=True,
    )
    birth_date = models.DateField(
        verbose_name=_("date of birth"),
        null=True,
        blank=True,
    )
    id_number = EncryptedTextField(
        verbose_name=_("ID number"),
        blank=True,
    )
    # Both blind indexes are indexed in Meta (a unique constraint, a plain index), not with
    # unique=True / db_index=True, which on PostgreSQL add a second "_like" index for pattern
    # searches that a blind index never gets — 120 MB each at a million rows, and slower
    # inserts.
    id_index = models.CharField(
        verbose_name=_("ID number blind index"),
        max_length=64,
        null=True,
        blank=True,
        editable=False,
    )
    phone = EncryptedTextField(
        verbose_name=_("mobile number"),
        blank=True,
    )
    phone_index = models.CharField(
        verbose_name=_("mobile number blind index"),
        max_length=64,
        blank=True,
        editable=False,
    )
    email = EncryptedTextField(
        verbose_name=_("e-mail"),
        blank=True,
    )
    political_status = models.CharField(
        verbose_name=_("political status"),
        max_length=2,
        blank=True,
    )
    education = models.CharField(
        verbose_name=_("highest education"),
        max_length=4,
        blank=True,
    )
    degree = models.CharField(
        verbose_name=_("degree"),
        max_length=4,
        blank=True,
    )
    school = models.CharField(
        verbose_name=_("graduated from"),
        max_length=100,
        blank=True,
    )
    major = models.CharField(
        verbose_name=_("major"),
        max_length=100,
        blank=True,
    )
    title = models.CharField(
        verbose_name=_("professional title"),
        max_length=4,
        blank=True,
    )
    title_level = models.CharField(
        verbose_name=_("title level"),
        max_length=20,
        choices=TitleLevel.choices,
        blank=True,
    )
    employer = models.ForeignKey(
        Organisation,
        verbose_name=_("employer"),
        on_delete=models.PROTECT,
        related_name="employed_people",
        null=True,
        blank=True,
    )
    employer_text = models.CharField(
        verbose_name=_("employer (as typed)"),
        max_length=120,
        blank=True,
        help_text=_("Used while the employer is not in the organisation dictionary."),
    )
    employer_category = models.CharField(
        verbose_name=_("employer category"),
        max_length=24,
        choices=EmployerCategory.choices,
        blank=True,
    )
    post = models.CharField(
        verbose_name=_("administrative post"),
        max_length=60,
        blank=True,
    )
    township = models.ForeignKey(
        Region,
        verbose_name=_("township"),
        on_delete=models.PROTECT,
        related_name="registered_people",
        null=True,
        blank=True,
    )
    worker_type = models.CharField(
        verbose_name=_("worker type"),
        max_length=4,
        blank=True,
    )
    discipline = models.CharField(
        verbose_name=_("discipline"),
        max_length=4,
        blank=True,
    )
    research_field = models.CharField(
        verbose_name=_("research field"),
        max_length=200,
        blank=True,
    )
    expertise = models.CharField(
        verbose_name=_("technical expertise"),
        max_length=200,
        blank=True,
    )
    achievements = models.TextField(
        verbose_name=_("achievements"),
        blank=True,
        help_text=_("Papers, patents, awards, honours, talent programmes — one per line."),
    )
    affiliations = models.TextField(
        verbose_name=_("affiliations"),
        blank=True,
        help_text=_("Society memberships, teams, expert pools — one per line."),
    )
    tianshan_account = models.CharField(
        verbose_name=_("天山科技云 account"),
        max_length=64,
        blank=True,
    )
    tianshan_registered_on = models.DateField(
        verbose_name=_("天山科技云 registration date"),
        null=True,
        blank=True,
    )
    source = models.CharField(
        verbose_name=_("data source"),
        max_length=8,
        choices=PersonSource.choices,
    )
    review_status = models.CharField(
        verbose_name=_("review status"),
        max_length=20,
        choices=ReviewStatus.choices,
        default=ReviewStatus.PENDING,
    )
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("reviewed by"),
        on_delete=models.SET_NULL,
        related_name="+",
        null=True,
        blank=True,
    )
    reviewed_at = models.DateTimeField(
        verbose_name=_("reviewed at"),
        null=True,
        blank=True,
    )
    review_level = models.PositiveSmallIntegerField(
        verbose_name=_("review level"),
        default=0,
        help_text=_("0 not reviewed, 1 county, 2 prefecture."),
    )
    review_note = models.CharField(
        verbose_name=_("review note"),
        max_length=300,
        blank=True,
    )
    last_confirmed_on = models.DateField(
        verbose_name=_("last confirmed on"),
        null=True,
        blank=True,
    )
    completeness = models.PositiveSmallIntegerField(
        verbose_name=_("completeness (%)"),
        default=0,
        editable=False,
    )
    is_minor = models.BooleanField(
        verbose_name=_("under 18"),
        default=False,
        editable=False,
    )
    merged_into = models.ForeignKey(
        "self",
        verbose_name=_("merged into"),
        on_delete=models.PROTECT,
        related_name="merged_records",
        null=True,
        blank=True,
        editable=False,
        # Indexed only where set (people_person_merged_into): a plain index holds a million
        # NULLs, and without statistics SQLite takes "merged_into IS NULL" for a selective
        # condition and reads every record through it.
        db_index=False,
    )
    status_token = models.CharField(
        verbose_name=_("status look-up token"),
        max_length=64,
        blank=True,
        editable=False,
        help_text=_("Hash of the code a self-registered person uses to look up the status."),
    )

    objects = PersonQuerySet.as_manager()

    class Meta:
        ordering = ["-id"]
        verbose_name = _("person")
        verbose_name_plural = _("persons")
        # Every index slows every insert (a 100,000-row import): the foreign keys have their
        # own, name_key look-ups use the (name_key, birth_date) one.
        indexes = [
            models.Index(fields=["organisation", "review_status"], name="people_person_org_status"),
            models.Index(fields=["review_status", "id"], name="people_person_status_id"),
            models.Index(fields=["name_key", "birth_date"], name="people_person_name_birth"),
            models.Index(fields=["last_confirmed_on"], name="people_person_confirmed"),
            models.Index(fields=["phone_index"], name="people_person_phone_index"),
            models.Index(
                fields=["merged_into"],
                condition=models.Q(merged_into__isnull=False),
                name="people_person_merged_into",
            ),
        ]
        constraints = [
            models.UniqueConstraint(fields=["id_index"], name="people_person_id_index_unique"),
            models.CheckConstraint(
                condition=~models.Q(name=""),
                name="people_person_name_not_empty",
            ),
            models.CheckConstraint(
                condition=models.Q(review_level__lte=2),
                name="people_person_review_level_range",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def employer_name(self) -> str:
        return self.employer.name if self.employer_id else self.employer_text

    def is_stale(self, today: dt.date) -> bool:
        return self.last_confirmed_on is None or self.last_confirmed_on < _months_before(
            today, STALE_AFTER_MONTHS
        )

    def needs_confirmation(self, today: dt.date) -> bool:
        return self.last_confirmed_on is None or self.last_confirmed_on < _months_before(
            today, CONFIRM_AFTER_MONTHS
        )


class PersonReview(models.Model):
    """One step of a record's review: who decided what, at which level, and why."""

    person = models.ForeignKey(
        Person,
        verbose_name=_("person"),
        on_delete=models.CASCADE,
        related_name="reviews",
    )
    decision = models.CharField(
        verbose_name=_("decision"),
        max_length=12,
        choices=ReviewDecision.choices,
    )
    level = models.PositiveSmallIntegerField(
        verbose_name=_("level"),
    )
    reviewer = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("reviewer"),
        on_delete=models.SET_NULL,
        related_name="+",
        null=True,
        blank=True,
    )
    reason = models.CharField(
        verbose_name=_("reason"),
        max_length=300,
        blank=True,
    )
    status_after = models.CharField(
        verbose_name=_("status after"),
        max_length=20,
        choices=ReviewStatus.choices,
    )
    created_at = models.DateTimeField(
        verbose_name=_("at"),
        auto_now_add=True,
    )

    class Meta:
        ordering = ["person", "id"]
        verbose_name = _("review step")
        verbose_name_plural = _("review steps")

    def __str__(self) -> str:
        return f"{self.person_id}: {self.decision} ({self.level})"


class PersonContact(models.Model):
    """常态化联系: one contact with a worker (date, channel, who, topic)."""

    person = models.ForeignKey(
        Person,
        verbose_name=_("person"),
        on_delete=models.CASCADE,
        related_name="contacts",
    )
    on_date = models.DateField(
        verbose_name=_("date"),
    )
    channel = models.CharField(
        verbose_name=_("channel"),
        max_length=12,
        choices=ContactChannel.choices,
    )
    contacted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("contacted by"),
        on_delete=models.SET_NULL,
        related_name="+",
        null=True,
        blank=True,
    )
    topic = models.CharField(
        verbose_name=_("topic"),
        max_length=300,
    )
    created_at = models.DateTimeField(
        verbose_name=_("recorded at"),
        auto_now_add=True,
    )

    class Meta:
        ordering = ["person", "-on_date", "-id"]
        verbose_name = _("contact")
        verbose_name_plural = _("contacts")

    def __str__(self) -> str:
        return f"{self.on_date} {self.get_channel_display()}"


class Consent(models.Model):
    """A consent given at self-registration (PI-02, PI-03, PI-04): which notice, when, where."""

    person = models.ForeignKey(
        Person,
        verbose_name=_("person"),
        on_delete=models.CASCADE,
        related_name="consents",
    )
    kind = models.CharField(
        verbose_name=_("kind"),
        max_length=12,
        choices=ConsentKind.choices,
    )
    notice_version = models.CharField(
        verbose_name=_("notice version"),
        max_length=20,
    )
    given_at = models.DateTimeField(
        verbose_name=_("given at"),
    )
    ip_address = models.GenericIPAddressField(
        verbose_name=_("IP address"),
        null=True,
        blank=True,
    )
    withdrawn_at = models.DateTimeField(
        verbose_name=_("withdrawn at"),
        null=True,
        blank=True,
    )

    class Meta:
        ordering = ["person", "id"]
        verbose_name = _("consent")
        verbose_name_plural = _("consents")

    def __str__(self) -> str:
        return f"{self.kind} {self.notice_version}"


class RegistrationTarget(models.Model):
    """The number of verified registrations an association should reach in a year."""

    organisation = models.ForeignKey(
        Organisation,
        verbose_name=_("organisation"),
        on_delete=models.PROTECT,
        related_name="registration_targets",
    )
    year = models.PositiveSmallIntegerField(
        verbose_name=_("year"),
    )
    target = models.PositiveIntegerField(
        verbose_name=_("target"),
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
        ordering = ["year", "organisation"]
        verbose_name = _("registration target")
        verbose_name_plural = _("registration targets")
        constraints = [
            models.UniqueConstraint(
                fields=["organisation", "year"],
                name="people_registrationtarget_one_per_org_year",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.organisation_id} {self.year}: {self.target}"


class DuplicateCandidate(models.Model):
    """Two records that may be the same human being, waiting for a decision."""

    first = models.ForeignKey(
        Person,
        verbose_name=_("first record"),
        on_delete=models.CASCADE,
        related_name="+",
    )
    second = models.ForeignKey(
        Person,
        verbose_name=_("second record"),
        on_delete=models.CASCADE,
        related_name="+",
    )
    reason = models.CharField(
        verbose_name=_("reason"),
        max_length=24,
        choices=DuplicateReason.choices,
    )
    certainty = models.CharField(
        verbose_name=_("certainty"),
        max_length=12,
        choices=DuplicateCertainty.choices,
    )
    status = models.CharField(
        verbose_name=_("status"),
        max_length=12,
        choices=DuplicateStatus.choices,
        default=DuplicateStatus.OPEN,
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("decided by"),
        on_delete=models.SET_NULL,
        related_name="+",
        null=True,
        blank=True,
    )
    decided_at = models.DateTimeField(
        verbose_name=_("decided at"),
        null=True,
        blank=True,
    )
    created_at = models.DateTimeField(
        verbose_name=_("found at"),
        auto_now_add=True,
    )

    class Meta:
        ordering = ["status", "certainty", "-id"]
        verbose_name = _("duplicate candidate")
        verbose_name_plural = _("duplicate candidates")
        constraints = [
            models.UniqueConstraint(
                fields=["first", "second"],
                name="people_duplicatecandidate_one_per_pair",
            ),
            models.CheckConstraint(
                condition=models.Q(first__lt=models.F("second")),
                name="people_duplicatecandidate_ordered_pair",
            ),
        ]
        indexes = [
            models.Index(fields=["status", "certainty"], name="people_dup_status"),
        ]

    def __str__(self) -> str:
        return f"{self.first_id} ~ {self.second_id} ({self.reason})"


class MergeLog(models.Model):
    """A merge of ``merged`` into ``kept``: what changed, so that it can be undone.

    ``snapshot`` holds both records' field values before the merge and the related rows moved,
    as encrypted JSON (it contains the ID number and phone).
    """

    kept = models.ForeignKey(
        Person,
        verbose_name=_("kept record"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    merged = models.ForeignKey(
        Person,
        verbose_name=_("merged record"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    snapshot = EncryptedTextField(
        verbose_name=_("snapshot before the merge"),
    )
    merged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("merged by"),
        on_delete=models.SET_NULL,
        related_name="+",
        null=True,
    )
    merged_at = models.DateTimeField(
        verbose_name=_("merged at"),
        auto_now_add=True,
    )
    undone_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("undone by"),
        on_delete=models.SET_NULL,
        related_name="+",
        null=True,
        blank=True,
    )
    undone_at = models.DateTimeField(
        verbose_name=_("undone at"),
        null=True,
        blank=True,
    )

    class Meta:
        ordering = ["-id"]
        verbose_name = _("merge")
        verbose_name_plural = _("merges")

    def __str__(self) -> str:
        return f"{self.merged_id} → {self.kept_id}"


class SubjectRequest(models.Model):
    """A data-subject request (PI-08): see, correct, withdraw consent, delete."""

    person = models.ForeignKey(
        Person,
        verbose_name=_("person"),
        on_delete=models.SET_NULL,
        related_name="subject_requests",
        null=True,
        blank=True,
    )
    organisation = models.ForeignKey(
        Organisation,
        verbose_name=_("responsible organisation"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    kind = models.CharField(
        verbose_name=_("kind"),
        max_length=12,
        choices=SubjectRequestKind.choices,
    )
    channel = models.CharField(
        verbose_name=_("channel"),
        max_length=8,
        choices=RequestChannel.choices,
    )
    details = EncryptedTextField(
        verbose_name=_("details"),
        blank=True,
    )
    status = models.CharField(
        verbose_name=_("status"),
        max_length=8,
        choices=SubjectRequestStatus.choices,
        default=SubjectRequestStatus.OPEN,
    )
    answer = models.CharField(
        verbose_name=_("answer"),
        max_length=300,
        blank=True,
    )
    handled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("handled by"),
        on_delete=models.SET_NULL,
        related_name="+",
        null=True,
        blank=True,
    )
    handled_at = models.DateTimeField(
        verbose_name=_("handled at"),
        null=True,
        blank=True,
    )
    created_at = models.DateTimeField(
        verbose_name=_("received at"),
        auto_now_add=True,
    )

    class Meta:
        ordering = ["status", "-id"]
        verbose_name = _("data-subject request")
        verbose_name_plural = _("data-subject requests")
        indexes = [
            models.Index(fields=["organisation", "status"], name="people_subjreq_org_status"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} #{self.pk}"


class OneTimeCode(models.Model):
    """A one-time code sent to a phone for self-service (PI-08); only its hash is kept."""

    phone_index = models.CharField(
        verbose_name=_("mobile number blind index"),
        max_length=64,
        db_index=True,
    )
    code_hash = models.CharField(
        verbose_name=_("code hash"),
        max_length=64,
    )
    purpose = models.CharField(
        verbose_name=_("purpose"),
        max_length=16,
    )
    expires_at = models.DateTimeField(
        verbose_name=_("expires at"),
    )
    attempts = models.PositiveSmallIntegerField(
        verbose_name=_("failed attempts"),
        default=0,
    )
    used_at = models.DateTimeField(
        verbose_name=_("used at"),
        null=True,
        blank=True,
    )
    created_at = models.DateTimeField(
        verbose_name=_("created at"),
        auto_now_add=True,
    )

    class Meta:
        ordering = ["-id"]
        verbose_name = _("one-time code")
        verbose_name_plural = _("one-time codes")

    def __str__(self) -> str:
        return f"{self.purpose} #{self.pk}"


class UnmaskedExportRequest(models.Model):
    """AC-09: an export with full ID numbers and phones needs a second person's approval.

    The requester states the filter and the reason; another holder of the export and
    view-sensitive rights over the same scope approves or refuses; an approved request can
    be downloaded once by the requester before it expires.
    """

    STATUS_PENDING = "pending"
    STATUS_APPROVED = "approved"
    STATUS_REFUSED = "refused"
    STATUS_USED = "used"
    STATUS_CHOICES = [
        (STATUS_PENDING, _("Awaiting approval")),
        (STATUS_APPROVED, _("Approved")),
        (STATUS_REFUSED, _("Refused")),
        (STATUS_USED, _("Downloaded")),
    ]

    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("requested by"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    organisation = models.ForeignKey(
        Organisation,
        verbose_name=_("organisation"),
        on_delete=models.PROTECT,
        related_name="+",
        help_text=_("The subtree the export covers."),
    )
    filters = models.JSONField(
        verbose_name=_("filters"),
        default=dict,
        blank=True,
    )
    reason = models.CharField(
        verbose_name=_("reason"),
        max_length=300,
    )
    status = models.CharField(
        verbose_name=_("status"),
        max_length=10,
        choices=STATUS_CHOICES,
        default=STATUS_PENDING,
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("decided by"),
        on_delete=models.SET_NULL,
        related_name="+",
        null=True,
        blank=True,
    )
    decided_at = models.DateTimeField(
        verbose_name=_("decided at"),
        null=True,
        blank=True,
    )
    expires_at = models.DateTimeField(
        verbose_name=_("expires at"),
        null=True,
        blank=True,
    )
    created_at = models.DateTimeField(
        verbose_name=_("requested at"),
        auto_now_add=True,
    )

    class Meta:
        ordering = ["-id"]
        verbose_name = _("unmasked export request")
        verbose_name_plural = _("unmasked export requests")
        constraints = [
            models.CheckConstraint(
                condition=~models.Q(decided_by=models.F("requested_by")),
                name="people_unmaskedexportrequest_second_person",
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.status}"
