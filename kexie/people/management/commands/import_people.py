"""Check and import persons from an .xlsx file on the command line.

    manage.py import_people FILE.xlsx --org CODE                 check only; prints bad rows
    manage.py import_people FILE.xlsx --org CODE --commit        write all rows (or none)
    manage.py import_people FILE.xlsx --org CODE --commit --valid-rows   only the valid rows
    manage.py import_people FILE.xlsx --commit --user U          as user U (scope, undoable)
    manage.py import_people --template FILE.xlsx                 write the empty template

``--org`` is the organisation imported for: rows without a township belong to it, and rows
whose township lies outside its subtree are bad rows. Without ``--user`` the operator is
trusted (actor None); such an import is audited but keeps no import log and cannot be undone
from the pages. Exits non-zero when there are bad rows (unless ``--valid-rows`` wrote the rest).
"""

from __future__ import annotations

import os
from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files import File
from django.core.management.base import BaseCommand, CommandError

from kexie.core.imports import (
    format_error,
    import_check,
    import_validate,
)
from kexie.core.management.import_commit import commit_for_command
from kexie.core.parameters import max_upload_bytes
from kexie.core.xlsx import check_xlsx_upload, file_sha256
from kexie.orgs.models import Organisation
from kexie.people.importers import PersonImporter


class Command(BaseCommand):
    help = "Check an .xlsx file of persons and, with --commit, import its rows."

    def add_arguments(self, parser) -> None:
        parser.add_argument("file", nargs="?", help="The .xlsx file to check or import.")
        parser.add_argument("--org", help="Code of the organisation imported for.")
        parser.add_argument("--commit", action="store_true", help="Write the rows.")
        parser.add_argument(
            "--valid-rows",
            action="store_true",
            help="With --commit: write the valid rows even when some rows are bad.",
        )
        parser.add_argument("--user", help="Import as this user (scope and rights apply).")
        parser.add_argument("--template", metavar="FILE", help="Write the template and exit.")

    def handle(self, *args, **options) -> None:
        if options["template"]:
            Path(options["template"]).write_bytes(PersonImporter().template_bytes())
            self.stdout.write(f"template: {options['template']}")
            return
        path = options["file"]
        if not path:
            raise CommandError("Give the .xlsx file to import, or --template FILE.")
        if not os.path.isfile(path):
            raise CommandError(f"No such file: {path}")
        org = None
        if options["org"]:
            org = Organisation.objects.filter(code=options["org"].strip().upper()).first()
            if org is None:
                raise CommandError(f"No organisation with the code {options['org']!r}.")
        user = self._user(options["user"])
        if user is None and org is None:
            raise CommandError("Give --org CODE (or --user U).")
        importer = PersonImporter(default_organisation=org)
        partial = options["valid_rows"]
        with open(path, "rb") as handle:
            try:
                log, sha256 = None, ""
                if user is not None:
                    log = import_validate(
                        user=user,
                        importer=importer,
                        upload=File(handle, name=os.path.basename(path)),
                    )
                    errors, counts, rows = log.errors, log.summary.get("planned", {}), log.row_count
                    report = None
                else:
                    check_xlsx_upload(handle, max_bytes=max_upload_bytes())
                    sha256 = file_sha256(handle)
                    report = import_check(user=None, importer=importer, fileobj=handle)
                    errors, counts, rows = report.errors, report.counts, report.row_count
            except ValidationError as exc:
                raise CommandError(" ".join(exc.messages)) from exc
            except PermissionDenied as exc:
                raise CommandError(f"{user} may not import persons.") from exc
        for error in errors:
            self.stdout.write(format_error(error))
        bad = len({error["row"] for error in errors})
        self.stdout.write(self._counts("checked", rows, counts) + f", {bad} bad")
        if errors and not (options["commit"] and partial):
            raise CommandError(f"{bad} bad row(s) in {rows} row(s); nothing was written.")
        if not options["commit"]:
            return
        result = commit_for_command(
            stdout=self.stdout,
            user=user,
            log=log,
            importer=importer,
            report=report,
            path=path,
            sha256=sha256,
            partial=partial,
        )
        self.stdout.write(self._counts("imported", rows, result))
        if errors:
            raise CommandError(f"{bad} bad row(s) were skipped.")

    @staticmethod
    def _user(username: str | None):
        if not username:
            return None
        model = get_user_model()
        try:
            return model.objects.get(username__iexact=username, is_active=True)
        except model.DoesNotExist:
            raise CommandError(f"No active user {username!r}.") from None

    @staticmethod
    def _counts(verb: str, rows: int, counts: dict) -> str:
        return (
            f"{verb}: {rows} row(s); {counts.get('create', 0)} new, "
            f"{counts.get('unchanged', 0)} unchanged"
        )
