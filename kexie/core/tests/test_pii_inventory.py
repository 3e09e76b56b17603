"""PI-01: every model field holding personal information is in the inventory (core/pii.py)."""

from __future__ import annotations

import re

from django.apps import apps

from kexie.core.crypto import EncryptedTextField
from kexie.core.pii import PII_INVENTORY

# Field names that hold personal information wherever they occur. A plain ``name`` is left out
# (organisations, regions and code tables have one); a person's name is ``display_name``,
# ``full_name``, ``real_name``, ``contact_person`` … and those are matched.
PII_NAME_RE = re.compile(
    r"phone|mobile|tel(ephone)?$|id_number|id_no$|idcard|id_card|identity|passport"
    r"|e_?mail|ip_address|address|user_agent|username"
    r"|contact_person|first_name|last_name|display_name|full_name|real_name|person_name"
    r"|guardian|birth|ethnic|gender|nationality|political|employer|wechat|qq$",
    re.IGNORECASE,
)


def _all_fields():
    for model in apps.get_models():
        for field in model._meta.local_concrete_fields:
            yield model, field


def _looks_personal(field) -> bool:
    return isinstance(field, EncryptedTextField) or bool(PII_NAME_RE.search(field.name))


def test_every_personal_data_field_is_in_the_inventory():
    # given every concrete field of every installed model
    missing = [
        f"{model._meta.label}.{field.name}"
        for model, field in _all_fields()
        if _looks_personal(field) and f"{model._meta.label}.{field.name}" not in PII_INVENTORY
    ]
    # then each one that looks like personal data has an entry
    assert missing == [], "add these fields to PII_INVENTORY in kexie/core/pii.py"


def test_inventory_entries_name_existing_fields():
    existing = {f"{model._meta.label}.{field.name}" for model, field in _all_fields()}
    assert sorted(set(PII_INVENTORY) - existing) == []


def test_inventory_entries_are_complete():
    for key, entry in PII_INVENTORY.items():
        assert entry["category"] in {"personal", "sensitive", "office", "pseudonymous"}, key
        for part in ("purpose", "retention", "protection"):
            assert entry[part].strip(), f"{key}: {part} is empty"


def test_encrypted_fields_are_documented_as_encrypted():
    for model, field in _all_fields():
        if isinstance(field, EncryptedTextField):
            entry = PII_INVENTORY[f"{model._meta.label}.{field.name}"]
            assert "encrypted" in entry["protection"]


def test_the_detector_recognises_typical_personal_fields():
    # a guard for the guard: names the registry will add must be caught
    for name in ("id_number", "mobile", "guardian_name", "birth_date", "ethnicity", "email"):
        assert PII_NAME_RE.search(name), name
    for name in ("name", "code", "kind", "status", "path"):
        assert not PII_NAME_RE.search(name), name
