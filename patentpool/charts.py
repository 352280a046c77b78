"""Bar charts for statements and invoices, drawn by matplotlib as SVG text to embed inline in a document.

The amounts are Decimal in the books; they become floats here only to place bars, and every label printed on a
chart is the exact amount as the tables spell it.
"""

from __future__ import annotations

import io
import re
from collections.abc import Sequence
from decimal import Decimal
from typing import TYPE_CHECKING, Literal, NamedTuple

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

# A bank statement's palette: one ink colour for bars, a muted second for the part withheld (admin fee).
INK = "#1f3a5f"
MUTED = "#9fb3c8"
TEXT = "#2b2b2b"
GRID = "#d9dee5"
# At most this many bars; the rest are summed into one "others" bar, so a member with 300 licensees still
# gets a chart that fits a page.
MAX_BARS = 12


class Bar(NamedTuple):
    label: str
    value: Decimal
    text: str  # the exact amount as printed in the tables


def top_bars(bars: Sequence[Bar], limit: int = MAX_BARS) -> list[Bar]:
    """The `limit - 1` largest bars and one bar summing the others (exactly, in Decimal), largest first."""
    ordered = sorted(bars, key=lambda b: (-b.value, b.label))
    if len(ordered) <= limit:
        return ordered
    head, tail = ordered[: limit - 1], ordered[limit - 1 :]
    rest = sum((b.value for b in tail), Decimal(0))
    return [*head, Bar(f"{len(tail)} others", rest, _plain(rest))]


def _plain(value: Decimal) -> str:
    return f"{value:,.2f}"


def _figure(width: float, height: float) -> Figure:
    # The object API, not pyplot: no global figure registry, no GUI backend, nothing kept between calls.
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=96)
    fig.patch.set_alpha(0)
    return fig


def _svg(fig: Figure, salt: str) -> str:
    """The figure as an <svg> element for inline use: no XML prolog or DOCTYPE, scalable to its box, and
    element ids made unique per chart (several inline SVGs share one document's id space)."""
    import matplotlib

    buffer = io.StringIO()
    with matplotlib.rc_context(
        {"svg.fonttype": "none", "svg.hashsalt": salt, "font.family": ["DejaVu Sans", "sans-serif"]}
    ):
        fig.savefig(buffer, format="svg", metadata={"Date": None, "Creator": None})
    text = buffer.getvalue()
    text = text[text.index("<svg") :]
    # The width and height (pt) stay: they give the chart its aspect ratio when CSS scales it to its column.
    # matplotlib's own ids ("patch_1", "text_2") repeat in every chart; prefix them with the salt.
    text = re.sub(r'id="(?!p[0-9a-f]{8,}|m[0-9a-f]{8,})([^"]+)"', rf'id="{salt}-\1"', text)
    return text


def hbar(bars: Sequence[Bar], title: str, salt: str, currency: str, width: float = 3.5) -> str:
    """Horizontal bars, largest at the top, each labelled with its exact amount; `width` in inches (3.5 for
    half a page's column, 7 for all of it: drawn at the size shown, so its text is the page's size)."""
    from matplotlib.ticker import MaxNLocator

    shown = top_bars(bars)
    rows = max(len(shown), 1)
    height = 0.95 + 0.3 * rows
    fig = _figure(width, height)
    # Room on the left for the longest label (about 0.068 in a character at 8.5 pt), on the right for amounts.
    left = min(0.5, (0.12 + 0.068 * max((len(b.label) for b in shown), default=1)) / width)
    right = 0.62 / width
    ax = fig.add_axes((left, 0.45 / height, 1 - left - right, 1 - 0.85 / height))
    labels = [b.label for b in reversed(shown)]
    values = [float(b.value) for b in reversed(shown)]
    ax.barh(range(rows if shown else 0), values, color=INK, height=0.6)
    ax.set_yticks(range(len(labels)), labels)
    top = max(values, default=0.0)
    for y, bar in enumerate(reversed(shown)):
        ax.text(float(bar.value) + top * 0.02, y, bar.text, va="center", ha="left", fontsize=8, color=TEXT)
    ax.set_xlim(0, top if top > 0 else 1)
    ax.set_ylim(-0.6, rows - 0.4)
    _style(ax, axis="x")
    ax.set_xlabel(currency, fontsize=7.5, color="#6b7280", labelpad=2)
    ax.tick_params(axis="y", labelsize=8.5, colors=TEXT, length=0)
    ax.xaxis.set_major_locator(MaxNLocator(4))
    fig.text(0.02, 1 - 0.12 / height, title, ha="left", va="top", fontsize=9.5, color=TEXT, fontweight="bold")
    return _svg(fig, salt)


def stacked_columns(
    columns: Sequence[tuple[str, Decimal, Decimal, str]],
    title: str,
    salt: str,
    currency: str,
    legend: tuple[str, str],
    width: float = 7.0,
) -> str:
    """Vertical columns, one per period: the first value in ink, the second stacked on it in a muted tone
    (net and admin fee, or due and credit), each labelled with the exact total printed above it."""
    height = 2.3
    fig = _figure(width, height)
    left = 0.62 / width
    ax = fig.add_axes((left, 0.3 / height, 0.97 - left, 1 - 0.85 / height))
    names = [c[0] for c in columns]
    low = [float(c[1]) for c in columns]
    high = [float(c[2]) for c in columns]
    ax.bar(names, low, color=INK, width=0.55, label=legend[0])
    ax.bar(names, high, bottom=low, color=MUTED, width=0.55, label=legend[1])
    top = max((a + b for a, b in zip(low, high, strict=True)), default=0.0)
    for x, column in enumerate(columns):
        ax.text(
            x, float(column[1] + column[2]) + top * 0.02, column[3], ha="center", va="bottom", fontsize=8.5
        )
    ax.set_ylim(0, top * 1.18 if top > 0 else 1)
    _style(ax, axis="y")
    ax.set_ylabel(currency, fontsize=8, color=TEXT)
    ax.tick_params(axis="x", labelsize=9, colors=TEXT, length=0)
    ax.legend(
        loc="lower right", bbox_to_anchor=(1, 1.0), ncols=2, frameon=False, fontsize=7.5, handlelength=1
    )
    fig.text(0.01, 0.97, title, ha="left", va="top", fontsize=9.5, color=TEXT, fontweight="bold")
    return _svg(fig, salt)


def _style(ax: Axes, axis: Literal["x", "y"]) -> None:
    from matplotlib.ticker import FuncFormatter

    for side in ("top", "right", "left" if axis == "x" else "bottom"):
        ax.spines[side].set_visible(False)
    ax.spines["bottom" if axis == "x" else "left"].set_color(GRID)
    ax.grid(axis=axis, color=GRID, linewidth=0.6)
    ax.set_axisbelow(True)
    ticks = ax.xaxis if axis == "x" else ax.yaxis
    ticks.set_major_formatter(FuncFormatter(lambda v, _pos: f"{v:,.0f}"))
    ax.tick_params(axis=axis, labelsize=8, colors="#6b7280", length=0)
