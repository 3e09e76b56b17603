"""ID numbers and phones of persons: normalisation, blind indexes, what the ID number tells.

The blind index of an ID number is computed over the canonical 18-character form, so a
first-generation 15-digit number and its 18-digit successor are the same person (PI-06).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from kexie.core.crypto import blind_index
from kexie.core.validators import normalise_mobile, validate_id_number, validate_mobile

ID_PURPOSE = "person.id_number"
PHONE_PURPOSE = "person.phone"
MINOR_AGE = 18
GUARDIAN_AGE = 14


def canonical_id_number(raw: str) -> str:
    """The validated 18-character form; raises ``ValidationError`` for a bad number."""
    return validate_id_number(raw).value


def id_index_of(raw: str) -> str:
    return blind_index(canonical_id_number(raw), purpose=ID_PURPOSE)


def phone_index_of(raw: str) -> str:
    return blind_index(normalise_mobile(raw), purpose=PHONE_PURPOSE)


def age_on(birth_date: dt.date, today: dt.date) -> int:
    return (
        today.year
        - birth_date.year
        - ((today.month, today.day) < (birth_date.month, birth_date.day))
    )


@dataclass
class IdentityCheck:
    """The normalised ID number and phone with what follows from them."""

    id_number: str = ""
    phone: str = ""
    birth_date: dt.date | None = None
    gender: str = ""
    errors: dict[str, list[str]] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)

    def add(self, name: str, message: str) -> None:
        self.errors.setdefault(name, []).append(message)


def check_identity(
    *,
    id_number: str,
    phone: str,
    birth_date: dt.date | None,
    gender: str,
    region_lookup=None,
) -> IdentityCheck:
    """Normalise and validate ID number and phone; derive birth date and gender from the ID
    and report when what was typed disagrees with it (a typing error on either side)."""
    result = IdentityCheck(birth_date=birth_date, gender=gender or "")
    if (id_number or "").strip():
        try:
            checked = validate_id_number(id_number, region_lookup=region_lookup)
        except ValidationError as exc:
            result.add("id_number", " ".join(exc.messages))
        else:
            result.id_number = checked.value
            result.warnings.extend(checked.warnings)
            if birth_date and birth_date != checked.birth_date:
                result.add(
                    "birth_date",
                    _("The date of birth does not match the ID number (%(date)s).")
                    % {"date": checked.birth_date.isoformat()},
                )
            if gender in ("1", "2") and gender != checked.gender_code:
                result.add("gender", _("The gender does not match the ID number."))
            result.birth_date = checked.birth_date
            if gender not in ("1", "2"):
                result.gender = checked.gender_code
    if (phone or "").strip():
        try:
            result.phone = validate_mobile(phone)
        except ValidationError as exc:
            result.add("phone", " ".join(exc.messages))
    return result
