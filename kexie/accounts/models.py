"""Logins and the roles that give staff their scope."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.models import AbstractUser, UserManager
from django.db import models
from django.db.models.functions import Lower
from django.utils.translation import gettext_lazy as _

from kexie.core.crypto import EncryptedTextField

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
    password_changed_at = models.DateTimeField(
        verbose_name=_("password changed at"),
        null=True,
        blank=True,
    )
    phone = EncryptedTextField(
        verbose_name=_("mobile phone"),
        blank=True,
        help_text=_("Stored encrypted; shown masked."),
    )
    phone_index = models.CharField(
        verbose_name=_("mobile phone blind index"),
        max_length=64,
        blank=True,
        db_index=True,
        editable=False,
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


class PasswordHistory(models.Model):
    """Earlier password hashes of a user, so that the last five cannot be reused (AUTH-02)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("user"),
        on_delete=models.CASCADE,
        related_name="password_history",
    )
    password = models.CharField(
        verbose_name=_("password hash"),
        max_length=128,
    )
    created_at = models.DateTimeField(
        verbose_name=_("created at"),
        auto_now_add=True,
    )

    class Meta:
        ordering = ["user", "-created_at"]
        verbose_name = _("password history entry")
        verbose_name_plural = _("password history")
        indexes = [models.Index(fields=["user", "-created_at"], name="accounts_pwhist_user")]

    def __str__(self) -> str:
        return f"{self.user} {self.created_at:%Y-%m-%d}"


class RecoveryCode(models.Model):
    """A single-use recovery code for the second factor, stored only as a hash (AUTH-07)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("user"),
        on_delete=models.CASCADE,
        related_name="recovery_codes",
    )
    code_hash = models.CharField(
        verbose_name=_("code hash"),
        max_length=128,
    )
    created_at = models.DateTimeField(
        verbose_name=_("created at"),
        auto_now_add=True,
    )
    used_at = models.DateTimeField(
        verbose_name=_("used at"),
        null=True,
        blank=True,
    )

    class Meta:
        ordering = ["user", "created_at"]
        verbose_name = _("recovery code")
        verbose_name_plural = _("recovery codes")

    def __str__(self) -> str:
        return f"{self.user} recovery code"


class UserSession(models.Model):
    """A login session a person can see and end (SES-05); the key is kept only as a hash."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("user"),
        on_delete=models.CASCADE,
        related_name="sessions",
    )
    session_key_hash = models.CharField(
        verbose_name=_("session key hash"),
        max_length=64,
        unique=True,
    )
    created_at = models.DateTimeField(
        verbose_name=_("started at"),
        auto_now_add=True,
    )
    last_seen = models.DateTimeField(
        verbose_name=_("last seen"),
    )
    ip_address = models.GenericIPAddressField(
        verbose_name=_("IP address"),
        null=True,
        blank=True,
    )
    user_agent = models.CharField(
        verbose_name=_("browser"),
        max_length=255,
        blank=True,
    )
    ended_at = models.DateTimeField(
        verbose_name=_("ended at"),
        null=True,
        blank=True,
    )

    class Meta:
        ordering = ["user", "-last_seen"]
        verbose_name = _("login session")
        verbose_name_plural = _("login sessions")
        indexes = [models.Index(fields=["user", "-last_seen"], name="accounts_session_user")]

    def __str__(self) -> str:
        return f"{self.user} {self.created_at:%Y-%m-%d %H:%M}"
