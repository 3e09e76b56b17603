"""Safe .xlsx handling (XLS-01, XLS-02, XLS-06). Workbooks are built here from synthetic data."""

from __future__ import annotations

import io
import zipfile

import openpyxl
import pytest
from django.core.exceptions import ValidationError

from kexie.core.xlsx import (
    check_xlsx_upload,
    escape_cell,
    file_sha256,
    read_rows,
    unescape_cell,
    write_xlsx,
)

MB = 1024 * 1024


@pytest.fixture(autouse=True)
def _english_messages():
    # The assertions below read the English source text of the messages.
    from django.utils import translation

    with translation.override("en"):
        yield


def workbook_bytes(rows: list[list]) -> bytes:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def with_extra_entry(content: bytes, name: str, data: bytes) -> bytes:
    buffer = io.BytesIO(content)
    with zipfile.ZipFile(buffer, "a", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(name, data)
    return buffer.getvalue()


def replace_entry(content: bytes, name: str, data: bytes) -> bytes:
    source = zipfile.ZipFile(io.BytesIO(content))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            target.writestr(info.filename, data if info.filename == name else source.read(info))
    return buffer.getvalue()


def refusal(content: bytes, **limits) -> str:
    limits.setdefault("max_bytes", 20 * MB)
    with pytest.raises(ValidationError) as excinfo:
        check_xlsx_upload(io.BytesIO(content), **limits)
    return " ".join(excinfo.value.messages)


def test_openpyxl_parses_xml_through_defusedxml():
    # XLS-02: defusedxml is installed, so openpyxl refuses entity expansion.
    assert openpyxl.DEFUSEDXML is True


def test_plain_workbook_is_accepted_and_left_at_its_start():
    # given
    fileobj = io.BytesIO(workbook_bytes([["组织代码", "名称"], ["KX1", "甲"]]))
    fileobj.seek(10)
    # when
    check_xlsx_upload(fileobj, max_bytes=MB)
    # then
    assert fileobj.tell() == 0


def test_text_file_named_xlsx_is_refused_by_content():
    message = refusal("code,name\nKX1,甲\n".encode())
    assert message == "The file is not an .xlsx workbook."


def test_zip_that_is_not_a_workbook_is_refused():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("readme.txt", "hello")
    assert refusal(buffer.getvalue()) == "The file is not an .xlsx workbook."


def test_old_xls_or_encrypted_ole_file_is_refused():
    content = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 600
    assert "old .xls workbook or is protected by a password" in refusal(content)


def test_empty_file_is_refused():
    assert refusal(b"") == "The file is empty."


def test_file_over_the_size_limit_is_refused():
    content = workbook_bytes([["a"]])
    assert "too large" in refusal(content, max_bytes=len(content) - 1)


def test_workbook_with_vba_project_is_refused():
    content = with_extra_entry(workbook_bytes([["a"]]), "xl/vbaProject.bin", b"\x00" * 100)
    assert "contains macros" in refusal(content)


def test_macro_enabled_content_type_is_refused():
    # given a workbook whose content types declare an .xlsm main part
    content = workbook_bytes([["a"]])
    types = zipfile.ZipFile(io.BytesIO(content)).read("[Content_Types].xml")
    types = types.replace(
        b"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml",
        b"application/vnd.ms-excel.sheet.macroEnabled.main+xml",
    )
    content = replace_entry(content, "[Content_Types].xml", types)
    # then
    assert "contains macros" in refusal(content)


def test_zip_bomb_is_refused_by_compression_ratio_before_parsing():
    # 64 MB of zeros deflate to about 64 KB: a ratio near 1000.
    content = with_extra_entry(workbook_bytes([["a"]]), "xl/media/image1.bin", b"\0" * (64 * MB))
    assert len(content) < MB
    assert "compressed suspiciously strongly" in refusal(content)


def test_workbook_too_large_when_unpacked_is_refused():
    content = workbook_bytes([["x" * 1000] for _ in range(200)])
    assert "too large when unpacked" in refusal(content, max_uncompressed=10_000)


def test_workbook_with_too_many_parts_is_refused():
    content = workbook_bytes([["a"]])
    for index in range(5):
        content = with_extra_entry(content, f"xl/extra{index}.xml", b"<x/>")
    assert "too many parts" in refusal(content, max_entries=8)


def test_xml_entity_bomb_is_refused_when_read():
    # given a sheet with an entity-expansion ("billion laughs") document type
    content = workbook_bytes([["a"]])
    bomb = (
        b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
        b'<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>'
        b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
        b'<sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>&lol2;</t></is></c></row>'
        b"</sheetData></worksheet>"
    )
    content = replace_entry(content, "xl/worksheets/sheet1.xml", bomb)
    check_xlsx_upload(io.BytesIO(content), max_bytes=MB)
    # when / then
    with pytest.raises(ValidationError) as excinfo:
        list(read_rows(io.BytesIO(content), max_rows=10, max_cols=10))
    assert excinfo.value.messages == ["The workbook could not be read: its content is malformed."]


def test_read_rows_yields_sheet_row_numbers_and_skips_empty_rows():
    # given
    content = workbook_bytes([["组织代码", "名称"], [None, None], ["KX1", "甲", None], [654221]])
    # when
    rows = list(read_rows(io.BytesIO(content), max_rows=10, max_cols=5))
    # then
    assert rows == [(1, ["组织代码", "名称"]), (3, ["KX1", "甲"]), (4, [654221])]


def test_read_rows_stops_past_the_row_cap():
    content = workbook_bytes([[f"row {n}"] for n in range(6)])
    with pytest.raises(ValidationError) as excinfo:
        list(read_rows(io.BytesIO(content), max_rows=5, max_cols=5))
    assert excinfo.value.messages == [
        "The sheet has more than 5 rows. Split it into smaller files."
    ]


def test_read_rows_stops_past_the_column_cap():
    content = workbook_bytes([["a", "b"], ["a", "b", "c", "d"]])
    with pytest.raises(ValidationError) as excinfo:
        list(read_rows(io.BytesIO(content), max_rows=5, max_cols=3))
    assert "Row 2 has values beyond column 3" in excinfo.value.messages[0]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("=1+1", "'=1+1"),
        ("+86 138", "'+86 138"),
        ("-5", "'-5"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tcmd", "'\tcmd"),
        ("\rcmd", "'\rcmd"),
        ("额敏县科协", "额敏县科协"),
        ("a=b", "a=b"),
        ("", ""),
        (-5, -5),
        (None, None),
    ],
)
def test_escape_cell_prefixes_formula_text_with_a_quote(value, expected):
    assert escape_cell(value) == expected


def test_unescape_cell_reverses_escape_cell_only():
    assert unescape_cell(escape_cell("=HYPERLINK(1)")) == "=HYPERLINK(1)"
    assert unescape_cell("'quoted") == "'quoted"


def test_write_xlsx_bold_header_escaped_cells_and_instructions_sheet():
    # when
    content = write_xlsx(
        ["名称", "人数"],
        [['=HYPERLINK("http://example.invalid")', 3], ["额敏", None]],
        sheet_title="组织/机构",
        example_row=["示例", 1],
        notes=["第一行是表头"],
    )
    # then
    workbook = openpyxl.load_workbook(io.BytesIO(content))
    sheet = workbook.worksheets[0]
    assert sheet.title == "组织 机构"
    assert [cell.value for cell in sheet[1]] == ["名称", "人数"]
    assert sheet["A1"].font.b is True
    assert sheet["A2"].value == '\'=HYPERLINK("http://example.invalid")'
    assert sheet["A2"].data_type == "s"
    assert sheet["B2"].value == 3
    assert sheet.max_row == 3
    guide = workbook.worksheets[1]
    values = [[cell.value for cell in row] for row in guide.iter_rows()]
    assert ["示例", 1] in values
    assert ["第一行是表头", None] in values


def test_file_sha256_hashes_the_whole_file():
    import hashlib

    content = workbook_bytes([["a"]])
    assert file_sha256(io.BytesIO(content)) == hashlib.sha256(content).hexdigest()


# --- the reader's grid (docs/decisions/0007) -----------------------------------------------------

SHEET = "xl/worksheets/sheet1.xml"
SHEET_HEAD = b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'


def sheet_with(data: bytes) -> bytes:
    content = workbook_bytes([["a"]])
    return replace_entry(
        content, SHEET, SHEET_HEAD + b"<sheetData>" + data + b"</sheetData></worksheet>"
    )


def test_values_far_apart_are_refused_before_the_grid_is_built():
    # given A1 and a value a million rows below: a 1,048,576 × 40 grid for the reader
    content = sheet_with(
        b'<row r="1"><c r="A1" t="inlineStr"><is><t>a</t></is></c></row>'
        b'<row r="1048576"><c r="AN1048576"><v>1</v></c></row>'
    )
    check_xlsx_upload(io.BytesIO(content), max_bytes=MB)
    # when / then: refused with a message, no memory blow-up
    with pytest.raises(ValidationError) as excinfo:
        list(read_rows(io.BytesIO(content), max_rows=10, max_cols=50))
    assert "too large to read at once (1048576 rows × 40 columns)" in excinfo.value.messages[0]


def test_a_value_far_to_the_right_is_refused_with_its_row():
    content = sheet_with(
        b'<row r="1"><c r="A1" t="inlineStr"><is><t>a</t></is></c></row>'
        b'<row r="7"><c r="XFD7"><v>1</v></c></row>'
    )
    with pytest.raises(ValidationError) as excinfo:
        list(read_rows(io.BytesIO(content), max_rows=10, max_cols=50))
    assert "Row 7 has values beyond column 50" in excinfo.value.messages[0]


def test_formatted_empty_cells_do_not_count():
    # given a formatted but empty cell far away (spreadsheet programs write these)
    content = sheet_with(
        b'<row r="1"><c r="A1" t="inlineStr"><is><t>a</t></is></c></row>'
        b'<row r="2"><c r="B2"><v>2</v></c><c r="AZ2" s="1"/></row>'
    )
    # then the rows are read as usual
    assert list(read_rows(io.BytesIO(content), max_rows=10, max_cols=5)) == [
        (1, ["a"]),
        (2, [None, 2]),
    ]


def test_cells_without_references_are_read_by_the_streaming_reader():
    # given a sheet whose cells carry no r="A1" references (allowed by the format)
    content = sheet_with(
        b'<row r="1"><c t="inlineStr"><is><t>x</t></is></c><c><v>3</v></c></row>'
        b'<row r="3"><c t="inlineStr"><is><t>y</t></is></c></row>'
    )
    # then they are read, with their row numbers
    assert list(read_rows(io.BytesIO(content), max_rows=10, max_cols=5)) == [
        (1, ["x", 3]),
        (3, ["y"]),
    ]


def test_dates_numbers_and_text_come_as_openpyxl_gave_them():
    import datetime as dt

    content = workbook_bytes([["名称", 654221, 1.5, dt.date(1985, 3, 14), True, "  "]])
    [(number, values)] = list(read_rows(io.BytesIO(content), max_rows=10, max_cols=10))
    assert number == 1
    assert values[:5] == ["名称", 654221, 1.5, dt.date(1985, 3, 14), True]
    assert type(values[1]) is int
