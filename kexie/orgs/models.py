"""The organisation tree: one tree from 地区科协 down to villages, societies and member units."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from kexie.core.models import Region, TimeStampedModel

from .choices import OrganisationKind, OrganisationStatus
from .tree import PATH_SEGMENT, subtree_q


class OrganisationQuerySet(models.QuerySet["Organisation"]):
    def visible_to(self, user, action: str = "view") -> OrganisationQuerySet:
        """Organisations inside the subtrees where ``user`` holds a role allowing ``action``.

        AC-02: scope comes from the user's role assignments only, never from the request.
        """
        from kexie.accounts.scope import scope_paths

        paths = scope_paths(user, action)
        if not paths:
            return self.none()
        return self.filter(subtree_q(paths))

    def subtree_of(self, organisation: Organisation) -> OrganisationQuerySet:
        return self.filter(subtree_q([organisation.path]))

    def active(self) -> OrganisationQuerySet:
        return self.filter(status=OrganisationStatus.ACTIVE)


class Organisation(TimeStampedModel):
    """An organisation in the 科协 network.

    The position in the tree is a materialised ``path`` of fixed-width digit segments, one per
    level, so that a subtree is one index range scan on SQLite and PostgreSQL alike (see
    ``orgs/tree.py`` and docs/decisions/0002-organisation-tree-path.md). ``parent`` is kept as
    the source of truth for one level; services keep both in step.
    """

    name = models.CharField(
        verbose_name=_("name"),
        max_length=120,
    )
    short_name = models.CharField(
        verbose_name=_("short name"),
        max_length=40,
        blank=True,
    )
    kind = models.CharField(
        verbose_name=_("kind"),
        max_length=32,
        choices=OrganisationKind.choices,
    )
    code = models.CharField(
        verbose_name=_("code"),
        max_length=32,
        unique=True,
        help_text=_("Unique code; an association at a region uses KX + the region code."),
    )
    parent = models.ForeignKey(
        "self",
        verbose_name=_("parent organisation"),
        on_delete=models.PROTECT,
        related_name="children",
        null=True,
        blank=True,
    )
    region = models.ForeignKey(
        Region,
        verbose_name=_("region"),
        on_delete=models.PROTECT,
        related_name="organisations",
    )
    uscc = models.CharField(
        verbose_name=_("unified social credit code"),
        max_length=18,
        blank=True,
    )
    contact_person = models.CharField(
        verbose_name=_("contact person"),
        max_length=40,
        blank=True,
    )
    contact_phone = models.CharField(
        verbose_name=_("office telephone"),
        max_length=32,
        blank=True,
    )
    email = models.EmailField(
        verbose_name=_("email"),
        blank=True,
    )
    address = models.CharField(
        verbose_name=_("address"),
        max_length=200,
        blank=True,
    )
    status = models.CharField(
        verbose_name=_("status"),
        max_length=16,
        choices=OrganisationStatus.choices,
        default=OrganisationStatus.ACTIVE,
    )
    dissolved_on = models.DateField(
        verbose_name=_("dissolved on"),
        null=True,
        blank=True,
    )
    path = models.CharField(
        verbose_name=_("tree path"),
        max_length=255,
        unique=True,
        editable=False,
    )
    depth = models.PositiveSmallIntegerField(
        verbose_name=_("depth"),
        editable=False,
    )
    child_count = models.PositiveIntegerField(
        verbose_name=_("number of children"),
        default=0,
        editable=False,
    )

    objects = OrganisationQuerySet.as_manager()

    class Meta:
        ordering = ["path"]
        verbose_name = _("organisation")
        verbose_name_plural = _("organisations")
        indexes = [
            models.Index(fields=["parent", "name"], name="orgs_org_parent_name"),
            models.Index(fields=["kind", "status"], name="orgs_org_kind_status"),
            models.Index(fields=["region"], name="orgs_org_region"),
            models.Index(fields=["uscc"], name="orgs_org_uscc"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(dissolved_on__isnull=True)
                | models.Q(status=OrganisationStatus.DISSOLVED),
                name="orgs_organisation_dissolved_date_only_when_dissolved",
            ),
            models.CheckConstraint(
                condition=~models.Q(code=""),
                name="orgs_organisation_code_not_empty",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_active(self) -> bool:
        return self.status == OrganisationStatus.ACTIVE

    def ancestor_paths(self) -> list[str]:
        """Paths of this organisation's ancestors, root first (no query)."""
        n = len(self.path) // PATH_SEGMENT
        return [self.path[: PATH_SEGMENT * i] for i in range(1, n)]
