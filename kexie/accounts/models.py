"""Logins and the roles that give staff their scope."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.models import AbstractUser, UserManager
from django.db import models
from django.db.models.functions import Lower
from django.utils.translation import gettext_lazy as _

from .roles import Role


class KexieUserManager(UserManager):
    def get_by_natural_key(self, username: str | None):
        # AUTH-01: usernames are case-insensitive.
        return self.get(username__iexact=username)


class User(AbstractUser):
    """A login. Staff get their scope from RoleAssignment; nobody is a superuser in production."""

    display_name = models.CharField(
        verbose_name=_("display name"),
        max_length=60,
        blank=True,
    )
    expires_at = models.DateTimeField(
        verbose_name=_("account expires at"),
        null=True,
        blank=True,
    )
    must_change_password = models.BooleanField(
        verbose_name=_("must change password"),
        default=False,
    )

    objects = KexieUserManager()

    class Meta:
        ordering = ["username"]
        verbose_name = _("user")
        verbose_name_plural = _("users")
        constraints = [
            models.UniqueConstraint(
                Lower("username"),
                name="accounts_user_username_ci_unique",
            ),
        ]

    def __str__(self) -> str:
        return self.display_name or self.username


class RoleAssignment(models.Model):
    """``user`` holds ``role`` over ``organisation`` and everything below it."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("user"),
        on_delete=models.CASCADE,
        related_name="role_assignments",
    )
    organisation = models.ForeignKey(
        "orgs.Organisation",
        verbose_name=_("organisation"),
        on_delete=models.PROTECT,
        related_name="role_assignments",
    )
    role = models.CharField(
        verbose_name=_("role"),
        max_length=32,
        choices=Role.choices,
    )
    granted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("granted by"),
        on_delete=models.PROTECT,
        related_name="+",
        null=True,
        blank=True,
    )
    granted_at = models.DateTimeField(
        verbose_name=_("granted at"),
        auto_now_add=True,
    )

    class Meta:
        ordering = ["user", "organisation", "role"]
        verbose_name = _("role assignment")
        verbose_name_plural = _("role assignments")
        constraints = [
            models.UniqueConstraint(
                fields=["user", "organisation", "role"],
                name="accounts_roleassignment_unique",
            ),
        ]
        indexes = [models.Index(fields=["user", "role"], name="accounts_role_user_role")]

    def __str__(self) -> str:
        return f"{self.user} · {self.get_role_display()} · {self.organisation}"
