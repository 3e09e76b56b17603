"""Personal data at rest (PI-06): AES-256-GCM field encryption and HMAC blind indexes.

Keys come from settings (the environment in production), never from the database:
- ``KEXIE_FIELD_KEYS``: ``"k2:<base64 32 bytes>,k1:<base64 32 bytes>"``. The first key encrypts;
  every listed key decrypts, so keys can be rotated (``manage.py rotate_field_keys``).
- ``KEXIE_BLIND_INDEX_KEY``: the HMAC key of the blind indexes (equality look-up, uniqueness).

A stored value reads ``<key id>$<base64(nonce ‖ ciphertext ‖ tag)>``. The associated data binds
a value to its column, so a ciphertext copied into another column does not decrypt.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
from functools import lru_cache

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import models

NONCE_BYTES = 12


class DecryptionError(Exception):
    """A stored value could not be decrypted (unknown key id, tampering, wrong column)."""


def _b64decode(text: str) -> bytes:
    padded = text + "=" * (-len(text) % 4)
    return base64.urlsafe_b64decode(padded.replace("+", "-").replace("/", "_"))


@lru_cache(maxsize=8)
def _parse_keys(spec: str) -> tuple[tuple[str, bytes], ...]:
    keys: list[tuple[str, bytes]] = []
    for part in spec.split(","):
        part = part.strip()
        if not part:
            continue
        key_id, _, material = part.partition(":")
        key = _b64decode(material)
        if not key_id or "$" in key_id or len(key) != 32:
            raise ImproperlyConfigured("KEXIE_FIELD_KEYS must be 'id:base64-of-32-bytes[,id:…]'.")
        keys.append((key_id, key))
    if not keys:
        raise ImproperlyConfigured("KEXIE_FIELD_KEYS is empty.")
    return tuple(keys)


def field_keys() -> tuple[tuple[str, bytes], ...]:
    return _parse_keys(settings.KEXIE_FIELD_KEYS)


def active_key_id() -> str:
    return field_keys()[0][0]


def encrypt(plaintext: str, *, aad: str) -> str:
    key_id, key = field_keys()[0]
    nonce = os.urandom(NONCE_BYTES)
    sealed = AESGCM(key).encrypt(nonce, plaintext.encode("utf-8"), aad.encode("utf-8"))
    return f"{key_id}${base64.urlsafe_b64encode(nonce + sealed).decode('ascii')}"


def key_id_of(token: str) -> str:
    return token.split("$", 1)[0] if "$" in token else ""


def decrypt(token: str, *, aad: str) -> str:
    key_id, _, body = token.partition("$")
    keys = dict(field_keys())
    if key_id not in keys:
        raise DecryptionError(f"unknown key id {key_id!r}")
    raw = _b64decode(body)
    try:
        plain = AESGCM(keys[key_id]).decrypt(
            raw[:NONCE_BYTES], raw[NONCE_BYTES:], aad.encode("utf-8")
        )
    except Exception as exc:  # InvalidTag and malformed input alike
        raise DecryptionError("value does not decrypt") from exc
    return plain.decode("utf-8")


def blind_index(value: str, *, purpose: str) -> str:
    """HMAC-SHA256 of a normalised value; equal inputs give equal indexes, nothing else leaks.

    ``purpose`` separates the index spaces (a phone and an ID number never compare equal).
    """
    key = _b64decode(settings.KEXIE_BLIND_INDEX_KEY)
    message = f"{purpose}\x00{value}".encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()


class EncryptedTextField(models.TextField):
    """A text column stored encrypted. Empty values stay empty (nothing to protect).

    Query only through a blind index column; filtering on this field itself cannot work.
    """

    description = "Text encrypted with AES-256-GCM"

    def contribute_to_class(self, cls, name, *args, **kwargs):
        super().contribute_to_class(cls, name, *args, **kwargs)
        self.aad = f"{cls._meta.app_label}.{cls._meta.model_name}.{name}"

    def from_db_value(self, value, expression, connection):
        if value in (None, ""):
            return value
        return decrypt(value, aad=self.aad)

    def get_prep_value(self, value):
        value = super().get_prep_value(value)
        if value in (None, ""):
            return value
        return encrypt(str(value), aad=self.aad)
