"""Small inline-SVG charts for the HTML report: no plotting library, no network, a few KB each.

Each function takes plain data and returns an `<svg>` string; `render(figure)` picks one by the
figure's kind. Shapes: heatmap (a confusion matrix), histogram (latencies), lines (precision@k,
pass^k), bars (success per flow).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from html import escape

from kefu.evals.suite import Figure

PALETTE = ("#2563eb", "#dc2626", "#16a34a", "#d97706", "#7c3aed", "#0891b2", "#db2777", "#4b5563")
FONT = 'font-family="system-ui, -apple-system, Segoe UI, sans-serif"'


def render(figure: Figure) -> str:
    d = figure.data
    if figure.kind == "heatmap":
        return heatmap(d["labels"], d["matrix"], title=figure.title, x_label=d.get("x_label", "predicted"),
                       y_label=d.get("y_label", "true"))  # fmt: skip
    if figure.kind == "histogram":
        return histogram(
            d["values"], title=figure.title, unit=d.get("unit", ""), markers=d.get("markers", {})
        )
    if figure.kind == "lines":
        return lines(d["x"], d["series"], title=figure.title, x_label=d.get("x_label", ""),
                     y_label=d.get("y_label", ""), y_max=d.get("y_max"))  # fmt: skip
    if figure.kind == "bars":
        return bars(
            d["labels"], d["values"], title=figure.title, unit=d.get("unit", ""), x_max=d.get("x_max")
        )
    raise ValueError(f"unknown figure kind {figure.kind!r}")


def _svg(width: float, height: float, body: list[str], title: str) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width:.0f} {height:.0f}" '
        f'width="{width:.0f}" height="{height:.0f}" role="img" aria-label="{escape(title)}" {FONT} '
        f'font-size="11">'
        f"<title>{escape(title)}</title>"
        f'<text x="{width / 2:.1f}" y="16" text-anchor="middle" font-size="13" font-weight="600">'
        f"{escape(title)}</text>" + "".join(body) + "</svg>"
    )


def _ticks(lo: float, hi: float, n: int = 5) -> list[float]:
    """About `n` round tick values covering lo..hi."""
    if hi <= lo:
        hi = lo + 1.0
    raw = (hi - lo) / n
    step = 10 ** math.floor(math.log10(raw))
    for m in (1, 2, 2.5, 5, 10):
        if raw <= m * step:
            step *= m
            break
    start = math.floor(lo / step) * step
    out, v = [start], start
    while v < hi - step * 1e-9:  # the last tick is at or above `hi`, so the data fits under it
        v += step
        out.append(round(v, 10))
    return out


def _fmt(v: float) -> str:
    return f"{v:.0f}" if abs(v) >= 100 or float(v).is_integer() else f"{v:.2g}" if abs(v) < 1 else f"{v:.1f}"


def heatmap(
    labels: Sequence[str],
    matrix: Sequence[Sequence[float]],
    *,
    title: str,
    x_label: str = "predicted",
    y_label: str = "true",
) -> str:
    """Counts in a square grid, coloured by share of the row (a confusion matrix reads by row)."""
    n = len(labels)
    cell = 26 if n <= 20 else max(8, 520 // max(n, 1))
    longest = max((len(str(lab)) for lab in labels), default=4)
    left = 30 + min(longest, 24) * 6.2
    top = 40 + min(longest, 24) * 5.0
    width = left + n * cell + 20 + min(longest, 24) * 3.6  # rotated labels lean right
    height = top + n * cell + 20
    body = []
    for i, row in enumerate(matrix):
        total = sum(row) or 1
        for j, value in enumerate(row):
            share = value / total
            colour = f"rgba(37,99,235,{0.08 + 0.92 * share:.3f})" if value else "#f8fafc"
            if value and i != j:
                colour = f"rgba(220,38,38,{0.15 + 0.85 * share:.3f})"
            x, y = left + j * cell, top + i * cell
            body.append(
                f'<rect x="{x:.1f}" y="{y:.1f}" width="{cell - 1}" height="{cell - 1}" fill="{colour}">'
                f"<title>{escape(str(labels[i]))} → {escape(str(labels[j]))}: {value:g}</title></rect>"
            )
            if value and cell >= 18:
                ink = "#fff" if share > 0.55 else "#111"
                body.append(
                    f'<text x="{x + cell / 2 - 0.5:.1f}" y="{y + cell / 2 + 3.5:.1f}" text-anchor="middle" '
                    f'font-size="10" fill="{ink}">{value:g}</text>'
                )
    for i, lab in enumerate(labels):
        short = escape(str(lab)[:24])
        y = top + i * cell + cell / 2 + 3.5
        body.append(f'<text x="{left - 6:.1f}" y="{y:.1f}" text-anchor="end">{short}</text>')
        x = left + i * cell + cell / 2 + 3.5
        body.append(
            f'<text x="{x:.1f}" y="{top - 6:.1f}" transform="rotate(-55 {x:.1f} {top - 6:.1f})">{short}</text>'
        )
    body.append(
        f'<text x="{left + n * cell / 2:.1f}" y="{height - 4:.1f}" text-anchor="middle" fill="#555">'
        f"rows: {escape(y_label)}, columns: {escape(x_label)}</text>"
    )
    return _svg(width, height, body, title)


def histogram(
    values: Sequence[float],
    *,
    title: str,
    unit: str = "",
    bins: int = 24,
    markers: Mapping[str, float] | None = None,
) -> str:
    """Counts of `values` in equal-width bins, with labelled vertical markers (p50, p95...)."""
    width, height, left, right, top, bottom = 520.0, 260.0, 46.0, 16.0, 30.0, 40.0
    plot_w, plot_h = width - left - right, height - top - bottom
    body: list[str] = []
    vals = [float(v) for v in values if v == v]
    if not vals:
        body.append(f'<text x="{width / 2}" y="{height / 2}" text-anchor="middle">no data</text>')
        return _svg(width, height, body, title)
    lo, hi = min(vals), max(vals)
    if hi == lo:
        hi = lo + 1.0
    step = (hi - lo) / bins
    counts = [0] * bins
    for v in vals:
        counts[min(bins - 1, int((v - lo) / step))] += 1
    peak = max(counts)
    y_ticks = _ticks(0, peak, 4)
    y_top = y_ticks[-1] or 1

    def sx(v: float) -> float:
        return left + (v - lo) / (hi - lo) * plot_w

    def sy(c: float) -> float:
        return top + plot_h - c / y_top * plot_h

    for t in y_ticks:
        body.append(
            f'<line x1="{left}" x2="{width - right}" y1="{sy(t):.1f}" y2="{sy(t):.1f}" stroke="#e5e7eb"/>'
        )
        body.append(f'<text x="{left - 6}" y="{sy(t) + 3.5:.1f}" text-anchor="end">{_fmt(t)}</text>')
    for i, c in enumerate(counts):
        if c:
            x0 = sx(lo + i * step)
            body.append(
                f'<rect x="{x0 + 0.5:.1f}" y="{sy(c):.1f}" width="{max(plot_w / bins - 1, 1):.1f}" '
                f'height="{top + plot_h - sy(c):.1f}" fill="{PALETTE[0]}" opacity="0.8">'
                f"<title>{lo + i * step:.1f}–{lo + (i + 1) * step:.1f} {escape(unit)}: {c}</title></rect>"
            )
    for t in _ticks(lo, hi, 6):
        if lo <= t <= hi:
            body.append(
                f'<text x="{sx(t):.1f}" y="{top + plot_h + 15}" text-anchor="middle">{_fmt(t)}</text>'
            )
    body.append(
        f'<text x="{left + plot_w / 2:.1f}" y="{height - 6}" text-anchor="middle" fill="#555">'
        f"{escape(unit)} ({len(vals)} values)</text>"
    )
    for n, (name, v) in enumerate((markers or {}).items()):
        x = sx(min(max(v, lo), hi))
        colour = PALETTE[(n + 1) % len(PALETTE)]
        body.append(
            f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{top}" y2="{top + plot_h}" stroke="{colour}" '
            f'stroke-dasharray="4 3" stroke-width="1.5"/>'
        )
        body.append(
            f'<text x="{x + 3:.1f}" y="{top + 10 + 12 * n}" fill="{colour}">{escape(name)} {v:.1f}</text>'
        )
    body.append(
        f'<line x1="{left}" x2="{width - right}" y1="{top + plot_h}" y2="{top + plot_h}" stroke="#9ca3af"/>'
    )
    return _svg(width, height, body, title)


def lines(
    x: Sequence[float],
    series: Mapping[str, Sequence[float | None]],
    *,
    title: str,
    x_label: str = "",
    y_label: str = "",
    y_max: float | None = None,
) -> str:
    """One line with dots per series over shared x values, and a legend."""
    width, left, right, top, bottom = 520.0, 50.0, 16.0, 30.0, 44.0
    legend_h = 16 * len(series)
    height = 250.0 + legend_h
    plot_w, plot_h = width - left - right, height - top - bottom - legend_h
    ys = [float(v) for s in series.values() for v in s if v is not None]
    hi = y_max if y_max is not None else (max(ys) if ys else 1.0)
    y_ticks = _ticks(0, hi or 1.0, 5)
    y_top = y_ticks[-1] or 1.0
    x_lo, x_hi = (min(x), max(x)) if x else (0, 1)
    if x_hi == x_lo:
        x_hi = x_lo + 1

    def sx(v: float) -> float:
        return left + (v - x_lo) / (x_hi - x_lo) * plot_w

    def sy(v: float) -> float:
        return top + plot_h - v / y_top * plot_h

    body = []
    for t in y_ticks:
        body.append(
            f'<line x1="{left}" x2="{width - right}" y1="{sy(t):.1f}" y2="{sy(t):.1f}" stroke="#e5e7eb"/>'
        )
        body.append(f'<text x="{left - 6}" y="{sy(t) + 3.5:.1f}" text-anchor="end">{_fmt(t)}</text>')
    for v in x:
        body.append(f'<text x="{sx(v):.1f}" y="{top + plot_h + 15}" text-anchor="middle">{_fmt(v)}</text>')
    body.append(
        f'<text x="{left + plot_w / 2:.1f}" y="{top + plot_h + 32}" text-anchor="middle" fill="#555">'
        f"{escape(x_label)}</text>"
    )
    body.append(
        f'<text x="12" y="{top + plot_h / 2:.1f}" text-anchor="middle" fill="#555" '
        f'transform="rotate(-90 12 {top + plot_h / 2:.1f})">{escape(y_label)}</text>'
    )
    for n, (name, values) in enumerate(series.items()):
        colour = PALETTE[n % len(PALETTE)]
        points = [(sx(a), sy(float(b))) for a, b in zip(x, values, strict=False) if b is not None]
        if len(points) > 1:
            path = " ".join(f"{px:.1f},{py:.1f}" for px, py in points)
            body.append(f'<polyline points="{path}" fill="none" stroke="{colour}" stroke-width="2"/>')
        for (px, py), (a, b) in zip(
            points, [(a, b) for a, b in zip(x, values, strict=False) if b is not None], strict=True
        ):
            body.append(
                f'<circle cx="{px:.1f}" cy="{py:.1f}" r="3" fill="{colour}">'
                f"<title>{escape(name)} @ {_fmt(a)}: {float(b):.3f}</title></circle>"
            )
        ly = height - legend_h + 16 * n + 4
        body.append(f'<rect x="{left}" y="{ly - 8:.1f}" width="12" height="4" fill="{colour}"/>')
        body.append(f'<text x="{left + 18}" y="{ly:.1f}">{escape(name)}</text>')
    return _svg(width, height, body, title)


def bars(
    labels: Sequence[str],
    values: Sequence[float],
    *,
    title: str,
    unit: str = "",
    x_max: float | None = None,
) -> str:
    """Horizontal bars, one per label, with the value written at the end."""
    longest = max((len(str(lab)) for lab in labels), default=4)
    left = 20 + min(longest, 30) * 6.3
    width, right, top, row = 520.0, 60.0, 28.0, 20
    height = top + row * len(labels) + 12
    plot_w = width - left - right
    hi = x_max if x_max is not None else max([*values, 0.0]) or 1.0
    body = []
    for i, (lab, v) in enumerate(zip(labels, values, strict=True)):
        y = top + i * row
        w = max(v, 0) / hi * plot_w
        body.append(f'<text x="{left - 6:.1f}" y="{y + 13}" text-anchor="end">{escape(str(lab)[:30])}</text>')
        body.append(
            f'<rect x="{left:.1f}" y="{y + 3}" width="{plot_w:.1f}" height="{row - 6}" fill="#f1f5f9"/>'
        )
        body.append(
            f'<rect x="{left:.1f}" y="{y + 3}" width="{w:.1f}" height="{row - 6}" fill="{PALETTE[0]}">'
            f"<title>{escape(str(lab))}: {v:.3g}{escape(unit)}</title></rect>"
        )
        text = f"{v:.0%}" if unit == "%" else f"{v:.3g}{unit}"
        body.append(f'<text x="{left + plot_w + 6:.1f}" y="{y + 13}">{escape(text)}</text>')
    return _svg(width, height, body, title)


def figure_html(figure: Figure) -> str:
    """The figure's SVG, or a note in its place when its data cannot be drawn."""
    try:
        return render(figure)
    except (KeyError, TypeError, ValueError) as e:
        return f"<p class='note'>figure {escape(figure.title)!s} could not be drawn: {escape(str(e))}</p>"
