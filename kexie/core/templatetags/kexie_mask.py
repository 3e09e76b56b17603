"""Template filters that mask personal data (PI-05): ``{% load kexie_mask %}``.

``{{ user.phone|mask_phone }}``, ``{{ person.id_number|mask_id_number }}``,
``{{ user.email|mask_email }}``, ``{{ person.name|mask_name }}`` or generically
``{{ value|mask:"phone" }}``. The result is plain text and is autoescaped like any other.
"""

from __future__ import annotations

from django import template

from kexie.core import masking

register = template.Library()


@register.filter
def mask_phone(value) -> str:
    return masking.mask_phone(value)


@register.filter
def mask_id_number(value) -> str:
    return masking.mask_id_number(value)


@register.filter
def mask_email(value) -> str:
    return masking.mask_email(value)


@register.filter
def mask_name(value) -> str:
    return masking.mask_name(value)


@register.filter
def mask(value, kind: str) -> str:
    return masking.mask_value(kind, value)
