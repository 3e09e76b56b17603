"""The commit step shared by the import commands (``import_orgs``, ``import_people``).

With a user the import goes through ``import_commit`` (scope checked, undoable from the
pages); without one it is written by a trusted operator through ``import_apply``. Either way a
failure becomes a ``CommandError`` naming the bad row, and nothing is written.
"""

from __future__ import annotations

import os

from django.core.exceptions import ValidationError
from django.core.management.base import CommandError

from kexie.core.choices import ImportStatus
from kexie.core.imports import ImportRowError, format_error, import_apply, import_commit


def commit_for_command(
    *, stdout, user, log, importer, report, path: str, sha256: str, partial: bool = False
) -> dict:
    """Write a checked import; returns the importer's result counts."""
    if user is not None:
        try:
            log = import_commit(user=user, log=log, background=False, partial=partial)
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from exc
        if log.status != ImportStatus.COMMITTED:
            for error in log.errors:
                stdout.write(format_error(error))
            raise CommandError("The import failed; nothing was written.")
        return log.summary.get("result", {})
    try:
        return import_apply(
            user=None,
            importer=importer,
            report=report,
            filename=os.path.basename(path),
            sha256=sha256,
            partial=partial,
        )
    except ImportRowError as exc:
        error = {"row": exc.row, "column": exc.column, "message": exc.message}
        raise CommandError(format_error(error)) from exc
    except ValidationError as exc:
        raise CommandError(" ".join(exc.messages)) from exc
