"""The streaming .xlsx reader on workbooks shaped like the ones Excel and WPS write:
shared strings, rich text, date styles, the 1904 date system, prefixed namespaces."""

from __future__ import annotations

import io
import zipfile

import pytest

from academy.xlsx import SheetRow, XlsxError, read_rows

MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
RELS = "http://schemas.openxmlformats.org/package/2006/relationships"
OFFICE = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"

STYLES = f"""<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<styleSheet xmlns="{MAIN}">
  <numFmts count="3">
    <numFmt numFmtId="176" formatCode="yyyy&quot;年&quot;m&quot;月&quot;d&quot;日&quot;"/>
    <numFmt numFmtId="177" formatCode="G/通用格式"/>
    <numFmt numFmtId="178" formatCode="0.00_);[Red]\\(0.00\\)"/>
  </numFmts>
  <cellStyleXfs count="1"><xf numFmtId="0"/></cellStyleXfs>
  <cellXfs count="6">
    <xf numFmtId="0"/><xf numFmtId="14"/><xf numFmtId="176"/><xf numFmtId="177"/>
    <xf numFmtId="49"/><xf numFmtId="178"/>
  </cellXfs>
</styleSheet>"""


def build(
    sheet_rows: str,
    strings: list[str] | None = None,
    date1904: bool = False,
    prefix: str = "",
    extra_sheet: bool = False,
) -> bytes:
    p = f"{prefix}:" if prefix else ""
    ns = f'xmlns:{prefix}="{MAIN}"' if prefix else f'xmlns="{MAIN}"'
    sst = "".join(f"<si>{s}</si>" for s in strings or [])
    sheets = f'<{p}sheet name="说明" sheetId="2" r:id="rId2"/>' if extra_sheet else ""
    files = {
        "[Content_Types].xml": "<Types/>",
        "_rels/.rels": f'<Relationships xmlns="{RELS}"><Relationship Id="rId1" '
        f'Type="{OFFICE}/officeDocument" Target="xl/workbook.xml"/></Relationships>',
        "xl/workbook.xml": f'<{p}workbook {ns} xmlns:r="{OFFICE}">'
        f'<{p}workbookPr date1904="{1 if date1904 else 0}"/><{p}sheets>{sheets}'
        f'<{p}sheet name="花名册" sheetId="1" r:id="rId1"/></{p}sheets></{p}workbook>',
        "xl/_rels/workbook.xml.rels": f'<Relationships xmlns="{RELS}">'
        f'<Relationship Id="rId1" Type="{OFFICE}/worksheet" Target="worksheets/sheet1.xml"/>'
        f'<Relationship Id="rId2" Type="{OFFICE}/worksheet" Target="worksheets/sheet2.xml"/>'
        f'<Relationship Id="rId3" Type="{OFFICE}/sharedStrings" Target="sharedStrings.xml"/>'
        f'<Relationship Id="rId4" Type="{OFFICE}/styles" Target="styles.xml"/>'
        "</Relationships>",
        "xl/sharedStrings.xml": f'<sst xmlns="{MAIN}">{sst}</sst>',
        "xl/styles.xml": STYLES,
        "xl/worksheets/sheet1.xml": f"<{p}worksheet {ns}><{p}sheetData>{sheet_rows}"
        f"</{p}sheetData></{p}worksheet>",
        "xl/worksheets/sheet2.xml": f"<{p}worksheet {ns}><{p}sheetData>"
        f'<{p}row r="1"><{p}c r="A1" t="inlineStr"><{p}is><{p}t>说明</{p}t></{p}is></{p}c>'
        f"</{p}row></{p}sheetData></{p}worksheet>",
    }
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        for name, text in files.items():
            z.writestr(name, text)
    return out.getvalue()


def rows(data: bytes, **kw) -> list[SheetRow]:
    return list(read_rows(data, **kw))


def test_shared_strings_rich_text_and_phonetic_hints():
    data = build(
        '<row r="1"><c r="A1" t="s"><v>0</v></c><c r="C1" t="s"><v>1</v></c>'
        '<c r="D1" t="s"><v>2</v></c></row>',
        [
            "<t>镇街</t>",
            '<r><rPr><b/></rPr><t>王</t></r><r><t xml:space="preserve">小红 </t></r>',
            '<t>张&amp;三</t><rPh sb="0" eb="1"><t>zhang</t></rPh>',
        ],
    )
    assert rows(data) == [SheetRow(1, ["镇街", "", "王小红 ", "张&三"])]


def test_numbers_dates_booleans_and_formulas():
    data = build(
        '<row r="3">'
        '<c r="A3"><v>13900001111</v></c>'
        '<c r="B3" s="1"><v>46082</v></c>'  # built-in date format 14
        '<c r="C3" s="2"><v>46082.5</v></c>'  # custom yyyy"年"m"月"d"日", with a time
        '<c r="D3" s="3"><v>1980</v></c>'  # G/通用格式 is General
        '<c r="E3"><v>3.30624198001011E+17</v></c>'
        '<c r="F3" t="b"><v>1</v></c>'
        '<c r="G3" t="str"><f>A1&amp;"x"</f><v>镇x</v></c>'
        '<c r="H3" t="e"><v>#N/A</v></c>'
        '<c r="I3" s="5"><v>1.5</v></c>'
        '<c r="J3" s="4"/>'
        "</row>"
    )
    (row,) = rows(data)
    assert row.number == 3
    assert row.cells == [
        "13900001111",
        "2026-03-01",
        "2026-03-01 12:00:00",
        "1980",
        "3.30624198001011E+17",
        "TRUE",
        "镇x",
        "",  # an error value (#N/A) reads as empty
        "1.5",
    ]


def test_1904_date_system():
    data = build('<row r="1"><c r="A1" s="1"><v>44620</v></c></row>', date1904=True)
    assert rows(data)[0].cells == ["2026-03-01"]


def test_prefixed_namespace_and_cells_without_references():
    data = build(
        '<x:row><x:c t="inlineStr"><x:is><x:t>a</x:t></x:is></x:c><x:c/>'
        '<x:c t="inlineStr"><x:is><x:t>c</x:t></x:is></x:c></x:row>'
        '<x:row><x:c r="B2" t="inlineStr"><x:is><x:t>b</x:t></x:is></x:c></x:row>',
        prefix="x",
    )
    assert rows(data) == [SheetRow(1, ["a", "", "c"]), SheetRow(2, ["", "b"])]


def test_named_sheet_is_preferred_and_rows_can_be_capped():
    data = build(
        "".join(f'<row r="{n}"><c r="A{n}"><v>{n}</v></c></row>' for n in range(1, 6)),
        extra_sheet=True,
    )
    assert rows(data)[0].cells == ["说明"]  # the first sheet by default
    assert [r.number for r in rows(data, prefer_sheet="花名册", max_rows=2)] == [1, 2]


def test_blank_rows_are_skipped():
    data = build(
        '<row r="1"><c r="A1" s="4"/></row><row r="2"/><row r="7"><c r="C7"><v>1</v></c></row>'
    )
    assert rows(data) == [SheetRow(7, ["", "", "1"])]


def test_doctype_is_refused():
    data = build("")
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w") as dst:
        for item in src.infolist():
            text = src.read(item)
            if item.filename == "xl/worksheets/sheet1.xml":
                text = b'<!DOCTYPE x [<!ENTITY a "aaaa">]>' + text
            dst.writestr(item, text)
    with pytest.raises(XlsxError, match="不是有效的 Excel 格式"):
        rows(out.getvalue())


def test_bad_xml_is_refused():
    with pytest.raises(XlsxError, match="不是有效的 Excel 格式"):
        rows(build("<row><c>"))
