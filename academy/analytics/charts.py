"""Charts drawn with matplotlib's object API (never pyplot state), served as SVG.

SVG keeps text as text (svg.fonttype = none), so the browser draws the Chinese labels
with its own fonts: no CJK font is needed on the server. PNG output uses a CJK font
when one is installed and says so in the log when it is not.
"""

from __future__ import annotations

import io
import logging
import warnings
from collections.abc import Sequence
from contextlib import contextmanager
from functools import lru_cache

import matplotlib

matplotlib.use("Agg")
from matplotlib import font_manager
from matplotlib.figure import Figure

log = logging.getLogger(__name__)
CJK_FONTS = ["Noto Sans CJK SC", "Noto Sans SC", "WenQuanYi Micro Hei", "Source Han Sans SC"]
BRAND = "#0b6b4f"
ACCENT = "#b3261e"


@lru_cache(maxsize=1)
def cjk_font() -> str | None:
    available = {f.name for f in font_manager.fontManager.ttflist}
    for name in CJK_FONTS:
        if name in available:
            return name
    log.warning(
        "No CJK font found for PNG charts (install fonts-noto-cjk); SVG charts are unaffected."
    )
    return None


@contextmanager
def _style():
    """Chart text uses a CJK font when one is installed (better label measurement); in SVG
    the text stays text, so the browser's fonts draw it either way."""
    font = cjk_font()
    params = {
        "svg.fonttype": "none",
        "svg.hashsalt": "academy",
        "font.family": [font, "sans-serif"] if font else ["sans-serif"],
    }
    with matplotlib.rc_context(params), warnings.catch_warnings():
        # Without a CJK font matplotlib warns about each glyph it cannot measure; the SVG
        # is still right (the browser draws the text), and PNG callers were told above.
        warnings.filterwarnings(
            "ignore", message=r"Glyph \d+ .* missing from font", category=UserWarning
        )
        yield


# Each variant is drawn for the width it is shown at, so labels keep their size: the wide
# chart fills a 720 px desktop card; the phone chart a 360 px screen (about 330 px of card),
# where text of 10.5 pt (14 px in the SVG) shows at >= 12 px.
VARIANTS = {
    "wide": {"size": (7.2, 3.2), "title": 12, "text": 8, "every": 1, "notes": True},
    "phone": {"size": (3.5, 3.4), "title": 10.5, "text": 10.5, "every": 2, "notes": False},
}


def _figure(title: str, variant: str = "wide") -> tuple[Figure, object]:
    v = VARIANTS[variant]
    fig = Figure(figsize=v["size"], dpi=100)
    ax = fig.add_subplot()
    ax.set_title(title, fontsize=v["title"], loc="left")
    ax.tick_params(labelsize=v["text"])
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    ax.grid(axis="y", color="#e3e7ea", linewidth=0.8)
    ax.set_axisbelow(True)
    return fig, ax


def _render(fig: Figure, fmt: str) -> bytes:
    buf = io.BytesIO()
    fig.tight_layout()
    fig.savefig(buf, format=fmt, metadata={"Date": None} if fmt == "svg" else None)
    return buf.getvalue()


def line_chart(
    title: str,
    labels: Sequence[str],
    values: Sequence[float],
    percent: bool = True,
    fmt: str = "svg",
    variant: str = "wide",
) -> bytes:
    v = VARIANTS[variant]
    with _style():
        fig, ax = _figure(title, variant)
        xs = range(len(labels))
        shown = [v * 100 for v in values] if percent else list(values)
        ax.plot(xs, shown, color=BRAND, marker="o", linewidth=2)
        for x, y in zip(xs, shown, strict=True):
            if not v["notes"]:
                break
            ax.annotate(
                f"{y:.0f}{'%' if percent else ''}",
                (x, y),
                textcoords="offset points",
                xytext=(0, 6),
                ha="center",
                fontsize=v["text"],
                color="#333",
            )
        _xticks(ax, labels, v)
        if percent:
            ax.set_ylim(0, 105)
        return _render(fig, fmt)


def _xticks(ax, labels: Sequence[str], v: dict) -> None:
    """Month labels; on a phone every other one, so 12 of them fit at a readable size."""
    xs = list(range(len(labels)))[:: v["every"]]
    shown = [labels[x] for x in xs]
    if v["every"] > 1:  # "26年3月" -> "3月", keeping the year on the first label only
        shown = [t if n == 0 else t.split("年")[-1] for n, t in enumerate(shown)]
    ax.set_xticks(xs, shown, fontsize=v["text"])


def bar_chart(
    title: str,
    labels: Sequence[str],
    series: dict[str, Sequence[float]],
    fmt: str = "svg",
    variant: str = "wide",
) -> bytes:
    v = VARIANTS[variant]
    with _style():
        fig, ax = _figure(title, variant)
        n = max(1, len(series))
        width = 0.8 / n
        colors = [BRAND, ACCENT, "#2b5fa8", "#8a5a00"]
        for i, (name, values) in enumerate(series.items()):
            xs = [x + (i - (n - 1) / 2) * width for x in range(len(labels))]
            ax.bar(xs, values, width=width, label=name, color=colors[i % len(colors)])
        _xticks(ax, labels, v)
        if n > 1:
            ax.legend(fontsize=v["text"], frameon=False)
        return _render(fig, fmt)


def month_label(day) -> str:
    return f"{day.year % 100:02d}年{day.month}月"
