"""Text messages to phones (one-time codes for the self-service pages, PI-08).

``settings.KEXIE_SMS_BACKEND`` names the backend class:

- ``kexie.people.sms.ConsoleBackend`` (development): logs the masked phone and writes the
  message to a file under ``var/sms/``; the full phone number is never logged.
- ``kexie.people.sms.LocmemBackend`` (tests): keeps messages in ``sms.outbox``.

A production backend for the provider's API implements ``send(phone, message)`` the same way.
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.utils import timezone
from django.utils.module_loading import import_string

from kexie.core.masking import mask_phone

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Message:
    phone: str
    text: str


outbox: list[Message] = []


class LocmemBackend:
    """Keeps every message in ``kexie.people.sms.outbox`` (tests)."""

    def send(self, phone: str, text: str) -> None:
        outbox.append(Message(phone=phone, text=text))


class ConsoleBackend:
    """Development: the message goes to a file under ``var/sms/``, the log shows the masked
    phone and the file name."""

    def send(self, phone: str, text: str) -> None:
        directory = Path(getattr(settings, "KEXIE_SMS_DIR", settings.VAR_DIR / "sms"))
        directory.mkdir(parents=True, exist_ok=True)
        stamp = timezone.now().strftime("%Y%m%d-%H%M%S")
        path = directory / f"{stamp}-{secrets.token_hex(3)}.txt"
        path.write_text(f"to: {mask_phone(phone)}\n\n{text}\n", encoding="utf-8")
        logger.info("sms to %s written to %s", mask_phone(phone), path.name)


def send_sms(phone: str, text: str) -> None:
    backend_path = getattr(settings, "KEXIE_SMS_BACKEND", "kexie.people.sms.ConsoleBackend")
    import_string(backend_path)().send(phone, text)
