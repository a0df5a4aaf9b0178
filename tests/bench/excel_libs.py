"""Excel libraries against the hand-written code they could replace (issue 16 §6).

    python -m tests.bench.excel_libs [--rows 50000] [--events 200000] [--repeat 2]
    # against the hand-written reader that calamine replaced (commit b1c0686):
    mkdir /tmp/before
    git archive b1c0686 academy/xlsx.py | tar -x -C /tmp/before
    python -m tests.bench.excel_libs --baseline /tmp/before

Reading: the 50,000-row roster as the roster export writes it (openpyxl, text ID numbers
and phones, dates), read to rows of text by
  - the hand-written expat streaming reader (``--baseline``: academy/xlsx.py before),
  - academy.xlsx.read_rows now: python-calamine, after the package checks (sizes, DTDs,
    the extent of every sheet from its cell references),
  - pandas.read_excel(engine="calamine", dtype=str), for comparison.
Writing: the 200,000-row learning-event export (11 columns: a datetime, text, ints) with
  - academy.xlsx.write_xlsx: the hand-written streaming writer (kept: see the figures),
  - XlsxWriter in constant_memory mode (academy.xlsx.Book, as the roster export uses it).
Best of ``--repeat`` runs, wall seconds; how much the process's peak RSS grew (MB; the
writers run after the readers, so a writer's growth shows only above the readers' peak).
"""

from __future__ import annotations

import argparse
import gc
import io
import random
import resource
import sys
import time
from datetime import date, datetime, timedelta


def _roster_bytes(rows: int) -> bytes:
    from academy.roster.excel import RowSpec, export_workbook
    from academy.roster.models import AgentKind, Education, Gender

    rng = random.Random(7)
    today = date.today()
    specs = [
        RowSpec(
            row=0,
            township=f"第{i % 20}镇",
            village=f"第{i % 900}村",
            name=rng.choice("王李张刘陈杨") + rng.choice("小大明红华"),
            phone=f"139{i:08d}",
            kind=rng.choice(list(AgentKind)),
            joined_on=today - timedelta(days=rng.randint(0, 2000)),
            id_number=f"33062419800101{i % 10000:04d}" if rng.random() < 0.9 else None,
            birth_year=1980 + i % 30,
            gender=rng.choice(list(Gender)),
            education=rng.choice(list(Education)),
        )
        for i in range(rows)
    ]
    return export_workbook(specs)


def _events(rows: int):
    start = datetime(2026, 1, 1, 8)
    for i in range(rows):
        yield [
            start + timedelta(seconds=37 * i),
            "澄潭街道",
            f"第{i % 260}村",
            f"代办员{i % 690}",
            i % 690 + 1,
            "作答",
            "练习题",
            f"城乡居民养老保险参保登记 · 练习 {i % 12}",
            "正确 1/1",
            "",
            i + 1,
        ]


HEADERS = [
    "时间（北京时间）",
    "镇街",
    "村社",
    "代办员",
    "代办员编号",
    "动作",
    "对象类型",
    "对象",
    "结果",
    "操作人",
    "记录编号",
]


def _timed(fn, repeat: int) -> tuple[float, float, object]:
    """Best wall time of ``repeat`` runs, and the growth of the process's peak RSS (MB)
    over the first run (tracemalloc would slow pure Python tenfold and miss Rust)."""
    best, result = float("inf"), None
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    for _ in range(repeat):
        gc.collect()
        t = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - t)
    grown = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    return best, grown, result


BASELINE: dict = {}


def _load(path: str, name: str):
    import importlib.util

    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def read_handwritten(data: bytes) -> list[list[str]]:
    return [r.cells for r in BASELINE["xlsx"].read_rows(data)]


def read_calamine(data: bytes) -> list[list[str]]:
    from academy.xlsx import read_rows

    return [r.cells for r in read_rows(data)]


def read_pandas_calamine(data: bytes):
    import pandas as pd

    return pd.read_excel(io.BytesIO(data), engine="calamine", dtype=str, keep_default_na=False)


def write_handwritten(rows: int) -> bytes:
    from academy.xlsx import write_xlsx

    return write_xlsx(HEADERS, _events(rows), [12] * len(HEADERS), "学习记录")


def write_xlsxwriter(rows: int) -> bytes:
    from academy.xlsx import Book

    book = Book()
    sheet = book.sheet("学习记录", HEADERS, [12] * len(HEADERS))
    for row in _events(rows):
        sheet.append(row)
    return book.close()


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rows", type=int, default=50_000)
    ap.add_argument("--events", type=int, default=200_000)
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--only", choices=("read", "write"), default=None)
    ap.add_argument("--baseline", help="a folder with the old academy/xlsx.py (the reader)")
    args = ap.parse_args(argv)
    if args.baseline:
        BASELINE["xlsx"] = _load(f"{args.baseline}/academy/xlsx.py", "baseline_xlsx")
    if args.only != "write":
        data = _roster_bytes(args.rows)
        print(f"roster: {args.rows} rows, {len(data) / 1e6:.1f} MB")
        base = None
        readers = [
            ("python-calamine (academy.xlsx now)", read_calamine),
            ('pandas read_excel(engine="calamine")', read_pandas_calamine),
        ]
        if BASELINE:
            readers.insert(0, ("hand-written expat (before)", read_handwritten))
        for label, fn in readers:
            seconds, peak, rows = _timed(lambda fn=fn: fn(data), args.repeat)
            if base is None:
                base = rows
            elif isinstance(rows, list) and rows != base:
                diff = next(i for i, (a, b) in enumerate(zip(base, rows, strict=False)) if a != b)
                print(f"   ! differs at row {diff}: {base[diff]} vs {rows[diff]}")
            print(f"  read  {label:40} {seconds:6.2f} s   peak RSS +{peak:6.0f} MB")
    if args.only != "read":
        print(f"events: {args.events} rows × {len(HEADERS)} columns")
        for label, fn in (
            ("hand-written streaming (academy.xlsx.write_xlsx)", write_handwritten),
            ("XlsxWriter constant_memory (academy.xlsx.Book)", write_xlsxwriter),
        ):
            seconds, peak, out = _timed(lambda fn=fn: fn(args.events), args.repeat)
            print(
                f"  write {label:45} {seconds:6.2f} s   peak RSS +{peak:6.0f} MB   "
                f"{len(out) / 1e6:.1f} MB"
            )


if __name__ == "__main__":
    main()
