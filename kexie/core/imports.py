"""The import framework (STYLE.md 13, XLS-01..04): template → upload → validate every row without
writing → preview → commit everything in one transaction through the app's services → undo.

An app describes its sheet with an ``Importer`` subclass (columns, cross-row checks, how rows
are written and undone) and registers it with ``@register_importer``; the functions at the end
of this module (``import_validate``, ``import_commit``, ``import_undo``) are the services the
pages, the command line and the worker call. They keep the ``ImportLog`` and write the audit
events ``import.validate``, ``import.commit`` and ``import.undo``; the business objects' own
events come from the app's services.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import unicodedata
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import IO, Any, ClassVar

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone, translation
from django.utils.module_loading import autodiscover_modules
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from kexie.accounts.roles import Action
from kexie.accounts.scope import has_action

from .audit import audit_log
from .choices import AuditOutcome, ImportStatus
from .jobs import job_create, job_handler, job_recovery
from .models import ImportLog
from .parameters import get_param, max_upload_bytes
from .xlsx import (
    check_xlsx_upload,
    estimate_rows,
    file_sha256,
    read_rows,
    unescape_cell,
    write_xlsx,
)

IMPORT_JOB_KIND = "core.import_commit"
VALIDATE_JOB_KIND = "core.import_validate"
PREVIEW_ROWS = 20

# Row actions decided during validation and shown in the preview.
CREATE = "create"
UPDATE = "update"
UNCHANGED = "unchanged"

ACTION_LABELS = {
    CREATE: _("New"),
    UPDATE: _("Changed"),
    UNCHANGED: _("Unchanged"),
}


# --- Columns -------------------------------------------------------------------------------------


def _normalise_header(text: Any) -> str:
    value = unicodedata.normalize("NFKC", "" if text is None else str(text))
    value = "".join(value.split()).rstrip("*").casefold()
    return value


@dataclass(frozen=True)
class Column:
    """One column of an import sheet.

    ``header`` is a lazy translatable text with an English source; a sheet may use the header
    in any of the site's languages, the ``key`` or one of the ``aliases``. ``parser`` receives
    the cell's text (never empty) and returns the cleaned value or raises ``ValidationError``.
    """

    key: str
    header: Any
    required: bool = False
    max_length: int | None = None
    parser: Callable[[str], Any] | None = None
    example: Any = ""
    help_text: Any = ""
    aliases: tuple[str, ...] = ()

    @property
    def header_text(self) -> str:
        return str(self.header)

    def accepted_headers(self) -> set[str]:
        texts = {self.key, *self.aliases, str(self.header)}
        for code, _name in settings.LANGUAGES:
            with translation.override(code):
                texts.add(str(self.header))
        with translation.override(None):
            texts.add(str(self.header))
        return {_normalise_header(text) for text in texts}


class ImportRowError(Exception):
    """Raised while committing when a row cannot be written; the whole import rolls back."""

    def __init__(self, row: int, message: str, column: str = "") -> None:
        super().__init__(message)
        self.row = row
        self.message = message
        self.column = column


class _NullProgress:
    def total(self, total: int) -> None:
        pass

    def advance(self, done: int, *, force: bool = False) -> None:
        pass


# --- Importer ------------------------------------------------------------------------------------


class Importer:
    """Base class of every importer. Subclasses set ``code``, ``title`` and ``columns`` and
    implement ``validate_rows`` (checks that need the database or several rows),
    ``commit_rows`` and ``undo_rows``.

    Cleaned rows are dictionaries ``{"_row": number, "_action": CREATE | UPDATE | UNCHANGED,
    <key>: value, …}`` holding only the columns present in the file; they are stored as JSON
    between validation and commit, so values must be JSON-serialisable.
    """

    code: ClassVar[str] = ""
    title: ClassVar[Any] = ""
    columns: ClassVar[tuple[Column, ...]] = ()
    unique_columns: ClassVar[tuple[str, ...]] = ()
    notes: ClassVar[tuple[Any, ...]] = ()
    action: ClassVar[str] = Action.IMPORT
    # Whether the user may choose to import only the valid rows of a file with bad rows. Only
    # for importers whose rows do not depend on each other (e.g. persons, not a tree).
    allow_partial: ClassVar[bool] = False

    # --- Description -----------------------------------------------------------------------------

    def column(self, key: str) -> Column:
        for column in self.columns:
            if column.key == key:
                return column
        raise KeyError(key)

    def header_texts(self) -> list[str]:
        return [column.header_text for column in self.columns]

    def template_notes(self) -> list[str]:
        required = "、".join(c.header_text for c in self.columns if c.required)
        notes = [
            gettext("Fill in one row per record below the header row of the first sheet."),
            gettext("Required columns: %(columns)s.") % {"columns": required},
        ]
        for column in self.columns:
            if column.help_text:
                notes.append(f"{column.header_text}: {column.help_text}")
        notes.extend(str(note) for note in self.notes)
        return notes

    def template_bytes(self) -> bytes:
        """An empty sheet with the header row; an example and notes on a second sheet."""
        return write_xlsx(
            self.header_texts(),
            [],
            sheet_title=str(self.title),
            example_row=[column.example for column in self.columns],
            notes=self.template_notes(),
        )

    def display_value(self, column: Column | None, value: Any) -> str:
        """How a value appears in the report and the preview. Override to mask personal data."""
        if value is None:
            return ""
        text = str(value)
        return text if len(text) <= 200 else text[:199] + "…"

    @staticmethod
    def error(row: int, column: Column | None, message: Any, value: str = "") -> dict[str, Any]:
        return {
            "row": row,
            "column": column.header_text if column is not None else "",
            "message": str(message),
            "value": value,
        }

    # --- Headers ---------------------------------------------------------------------------------

    def match_header(
        self, row_number: int, values: Sequence[Any]
    ) -> tuple[dict[int, Column], list[dict[str, Any]]]:
        """Map sheet columns to our columns; report unknown, repeated and missing headers."""
        lookup: dict[str, Column] = {}
        for column in self.columns:
            for text in column.accepted_headers():
                lookup.setdefault(text, column)
        mapping: dict[int, Column] = {}
        errors: list[dict[str, Any]] = []
        seen: set[str] = set()
        for index, value in enumerate(values):
            text = _normalise_header(value)
            if not text:
                continue
            column = lookup.get(text)
            if column is None:
                errors.append(
                    self.error(
                        row_number,
                        None,
                        gettext("Unknown column %(header)s. Use the headers of the template.")
                        % {"header": str(value).strip()},
                    )
                )
            elif column.key in seen:
                errors.append(
                    self.error(row_number, column, gettext("This column appears more than once."))
                )
            else:
                seen.add(column.key)
                mapping[index] = column
        for column in self.columns:
            if column.required and column.key not in seen:
                errors.append(
                    self.error(row_number, column, gettext("The required column is missing."))
                )
        return mapping, errors

    # --- Validation ------------------------------------------------------------------------------

    def clean_value(self, column: Column, raw: Any) -> Any:
        """Turn a cell into the cleaned value: text, stripped; then the column's parser."""
        text = self.cell_text(raw)
        if not text:
            if column.required:
                raise ValidationError(gettext("This value is required."))
            return ""
        value = column.parser(text) if column.parser is not None else text
        too_long = column.max_length is not None and isinstance(value, str)
        if too_long and len(value) > column.max_length:
            raise ValidationError(
                gettext("At most %(limit)s characters are allowed; this has %(length)s.")
                % {"limit": column.max_length, "length": len(value)}
            )
        return value

    @staticmethod
    def cell_text(raw: Any) -> str:
        if raw is None:
            return ""
        if isinstance(raw, bool):
            return "1" if raw else "0"
        if isinstance(raw, float) and raw.is_integer():
            return str(int(raw))
        if isinstance(raw, int | float | Decimal):
            return str(raw)
        if isinstance(raw, dt.datetime):
            return raw.date().isoformat() if raw.time() == dt.time(0) else raw.isoformat(" ")
        if isinstance(raw, dt.date | dt.time):
            return raw.isoformat()
        return str(unescape_cell(str(raw))).strip()

    def validate(
        self, rows: Iterable[tuple[int, dict[str, Any]]], *, user
    ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """Check every row without writing. Returns ``(cleaned_rows, errors)``.

        ``rows`` are ``(row_number, {column key: raw cell value})``. Every bad row is reported,
        as many errors per row as there are problems; cleaned rows are returned for the rows
        without errors.
        """
        errors: list[dict[str, Any]] = []
        parsed: list[dict[str, Any]] = []
        first_seen: dict[str, dict[Any, int]] = {key: {} for key in self.unique_columns}
        for row_number, raw_row in rows:
            row: dict[str, Any] = {"_row": row_number, "_invalid": set()}
            for key, raw in raw_row.items():
                column = self.column(key)
                try:
                    row[key] = self.clean_value(column, raw)
                except ValidationError as exc:
                    row["_invalid"].add(key)
                    shown = self.display_value(column, self.cell_text(raw))
                    for message in exc.messages:
                        errors.append(self.error(row_number, column, message, shown))
            for key in self.unique_columns:
                value = row.get(key)
                if key in row["_invalid"] or value in ("", None):
                    continue
                earlier = first_seen[key].get(value)
                if earlier is None:
                    first_seen[key][value] = row_number
                else:
                    row["_invalid"].add(key)
                    column = self.column(key)
                    errors.append(
                        self.error(
                            row_number,
                            column,
                            gettext("The same value already appears in row %(row)s.")
                            % {"row": earlier},
                            self.display_value(column, value),
                        )
                    )
            parsed.append(self.compact_row(row))

        def add_error(row: dict[str, Any], key: str | None, message: Any) -> None:
            column = self.column(key) if key else None
            shown = self.display_value(column, row.get(key)) if key else ""
            errors.append(self.error(row["_row"], column, message, shown))

        self.validate_rows(parsed, user=user, add_error=add_error)

        bad_rows = {error["row"] for error in errors}
        order = {column.header_text: index for index, column in enumerate(self.columns)}
        errors.sort(key=lambda e: (e["row"], order.get(e["column"], -1)))
        cleaned = []
        for row in parsed:
            row.pop("_invalid", None)
            row.setdefault("_action", CREATE)
            if row["_row"] not in bad_rows:
                cleaned.append(row)
        return cleaned, errors

    def compact_row(self, row: dict[str, Any]) -> dict[str, Any]:
        """The cleaned row as it is kept until the end of the check (every row of the file is
        held at once). Override to drop what the importer does not need, e.g. empty cells
        when a missing key and "" mean the same to it."""
        return row

    def validate_rows(
        self,
        rows: list[dict[str, Any]],
        *,
        user,
        add_error: Callable[[dict[str, Any], str | None, Any], None],
    ) -> None:
        """Checks across rows and against the database; may reorder ``rows`` (e.g. parents
        first) and sets ``row["_action"]``. ``row["_invalid"]`` holds the keys whose cells
        failed; skip checks that need them. ``user`` is None for a trusted operator."""

    # --- Writing ---------------------------------------------------------------------------------

    def commit(self, log: ImportLog, *, user, progress=None) -> dict[str, Any]:
        """Write every row of ``log`` in one transaction; store the summary and undo data."""
        progress = progress or _NullProgress()
        rows = list(log.rows)
        progress.total(len(rows))
        with transaction.atomic():
            summary, undo_data = self.commit_rows(rows, user=user, progress=progress, log=log)
            log.summary = {**(log.summary or {}), "result": summary}
            log.undo_data = undo_data
            if log.pk:
                log.save(update_fields=["summary", "undo_data"])
        return summary

    def commit_rows(
        self, rows: list[dict[str, Any]], *, user, progress, log: ImportLog
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        """Write ``rows`` through the app's services. Returns ``(summary, undo_data)``; raise
        ``ImportRowError`` (or let a ``ValidationError`` through) to roll everything back."""
        raise NotImplementedError

    def undo(self, log: ImportLog, *, user) -> dict[str, Any]:
        """Reverse what ``log`` wrote, in one transaction; refuse (ValidationError) if it
        cannot be reversed completely."""
        with transaction.atomic():
            return self.undo_rows(log.undo_data or {}, user=user, log=log)

    def undo_rows(self, undo_data: dict[str, Any], *, user, log: ImportLog) -> dict[str, Any]:
        raise NotImplementedError


# --- Registry ------------------------------------------------------------------------------------

_IMPORTERS: dict[str, type[Importer]] = {}


def register_importer(cls: type[Importer]) -> type[Importer]:
    """Class decorator: make an importer known by its code (for logs, the worker, commands)."""
    if not cls.code:
        raise ValueError("an importer needs a code")
    _IMPORTERS[cls.code] = cls
    return cls


def importer_get(code: str) -> Importer:
    if code not in _IMPORTERS:
        autodiscover_modules("importers")
    return _IMPORTERS[code]()


# --- Reading a file ------------------------------------------------------------------------------


@dataclass
class ImportReport:
    """The outcome of checking a file: what would be written, and everything that is wrong."""

    importer: Importer
    row_count: int = 0
    errors: list[dict[str, Any]] = field(default_factory=list)
    rows: list[dict[str, Any]] = field(default_factory=list)
    present: list[str] = field(default_factory=list)

    @property
    def is_valid(self) -> bool:
        return not self.errors and self.row_count > 0

    @property
    def counts(self) -> dict[str, int]:
        counts = {CREATE: 0, UPDATE: 0, UNCHANGED: 0}
        for row in self.rows:
            counts[row.get("_action", CREATE)] = counts.get(row.get("_action", CREATE), 0) + 1
        return counts

    def preview(self, size: int = PREVIEW_ROWS) -> list[dict[str, Any]]:
        importer = self.importer
        first = sorted(self.rows, key=lambda row: row["_row"])[:size]
        return [
            {
                "row": row["_row"],
                "action": row.get("_action", CREATE),
                "cells": [importer.display_value(c, row.get(c.key)) for c in importer.columns],
            }
            for row in first
        ]

    def error_lines(self) -> list[str]:
        return [format_error(error) for error in self.errors]


def format_error(error: dict[str, Any]) -> str:
    """One report line: ``第N行 [列]: message`` in the active language."""
    if error.get("column"):
        return gettext("Row %(row)s [%(column)s]: %(message)s") % error
    return gettext("Row %(row)s: %(message)s") % error


def import_check(*, user, importer: Importer, fileobj: IO[bytes], progress=None) -> ImportReport:
    """Read and validate a checked .xlsx file without writing anything.

    Raises ``ValidationError`` for problems with the file as a whole (unreadable, too many
    rows, no header); problems with headers and rows go into the report. Rows are validated as
    they are read (the raw rows are never all held at once).
    """
    report = ImportReport(importer=importer)
    max_cols = max(50, 2 * len(importer.columns))
    max_rows = get_param("import_max_rows")
    rows_iter = read_rows(fileobj, max_rows=max_rows + 1, max_cols=max_cols)
    if progress is not None:
        progress.total(estimate_rows(fileobj))
    mapping: dict[int, Column] | None = None
    for row_number, values in rows_iter:
        mapping, header_errors = importer.match_header(row_number, values)
        report.errors.extend(header_errors)
        report.present = [column.key for column in mapping.values()]
        break
    if mapping is None:
        raise ValidationError(_("The first sheet is empty: it has no header row."), code="empty")

    def data_rows() -> Iterator[tuple[int, dict[str, Any]]]:
        for row_number, values in rows_iter:
            row = {
                column.key: (values[i] if i < len(values) else None)
                for i, column in mapping.items()
            }
            if all(importer.cell_text(value) == "" for value in row.values()):
                continue
            report.row_count += 1
            if report.row_count > max_rows:
                raise ValidationError(
                    _("The sheet has more than %(limit)s rows. Split it into smaller files."),
                    code="too_many_rows",
                    params={"limit": max_rows},
                )
            if progress is not None and row_number % 500 == 0:
                progress.advance(row_number)
            yield row_number, row

    if report.errors:
        # Rows read under wrong headers would only repeat the header problem once per row.
        for _row in data_rows():
            pass
        return report
    report.rows, row_errors = importer.validate(data_rows(), user=user)
    report.errors.extend(row_errors)
    if not report.row_count:
        report.errors.append(
            importer.error(1, None, gettext("The sheet has no data rows below the header."))
        )
    return report


def _size_of(upload: IO[bytes]) -> int:
    size = getattr(upload, "size", None)
    if size is None:
        position = upload.tell()
        upload.seek(0, os.SEEK_END)
        size = upload.tell()
        upload.seek(position)
    return int(size)


def _upload_name(upload: Any) -> str:
    name = os.path.basename(str(getattr(upload, "name", "") or "")) or "upload.xlsx"
    return name[:255]


def _require_import_right(user, importer: Importer, event_type: str, repr_: str = "") -> None:
    if user is not None and not has_action(user, importer.action):
        audit_log(
            actor=user,
            event_type=event_type,
            object_type="core.importlog",
            object_repr=repr_,
            outcome=AuditOutcome.DENIED,
            details={"importer": importer.code},
        )
        raise PermissionDenied


# --- Services ------------------------------------------------------------------------------------


def import_validate(*, user, importer: Importer, upload: IO[bytes]) -> ImportLog:
    """Check an uploaded file and every row in it; keep the report in a new ``ImportLog``.

    Nothing but the log and its audit event is written. A file that is not a safe .xlsx
    workbook raises ``ValidationError`` (audited as a failure) and leaves no log.
    """
    filename = _upload_name(upload)
    _require_import_right(user, importer, "import.validate", filename)
    try:
        check_xlsx_upload(upload, max_bytes=max_upload_bytes())
        sha256 = file_sha256(upload)
        if _size_of(upload) > settings.KEXIE_IMPORT_BACKGROUND_BYTES:
            return _validate_in_background(
                user=user, importer=importer, upload=upload, filename=filename, sha256=sha256
            )
        report = import_check(user=user, importer=importer, fileobj=upload)
    except ValidationError as exc:
        audit_log(
            actor=user,
            event_type="import.validate",
            object_type="core.importlog",
            object_repr=filename,
            outcome=AuditOutcome.FAILURE,
            reason="; ".join(exc.messages),
            details={"importer": importer.code},
        )
        raise
    return _store_report(
        log=ImportLog(importer=importer.code, created_by=user, filename=filename, sha256=sha256),
        report=report,
        user=user,
    )


def _store_report(*, log: ImportLog, report: ImportReport, user) -> ImportLog:
    counts = report.counts
    with transaction.atomic():
        log.status = ImportStatus.VALID if report.is_valid else ImportStatus.INVALID
        log.row_count = report.row_count
        log.error_count = len({error["row"] for error in report.errors})
        log.errors = report.errors
        log.preview = report.preview()
        keep_rows = report.is_valid or (report.importer.allow_partial and report.row_count > 0)
        log.rows = report.rows if keep_rows else []
        log.summary = {"present": report.present, "planned": counts}
        log.full_clean()
        log.save()
        audit_log(
            actor=user,
            event_type="import.validate",
            obj=log,
            outcome=AuditOutcome.SUCCESS,
            details={
                "importer": log.importer,
                "sha256": log.sha256,
                "rows": report.row_count,
                "bad_rows": log.error_count,
                "planned": counts,
            },
        )
    return log


def _validate_in_background(
    *, user, importer: Importer, upload: IO[bytes], filename: str, sha256: str
) -> ImportLog:
    """Keep the file privately (never served) and let the worker check it with progress."""
    directory = Path(settings.KEXIE_PRIVATE_DIR) / "imports"
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{uuid.uuid4().hex}.xlsx"
    upload.seek(0)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        shutil.copyfileobj(upload, fh)
    try:
        with transaction.atomic():
            log = ImportLog(
                importer=importer.code,
                created_by=user,
                filename=filename,
                sha256=sha256,
                status=ImportStatus.VALIDATING,
            )
            log.full_clean()
            log.save()
            log.job = job_create(
                actor=user,
                kind=VALIDATE_JOB_KIND,
                title=gettext("Check %(file)s") % {"file": filename},
                kwargs={"log_id": log.pk, "path": path.name},
            )
            log.save(update_fields=["job"])
    except Exception:
        path.unlink(missing_ok=True)
        raise
    return log


@job_recovery(IMPORT_JOB_KIND)
def _recover_commit(job) -> None:
    # The commit transaction died with the worker: nothing was written, the rows are intact.
    # A partial import (of the valid rows of a file with bad rows) goes back to "has errors".
    for log in ImportLog.objects.filter(job=job, status=ImportStatus.COMMITTING).only(
        "pk", "summary"
    ):
        partial = (log.summary or {}).get("partial")
        ImportLog.objects.filter(pk=log.pk).update(
            status=ImportStatus.INVALID if partial else ImportStatus.VALID
        )


@job_recovery(VALIDATE_JOB_KIND)
def _recover_validate(job) -> None:
    message = gettext("The check was interrupted. Upload the file again.")
    ImportLog.objects.filter(job=job, status=ImportStatus.VALIDATING).update(
        status=ImportStatus.FAILED,
        errors=[{"row": 0, "column": "", "message": message, "value": ""}],
        error_count=1,
    )
    # RES-02: the waiting upload goes too; its name is in the queued task's arguments.
    from django_tasks_db.models import DBTaskResult

    task = DBTaskResult.objects.filter(id=job.task_id).first() if job.task_id else None
    kwargs = ((task.args_kwargs or {}).get("kwargs") or {}).get("kwargs") or {} if task else {}
    name = Path(str(kwargs.get("path") or "")).name
    if name:
        (Path(settings.KEXIE_PRIVATE_DIR) / "imports" / name).unlink(missing_ok=True)


@job_handler(VALIDATE_JOB_KIND)
def import_validate_job(*, job, progress, log_id: int, path: str) -> str:
    """The worker's side of checking a large file. The file is removed in every case."""
    file_path = Path(settings.KEXIE_PRIVATE_DIR) / "imports" / Path(path).name
    try:
        log = ImportLog.objects.get(pk=log_id, job=job)
        if log.status != ImportStatus.VALIDATING:
            return ""
        importer = importer_get(log.importer)
        user = job.created_by
        try:
            with file_path.open("rb") as fh:
                report = import_check(user=user, importer=importer, fileobj=fh, progress=progress)
        except ValidationError as exc:
            _mark_failed(
                log,
                importer,
                user,
                [{"row": 0, "column": "", "message": "; ".join(exc.messages)}],
                event_type="import.validate",
            )
            return "; ".join(exc.messages)
        log = _store_report(log=log, report=report, user=user)
        return gettext("%(rows)s rows checked, %(bad)s bad rows.") % {
            "rows": log.row_count,
            "bad": log.error_count,
        }
    finally:
        file_path.unlink(missing_ok=True)


def import_log_list(*, user, importer: Importer, limit: int = 20) -> list[ImportLog]:
    """The user's own recent logs of one importer (nobody sees another person's uploads)."""
    return list(
        ImportLog.objects.filter(created_by=user, importer=importer.code)
        .select_related("job")
        .defer("rows", "preview", "errors", "undo_data")
        .order_by("-created_at")[:limit]
    )


def _check_owner(user, log: ImportLog, event_type: str) -> None:
    """Only the person who uploaded a file may import or undo it."""
    if user is not None and log.created_by_id != user.pk:
        audit_log(
            actor=user,
            event_type=event_type,
            obj=log,
            outcome=AuditOutcome.DENIED,
            details={"importer": log.importer},
        )
        raise PermissionDenied


def partial_row_count(log: ImportLog) -> int:
    """How many valid rows a checked file with bad rows holds (0 unless its importer allows
    importing only the valid rows)."""
    if log.status != ImportStatus.INVALID or not log.error_count:
        return 0
    planned = (log.summary or {}).get("planned") or {}
    return sum(int(n) for n in planned.values())


def import_commit(
    *, user, log: ImportLog, background: bool | None = None, partial: bool = False
) -> ImportLog:
    """Write a validated import: all rows in one transaction, or none.

    Refused unless the log is ``VALID`` (checked, no errors) — or, with ``partial`` and an
    importer that allows it, ``INVALID`` with valid rows: then only the valid rows are written
    (the user chose "import the valid rows"; the bad rows stay in the report). More rows than
    ``KEXIE_IMPORT_BACKGROUND_ROWS`` go to the worker (a ``Job`` the page shows as a progress
    bar) unless ``background`` says otherwise. Returns the log; when rows fail at commit time
    (the database changed since validation) the log is ``FAILED`` and carries the errors.
    """
    importer = importer_get(log.importer)
    _require_import_right(user, importer, "import.commit", log.filename)
    _check_owner(user, log, "import.commit")
    with transaction.atomic():
        locked = ImportLog.objects.select_for_update().get(pk=log.pk)
        partial_rows = partial_row_count(locked) if partial and importer.allow_partial else 0
        if partial_rows and locked.rows:
            locked.summary = {**(locked.summary or {}), "partial": True}
        elif locked.status != ImportStatus.VALID or locked.error_count:
            raise ValidationError(
                _("Only a checked file without errors can be imported, and only once."),
                code="not_valid",
            )
        if background is None:
            background = locked.row_count > get_param("import_background_rows")
        locked.status = ImportStatus.COMMITTING
        if partial_rows:
            locked.save(update_fields=["summary"])
        if background:
            locked.job = job_create(
                actor=user,
                kind=IMPORT_JOB_KIND,
                title=gettext("Import %(file)s") % {"file": locked.filename},
                kwargs={"log_id": locked.pk},
            )
            locked.save(update_fields=["status", "job"])
            return locked
        locked.save(update_fields=["status"])
    return _commit_now(log=locked, user=user, progress=None)


def _commit_now(*, log: ImportLog, user, progress) -> ImportLog:
    importer = importer_get(log.importer)
    try:
        with transaction.atomic():
            summary = importer.commit(log, user=user, progress=progress)
            log.status = ImportStatus.COMMITTED
            log.committed_at = timezone.now()
            log.rows = []
            log.save(update_fields=["status", "committed_at", "rows"])
            partial = {}
            if (log.summary or {}).get("partial"):
                partial = {"partial": True, "skipped_rows": log.error_count}
            audit_log(
                actor=user,
                event_type="import.commit",
                obj=log,
                details={"importer": importer.code, "sha256": log.sha256, **summary, **partial},
            )
    except (ImportRowError, ValidationError, PermissionDenied) as exc:
        _mark_failed(log, importer, user, _commit_errors(importer, exc))
    except Exception:
        # Nothing was written (the transaction rolled back); never leave the log "importing".
        message = gettext("The import failed because of an internal error; nothing was written.")
        _mark_failed(log, importer, user, [{"row": 0, "column": "", "message": message}])
        raise
    return log


def _mark_failed(
    log: ImportLog,
    importer: Importer,
    user,
    errors: list[dict[str, Any]],
    *,
    event_type: str = "import.commit",
) -> None:
    for error in errors:
        error.setdefault("value", "")
    ImportLog.objects.filter(pk=log.pk).update(
        status=ImportStatus.FAILED,
        errors=errors,
        error_count=len({error["row"] for error in errors}) or 1,
    )
    audit_log(
        actor=user,
        event_type=event_type,
        obj=log,
        outcome=AuditOutcome.FAILURE,
        reason="; ".join(format_error(error) for error in errors)[:500],
        details={"importer": importer.code, "sha256": log.sha256},
    )
    log.refresh_from_db()


def _commit_errors(importer: Importer, exc: Exception) -> list[dict[str, Any]]:
    if isinstance(exc, ImportRowError):
        return [{"row": exc.row, "column": exc.column, "message": exc.message, "value": ""}]
    if isinstance(exc, PermissionDenied):
        message = gettext("You may not write one of the rows; nothing was imported.")
    else:
        message = "; ".join(exc.messages)
    return [{"row": 0, "column": "", "message": message, "value": ""}]


@job_handler(IMPORT_JOB_KIND)
def import_commit_job(*, job, progress, log_id: int) -> str:
    """The worker's side of a background import."""
    log = ImportLog.objects.get(pk=log_id, job=job)
    if log.status != ImportStatus.COMMITTING:
        return ""
    log = _commit_now(log=log, user=job.created_by, progress=progress)
    if log.status != ImportStatus.COMMITTED:
        job.message = gettext("The import failed and wrote nothing; see the import report.")
        raise RuntimeError(f"import {log.pk} failed")
    result = log.summary.get("result", {})
    return gettext("%(created)s new, %(updated)s changed, %(unchanged)s unchanged.") % {
        "created": result.get(CREATE, 0),
        "updated": result.get(UPDATE, 0),
        "unchanged": result.get(UNCHANGED, 0),
    }


def import_undo(*, user, log: ImportLog) -> ImportLog:
    """Reverse a completed import in one transaction; refused (and nothing changed) when the
    importer cannot reverse it completely."""
    importer = importer_get(log.importer)
    _require_import_right(user, importer, "import.undo", log.filename)
    _check_owner(user, log, "import.undo")
    try:
        with transaction.atomic():
            locked = ImportLog.objects.select_for_update().get(pk=log.pk)
            if locked.status != ImportStatus.COMMITTED:
                raise ValidationError(
                    _("Only a completed import can be undone, and only once."), code="not_done"
                )
            result = importer.undo(locked, user=user)
            locked.status = ImportStatus.UNDONE
            locked.undone_at = timezone.now()
            locked.summary = {**(locked.summary or {}), "undo": result}
            locked.save(update_fields=["status", "undone_at", "summary"])
            audit_log(
                actor=user,
                event_type="import.undo",
                obj=locked,
                details={"importer": importer.code, "sha256": locked.sha256, **result},
            )
    except (ValidationError, PermissionDenied) as exc:
        audit_log(
            actor=user,
            event_type="import.undo",
            obj=log,
            outcome=AuditOutcome.FAILURE
            if isinstance(exc, ValidationError)
            else AuditOutcome.DENIED,
            reason="; ".join(getattr(exc, "messages", []))[:500],
            details={"importer": importer.code},
        )
        raise
    return locked


def import_apply(
    *,
    user,
    importer: Importer,
    report: ImportReport,
    filename: str,
    sha256: str = "",
    partial: bool = False,
) -> dict:
    """Write a checked report without an ``ImportLog`` — for a trusted operator on the command
    line (``user`` None). One transaction, audited as ``import.commit``; cannot be undone.
    With ``partial`` (and an importer that allows it) only the valid rows are written."""
    partial = bool(partial and importer.allow_partial and report.rows and report.errors)
    if not report.is_valid and not partial:
        raise ValidationError(
            _("Only a checked file without errors can be imported."), code="not_valid"
        )
    log = ImportLog(importer=importer.code, filename=filename, rows=report.rows)
    with transaction.atomic():
        summary = importer.commit(log, user=user, progress=None)
        audit_log(
            actor=user,
            event_type="import.commit",
            object_type="core.importlog",
            object_repr=filename,
            details={
                "importer": importer.code,
                "sha256": sha256,
                "operator": True,
                **summary,
                **({"partial": True} if partial else {}),
            },
        )
    return summary


__all__ = [
    "CREATE",
    "IMPORT_JOB_KIND",
    "UNCHANGED",
    "UPDATE",
    "Column",
    "ImportReport",
    "ImportRowError",
    "Importer",
    "format_error",
    "import_apply",
    "import_check",
    "import_commit",
    "import_log_list",
    "import_undo",
    "import_validate",
    "importer_get",
    "partial_row_count",
    "register_importer",
]
