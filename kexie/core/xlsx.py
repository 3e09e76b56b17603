"""Safe reading and writing of .xlsx workbooks (XLS-01, XLS-02, XLS-06).

An uploaded file is checked with ``zipfile`` before openpyxl ever parses it: the content must be
a zip archive (not merely named ``.xlsx``), must not carry macros or be an encrypted/OLE file,
and its entry count, uncompressed size and compression ratio must be bounded, so that a zip bomb
is refused without being inflated. openpyxl parses XML through defusedxml (installed, so
``openpyxl.DEFUSEDXML`` is true), which refuses entity-expansion bombs. Reading is done in
read-only mode with row and column caps.

Every error is a ``ValidationError`` whose message can be shown to the person who uploaded the
file.
"""

from __future__ import annotations

import hashlib
import io
import re
import zipfile
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import IO, Any

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

ZIP_MAGIC = b"PK\x03\x04"
OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # old .xls and password-protected .xlsx

DEFAULT_MAX_ENTRIES = 1000
DEFAULT_MAX_UNCOMPRESSED = 200 * 1024 * 1024
DEFAULT_MAX_RATIO = 200
_CONTENT_TYPES_MAX = 1024 * 1024

# Cells whose text a spreadsheet program would read as a formula or a control sequence.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
ESCAPE_CHAR = "'"

_SHEET_TITLE_FORBIDDEN = re.compile(r"[\[\]:*?/\\]")


def _size(fileobj: IO[bytes]) -> int:
    size = getattr(fileobj, "size", None)
    if isinstance(size, int):
        return size
    position = fileobj.tell()
    fileobj.seek(0, io.SEEK_END)
    end = fileobj.tell()
    fileobj.seek(position)
    return end


def file_sha256(fileobj: IO[bytes], *, chunk_size: int = 1024 * 1024) -> str:
    """Hex SHA-256 of the whole file; leaves the file positioned at its start."""
    digest = hashlib.sha256()
    fileobj.seek(0)
    while chunk := fileobj.read(chunk_size):
        digest.update(chunk)
    fileobj.seek(0)
    return digest.hexdigest()


def check_xlsx_upload(
    fileobj: IO[bytes],
    *,
    max_bytes: int,
    max_entries: int = DEFAULT_MAX_ENTRIES,
    max_uncompressed: int = DEFAULT_MAX_UNCOMPRESSED,
    max_ratio: int = DEFAULT_MAX_RATIO,
) -> None:
    """Refuse anything but a plain, bounded .xlsx workbook (XLS-01, XLS-02).

    Looks at the content only — the file name is never trusted. Leaves the file at its start.
    """
    size = _size(fileobj)
    if size == 0:
        raise ValidationError(_("The file is empty."), code="xlsx_empty")
    if size > max_bytes:
        raise ValidationError(
            _("The file is too large: at most %(limit)s MB are accepted."),
            code="xlsx_too_large",
            params={"limit": max(1, max_bytes // (1024 * 1024))},
        )
    fileobj.seek(0)
    magic = fileobj.read(8)
    fileobj.seek(0)
    if magic.startswith(OLE_MAGIC):
        raise ValidationError(
            _(
                "The file is an old .xls workbook or is protected by a password. "
                "Save it as an .xlsx workbook without a password and upload it again."
            ),
            code="xlsx_ole",
        )
    if not magic.startswith(ZIP_MAGIC):
        raise ValidationError(_("The file is not an .xlsx workbook."), code="xlsx_not_zip")
    try:
        with zipfile.ZipFile(fileobj) as archive:
            _check_archive(
                archive,
                max_entries=max_entries,
                max_uncompressed=max_uncompressed,
                max_ratio=max_ratio,
            )
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, ValueError, KeyError):
        raise ValidationError(
            _("The file is not an .xlsx workbook."), code="xlsx_not_zip"
        ) from None
    finally:
        fileobj.seek(0)


def _check_archive(
    archive: zipfile.ZipFile, *, max_entries: int, max_uncompressed: int, max_ratio: int
) -> None:
    infos = archive.infolist()
    if len(infos) > max_entries:
        raise ValidationError(
            _("The workbook has too many parts (%(count)s); at most %(limit)s are accepted."),
            code="xlsx_too_many_entries",
            params={"count": len(infos), "limit": max_entries},
        )
    names = {info.filename for info in infos}
    if "[Content_Types].xml" not in names or "xl/workbook.xml" not in names:
        raise ValidationError(_("The file is not an .xlsx workbook."), code="xlsx_not_workbook")
    total = 0
    for info in infos:
        if info.flag_bits & 0x1:
            raise ValidationError(
                _("The workbook is encrypted. Remove the password and upload it again."),
                code="xlsx_encrypted",
            )
        if "vbaproject" in info.filename.lower():
            raise _macro_error()
        total += info.file_size
        if total > max_uncompressed:
            raise ValidationError(
                _("The workbook is too large when unpacked: at most %(limit)s MB are accepted."),
                code="xlsx_too_large_unpacked",
                params={"limit": max(1, max_uncompressed // (1024 * 1024))},
            )
        # A tiny compressed part that unpacks to something huge is the signature of a zip bomb.
        if info.file_size > 1024 * 1024 and info.file_size > max_ratio * max(info.compress_size, 1):
            raise ValidationError(
                _("The workbook is compressed suspiciously strongly and was refused."),
                code="xlsx_ratio",
            )
    content_types_info = archive.getinfo("[Content_Types].xml")
    if content_types_info.file_size > _CONTENT_TYPES_MAX:
        raise ValidationError(_("The file is not an .xlsx workbook."), code="xlsx_not_workbook")
    content_types = archive.read(content_types_info).lower()
    if b"macroenabled" in content_types or b"vbaproject" in content_types:
        raise _macro_error()


def _macro_error() -> ValidationError:
    return ValidationError(
        _(
            "The workbook contains macros (.xlsm). Save it as a plain .xlsx workbook "
            "and upload it again."
        ),
        code="xlsx_macros",
    )


def _is_xml_error(exc: BaseException | None) -> bool:
    """defusedxml refusals (entity expansion, DTDs) and XML syntax errors, also when openpyxl
    wrapped them in its own ``ValueError``."""
    seen = 0
    while exc is not None and seen < 5:
        if type(exc).__module__.split(".")[0] in {"defusedxml", "xml", "lxml"} or (
            type(exc).__name__ in {"ParseError", "XMLSyntaxError"}
        ):
            return True
        exc = exc.__cause__ or exc.__context__
        seen += 1
    return False


def _malformed() -> ValidationError:
    return ValidationError(
        _("The workbook could not be read: its content is malformed."), code="xlsx_malformed"
    )


# The reader (python-calamine) builds the first sheet as a dense grid in memory, from the
# first to the last non-empty cell, whatever lies in between; two values far apart would make
# it allocate gigabytes. So the sheet's extent is measured before it is read (``_sheet_extent``)
# and a sheet whose grid would exceed this many cells is refused (about 200 MB of grid).
MAX_GRID_CELLS = 6_000_000

_CELL_REF = re.compile(rb"<(?:\w+:)?c\b[^>]*?\br=\"([A-Z]{1,3})(\d{1,7})\"[^>]*?(/?)>")
_CELL_WITHOUT_REF = re.compile(rb"<(?:\w+:)?c(?:>|\s(?![^>]*\br=)[^>]*>)")
_ROW_REF = re.compile(rb"<(?:\w+:)?row\b[^>]*?\br=\"(\d{1,9})\"")
_FAST_CELL_ROW = re.compile(rb'<c r="[A-Z]{1,3}(\d{1,7})"')
_FAST_CELL_COLUMN = re.compile(rb'<c r="([A-Z]{1,3})\d')
_PREFIXED_CELL = re.compile(rb"<\w+:c[\s>/]")
_SCAN_CHUNK = 1024 * 1024
_SCAN_OVERLAP = 1024


def _column_number(letters: bytes) -> int:
    number = 0
    for letter in letters:
        number = number * 26 + letter - 64
    return number


def _first_sheet_part(archive: zipfile.ZipFile) -> str:
    """The archive path of the workbook's first sheet (the one every reader opens)."""
    from defusedxml import ElementTree

    main = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
    rel_ns = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}"
    workbook = ElementTree.fromstring(archive.read("xl/workbook.xml"))
    sheet = workbook.find(f"{main}sheets/{main}sheet")
    if sheet is None:
        raise _malformed()
    rel_id = sheet.get(f"{rel_ns}id")
    rels = ElementTree.fromstring(archive.read("xl/_rels/workbook.xml.rels"))
    for rel in rels:
        if rel.get("Id") == rel_id:
            target = rel.get("Target") or ""
            return target.lstrip("/") if target.startswith("/") else f"xl/{target}"
    raise _malformed()


@dataclass
class _Extent:
    last_row: int = 0  # the last row number a row or a non-empty cell names
    last_col: int = 0  # the last column of a non-empty cell
    wide_row: int = 0  # the first row with a non-empty cell beyond the column cap
    unreferenced: bool = False  # cells without an r="A1" reference: the extent is unknown


def _windows(archive: zipfile.ZipFile, part: str) -> Iterator[bytes]:
    """The part's bytes in pieces of about a megabyte, never cutting a tag in two."""
    tail = b""
    with archive.open(part) as stream:
        while True:
            chunk = stream.read(_SCAN_CHUNK)
            data = tail + chunk
            cut = len(data) if not chunk else max(data.rfind(b"<"), len(data) - _SCAN_OVERLAP, 0)
            yield data[:cut]
            tail = data[cut:]
            if not chunk:
                return


def _sheet_extent(archive: zipfile.ZipFile, part: str, *, max_cols: int) -> _Extent:
    """Where the non-empty cells of a sheet part lie, read as a byte stream with patterns (no
    XML tree): cheap next to parsing, and bounded in memory.

    The fast pass reads only the cells written the way spreadsheet programs write them
    (``<c r="B7" …``, counted with ``bytes.count`` to be sure none is missed) and counts empty
    formatted cells too, so it can only overstate the extent. Whenever it finds another
    shape, or an extent past the limits, the exact pass decides, cell by cell.
    """
    extent = _Extent()
    for window in _windows(archive, part):
        cell_rows = _FAST_CELL_ROW.findall(window)
        opened = window.count(b"<c ") + window.count(b"<c>") + window.count(b"<c/")
        if len(cell_rows) != opened or _PREFIXED_CELL.search(window):
            return _sheet_extent_exact(archive, part, max_cols=max_cols)
        if cell_rows:
            extent.last_row = max(extent.last_row, max(map(int, set(cell_rows))))
            columns = set(_FAST_CELL_COLUMN.findall(window))
            extent.last_col = max(extent.last_col, max(map(_column_number, columns)))
        rows = _ROW_REF.findall(window)
        if rows:
            extent.last_row = max(extent.last_row, max(map(int, rows)))
    if extent.last_col > max_cols or extent.last_row * extent.last_col > MAX_GRID_CELLS:
        return _sheet_extent_exact(archive, part, max_cols=max_cols)
    return extent


def _sheet_extent_exact(archive: zipfile.ZipFile, part: str, *, max_cols: int) -> _Extent:
    extent = _Extent()
    for window in _windows(archive, part):
        for match in _ROW_REF.finditer(window):
            extent.last_row = max(extent.last_row, int(match.group(1)))
        for match in _CELL_REF.finditer(window):
            if match.group(3):  # <c r="…"/>: an empty, merely formatted cell
                continue
            row, col = int(match.group(2)), _column_number(match.group(1))
            extent.last_row = max(extent.last_row, row)
            extent.last_col = max(extent.last_col, col)
            if col > max_cols and not extent.wide_row:
                extent.wide_row = row
        if not extent.unreferenced and _CELL_WITHOUT_REF.search(window):
            extent.unreferenced = True
    return extent


def _measure(fileobj: IO[bytes], *, max_cols: int) -> _Extent:
    fileobj.seek(0)
    try:
        with zipfile.ZipFile(fileobj) as archive:
            return _sheet_extent(archive, _first_sheet_part(archive), max_cols=max_cols)
    except ValidationError:
        raise
    except (zipfile.BadZipFile, KeyError, ValueError, EOFError):
        raise ValidationError(
            _("The file is not an .xlsx workbook."), code="xlsx_not_workbook"
        ) from None
    except Exception as exc:
        if _is_xml_error(exc):
            raise _malformed() from None
        raise
    finally:
        fileobj.seek(0)


def _too_many_columns(row: int, max_cols: int) -> ValidationError:
    return ValidationError(
        _(
            "Row %(row)s has values beyond column %(limit)s; at most %(limit)s columns are "
            "read. Remove the extra columns."
        ),
        code="xlsx_too_many_columns",
        params={"row": row, "limit": max_cols},
    )


def _too_many_rows(max_rows: int) -> ValidationError:
    return ValidationError(
        _("The sheet has more than %(limit)s rows. Split it into smaller files."),
        code="xlsx_too_many_rows",
        params={"limit": max_rows},
    )


def estimate_rows(fileobj: IO[bytes]) -> int:
    """The last row of the first sheet that holds a value (0 if it cannot be told).

    Only an estimate for a progress bar: empty rows in between are counted.
    """
    position = fileobj.tell()
    try:
        fileobj.seek(0)
        with zipfile.ZipFile(fileobj) as archive:
            part = _first_sheet_part(archive)
            return _sheet_extent(archive, part, max_cols=16384).last_row
    except Exception:  # noqa: BLE001 - an estimate must never break the import
        return 0
    finally:
        fileobj.seek(position)


def _plain_number(value: Any) -> Any:
    # The reader gives every number as a float; whole numbers become int, as openpyxl gave them.
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
        return int(value)
    return value


def read_rows(
    fileobj: IO[bytes], *, max_rows: int, max_cols: int
) -> Iterator[tuple[int, list[Any]]]:
    """Yield ``(row_number, values)`` for every non-empty row of the first worksheet.

    ``row_number`` is the spreadsheet's own (1-based) number so that reports point at the row a
    person sees. Empty cells are ``None``; trailing empty cells are dropped. Stops with a
    ``ValidationError`` when the sheet has more than ``max_rows`` non-empty rows or a value
    beyond column ``max_cols``. Call ``check_xlsx_upload`` first.

    The sheet is read with python-calamine (Rust, about 20 times faster than openpyxl's
    read-only mode; docs/decisions/0007). Calamine builds the sheet as a dense grid from the
    first to the last non-empty cell, so the extent is measured first (``_sheet_extent``) and
    a sheet whose grid would pass ``MAX_GRID_CELLS`` is refused. A sheet whose cells carry no
    ``r="A1"`` references (some generators omit them) cannot be measured that way and is
    read with openpyxl's streaming reader instead. Dates come as ``datetime.date`` or
    ``datetime``, whole numbers as int, formulas as their cached values.
    """
    extent = _measure(fileobj, max_cols=max_cols)
    if extent.unreferenced:
        yield from _read_rows_streaming(fileobj, max_rows=max_rows, max_cols=max_cols)
        return
    if extent.wide_row:
        raise _too_many_columns(extent.wide_row, max_cols)
    if extent.last_row * max(extent.last_col, 1) > MAX_GRID_CELLS:
        raise ValidationError(
            _(
                "The sheet is too large to read at once (%(rows)s rows × %(cols)s columns). "
                "Split it into smaller files, or delete stray values far below the data."
            ),
            code="xlsx_too_large_grid",
            params={"rows": extent.last_row, "cols": extent.last_col},
        )
    yield from _read_rows_calamine(fileobj, max_rows=max_rows, max_cols=max_cols)


def _plain_number(value: Any) -> Any:
    # Calamine gives every number as a float; whole numbers become int, as openpyxl gave them.
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
        return int(value)
    return value


def _read_rows_calamine(
    fileobj: IO[bytes], *, max_rows: int, max_cols: int
) -> Iterator[tuple[int, list[Any]]]:
    from python_calamine import CalamineError, CalamineWorkbook

    fileobj.seek(0)
    try:
        workbook = CalamineWorkbook.from_filelike(fileobj)
        if not workbook.sheet_names:
            return
        sheet = workbook.get_sheet_by_index(0)
    except CalamineError as exc:
        if "xml" in f"{type(exc).__name__} {exc}".lower():
            raise _malformed() from None
        raise ValidationError(
            _("The file is not an .xlsx workbook."), code="xlsx_not_workbook"
        ) from None
    except BaseException as exc:
        # A panic inside the Rust reader reaches Python as pyo3's PanicException.
        if type(exc).__name__ == "PanicException":
            raise _malformed() from None
        raise
    first_row, first_col = sheet.start or (0, 0)
    padding: list[Any] = [None] * first_col
    count = 0
    for offset, row in enumerate(sheet.iter_rows()):
        values = [None if value == "" else _plain_number(value) for value in row]
        while values and values[-1] is None:
            values.pop()
        if not values:
            continue
        row_number = first_row + offset + 1
        if len(values) + first_col > max_cols:
            raise _too_many_columns(row_number, max_cols)
        count += 1
        if count > max_rows:
            raise _too_many_rows(max_rows)
        yield row_number, (padding + values) if first_col else values


def _read_rows_streaming(
    fileobj: IO[bytes], *, max_rows: int, max_cols: int
) -> Iterator[tuple[int, list[Any]]]:
    """openpyxl's read-only reader: slower, but streams any sheet in bounded memory."""
    import openpyxl
    from openpyxl.utils.exceptions import InvalidFileException

    fileobj.seek(0)
    try:
        workbook = openpyxl.load_workbook(fileobj, read_only=True, data_only=True, keep_links=False)
    except Exception as exc:
        if _is_xml_error(exc):
            raise _malformed() from None
        if isinstance(exc, InvalidFileException | zipfile.BadZipFile | KeyError | ValueError):
            raise ValidationError(
                _("The file is not an .xlsx workbook."), code="xlsx_not_workbook"
            ) from None
        raise
    try:
        if not workbook.worksheets:
            return
        sheet = workbook.worksheets[0]
        count = 0
        for row_number, row in enumerate(
            sheet.iter_rows(max_col=max_cols + 1, values_only=True), start=1
        ):
            values = list(row)
            while values and (values[-1] is None or values[-1] == ""):
                values.pop()
            if not values:
                continue
            if len(values) > max_cols:
                raise _too_many_columns(row_number, max_cols)
            count += 1
            if count > max_rows:
                raise _too_many_rows(max_rows)
            yield row_number, values
    except ValidationError:
        raise
    except Exception as exc:
        if _is_xml_error(exc):
            raise _malformed() from None
        raise
    finally:
        workbook.close()


def escape_cell(value: Any) -> Any:
    """XLS-06: make text that a spreadsheet would run as a formula inert.

    Text starting with ``= + - @``, a tab or a carriage return gets a leading ``'``; the text
    itself is kept. Other values are returned unchanged.
    """
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return ESCAPE_CHAR + value
    return value


def unescape_cell(value: Any) -> Any:
    """Undo ``escape_cell`` on text read back from one of our own exports."""
    if (
        isinstance(value, str)
        and len(value) > 1
        and value[0] == ESCAPE_CHAR
        and value[1:].startswith(FORMULA_PREFIXES)
    ):
        return value[1:]
    return value


def _sheet_title(title: str) -> str:
    cleaned = _SHEET_TITLE_FORBIDDEN.sub(" ", str(title)).strip().strip("'")
    return cleaned[:31] or "Sheet1"


def _plain(value: Any) -> Any:
    """Values openpyxl can write: lazy strings become text, everything is escaped."""
    if value is None:
        return None
    if isinstance(value, bool | int | float):
        return value
    if hasattr(value, "isoformat") and not isinstance(value, str):
        return value
    return escape_cell(str(value))


def write_xlsx(
    header: Sequence[Any],
    rows: Iterable[Sequence[Any]],
    *,
    sheet_title: str,
    example_row: Sequence[Any] | None = None,
    notes: Sequence[Any] | None = None,
) -> bytes:
    """Render one sheet (bold header, then ``rows``) as .xlsx bytes, in write-only mode.

    Every text cell goes through ``escape_cell``. ``example_row`` and ``notes`` go to a second
    sheet, so that a downloaded template can be filled in and uploaded without deleting an
    example first.
    """
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(title=_sheet_title(sheet_title))
    bold = Font(bold=True)
    header_texts = [str(text) for text in header]
    for index, text in enumerate(header_texts, start=1):
        width = min(60, max(10, 2 * len(text) + 4))
        sheet.column_dimensions[get_column_letter(index)].width = width
    sheet.freeze_panes = "A2"

    def header_cells(target) -> list:
        cells = []
        for text in header_texts:
            cell = WriteOnlyCell(target, value=escape_cell(text))
            cell.font = bold
            cells.append(cell)
        return cells

    sheet.append(header_cells(sheet))
    for row in rows:
        sheet.append([_plain(value) for value in row])

    if example_row is not None or notes:
        guide = workbook.create_sheet(title=_sheet_title(_("Instructions")))
        guide.column_dimensions["A"].width = 30
        if example_row is not None:
            guide.append([WriteOnlyCell(guide, value=str(_("Example")))])
            guide.append(header_cells(guide))
            guide.append([_plain(value) for value in example_row])
            guide.append([])
        for note in notes or ():
            guide.append([_plain(note)])

    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


__all__ = [
    "FORMULA_PREFIXES",
    "check_xlsx_upload",
    "escape_cell",
    "file_sha256",
    "read_rows",
    "unescape_cell",
    "write_xlsx",
]
