"""The board-ready scorecard: one self-contained HTML page per area and period.

No external assets (inline CSS and SVG), readable on a projector, printable
to A4. Every figure comes from the same ``MetricResult`` rows, through the
same ``publishable`` suppression, as the NHSE return workbook, so the two
cannot disagree.

Templates
---------
The markup is Jinja2, shipped in ``metrics/publish/templates/``:

- ``scorecard.html.j2``: the page, with blocks ``title``, ``styles``, ``print_styles`` (the printed
  page footer and synthetic-data header, CSS ``@page`` margin boxes), ``extra_head``, ``logo``,
  ``header``, ``notices``, ``caveat``, ``headline``, ``metrics`` and ``footer``;
- partials ``_notices.html.j2`` (a failed or partly rejected run; synthetic inputs: before any figure),
  ``_header.html.j2``, ``_headline.html.j2`` (the headline table), ``_metric.html.j2``
  (one metric's section, with ``row`` the metric), ``_footer.html.j2``, ``_logo.html.j2`` and
  ``_caveat.html.j2`` (both empty), and ``_macros.html.j2`` (the status badge);
- ``scorecard.css``, inlined into the page's ``<style>``.

A local team changes the page without editing Python by pointing the ``templates_dir``
argument of :func:`render_scorecard`, or else the environment variable
``SCORECARD_TEMPLATES`` (which the pipeline's runs pick up), at a folder of its own templates.
A file there takes precedence over the shipped one of the same name (a Jinja2 ``ChoiceLoader``),
so dropping in ``_footer.html.j2``, ``_logo.html.j2`` or ``_caveat.html.j2`` replaces just that
part; ``scorecard.css`` there replaces the styles. To change only some blocks, an override
``scorecard.html.j2`` can start ``{% extends "shipped/scorecard.html.j2" %}``: the ``shipped/``
prefix always reaches the shipped templates. A folder that does not exist is an error, not a
silent fall-back to the shipped page. Keep the page self-contained: a logo goes in as a
``data:`` URI or inline ``<svg>``, never a link.

The templates see ``title``, ``hwb_name``, ``hwb_code``, ``period_label``, ``period_start``,
``period_end``, ``generated_at``, ``threshold``, ``plan_word``, ``rag`` (a Red/Amber/Green card,
with England benchmarks) and ``rows``: one :class:`MetricView` per metric, every figure already
formatted and suppressed as published (the unsuppressed result rows are not passed in), the year's
headline metrics first; ``headline_rows`` and ``supporting_rows`` split them by the year's declared
metric set (``[years]`` in scorecard.toml), ``financial_year`` is the period's year and
``metric_set_note`` says which set that is and how sure ("" when the scorecard declares none).
Each row carries the ``caveats`` of the unconfirmed reference data it depends on, and
``references`` lists those unconfirmed reference files (:class:`ReferenceView`), footnoted by
``_footer.html.j2``. ``synthetic`` is the run's synthetic-data banner ("" for real inputs),
``run_notice`` what a failed or incomplete run must say first ("" when complete), ``version`` the
software version; ``print_footer`` and ``print_banner`` are the same as CSS strings for ``@page``.
Each row's ``significance`` says whether the plan lies inside its 95% CI ("" when it cannot be said).
A local override of ``scorecard.html.j2`` should keep the ``notices`` and ``print_styles`` blocks
(``{% extends "shipped/scorecard.html.j2" %}`` does).

Escaping is on for everything: every value printed is HTML-escaped (as ``html.escape`` does,
quotes included, so attribute values are safe too) unless it is ``markupsafe.Markup``. The only
Markup passed in is what this code makes itself: the inlined chart SVG files (trend and SPC) and
the SPC icons.
Status icons and trend arrows are plain Unicode characters.
"""

from __future__ import annotations

import functools
import html
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2
from markupsafe import Markup

from metrics.compute.comparisons import publishable_comparison
from metrics.compute.status import (
    ACHIEVED,
    AMBER,
    CONTEXT,
    GREEN,
    NO_DATA,
    NOT_ACHIEVED,
    NOT_ON_TRACK,
    ON_TRACK,
    RED,
    plan_significance,
)
from metrics.compute.suppression import SUPPRESSED, publishable
from metrics.core import atomic
from metrics.core.periods import Period
from metrics.core.reference import caveats_for, comparable_benchmark, reference_file
from metrics.core.registry import Metric, MetricSet, Scorecard, default_scorecard, metric_set, scorecard
from metrics.core.results import MetricResult
from metrics.publish.spc_notes import SpcReading, icon_svg

TEMPLATES_ENV = "SCORECARD_TEMPLATES"
PAGE_TEMPLATE = "scorecard.html.j2"
SHIPPED_PREFIX = "shipped"

_STATUS_STYLE = {
    ON_TRACK: ("on-track", "\u2714", "On track"),  # heavy check mark
    NOT_ON_TRACK: ("off-track", "\u2718", "Not on track"),  # heavy ballot X
    ACHIEVED: ("on-track", "\u2714", "Achieved"),  # the year-end (Q4) wording
    NOT_ACHIEVED: ("off-track", "\u2718", "Not achieved"),
    NO_DATA: ("no-data", "?", "No data"),
    GREEN: ("on-track", "\u2714", "Green"),
    AMBER: ("amber", "\u26a0", "Amber"),  # warning sign
    RED: ("off-track", "\u2718", "Red"),
    CONTEXT: ("context", "\u2022", "Context"),  # bullet
}

# Trend arrows.
_DASH, _RIGHT, _UP, _DOWN = "\u2013", "\u25b6", "\u25b2", "\u25bc"


@dataclass(frozen=True)
class Trend:
    arrow: str
    css: str
    words: str


def trend(metric: Metric, current: MetricResult, previous: MetricResult | None) -> Trend:
    """Change since the previous quarter, in words and by polarity. Year-to-date figures restart
    each April, so they are only compared within a financial year; cumulative ones grow every
    quarter by construction, so their year-end projections are compared instead."""
    cumulative = metric.cumulative and metric.window == "year_to_date"
    now = current.projection if cumulative else current.value
    before = None if previous is None else (previous.projection if cumulative else previous.value)
    if previous is None or now is None or before is None:
        return Trend(_DASH, "same", "no earlier comparable value")
    new_year = Period.parse(previous.period).fy_start != Period.parse(current.period).fy_start
    if metric.window == "year_to_date" and new_year:
        return Trend(_DASH, "same", "year to date restarted in April")
    what = "projection " if cumulative else ""
    diff = now - before
    if abs(diff) < 10 ** -(metric.decimals + 1):
        return Trend(_RIGHT, "same", f"{what}no change")
    if metric.polarity == "neutral":  # a context measure: the change is shown, not judged
        return Trend(
            _UP if diff > 0 else _DOWN,
            "same",
            f"{'up' if diff > 0 else 'down'} {abs(diff):,.{metric.decimals}f}",
        )
    better = (diff > 0) == metric.higher_is_better
    return Trend(
        _UP if diff > 0 else _DOWN,
        "better" if better else "worse",
        f"{what}{'up' if diff > 0 else 'down'} {abs(diff):,.{metric.decimals}f} ({'better' if better else 'worse'})",
    )


def _num(v: Any, decimals: int) -> str:
    if v is None:
        return "n/a"
    if v == SUPPRESSED:
        return SUPPRESSED
    return f"{float(v):,.{decimals}f}"


def _count(v: Any) -> str:
    if v is None:
        return "n/a"
    if v == SUPPRESSED:
        return SUPPRESSED
    f = float(v)
    return f"{f:,.0f}" if f.is_integer() else f"{f:,.1f}"


def _svg(path: Path | None) -> Markup | None:
    """A chart SVG file (written by ``metrics.publish.charts``) inlined, without its XML prolog
    and doctype; None when there is no chart. Markup: this code's own drawing, not extract text."""
    if path is None or not path.exists():
        return None
    text = path.read_text(encoding="utf-8")
    return Markup(re.sub(r"^.*?(<svg\b)", r"\1", text, count=1, flags=re.S))


@dataclass(frozen=True)
class EnglandView:
    value: str
    year: str
    status: str
    source: str


@dataclass(frozen=True)
class MetricView:
    """One metric as the templates see it: published (suppressed) figures, formatted as text."""

    id: str
    title: str
    value: str
    ci: str
    plan: str
    england: EnglandView | None
    status: str
    status_css: str
    status_icon: str
    status_short: str
    status_reason: str
    trend: Trend
    chart: Markup | None
    definition: str
    reference: str
    unit: str
    polarity: str
    method: str
    numerator: str
    numerator_label: str
    denominator: str
    denominator_label: str
    plan_basis: str
    projection: str | None
    spc_icons: Markup | None
    spc_text: str | None
    data_quality: tuple[str, ...]
    note: str
    # "headline" (in the year's metric set) or "supporting" (computed and shown, not in the set).
    role: str = "headline"
    role_text: str = ""
    # Why no England benchmark is shown beside a figure defined differently ("" when it is shown or absent).
    england_note: str = ""
    # Caveats of the unconfirmed reference data the figure depends on (metrics/reference/sources.toml).
    caveats: tuple[str, ...] = ()
    # Further windows beside the headline (months of the quarter, year to date ...): (label, value).
    views: tuple[tuple[str, str], ...] = ()
    # The XmR chart beside the trend chart (``charts.spc_chart``); None when not drawn.
    spc_chart: Markup | None = None
    # "plan inside the 95% CI" / "plan outside the 95% CI" (target on a RAG card), beside the status; "" if unsaid.
    significance: str = ""


@dataclass(frozen=True)
class ReferenceView:
    """An unconfirmed reference file a figure on the page depends on, for the page's footnotes."""

    file: str
    what: str
    source: str
    year: str
    caveat: str
    metrics: tuple[str, ...]


def _escape(value: Any) -> Markup:
    """Every printed value, escaped as ``html.escape`` does (so an apostrophe is ``&#x27;`` as on
    the pages before the templates), unless it is already Markup. Autoescape stays on as well."""
    if hasattr(value, "__html__"):
        return Markup(value)
    return Markup(html.escape(str(value), quote=True))


def template_environment(templates_dir: Path | str | None = None) -> jinja2.Environment:
    """The Jinja2 environment: templates in ``templates_dir`` (else ``$SCORECARD_TEMPLATES``, if
    set and not empty) ahead of the shipped ones, which ``shipped/<name>`` always reaches."""
    chosen = templates_dir if templates_dir is not None else (os.environ.get(TEMPLATES_ENV) or None)
    return _environment(None if chosen is None else str(Path(chosen).expanduser().resolve()))


@functools.lru_cache(maxsize=8)
def _environment(override: str | None) -> jinja2.Environment:
    shipped = jinja2.PackageLoader("metrics.publish", "templates")
    loaders: list[jinja2.BaseLoader] = [jinja2.PrefixLoader({SHIPPED_PREFIX: shipped})]
    if override is not None:
        if not Path(override).is_dir():
            raise FileNotFoundError(
                f"scorecard templates folder {override} (templates_dir or ${TEMPLATES_ENV}) not found"
            )
        loaders.append(jinja2.FileSystemLoader(override))
    loaders.append(shipped)
    return jinja2.Environment(
        loader=jinja2.ChoiceLoader(loaders),
        autoescape=True,
        finalize=_escape,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


def css_string(text: str) -> Markup:
    """``text`` as a CSS string literal for the print margin boxes (``@page``): every character but
    letters, digits and spaces hex-escaped, so nothing in it can end the string or the ``<style>``."""
    body = "".join(c if c.isascii() and (c.isalnum() or c == " ") else f"\\{ord(c):06x}" for c in text)
    return Markup(f'"{body}"')


@functools.cache
def version_text() -> str:
    """The package version and commit, for the printed page footer."""
    from metrics.publish.manifest import versions

    v = versions()
    commit = v.get("git_commit", "unknown")
    return f"hwb-scorecard {v.get('hwb-scorecard', '?')}" + ("" if commit == "unknown" else f" ({commit[:10]})")


def render_scorecard(
    metrics: Sequence[Metric],
    results: Sequence[MetricResult],
    history: Sequence[MetricResult],
    hwb_code: str,
    hwb_name: str,
    period: Period,
    charts: Mapping[str, Path],
    data_quality: Mapping[str, Sequence[str]],
    spc: Mapping[str, SpcReading],
    generated_at: str,
    threshold: int,
    card: Scorecard | None = None,
    *,
    templates_dir: Path | str | None = None,
    views: Sequence[MetricResult] = (),
    spc_charts: Mapping[str, Path] | None = None,
    sources: Sequence[str] = (),
    funnel_charts: Mapping[str, Path] | None = None,
    synthetic: str = "",
    run_notice: str = "",
    version: str | None = None,
) -> str:
    """The page's HTML. ``results`` are this area's rows for ``period``; ``history`` all its rows.
    ``card`` None is the BCF scorecard (plans); a Red/Amber/Green card says target and shows
    the England benchmark. ``templates_dir`` (else ``$SCORECARD_TEMPLATES``) overrides templates.
    ``views`` are the area's further-window rows for ``period`` (e.g. each month of the quarter),
    listed beside the headline value with the same suppression. ``sources`` are footnotes saying which
    extracts came through a mapping file (``metrics.ingest.mapping``). ``synthetic`` is the run's
    synthetic-data banner ("" for real inputs, ``metrics.core.provenance.banner``); ``run_notice`` says
    the run failed or was partly rejected ("" when complete); both go at the top of the page."""
    rag = card is not None and card.status_scheme == "rag"
    title = "Better Care Fund scorecard" if card is None else card.page_title
    plan_word = "Target" if rag else "Plan"
    by_id = {r.metric_id: r for r in results}
    # The metrics' own scorecard when none is named (its [years] decide which are headline metrics).
    owner = card or (scorecard(metrics[0].scorecard) if metrics else default_scorecard())
    chosen = metric_set(owner, period.financial_year)
    prev_period = period.previous().label
    previous = {r.metric_id: r for r in history if r.period == prev_period and r.hwb_code == hwb_code}
    beside: dict[str, list[tuple[str, str]]] = {}
    for v in sorted(views, key=lambda v: (v.window_start, v.window_end)):
        if v.hwb_code == hwb_code and v.period == period.label:
            shown = publishable(v, threshold)["value"]
            beside.setdefault(v.metric_id, []).append((_view_label(v), _num(shown, _decimals(metrics, v.metric_id))))
    rows = []
    for m in metrics:
        r = by_id.get(m.id)
        if r is None:
            continue
        p = publishable(r, threshold)
        d = m.decimals
        ci = "" if p["lower"] is None or p["upper"] is None else f"{_num(p['lower'], d)} to {_num(p['upper'], d)}"
        css, icon, short = _STATUS_STYLE[r.status]
        before = previous.get(m.id)
        if p["suppressed"] or (before is not None and publishable(before, threshold)["suppressed"]):
            t = Trend(_DASH, "same", "not compared: a suppressed figure")
        else:
            t = trend(m, r, before)
        b, england_note = comparable_benchmark(m.id, m.parameters) if rag else (None, "")
        reading = spc.get(m.id)
        rows.append(
            MetricView(
                id=m.id,
                title=m.title,
                value=_num(p["value"], d),
                ci=ci,
                plan="none" if r.plan is None else f"{r.plan:g}",
                england=None if b is None else EnglandView(_num(b.value, d), b.year, b.status, b.source),
                status=r.status,
                status_css=css,
                status_icon=icon,
                status_short=short,
                status_reason=p["status_reason"] or "",
                trend=t,
                chart=_svg(charts.get(m.id)),
                spc_chart=_svg((spc_charts or {}).get(m.id)),
                definition=m.definition,
                reference=m.reference,
                unit=m.unit,
                polarity=m.polarity.replace("_", " "),
                method=r.method,
                numerator=_count(p["numerator"]),
                numerator_label=m.numerator_label,
                denominator=_count(p["denominator"]),
                denominator_label=m.denominator_label,
                plan_basis=m.plan_basis,
                projection=None if p.get("projection") is None else _num(p["projection"], d),
                spc_icons=None if reading is None else Markup(icon_svg(reading)),
                spc_text=None if reading is None else reading.text,
                data_quality=tuple(data_quality.get(m.id, ())),
                note=p.get("note") or "",
                role=chosen.role(m.id),
                role_text=_role_text(chosen, m.id),
                england_note=england_note,
                caveats=caveats_for(m.reference_data),
                views=tuple(beside.get(m.id, ())),
                significance=plan_significance(m, period, p["value"], p["lower"], p["upper"], p["plan"], target=rag),
            )
        )
    headline_rows = [r for r in rows if r.role == "headline"]
    supporting_rows = [r for r in rows if r.role != "headline"]
    page = template_environment(templates_dir).get_template(PAGE_TEMPLATE)
    shown = {row.id for row in rows}
    references: dict[str, list[str]] = {}
    for m in metrics:
        if m.id in shown:
            for name in m.reference_data:
                if reference_file(name).flagged:
                    references.setdefault(name, []).append(m.title)
    refs = [
        ReferenceView(f.path.name, f.what, f.source, f.year, f.caveat, tuple(titles))
        for f, titles in ((reference_file(n), t) for n, t in references.items())
    ]
    version = version_text() if version is None else version
    footer = f"{hwb_name} ({hwb_code}) \u00b7 {period.short_label} \u00b7 generated {generated_at} \u00b7 {version}"
    return page.render(
        synthetic=synthetic,
        run_notice=run_notice,
        version=version,
        print_footer=css_string(footer),
        print_banner=css_string(synthetic.split(":", 1)[0].upper() if synthetic else ""),
        title=title,
        hwb_name=hwb_name,
        hwb_code=hwb_code,
        period_label=period.short_label,
        period_start=f"{period.start:%d %B %Y}",
        period_end=f"{period.end:%d %B %Y}",
        generated_at=generated_at,
        threshold=threshold,
        plan_word=plan_word,
        rag=rag,
        rows=headline_rows + supporting_rows,
        headline_rows=headline_rows,
        supporting_rows=supporting_rows,
        financial_year=period.financial_year,
        metric_set_note=chosen.basis,
        references=refs,
        sources=list(sources),
        comparisons=(compared := comparison_views(metrics, results, threshold, funnel_charts or {})),
        comparison_sources=comparison_sources(compared),
    )


def comparison_sources(views: Sequence[ComparisonView]) -> list[tuple[str, str]]:
    """Each distinct comparator source once, with the metrics it applies to: (source, metric titles)."""
    users: dict[str, list[str]] = {}
    for v in views:
        for text in (
            f"England: {v.england_source}",
            f"{v.region or 'Region'}: {v.region_source}",
            f"Peers: {v.peer_source}" if v.peer_source else "",
        ):
            if text:
                users.setdefault(text, []).append(v.title)
    return [(text, "all metrics" if len(t) == len(views) else "; ".join(t)) for text, t in users.items()]


@dataclass(frozen=True)
class ComparisonView:
    """One metric's comparisons as the page's Comparisons section shows them."""

    id: str
    title: str
    value: str
    level: str
    ci: str
    england_value: str
    england: str
    england_source: str
    region: str
    region_value: str
    region_verdict: str
    region_source: str
    peers: str
    peer_source: str
    funnel: Markup | None


def comparison_views(
    metrics: Sequence[Metric], results: Sequence[MetricResult], threshold: int, funnels: Mapping[str, Path]
) -> list[ComparisonView]:
    """The area's headline results compared with England, its region and its peers (suppressed
    figures not compared), each with where the comparator came from and the metric's funnel plot."""
    by_id = {r.metric_id: r for r in results if not r.view}
    out = []
    for m in metrics:
        r = by_id.get(m.id)
        if r is None:
            continue
        p = publishable(r, threshold)
        c = publishable_comparison(r, threshold)
        d = m.decimals
        level = f"{c['comparison_level']:g}%" if c["comparison_level"] is not None else "95%"
        peers = (
            f"{c['peer_rank']} of {c['peer_count']} (peers {_num(c['peer_min'], d)} to {_num(c['peer_max'], d)})"
            if c["peer_rank"] is not None
            else "not ranked"
        )
        out.append(
            ComparisonView(
                id=m.id,
                title=m.title,
                value=_num(p["value"], d),
                level=level,
                ci=""
                if p["lower"] is None or p["upper"] is None
                else f"{_num(p['lower'], d)} to {_num(p['upper'], d)}",
                england_value=_num(c["england_value"], d),
                england=c["england_comparison"],
                england_source=c["england_source"],
                region=c["region"],
                region_value=_num(c["region_value"], d),
                region_verdict=c["region_comparison"],
                region_source=c["region_source"],
                peers=peers,
                peer_source=c["peer_source"],
                funnel=_svg(funnels.get(m.id)),
            )
        )
    return out


def _role_text(chosen: MetricSet, metric_id: str) -> str:
    """Where the metric stands in the year's declared set, with how sure that is; "" without ``[years]``."""
    if chosen.declared is None:
        return ""
    sure = chosen.confirmation_of(metric_id).upper()
    if chosen.is_headline(metric_id):
        return f"Headline metric for {chosen.year} ({sure})"
    return f"Supporting measure: not in the {chosen.year} headline metric set ({sure})"


def _decimals(metrics: Sequence[Metric], metric_id: str) -> int:
    return next((m.decimals for m in metrics if m.id == metric_id), 1)


def _view_label(v: MetricResult) -> str:
    """A month view by its month ("July 2025"); another view by its window's name."""
    if v.view.startswith("month_"):
        return f"{v.window_start:%B %Y}"
    return v.view.replace("_", " ")


def write_scorecard(path: Path, page: str) -> Path:
    atomic.write_text(path, page)
    return path
