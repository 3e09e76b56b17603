"""The export framework (STYLE.md 14, XLS-05..07): an ``Exporter`` yields a header and rows from
a scoped, filtered queryset; ``export_response`` renders them as XLSX (or CSV), escapes every
text cell, answers ``no-store`` and writes the ``export.download`` audit event.

Callers pass a queryset that already went through ``visible_to(user, "export")`` — the same
selector as the list page — so that an export can never hold more than the user may see.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import re
import unicodedata
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar
from urllib.parse import quote

from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpResponse

from kexie.accounts.roles import Action
from kexie.accounts.scope import has_action

from .audit import audit_log
from .choices import AuditOutcome
from .xlsx import escape_cell, write_xlsx

XLSX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CSV_CONTENT_TYPE = "text/csv; charset=utf-8"
FORMATS = ("xlsx", "csv")


@dataclass(frozen=True)
class ExportColumn:
    """A column of an export: a header (lazy translatable text) and how to get the value —
    an attribute path (``"region.code"``, ``"region__code"``) or a callable of the object."""

    header: Any
    accessor: str | Callable[[Any], Any]
    key: str = ""

    @property
    def field_name(self) -> str:
        if self.key:
            return self.key
        if isinstance(self.accessor, str):
            return self.accessor.replace(".", "__")
        return str(self.header)


def _resolve(obj: Any, path: str) -> Any:
    value = obj
    for part in re.split(r"\.|__", path):
        if value is None:
            return None
        value = getattr(value, part)
        if callable(value) and not isinstance(value, type):
            value = value()
    return value


class Exporter:
    """Base class of every exporter. ``columns`` holds ``ExportColumn`` or ``(header,
    accessor)`` pairs. Override ``display_value`` to mask personal data."""

    code: ClassVar[str] = ""
    title: ClassVar[Any] = ""
    columns: ClassVar[Sequence[ExportColumn | tuple[Any, Any]]] = ()
    action: ClassVar[str] = Action.EXPORT

    def get_columns(self) -> list[ExportColumn]:
        return [
            column if isinstance(column, ExportColumn) else ExportColumn(*column)
            for column in self.columns
        ]

    def headers(self) -> list[str]:
        return [str(column.header) for column in self.get_columns()]

    def field_names(self) -> list[str]:
        return [column.field_name for column in self.get_columns()]

    def prepare_queryset(self, queryset: QuerySet) -> QuerySet:
        """Add ``select_related`` / ordering here so that rows cost no extra queries."""
        return queryset

    def value(self, obj: Any, column: ExportColumn) -> Any:
        accessor = column.accessor
        raw = accessor(obj) if callable(accessor) else _resolve(obj, accessor)
        return self.display_value(column, raw)

    def display_value(self, column: ExportColumn, value: Any) -> Any:
        """The value as written to the file. Override to mask personal data."""
        return value

    def rows(self, queryset: QuerySet) -> Iterator[list[Any]]:
        columns = self.get_columns()
        for obj in self.prepare_queryset(queryset).iterator(chunk_size=2000):
            yield [self.value(obj, column) for column in columns]


def _cell_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    return str(escape_cell(str(value)) if not isinstance(value, bool | int | float) else value)


def render_csv(header: Sequence[Any], rows: Sequence[Sequence[Any]]) -> bytes:
    """CSV in UTF-8 with a byte-order mark (so spreadsheet programs read Chinese), every text
    cell escaped (XLS-06)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([_cell_text(text) for text in header])
    for row in rows:
        writer.writerow([_cell_text(value) for value in row])
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def content_disposition(filename: str) -> str:
    """``attachment`` with an ASCII fallback name and the RFC 5987 UTF-8 name."""
    name = re.sub(r'[\\/\r\n"]', "_", filename)
    stem, dot, extension = name.rpartition(".")
    if not dot:
        stem, extension = name, ""
    ascii_stem = unicodedata.normalize("NFKD", stem).encode("ascii", "ignore").decode("ascii")
    ascii_stem = re.sub(r"[^A-Za-z0-9._\- ]", "_", ascii_stem).strip(" _-.") or "export"
    ascii_extension = re.sub(r"[^A-Za-z0-9]", "", extension)
    ascii_name = f"{ascii_stem}.{ascii_extension}" if ascii_extension else ascii_stem
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(name, safe='')}"


def _json_safe(filters: Mapping[str, Any]) -> dict[str, Any]:
    safe: dict[str, Any] = {}
    for key, value in filters.items():
        if value in (None, "", [], ()):
            continue
        if isinstance(value, list | tuple):
            safe[str(key)] = [str(item) for item in value]
        elif isinstance(value, bool | int | float):
            safe[str(key)] = value
        else:
            safe[str(key)] = str(value)[:200]
    return safe


def export_response(
    *,
    user,
    exporter: Exporter,
    queryset: QuerySet,
    filters: Mapping[str, Any],
    filename: str,
    file_format: str = "xlsx",
    audit_details: Mapping[str, Any] | None = None,
) -> HttpResponse:
    """Render ``queryset`` through ``exporter`` as a download; audited as ``export.download``
    with the filters, field names, row count and the file's SHA-256 (XLS-05).

    ``queryset`` must already be restricted with ``visible_to(user, "export")``.
    """
    if file_format not in FORMATS:
        file_format = "xlsx"
    if not has_action(user, exporter.action):
        audit_log(
            actor=user,
            event_type="export.download",
            object_type=exporter.code,
            object_repr=filename[:255],
            outcome=AuditOutcome.DENIED,
            details={"exporter": exporter.code, "filters": _json_safe(filters)},
        )
        raise PermissionDenied
    stem = filename.rsplit(".", 1)[0] if filename.lower().endswith(FORMATS) else filename
    filename = f"{stem}.{file_format}"
    header = exporter.headers()
    rows = list(exporter.rows(queryset))
    if file_format == "csv":
        content = render_csv(header, rows)
        content_type = CSV_CONTENT_TYPE
    else:
        content = write_xlsx(header, rows, sheet_title=str(exporter.title))
        content_type = XLSX_CONTENT_TYPE
    sha256 = hashlib.sha256(content).hexdigest()
    audit_log(
        actor=user,
        event_type="export.download",
        object_type=exporter.code,
        object_repr=filename[:255],
        details={
            "exporter": exporter.code,
            "format": file_format,
            "filters": _json_safe(filters),
            "fields": exporter.field_names(),
            "rows": len(rows),
            "sha256": sha256,
            **dict(audit_details or {}),
        },
    )
    response = HttpResponse(content, content_type=content_type)
    response["Content-Disposition"] = content_disposition(filename)
    response["Cache-Control"] = "no-store"
    response["X-Content-Type-Options"] = "nosniff"
    return response


__all__ = [
    "ExportColumn",
    "Exporter",
    "content_disposition",
    "export_response",
    "render_csv",
]
