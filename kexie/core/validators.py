"""Validation of Chinese identifiers: ID numbers (GB 11643), mobile numbers and unified social
credit codes (GB 32100 with the embedded GB 11714 organisation code).

Everything here is pure (no database access): the region check of an ID number takes an
optional look-up callable so that imports can pass a preloaded dictionary and forms can pass
``core.codetables.region_by_code``. Errors are ``ValidationError`` with a ``code`` and a
translatable message, so forms, imports and services report them the same way.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

# --- ID numbers (GB 11643) ------------------------------------------------------------------

ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
ID_CHECK_CHARS = "10X98765432"
ID_EARLIEST_BIRTH = dt.date(1900, 1, 1)

_ID18_RE = re.compile(r"^\d{17}[\dX]$")
_ID15_RE = re.compile(r"^\d{15}$")


class RegionLike(Protocol):
    """What the region check needs from a region: ``core.models.Region`` satisfies it."""

    def is_valid_in(self, year: int) -> bool: ...


RegionLookup = Callable[[str], RegionLike | None]


@dataclass(frozen=True)
class IdNumberResult:
    """A validated ID number and what it tells; ``warnings`` do not make it invalid."""

    value: str
    birth_date: dt.date
    gender_code: str
    warnings: list[str] = field(default_factory=list)


def normalise_id_number(raw: str) -> str:
    """Canonical form of a typed or pasted ID number.

    NFKC turns full-width digits and ``Ｘ`` into ASCII, all whitespace (including the
    ideographic space U+3000 and non-breaking spaces from spreadsheets) is dropped, and a
    lowercase ``x`` becomes ``X`` because both are written by hand for the same check value.
    """
    text = unicodedata.normalize("NFKC", raw or "")
    return "".join(text.split()).upper()


def id_check_char(first17: str) -> str:
    """The GB 11643 check character (ISO 7064 MOD 11-2) of the first 17 digits."""
    if len(first17) != 17 or not first17.isascii() or not first17.isdigit():
        raise ValueError("id_check_char needs exactly 17 ASCII digits")
    total = sum(int(digit) * weight for digit, weight in zip(first17, ID_WEIGHTS, strict=True))
    return ID_CHECK_CHARS[total % 11]


def convert_15_to_18(id15: str) -> str:
    """Convert a first-generation 15-digit number: insert ``19`` before the year, add a check.

    First-generation numbers were issued from 1984 to 1999 to people born in the 1900s only,
    so the century is always 19.
    """
    value = normalise_id_number(id15)
    if not _ID15_RE.match(value):
        raise ValueError("convert_15_to_18 needs exactly 15 digits")
    first17 = f"{value[:6]}19{value[6:]}"
    return first17 + id_check_char(first17)


def _birth_date(value: str) -> dt.date:
    year, month, day = value[6:10], value[10:12], value[12:14]
    try:
        birth = dt.date(int(year), int(month), int(day))
    except ValueError:
        raise ValidationError(
            _("The birth date %(date)s in the ID number does not exist."),
            code="id_bad_date",
            params={"date": f"{year}-{month}-{day}"},
        ) from None
    if birth < ID_EARLIEST_BIRTH:
        raise ValidationError(
            _("The birth date %(date)s in the ID number is before 1900."),
            code="id_date_too_early",
            params={"date": birth.isoformat()},
        )
    if birth > timezone.localdate():
        raise ValidationError(
            _("The birth date %(date)s in the ID number is in the future."),
            code="id_date_in_future",
            params={"date": birth.isoformat()},
        )
    return birth


def _region_warnings(
    value: str, birth_date: dt.date, region_lookup: RegionLookup | None
) -> list[str]:
    """Warn, never reject: a code valid at issue time stays in the number for life (沙湾县
    654223 for people born before 2021), and the local table does not hold every county."""
    if region_lookup is None:
        return []
    code = value[:6]
    region = region_lookup(code)
    if region is None:
        return [
            gettext(
                "The address code %(code)s is not in the region table; check the first six digits."
            )
            % {"code": code}
        ]
    if not region.is_valid_in(birth_date.year):
        return [
            gettext("The address code %(code)s was not in use in %(year)s, the year of birth.")
            % {"code": code, "year": birth_date.year}
        ]
    return []


def validate_id_number(raw: str, *, region_lookup: RegionLookup | None = None) -> IdNumberResult:
    """Validate and normalise an ID number; 15-digit numbers come back converted to 18.

    Order of checks: shape, birth date, check character — so the message names the first
    thing a person can see is wrong. The address code only produces warnings.
    """
    value = normalise_id_number(raw)
    if len(value) not in (15, 18):
        raise ValidationError(
            _(
                "An ID number has 18 characters (old numbers have 15 digits); "
                "this one has %(length)d."
            ),
            code="id_length",
            params={"length": len(value)},
        )
    pattern = _ID15_RE if len(value) == 15 else _ID18_RE
    if not value.isascii() or not pattern.match(value):
        raise ValidationError(
            _("An ID number consists of digits; only the last character may be X."),
            code="id_characters",
        )
    if len(value) == 15:
        value = f"{value[:6]}19{value[6:]}"
        birth = _birth_date(value)
        value = value + id_check_char(value)
    else:
        birth = _birth_date(value)
        expected = id_check_char(value[:17])
        if value[17] != expected:
            raise ValidationError(
                _("The check character is wrong: expected %(expected)s."),
                code="id_checksum",
                params={"expected": expected},
            )
    gender_code = "1" if int(value[16]) % 2 == 1 else "2"
    return IdNumberResult(
        value=value,
        birth_date=birth,
        gender_code=gender_code,
        warnings=_region_warnings(value, birth, region_lookup),
    )


# --- Mobile numbers --------------------------------------------------------------------------

_MOBILE_RE = re.compile(r"^1[3-9]\d{9}$")
_MOBILE_SEPARATORS = re.compile(r"[\s\-]+")


def normalise_mobile(raw: str) -> str:
    """Canonical 11-digit form: NFKC, no spaces or hyphens, no +86 / 0086 prefix.

    Numbers arrive as ``138-1234-5678``, ``+86 138 1234 5678`` or with full-width digits from
    Chinese input methods; all denote the same phone.
    """
    text = unicodedata.normalize("NFKC", raw or "")
    text = _MOBILE_SEPARATORS.sub("", text)
    for prefix in ("+86", "0086"):
        if text.startswith(prefix):
            return text[len(prefix) :]
    return text


def validate_mobile(raw: str) -> str:
    """Return the normalised mainland mobile number or raise ``ValidationError``."""
    value = normalise_mobile(raw)
    if not value.isascii() or not _MOBILE_RE.match(value):
        raise ValidationError(
            _("Enter a mainland mobile number: 11 digits starting with 13 to 19."),
            code="invalid_mobile",
        )
    return value


# --- Unified social credit codes (GB 32100) and organisation codes (GB 11714) ----------------

USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
USCC_WEIGHTS = tuple(pow(3, i, 31) for i in range(17))
ORG_CODE_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)
_USCC_VALUES = {char: index for index, char in enumerate(USCC_ALPHABET)}


def normalise_uscc(raw: str) -> str:
    """Canonical form of a credit code: NFKC, no whitespace, upper case."""
    text = unicodedata.normalize("NFKC", raw or "")
    return "".join(text.split()).upper()


def uscc_check_char(first17: str) -> str:
    """The GB 32100 check character of the first 17 characters (mod 31)."""
    if len(first17) != 17 or any(char not in _USCC_VALUES for char in first17):
        raise ValueError("uscc_check_char needs 17 characters of the GB 32100 alphabet")
    total = sum(
        _USCC_VALUES[char] * weight for char, weight in zip(first17, USCC_WEIGHTS, strict=True)
    )
    return USCC_ALPHABET[(31 - total % 31) % 31]


def _org_code_value(char: str) -> int:
    """GB 11714 value of a body character: digits 0-9, letters A=10 … Z=35."""
    if char.isdigit():
        return int(char)
    return ord(char) - ord("A") + 10


def org_code_check_char(body8: str) -> str:
    """The GB 11714 check character of an 8-character organisation code body (mod 11)."""
    if len(body8) != 8 or any(not ("0" <= char <= "9" or "A" <= char <= "Z") for char in body8):
        raise ValueError("org_code_check_char needs 8 digits or upper-case letters")
    total = sum(
        _org_code_value(char) * weight for char, weight in zip(body8, ORG_CODE_WEIGHTS, strict=True)
    )
    check = 11 - total % 11
    if check == 10:
        return "X"
    if check == 11:
        return "0"
    return str(check)


def validate_uscc(raw: str) -> str:
    """Return the normalised unified social credit code or raise ``ValidationError``.

    The registration authority and category (positions 1–2) are not checked against a list:
    the list grows (``N`` 农业, ``Y`` 其他 …) and a code with a correct checksum is real.
    """
    value = normalise_uscc(raw)
    if len(value) != 18:
        raise ValidationError(
            _("A unified social credit code has 18 characters; this one has %(length)d."),
            code="uscc_length",
            params={"length": len(value)},
        )
    for char in value:
        if char not in _USCC_VALUES:
            raise ValidationError(
                _(
                    "The character %(char)s cannot occur in a unified social credit code "
                    "(I, O, S, V and Z are never used)."
                ),
                code="uscc_characters",
                params={"char": char},
            )
    if not value[2:8].isdigit():
        raise ValidationError(
            _("Characters 3 to 8 of a unified social credit code are the region code (digits)."),
            code="uscc_region",
        )
    expected = uscc_check_char(value[:17])
    if value[17] != expected:
        raise ValidationError(
            _("The check character is wrong: expected %(expected)s."),
            code="uscc_checksum",
            params={"expected": expected},
        )
    expected_org = org_code_check_char(value[8:16])
    if value[16] != expected_org:
        raise ValidationError(
            _(
                "The organisation code (characters 9 to 17) fails its own check: "
                "character 17 should be %(expected)s."
            ),
            code="uscc_org_checksum",
            params={"expected": expected_org},
        )
    return value


# --- Field validators ------------------------------------------------------------------------


def id_number_validator(value: str) -> None:
    """For ``validators=[...]``: rejects invalid ID numbers; region warnings are not shown."""
    validate_id_number(value)


def mobile_validator(value: str) -> None:
    """For ``validators=[...]`` on mobile number fields."""
    validate_mobile(value)


def uscc_validator(value: str) -> None:
    """For ``validators=[...]`` on unified social credit code fields."""
    validate_uscc(value)


__all__ = [
    "IdNumberResult",
    "convert_15_to_18",
    "id_check_char",
    "id_number_validator",
    "mobile_validator",
    "normalise_id_number",
    "normalise_mobile",
    "normalise_uscc",
    "org_code_check_char",
    "uscc_check_char",
    "uscc_validator",
    "validate_id_number",
    "validate_mobile",
    "validate_uscc",
]
