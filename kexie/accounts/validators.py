"""Password rules of AUTH-02 that Django does not ship."""

from __future__ import annotations

import re
import string

from django.contrib.auth import password_validation
from django.contrib.auth.hashers import check_password
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from kexie.core.parameters import get_param


class CharacterClassValidator:
    """At least three of: lower-case letters, upper-case letters, digits, other characters."""

    def __init__(self, min_classes: int = 3) -> None:
        self.min_classes = min_classes

    def _classes(self, password: str) -> int:
        return sum(
            [
                any(c in string.ascii_lowercase for c in password),
                any(c in string.ascii_uppercase for c in password),
                any(c.isdigit() for c in password),
                any(not c.isalnum() for c in password),
            ]
        )

    def validate(self, password: str, user=None) -> None:
        if self._classes(password) < self.min_classes:
            raise ValidationError(
                _(
                    "The password must contain at least %(count)d of these: lower-case letters, "
                    "upper-case letters, digits, other characters."
                ),
                code="password_too_simple",
                params={"count": self.min_classes},
            )

    def get_help_text(self) -> str:
        return _(
            "Use at least %(count)d of these: lower-case letters, upper-case letters, digits, "
            "other characters."
        ) % {"count": self.min_classes}


class MinimumLengthValidator(password_validation.MinimumLengthValidator):
    """Django's length rule with the length from ``KEXIE_PASSWORD_MIN_LENGTH`` (AUTH-02)."""

    def __init__(self, min_length: int | None = None) -> None:
        self._min_length = min_length

    @property
    def min_length(self) -> int:
        return self._min_length or get_param("password_min_length")


class PersonalDataValidator:
    """The password must not contain the username or a run of the user's phone digits.

    Six consecutive digits of the phone number are enough to refuse: that is more of the
    number than anyone should have to remember as part of a password.
    """

    min_username_length = 3
    phone_run = 6

    def validate(self, password: str, user=None) -> None:
        if user is None:
            return
        folded = password.casefold()
        username = (user.get_username() or "").casefold()
        if len(username) >= self.min_username_length and username in folded:
            raise ValidationError(
                _("The password must not contain your username."),
                code="password_contains_username",
            )
        phone = re.sub(r"\D", "", str(getattr(user, "phone", "") or ""))
        if len(phone) < self.phone_run:
            return
        password_digits = re.sub(r"\D", "", password)
        runs = {phone[i : i + self.phone_run] for i in range(len(phone) - self.phone_run + 1)}
        if phone in password_digits or any(run in password for run in runs):
            raise ValidationError(
                _("The password must not contain your phone number."),
                code="password_contains_phone",
            )

    def get_help_text(self) -> str:
        return _("Do not use your username or your phone number in the password.")


class PasswordHistoryValidator:
    """Not the current password nor one of the last ``KEXIE_PASSWORD_HISTORY`` (AUTH-02).

    ``user_set_password`` (kexie/accounts/security.py) records a hash every time a password is
    set, and keeps no more of them than this rule needs.
    """

    def __init__(self, history: int | None = None) -> None:
        self._history = history

    @property
    def history(self) -> int:
        return self._history or get_param("password_history_count")

    def validate(self, password: str, user=None) -> None:
        if user is None or user.pk is None or self.history <= 0:
            return
        from .models import PasswordHistory

        earlier = list(
            PasswordHistory.objects.filter(user_id=user.pk)
            .order_by("-created_at", "-pk")
            .values_list("password", flat=True)[: self.history]
        )
        for encoded in [user.password, *earlier]:
            if encoded and check_password(password, encoded):
                raise ValidationError(
                    _("You have used this password recently; choose a new one."),
                    code="password_reused",
                )

    def get_help_text(self) -> str:
        return _("Do not reuse any of your last %(count)d passwords.") % {"count": self.history}
