"""Tables to Excel (pandas + openpyxl) with Chinese headers."""

from __future__ import annotations

import io
from collections.abc import Iterable, Sequence

import pandas as pd

from academy.xlsx import xlsx_download


def xlsx_bytes(headers: Sequence[str], rows: Iterable[Sequence], sheet: str = "Sheet1") -> bytes:
    frame = pd.DataFrame(list(rows), columns=list(headers))
    buf = io.BytesIO()
    with pd.ExcelWriter(buf, engine="openpyxl") as writer:
        frame.to_excel(writer, index=False, sheet_name=sheet[:31])
        sheet_obj = writer.sheets[sheet[:31]]
        for i, header in enumerate(headers):
            width = max([len(str(header)) * 2 + 2] + [len(str(v)) + 2 for v in frame.iloc[:, i]])
            sheet_obj.column_dimensions[sheet_obj.cell(1, i + 1).column_letter].width = min(
                width, 50
            )
    return buf.getvalue()


def xlsx_response(
    filename: str, headers: Sequence[str], rows: Iterable[Sequence], sheet: str = "Sheet1"
):
    return xlsx_download(xlsx_bytes(headers, rows, sheet), filename)
