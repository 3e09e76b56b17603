"""Re-encrypt every encrypted field under the active key (PI-06 key rotation).

Procedure (docs/operations.md):
1. Put the new key first in ``KEXIE_FIELD_KEYS`` and keep the old ones after it
   (``k2:<new>,k1:<old>``); restart. New writes use k2, old values still decrypt.
2. ``manage.py rotate_field_keys --dry-run`` shows what is left, then ``manage.py
   rotate_field_keys`` re-encrypts it. Batches commit one by one, so an interrupted run is
   simply started again: it only picks values not yet under the active key.
3. When a run reports nothing left and no failures, drop the old key from ``KEXIE_FIELD_KEYS``.
"""

from __future__ import annotations

from django.apps import apps
from django.core.management.base import BaseCommand, CommandError
from django.db import models, transaction
from django.db.models.functions import Cast

from kexie.core.audit import audit_log
from kexie.core.crypto import DecryptionError, EncryptedTextField, active_key_id, decrypt


def encrypted_fields() -> list[tuple[type[models.Model], EncryptedTextField]]:
    """Every concrete ``EncryptedTextField`` of every installed model, each column once."""
    found = []
    for model in apps.get_models():
        opts = model._meta
        if opts.proxy or not opts.managed:
            continue
        for field in opts.local_concrete_fields:
            if isinstance(field, EncryptedTextField):
                found.append((model, field))
    return found


def _raw(model: type[models.Model], field: EncryptedTextField) -> models.QuerySet:
    """The model's rows with the stored (still encrypted) text of ``field`` as ``raw``.

    The cast to a plain text column skips the field's ``from_db_value``, so nothing is decrypted
    by the query itself.
    """
    return model._base_manager.annotate(raw=Cast(field.attname, models.TextField()))


def pending(model: type[models.Model], field: EncryptedTextField, key_id: str) -> models.QuerySet:
    """Rows whose value of ``field`` is not encrypted under ``key_id``."""
    return (
        _raw(model, field)
        .exclude(raw__isnull=True)
        .exclude(raw="")
        .exclude(raw__startswith=f"{key_id}$")
    )


class Command(BaseCommand):
    help = (
        "Re-encrypt encrypted fields whose key is not the active one (first in KEXIE_FIELD_KEYS)."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help="Count what would be re-encrypted (and what does not decrypt); change nothing.",
        )
        parser.add_argument(
            "--batch-size",
            type=int,
            default=500,
            help="Rows per transaction (default 500).",
        )

    def handle(self, *args, dry_run: bool = False, batch_size: int = 500, **options) -> None:
        if batch_size < 1:
            raise CommandError("--batch-size must be at least 1.")
        key_id = active_key_id()
        counts: dict[str, dict[str, int]] = {}
        for model, field in encrypted_fields():
            label = f"{model._meta.label}.{field.name}"
            rotated, failed = self._rotate_field(model, field, key_id, batch_size, dry_run)
            remaining = pending(model, field, key_id).count()
            counts[label] = {"rotated": rotated, "failed": failed, "remaining": remaining}
            verb = "would re-encrypt" if dry_run else "re-encrypted"
            self.stdout.write(
                f"{label}: {verb} {rotated}, failed {failed}, not under {key_id}: {remaining}"
            )
        total_failed = sum(c["failed"] for c in counts.values())
        if not dry_run:
            audit_log(
                actor=None,
                event_type="crypto.rotate",
                object_type="crypto.field_key",
                object_id=key_id,
                object_repr=key_id,
                outcome="failure" if total_failed else "success",
                details={"active_key": key_id, "batch_size": batch_size, "fields": counts},
            )
        if total_failed:
            raise CommandError(
                f"{total_failed} value(s) did not decrypt with any configured key; "
                "keep the old keys and investigate before dropping any."
            )
        summary = "Dry run: nothing changed." if dry_run else "Done."
        self.stdout.write(self.style.SUCCESS(summary))

    def _rotate_field(
        self,
        model: type[models.Model],
        field: EncryptedTextField,
        key_id: str,
        batch_size: int,
        dry_run: bool,
    ) -> tuple[int, int]:
        """Walk the pending rows in primary-key order, one transaction per batch."""
        rotated = failed = 0
        last_pk = None
        while True:
            rows = pending(model, field, key_id).order_by("pk")
            if last_pk is not None:
                rows = rows.filter(pk__gt=last_pk)
            batch = list(rows.values_list("pk", "raw")[:batch_size])
            if not batch:
                return rotated, failed
            last_pk = batch[-1][0]
            with transaction.atomic():
                for pk, raw in batch:
                    try:
                        plain = decrypt(raw, aad=field.aad)
                    except DecryptionError:
                        failed += 1
                        continue
                    if dry_run:
                        rotated += 1
                        continue
                    # Only if nobody changed the value meanwhile; update() encrypts under the
                    # active key through the field's get_prep_value.
                    rotated += (
                        _raw(model, field).filter(pk=pk, raw=raw).update(**{field.attname: plain})
                    )
