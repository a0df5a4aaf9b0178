"""Competition charts (matplotlib object API, SVG with text as text): the judges'
severity against the panel, and the published scores per township and dimension."""

from __future__ import annotations

from collections import defaultdict

from flask import Response
from matplotlib.figure import Figure

from academy.analytics.charts import ACCENT, BRAND, _render, _style
from academy.competition.rules import DIMENSION_LABELS


def svg_response(data: bytes) -> Response:
    response = Response(data, mimetype="image/svg+xml")
    response.headers["Cache-Control"] = "private, max-age=60"
    return response


def judge_severity(analysis) -> bytes:
    """Each judge's severity (logits, higher = harsher) with ±2 SE, misfits in red."""
    with _style():
        fig = Figure(figsize=(4.2, 3.0), dpi=100)  # drawn for a phone's width
        ax = fig.add_subplot()
        ax.set_title("评委宽严度（数值越大越严）", fontsize=12, loc="left")
        for side in ("top", "right"):
            ax.spines[side].set_visible(False)
        rows = analysis.judges if analysis else []
        if not rows:
            ax.text(0.5, 0.5, "评分数据不足", ha="center", va="center", transform=ax.transAxes)
            return _render(fig, "svg")
        xs = list(range(len(rows)))
        colors = [ACCENT if r.flag else BRAND for r in rows]
        ax.bar(xs, [r.severity for r in rows], color=colors)
        ax.errorbar(
            xs,
            [r.severity for r in rows],
            yerr=[2 * r.se for r in rows],
            fmt="none",
            ecolor="#555",
            capsize=3,
            linewidth=1,
        )
        ax.axhline(0, color="#333", linewidth=0.8)
        ax.set_xticks(xs, [r.code for r in rows], fontsize=10)
        ax.set_ylabel("logit", fontsize=10)
        return _render(fig, "svg")


def distributions(results) -> bytes:
    """Mean published score per township, overall and by dimension: horizontal bars, one
    row per township, drawn narrow so the labels stay legible on a phone."""
    by_town: dict[str, list] = defaultdict(list)
    for res in results:
        by_town[res.entry.township.name].append(res)
    towns = sorted(by_town, key=lambda t: -_mean([r.total for r in by_town[t]]))
    with _style():
        fig = Figure(figsize=(4.2, 1.4 + 0.62 * max(1, len(towns))), dpi=100)
        ax = fig.add_subplot()
        ax.set_title("各镇街选手平均得分", fontsize=12, loc="left")
        for side in ("top", "right"):
            ax.spines[side].set_visible(False)
        if not towns:
            ax.text(0.5, 0.5, "暂无成绩", ha="center", va="center", transform=ax.transAxes)
            return _render(fig, "svg")
        series = {"总分": [_mean([r.total for r in by_town[t]]) for t in towns]}
        for key, label in DIMENSION_LABELS.items():
            series[label] = [_mean([r.by_dimension.get(key) for r in by_town[t]]) for t in towns]
        n = len(series)
        height = 0.8 / n
        colors = [BRAND, ACCENT, "#2b5fa8", "#8a5a00"]
        for i, (name, values) in enumerate(series.items()):
            ys = [y + (i - (n - 1) / 2) * height for y in range(len(towns))]
            ax.barh(ys, values, height=height, label=name, color=colors[i % len(colors)])
        ax.set_yticks(list(range(len(towns))), towns, fontsize=11)
        ax.invert_yaxis()
        ax.set_xlim(0, 100)
        ax.tick_params(axis="x", labelsize=10)
        ax.legend(
            fontsize=10, frameon=False, ncols=2, loc="upper center", bbox_to_anchor=(0.4, -0.04)
        )
        return _render(fig, "svg")


def _mean(values) -> float:
    vals = [v for v in values if v is not None]
    return sum(vals) / len(vals) if vals else 0.0
