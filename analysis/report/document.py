"""The HTML document of a report: a :class:`Report` collects sections, tables and figures and
renders them through the Jinja2 templates in ``templates/`` (page, blocks and CSS)."""

from __future__ import annotations

import base64
import html
import io
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from analysis.stats import fmt


@cache
def _templates():
    """The report's Jinja2 environment.  Text is escaped with :func:`html.escape` through the
    ``esc`` filter (explicit in the templates): autoescaping would escape quotes differently."""
    from jinja2 import Environment, PackageLoader, StrictUndefined

    env = Environment(
        loader=PackageLoader("analysis.report", "templates"),
        autoescape=False,
        keep_trailing_newline=True,
        undefined=StrictUndefined,
    )
    env.filters["esc"] = html.escape
    return env


def _block(name: str, *args: Any) -> str:
    """One building block (a macro of ``blocks.html.j2``) rendered to HTML."""
    return str(getattr(_templates().get_template("blocks.html.j2").module, name)(*args))


@dataclass
class Report:
    """An HTML report under construction; figures go to ``<directory>/figures``."""

    directory: Path
    title: str
    kind: str
    parts: list[str] = field(default_factory=list)
    sections: list[tuple[str, str]] = field(default_factory=list)
    figures: list[Path] = field(default_factory=list)
    dpi: int = 100

    @property
    def figure_dir(self) -> Path:
        return self.directory / "figures"

    def h2(self, text: str) -> None:
        anchor = f"s{len(self.sections) + 1}"
        self.sections.append((anchor, text))
        self.parts.append(_block("h2", anchor, text))

    def h3(self, text: str) -> None:
        self.parts.append(_block("h3", text))

    def p(self, text: str, cls: str = "") -> None:
        self.parts.append(_block("p", text, cls))

    def bullets(self, items: Iterable[str], cls: str = "") -> None:
        items = list(items)
        if items:
            self.parts.append(_block("bullets", items, cls))

    def reserve(self) -> int:
        """A place for a findings list that is known only later (see :meth:`fill`)."""
        self.parts.append("")
        return len(self.parts) - 1

    def fill(self, at: int, items: Sequence[str]) -> None:
        """Put the findings list ``items`` at the place ``at`` from :meth:`reserve`."""
        self.parts[at] = _block("bullets", list(items), "findings")

    def pre(self, text: str, summary: str | None = None) -> None:
        block = _block("pre", text)
        self.parts.append(_block("details", summary, block) if summary else block)

    def table(
        self, df: pd.DataFrame, *, left: Sequence[str] = (), collapsed: str | None = None
    ) -> None:
        """An HTML table of ``df`` (values shown as given: format them before)."""
        cols = list(df.columns)
        cls = ["l" if c in left else "" for c in cols]
        head = [(k, str(c)) for k, c in zip(cls, cols, strict=True)]
        rows = [
            [(k, _cell(v)) for k, v in zip(cls, row, strict=True)]
            for row in df.itertuples(index=False)
        ]
        block = _block("table", head, rows)
        self.parts.append(_block("details", collapsed, block) if collapsed else block)

    def figure(self, fig, slug: str, caption: str) -> None:
        """Save ``fig`` as PNG and SVG in the figures directory and embed the PNG."""
        import matplotlib.pyplot as plt

        from experiments.io import write_atomic

        self.figure_dir.mkdir(parents=True, exist_ok=True)
        name = f"{len(self.figures) + 1:02d}_{slug}"
        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=self.dpi, metadata={"Software": None})
        png = buf.getvalue()
        write_atomic(self.figure_dir / f"{name}.png", lambda p: p.write_bytes(png))
        write_atomic(
            self.figure_dir / f"{name}.svg",
            lambda p: fig.savefig(p, format="svg", metadata={"Date": None, "Creator": None}),
        )
        plt.close(fig)
        self.figures.append(self.figure_dir / f"{name}.png")
        data = base64.b64encode(png).decode("ascii")
        self.parts.append(_block("figure", len(self.figures), name, caption, data))

    def try_figure(self, make: Callable[[], Any], slug: str, caption: str) -> None:
        """Like :meth:`figure`, but a figure that cannot be drawn becomes a note."""
        try:
            fig = make()
        except (ValueError, KeyError, TypeError, IndexError) as exc:
            self.p(f"Figure '{caption}' could not be drawn: {exc}", "note")
            return
        self.figure(fig, slug, caption)

    def render(self) -> str:
        return (
            _templates()
            .get_template("page.html.j2")
            .render(
                title=self.title,
                directory=self.directory.name,
                kind=self.kind,
                generated=datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
                n_figures=len(self.figures),
                sections=self.sections,
                body="\n".join(self.parts),
            )
        )

    def write(self) -> Path:
        from experiments.io import write_text_atomic

        return write_text_atomic(self.directory / "report.html", self.render())


def _cell(v: Any) -> str:
    if isinstance(v, bool | np.bool_):
        return "yes" if v else "no"
    if isinstance(v, float | np.floating):
        v = float(v)
        return f"{v:.4g}" if abs(v) < 1e4 else fmt(v, 4)  # fmt: NaN and infinities as n/a
    if isinstance(v, int | np.integer):
        return f"{int(v):,}" if abs(int(v)) >= 10_000 else str(int(v))
    return "" if v is None else str(v)
