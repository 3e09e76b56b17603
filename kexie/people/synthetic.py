"""Synthetic persons for tests, the demo and the benchmark (PI-12): recognisably fictional,
realistic in shape (DOMAIN.md §10). Nothing here describes a real person."""

from __future__ import annotations

import datetime as dt

from kexie.core.validators import id_check_char


def make_id_number(region_code: str, birth_date: dt.date, sequence: int, *, male: bool) -> str:
    """A checksum-valid ID number: address code, birth date, sequence (odd male), check."""
    seq = sequence % 500 * 2 + (1 if male else 0)
    first17 = f"{region_code[:6]}{birth_date:%Y%m%d}{seq:03d}"
    return first17 + id_check_char(first17)


def make_mobile(n: int) -> str:
    """A well-formed mobile number in the 199 range with a fixed fictional block."""
    return f"1990991{n % 10000:04d}"
