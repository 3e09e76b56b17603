"""Shared models: code tables, regions, background jobs, import logs and the audit event."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .choices import (
    AuditOutcome,
    CodeTable,
    ImportStatus,
    JobStatus,
    RegionLevel,
    TitleLevel,
    TownshipKind,
)


class TimeStampedModel(models.Model):
    """Adds creation and modification times (UTC) to a model."""

    created_at = models.DateTimeField(
        verbose_name=_("created at"),
        auto_now_add=True,
    )
    updated_at = models.DateTimeField(
        verbose_name=_("updated at"),
        auto_now=True,
    )

    class Meta:
        abstract = True


class CodeTableVersion(models.Model):
    """Which edition of a national or local code table is loaded, and where it came from."""

    table = models.CharField(
        verbose_name=_("code table"),
        max_length=32,
        unique=True,
    )
    source = models.CharField(
        verbose_name=_("source"),
        max_length=255,
    )
    edition = models.CharField(
        verbose_name=_("edition"),
        max_length=64,
    )
    source_date = models.DateField(
        verbose_name=_("source date"),
    )
    row_count = models.PositiveIntegerField(
        verbose_name=_("rows"),
        default=0,
    )
    loaded_at = models.DateTimeField(
        verbose_name=_("loaded at"),
        auto_now=True,
    )

    class Meta:
        ordering = ["table"]
        verbose_name = _("code table version")
        verbose_name_plural = _("code table versions")

    def __str__(self) -> str:
        return f"{self.table} {self.edition}"


class Region(models.Model):
    """An administrative division: GB/T 2260 county codes, 12-digit statistical township codes.

    Codes are never reused for another place; a code that went out of use keeps its row with
    ``valid_to`` and ``replaced_by`` (沙湾县 654223 → 沙湾市 654203 in 2021), because ID numbers
    issued before the change still carry it.
    """

    code = models.CharField(
        verbose_name=_("code"),
        max_length=12,
        unique=True,
    )
    name = models.CharField(
        verbose_name=_("name"),
        max_length=64,
    )
    level = models.CharField(
        verbose_name=_("level"),
        max_length=16,
        choices=RegionLevel.choices,
    )
    parent = models.ForeignKey(
        "self",
        verbose_name=_("parent"),
        on_delete=models.PROTECT,
        related_name="children",
        null=True,
        blank=True,
    )
    township_kind = models.CharField(
        verbose_name=_("township kind"),
        max_length=16,
        choices=TownshipKind.choices,
        blank=True,
    )
    is_xpcc = models.BooleanField(
        verbose_name=_("XPCC (兵团) unit"),
        default=False,
    )
    valid_from = models.PositiveSmallIntegerField(
        verbose_name=_("valid from (year)"),
        null=True,
        blank=True,
    )
    valid_to = models.PositiveSmallIntegerField(
        verbose_name=_("valid until (year, exclusive)"),
        null=True,
        blank=True,
    )
    replaced_by = models.ForeignKey(
        "self",
        verbose_name=_("replaced by"),
        on_delete=models.PROTECT,
        related_name="replaces",
        null=True,
        blank=True,
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

    class Meta:
        ordering = ["code"]
        verbose_name = _("region")
        verbose_name_plural = _("regions")
        indexes = [models.Index(fields=["parent", "code"], name="core_region_parent_code")]

    def __str__(self) -> str:
        return self.name

    def is_valid_in(self, year: int) -> bool:
        """Whether the code was in use during ``year``."""
        if self.valid_from is not None and year < self.valid_from:
            return False
        return not (self.valid_to is not None and year >= self.valid_to)


class CodeEntry(models.Model):
    """One entry of a national code table (gender, ethnic group, education, title …).

    One model for all tables keeps look-ups, imports and pickers uniform; table-specific
    attributes (a title's level, a discipline's category) are explicit columns.
    """

    table = models.CharField(
        verbose_name=_("code table"),
        max_length=32,
        choices=CodeTable.choices,
    )
    code = models.CharField(
        verbose_name=_("code"),
        max_length=16,
    )
    name = models.CharField(
        verbose_name=_("name"),
        max_length=64,
    )
    category = models.CharField(
        verbose_name=_("category"),
        max_length=64,
        blank=True,
        help_text=_("Grouping code or label, e.g. the education level or discipline branch."),
    )
    level = models.CharField(
        verbose_name=_("title level"),
        max_length=20,
        choices=TitleLevel.choices,
        blank=True,
    )
    is_local_extension = models.BooleanField(
        verbose_name=_("local extension"),
        default=False,
        help_text=_("Not in the national standard; added locally."),
    )
    sort_order = models.PositiveIntegerField(
        verbose_name=_("sort order"),
        default=0,
    )
    is_active = models.BooleanField(
        verbose_name=_("active"),
        default=True,
    )

    class Meta:
        ordering = ["table", "sort_order", "code"]
        verbose_name = _("code entry")
        verbose_name_plural = _("code entries")
        constraints = [
            models.UniqueConstraint(fields=["table", "code"], name="core_codeentry_unique_code"),
        ]
        indexes = [
            models.Index(fields=["table", "sort_order", "code"], name="core_codeentry_order"),
        ]

    def __str__(self) -> str:
        return self.name


class WorkerHeartbeat(models.Model):
    """The task worker writes its liveness here; ``/healthz`` reads it."""

    worker_id = models.CharField(
        verbose_name=_("worker id"),
        max_length=64,
        unique=True,
    )
    last_seen = models.DateTimeField(
        verbose_name=_("last seen"),
    )

    class Meta:
        ordering = ["-last_seen"]
        verbose_name = _("worker heartbeat")
        verbose_name_plural = _("worker heartbeats")

    def __str__(self) -> str:
        return self.worker_id


class Job(models.Model):
    """A unit of long work done by the task worker, with progress a page can show."""

    kind = models.CharField(
        verbose_name=_("kind"),
        max_length=64,
    )
    title = models.CharField(
        verbose_name=_("title"),
        max_length=200,
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        on_delete=models.PROTECT,
        related_name="jobs",
    )
    status = models.CharField(
        verbose_name=_("status"),
        max_length=16,
        choices=JobStatus.choices,
        default=JobStatus.QUEUED,
    )
    progress_done = models.PositiveIntegerField(
        verbose_name=_("done"),
        default=0,
    )
    progress_total = models.PositiveIntegerField(
        verbose_name=_("total"),
        default=0,
    )
    message = models.CharField(
        verbose_name=_("message"),
        max_length=500,
        blank=True,
    )
    result_url = models.CharField(
        verbose_name=_("result link"),
        max_length=300,
        blank=True,
    )
    task_id = models.CharField(
        verbose_name=_("task id"),
        max_length=64,
        blank=True,
    )
    created_at = models.DateTimeField(
        verbose_name=_("created at"),
        auto_now_add=True,
    )
    started_at = models.DateTimeField(
        verbose_name=_("started at"),
        null=True,
        blank=True,
    )
    finished_at = models.DateTimeField(
        verbose_name=_("finished at"),
        null=True,
        blank=True,
    )

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("background job")
        verbose_name_plural = _("background jobs")
        indexes = [models.Index(fields=["created_by", "-created_at"], name="core_job_owner")]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(progress_done__lte=models.F("progress_total"))
                | models.Q(progress_total=0),
                name="core_job_progress_bounded",
            ),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def percent(self) -> int:
        if self.status == JobStatus.SUCCEEDED:
            return 100
        if not self.progress_total:
            return 0
        return int(100 * self.progress_done / self.progress_total)

    @property
    def is_finished(self) -> bool:
        return self.status in {JobStatus.SUCCEEDED, JobStatus.FAILED}


class ImportLog(models.Model):
    """One uploaded file through the import framework: its report, what it wrote, and undo data."""

    importer = models.CharField(
        verbose_name=_("importer"),
        max_length=64,
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("uploaded by"),
        on_delete=models.PROTECT,
        related_name="import_logs",
    )
    filename = models.CharField(
        verbose_name=_("file name"),
        max_length=255,
    )
    sha256 = models.CharField(
        verbose_name=_("SHA-256"),
        max_length=64,
    )
    status = models.CharField(
        verbose_name=_("status"),
        max_length=16,
        choices=ImportStatus.choices,
        default=ImportStatus.VALIDATING,
    )
    row_count = models.PositiveIntegerField(
        verbose_name=_("rows"),
        default=0,
    )
    error_count = models.PositiveIntegerField(
        verbose_name=_("bad rows"),
        default=0,
    )
    errors = models.JSONField(
        verbose_name=_("errors"),
        default=list,
        blank=True,
    )
    preview = models.JSONField(
        verbose_name=_("preview"),
        default=list,
        blank=True,
    )
    rows = models.JSONField(
        verbose_name=_("validated rows"),
        default=list,
        blank=True,
        help_text=_("Cleaned values kept between validation and commit; cleared afterwards."),
    )
    summary = models.JSONField(
        verbose_name=_("summary"),
        default=dict,
        blank=True,
    )
    undo_data = models.JSONField(
        verbose_name=_("undo data"),
        default=dict,
        blank=True,
    )
    job = models.ForeignKey(
        Job,
        verbose_name=_("job"),
        on_delete=models.SET_NULL,
        related_name="import_logs",
        null=True,
        blank=True,
    )
    created_at = models.DateTimeField(
        verbose_name=_("created at"),
        auto_now_add=True,
    )
    committed_at = models.DateTimeField(
        verbose_name=_("committed at"),
        null=True,
        blank=True,
    )
    undone_at = models.DateTimeField(
        verbose_name=_("undone at"),
        null=True,
        blank=True,
    )

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("import log")
        verbose_name_plural = _("import logs")
        indexes = [
            models.Index(fields=["created_by", "-created_at"], name="core_importlog_owner"),
            models.Index(fields=["importer", "-created_at"], name="core_importlog_importer"),
        ]

    def __str__(self) -> str:
        return self.filename


class AuditEvent(models.Model):
    """One security-relevant event (AUD-01/02). Written only through ``core.audit.audit_log``.

    Holds field names, never values of personal data (AUD-03).
    """

    occurred_at = models.DateTimeField(
        verbose_name=_("time"),
        default=timezone.now,
        editable=False,
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("user"),
        on_delete=models.PROTECT,
        related_name="audit_events",
        null=True,
        blank=True,
    )
    actor_username = models.CharField(
        verbose_name=_("username"),
        max_length=150,
        blank=True,
    )
    actor_roles = models.CharField(
        verbose_name=_("roles"),
        max_length=255,
        blank=True,
    )
    event_type = models.CharField(
        verbose_name=_("event"),
        max_length=64,
    )
    object_type = models.CharField(
        verbose_name=_("object type"),
        max_length=64,
        blank=True,
    )
    object_id = models.CharField(
        verbose_name=_("object id"),
        max_length=64,
        blank=True,
    )
    object_repr = models.CharField(
        verbose_name=_("object"),
        max_length=255,
        blank=True,
    )
    outcome = models.CharField(
        verbose_name=_("outcome"),
        max_length=16,
        choices=AuditOutcome.choices,
        default=AuditOutcome.SUCCESS,
    )
    reason = models.CharField(
        verbose_name=_("reason"),
        max_length=500,
        blank=True,
    )
    details = models.JSONField(
        verbose_name=_("details"),
        default=dict,
        blank=True,
    )
    ip_address = models.GenericIPAddressField(
        verbose_name=_("IP address"),
        null=True,
        blank=True,
    )
    user_agent = models.CharField(
        verbose_name=_("user agent"),
        max_length=255,
        blank=True,
    )
    request_id = models.CharField(
        verbose_name=_("request id"),
        max_length=64,
        blank=True,
    )
    sequence = models.BigIntegerField(
        verbose_name=_("sequence number"),
        unique=True,
        editable=False,
        help_text=_("Position in the tamper-evident chain; gapless."),
    )
    key_id = models.CharField(
        verbose_name=_("chain key id"),
        max_length=16,
        editable=False,
    )
    prev_hmac = models.CharField(
        verbose_name=_("previous HMAC"),
        max_length=64,
        editable=False,
    )
    hmac = models.CharField(
        verbose_name=_("HMAC"),
        max_length=64,
        editable=False,
    )

    class Meta:
        ordering = ["-occurred_at", "-id"]
        verbose_name = _("audit event")
        verbose_name_plural = _("audit events")
        indexes = [
            models.Index(fields=["-occurred_at", "-id"], name="core_audit_time"),
            models.Index(fields=["event_type", "-occurred_at"], name="core_audit_type"),
            models.Index(fields=["object_type", "object_id"], name="core_audit_object"),
        ]

    def __str__(self) -> str:
        return f"{self.event_type} {self.object_repr}"


class AuditChainAnchor(models.Model):
    """Where the audit chain starts after a retention purge (AUD-05): the sequence and HMAC of
    the newest purged event, so verification of what remains can still begin from a known link.
    """

    sequence = models.BigIntegerField(
        verbose_name=_("last purged sequence number"),
        unique=True,
    )
    hmac = models.CharField(
        verbose_name=_("HMAC of the last purged event"),
        max_length=64,
    )
    created_at = models.DateTimeField(
        verbose_name=_("created at"),
        auto_now_add=True,
    )
    purged_count = models.PositiveIntegerField(
        verbose_name=_("events purged"),
        default=0,
    )

    class Meta:
        ordering = ["-sequence"]
        verbose_name = _("audit chain anchor")
        verbose_name_plural = _("audit chain anchors")

    def __str__(self) -> str:
        return str(self.sequence)


class Parameter(models.Model):
    """A setting changed at run time by an administrator (system or security parameters)."""

    key = models.CharField(
        verbose_name=_("key"),
        max_length=64,
        unique=True,
    )
    category = models.CharField(
        verbose_name=_("category"),
        max_length=16,
        choices=[("system", _("System")), ("security", _("Security"))],
    )
    value = models.JSONField(
        verbose_name=_("value"),
    )
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("updated by"),
        on_delete=models.PROTECT,
        related_name="+",
        null=True,
        blank=True,
    )
    updated_at = models.DateTimeField(
        verbose_name=_("updated at"),
        auto_now=True,
    )

    class Meta:
        ordering = ["category", "key"]
        verbose_name = _("parameter")
        verbose_name_plural = _("parameters")

    def __str__(self) -> str:
        return self.key


__all__ = [
    "AuditChainAnchor",
    "AuditEvent",
    "CodeEntry",
    "CodeTableVersion",
    "ImportLog",
    "Parameter",
    "Job",
    "Region",
    "TimeStampedModel",
    "WorkerHeartbeat",
]
