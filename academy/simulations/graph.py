"""A drawing of a case graph as SVG, written by hand (no graphviz binary): steps in layers by
their distance from the start, edges as curves, Chinese labels drawn by the browser.
Dead ends, cycles without exit, unreachable steps and missing targets are drawn in red."""

from __future__ import annotations

from html import escape

from academy.simulations.kinds import STEP_KINDS

NODE_W, NODE_H = 170, 54
LABEL_CHARS = 12  # CJK characters that fit a node at 12 px
GAP_X, GAP_Y = 24, 46
COLOURS = {
    "dialogue": "#eef3f8",
    "choice": "#e7efe9",
    "materials": "#fff6e5",
    "channel": "#fff6e5",
    "form": "#f1ecfa",
    "free_text": "#e9f4fb",
    "complication": "#fdecea",
    "end": "#dfeee0",
}


def _targets(step: dict) -> list[str]:
    kind = STEP_KINDS.get(step.get("kind"))
    if kind is None:
        return []
    try:
        return kind.targets(step)
    except (AttributeError, TypeError):
        return []


def _label(step: dict) -> str:
    kind = STEP_KINDS.get(step.get("kind"))
    if step.get("kind") == "end":
        from academy.simulations.kinds import OUTCOMES

        return f"结局：{OUTCOMES.get(step.get('outcome'), '?')}"
    if step.get("kind") == "complication" and isinstance(step.get("draw"), list):
        text = f"{len(step['draw'])} 种抽一"
    else:
        text = step.get("prompt") or step.get("title") or step.get("text") or ""
    if not isinstance(text, str):
        text = ""
    label = f"{kind.label if kind else '未知类型'}：{text}"
    return label if len(label) <= LABEL_CHARS else label[: LABEL_CHARS - 1] + "…"


def case_svg(steps: list, start: str | None, problems: dict[str, str] | None = None) -> str:
    """``steps``: the case's step list (possibly invalid); ``problems``: step id → reason."""
    problems = dict(problems or {})
    nodes = {s["id"]: s for s in steps if isinstance(s, dict) and isinstance(s.get("id"), str)}
    if not nodes:
        return '<svg xmlns="http://www.w3.org/2000/svg" width="200" height="40"></svg>'
    start = start if start in nodes else next(iter(nodes))
    edges = {sid: _targets(s) for sid, s in nodes.items()}
    missing = sorted({t for ts in edges.values() for t in ts if t not in nodes})
    for m in missing:
        problems.setdefault(m, "不存在的步骤")
    # Layers: breadth-first distance from the start; unreachable steps go below the rest.
    depth = {start: 0}
    queue = [start]
    while queue:
        sid = queue.pop(0)
        for t in edges.get(sid, []):
            if t not in depth:
                depth[t] = depth[sid] + 1
                queue.append(t)
    bottom = max(depth.values()) + 1
    for sid in list(nodes) + missing:
        if sid not in depth:
            depth[sid] = bottom
            if sid in nodes:
                problems.setdefault(sid, "从起始步骤走不到这一步")
    layers: dict[int, list[str]] = {}
    for sid in list(nodes) + missing:
        layers.setdefault(depth[sid], []).append(sid)
    width = max(len(v) for v in layers.values()) * (NODE_W + GAP_X) + GAP_X
    height = (max(layers) + 1) * (NODE_H + GAP_Y) + GAP_Y
    pos = {}
    for d, ids in layers.items():
        row_w = len(ids) * (NODE_W + GAP_X) - GAP_X
        x0 = (width - row_w) / 2
        for i, sid in enumerate(ids):
            pos[sid] = (x0 + i * (NODE_W + GAP_X), GAP_Y / 2 + d * (NODE_H + GAP_Y))
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="case-graph" width="{width:.0f}" '
        f'height="{height:.0f}" viewBox="0 0 {width:.0f} {height:.0f}" role="img" '
        f'aria-label="案例流程图" font-family="sans-serif" font-size="12">',
        '<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" '
        'markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" '
        'fill="#5b6472"/></marker></defs>',
    ]
    for sid, targets in edges.items():
        x1, y1 = pos[sid]
        for t in dict.fromkeys(targets):
            x2, y2 = pos[t]
            sx, sy = x1 + NODE_W / 2, y1 + NODE_H
            tx, ty = x2 + NODE_W / 2, y2
            if y2 <= y1:  # an edge back up: around the side
                sy, ty = y1 + NODE_H / 2, y2 + NODE_H / 2
                sx, tx = x1 + NODE_W, x2 + NODE_W
                bend = max(sx, tx) + 40
                d = f"M{sx:.0f},{sy:.0f} C{bend:.0f},{sy:.0f} {bend:.0f},{ty:.0f} {tx:.0f},{ty:.0f}"
            else:
                mid = (sy + ty) / 2
                d = f"M{sx:.0f},{sy:.0f} C{sx:.0f},{mid:.0f} {tx:.0f},{mid:.0f} {tx:.0f},{ty:.0f}"
            colour = "#b3261e" if t in problems and t in missing else "#5b6472"
            out.append(
                f'<path d="{d}" fill="none" stroke="{colour}" stroke-width="1.4" '
                f'marker-end="url(#arrow)"/>'
            )
    for sid in list(nodes) + missing:
        x, y = pos[sid]
        bad = sid in problems
        step = nodes.get(sid, {})
        fill = "#fdecea" if bad else COLOURS.get(step.get("kind"), "#fff")
        stroke = "#b3261e" if bad else ("#0b6b4f" if sid == start else "#9aa3ad")
        dash = ' stroke-dasharray="5 3"' if sid in missing else ""
        title = escape(problems.get(sid, _label(step) if step else ""))
        out.append(
            f'<g class="node{" bad" if bad else ""}" data-step="{escape(sid)}">'
            f"<title>{title}</title>"
            f'<rect x="{x:.0f}" y="{y:.0f}" width="{NODE_W}" height="{NODE_H}" rx="8" '
            f'fill="{fill}" stroke="{stroke}" stroke-width="{2.5 if bad else 1.2}"{dash}/>'
            f'<text x="{x + 8:.0f}" y="{y + 20:.0f}" font-weight="bold">{escape(sid[:22])}</text>'
            f'<text x="{x + 8:.0f}" y="{y + 40:.0f}">'
            f"{escape(_label(step) if step else '缺失的步骤')}</text></g>"
        )
    out.append("</svg>")
    return "".join(out)
