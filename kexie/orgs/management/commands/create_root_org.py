"""Create the top of the tree on a new deployment: the prefecture association.

Every other organisation can then be created on the pages or imported with ``import_orgs``.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from kexie.core.models import Region
from kexie.orgs.models import Organisation
from kexie.orgs.services import association_code, organisation_create


class Command(BaseCommand):
    help = "Create the prefecture association at the top of the organisation tree."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--region", required=True, help="prefecture region code, e.g. 654200")
        parser.add_argument("--name", required=True, help="full name, e.g. 塔城地区科学技术协会")
        parser.add_argument("--short-name", default="")

    def handle(self, *args, region: str, name: str, short_name: str, **options) -> None:
        region_obj = Region.objects.filter(code=region.strip(), level="prefecture").first()
        if region_obj is None:
            raise CommandError(
                f"No prefecture region {region!r}; run `manage.py sync_code_tables` first."
            )
        existing = Organisation.objects.filter(parent__isnull=True).first()
        if existing is not None:
            self.stdout.write(f"The tree already has its top: {existing.code} {existing.name}.")
            return
        try:
            org = organisation_create(
                actor=None,
                parent=None,
                name=name,
                short_name=short_name,
                kind="prefecture_association",
                code=association_code(region_obj),
                region=region_obj,
            )
        except ValidationError as exc:
            raise CommandError("; ".join(exc.messages)) from exc
        self.stdout.write(f"Created {org.code} {org.name}.")
