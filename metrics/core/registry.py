"""Metric declarations, discovered from ``metrics/definitions/<scorecard>/<id>.toml``.

Each TOML file is the single declaration of a metric (definition, unit,
polarity, method, sources, SQL file, parameters); nothing else in the code
base lists metrics, so adding a file adds the metric everywhere. A
``[breakdown]`` table declares one metric per value of a SQL parameter
(e.g. child protection plans by category) from the same file. Each
scorecard's ``scorecard.toml`` says which extracts it reads and how status
is judged.
"""

from __future__ import annotations

import functools
import os
import re
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal, TypeVar

from metrics.core.errors import DefinitionError
from metrics.core.paths import DEFINITIONS
from metrics.core.periods import financial_year

Method = Literal["isr", "isratio", "dsr", "crude_rate", "proportion", "count", "mean"]
# neutral: a context measure (e.g. demand); shown, trended, never given a status colour.
Polarity = Literal["lower_is_better", "higher_is_better", "neutral"]
# month_1 ... month_3: the quarter's first, second and third calendar month (monthly monitoring).
MetricWindow = Literal["quarter", "year_to_date", "rolling_12_months", "month_1", "month_2", "month_3"]
PlanBasis = Literal["quarter", "annual"]
StatusScheme = Literal["plan", "rag"]
# How far a declared fact is checked, as marked in the domain notes: read in the official source,
# taken from a page quoting it (council papers, analysts' code), or neither.
Confirmation = Literal["confirmed", "secondary", "unconfirmed"]
CONFIRMATIONS = ("confirmed", "secondary", "unconfirmed")

# The names of ``metrics.compute.methods.METHODS`` (core cannot import compute; a test keeps them equal).
METHOD_NAMES = ("isr", "isratio", "dsr", "crude_rate", "proportion", "count", "mean")
_POLARITIES = ("lower_is_better", "higher_is_better", "neutral")
_WINDOWS = ("quarter", "year_to_date", "rolling_12_months", "month_1", "month_2", "month_3")
MONTHS: tuple[MetricWindow, ...] = ("month_1", "month_2", "month_3")
SCORECARD_FILE = "scorecard.toml"


@dataclass(frozen=True)
class Targets:
    """Where a scorecard's plans or targets are: one row per area, metric and year (and quarter)."""

    extract: str
    area_column: str
    value_column: str
    # Amber tolerance beside each target (Red/Amber/Green scorecards); "" = none.
    tolerance_column: str = ""
    # Quarter of the plan (Q1-Q4 or YE); "" = annual targets only (keyed "YE").
    quarter_column: str = ""


@dataclass(frozen=True)
class YearSet:
    """One ``[years."YYYY-YY"]`` table of a scorecard.toml: the metrics that financial year reports
    (its headline metrics), with the source saying so and how far that is confirmed."""

    year: str
    metrics: tuple[str, ...]
    source: str
    confirmation: Confirmation
    note: str = ""
    # Members less sure than the set as a whole, e.g. reablement in 2024-25: metric id -> confirmation.
    member_confirmation: dict[str, Confirmation] = field(default_factory=dict)


@dataclass(frozen=True)
class MetricSet:
    """The headline metrics of a scorecard for one financial year, and why those.

    ``declared`` is the ``[years]`` entry used: the year's own, else the latest earlier one (carried
    forward), else, for a year before every declared one, the earliest. None when the scorecard
    declares no ``[years]``: then every metric is a headline metric every year.
    """

    card: str
    year: str
    metric_ids: tuple[str, ...]
    declared: YearSet | None = None

    @property
    def carried_forward(self) -> bool:
        return self.declared is not None and self.declared.year < self.year

    @property
    def carried_back(self) -> bool:
        return self.declared is not None and self.declared.year > self.year

    @property
    def confirmation(self) -> Confirmation:
        """A set used for a year it was not declared for is an assumption, so unconfirmed."""
        if self.declared is None:
            return "confirmed"
        return "unconfirmed" if self.declared.year != self.year else self.declared.confirmation

    def is_headline(self, metric_id: str) -> bool:
        return metric_id in self.metric_ids

    def role(self, metric_id: str) -> Literal["headline", "supporting"]:
        return "headline" if self.is_headline(metric_id) else "supporting"

    def confirmation_of(self, metric_id: str) -> Confirmation:
        """How sure it is that the metric is in (or, for a supporting measure, out of) the year's set."""
        if self.declared is None or self.confirmation == "unconfirmed":
            return self.confirmation
        return self.declared.member_confirmation.get(metric_id, self.declared.confirmation)

    @property
    def basis(self) -> str:
        """One sentence for outputs: which declared set this is and how sure; "" without ``[years]``."""
        d = self.declared
        if d is None:
            return ""
        if self.carried_forward:
            head = f"No metric set is declared for {self.year}: the {d.year} set is carried forward (UNCONFIRMED)."
        elif self.carried_back:
            head = (
                f"No metric set is declared for {self.year} or earlier: the earliest declared set, {d.year}, "
                "is used (UNCONFIRMED)."
            )
        else:
            head = f"The {d.year} metric set ({d.confirmation.upper()})."
        return " ".join(x for x in (head, d.note, f"Source: {d.source}") if x)


@dataclass(frozen=True)
class Scorecard:
    """One scorecard, declared by ``metrics/definitions/<id>/scorecard.toml``: everything that differs
    between scorecards (titles, extracts, targets, outputs) is here, so code never asks which one it is."""

    id: str
    title: str
    area_label: str
    status_scheme: StatusScheme
    extracts: tuple[str, ...]
    # The extract listing the areas of a period (its ``code`` column).
    population_extract: str
    targets: Targets
    # The module declaring this scorecard's extracts (an ``EXTRACTS`` tuple), e.g. metrics.contracts.bcf.
    contracts: str
    folder: Path
    description: str = ""
    # Short name in progress lines and tables ("BCF").
    label: str = ""
    page_title: str = ""
    artifact_title: str = ""
    # Prefect flow (and so deployment) name: ``<flow_name>/quarterly``.
    flow_name: str = ""
    # Outputs go to ``reports/<period>/<report_folder>``; "" = the period folder itself.
    report_folder: str = ""
    page_prefix: str = ""
    # A kind from ``metrics.publish.run.WORKBOOKS`` and the file name pattern ({area}, {period}).
    workbook: str = "scorecard_workbook"
    workbook_name: str = "{card}_{area}_{period}.xlsx"
    workbook_artifact_key: str = ""
    # The scorecard ``scorecard run`` runs when none is named.
    default: bool = False
    # Headline metric sets by financial year, oldest first (``[years]``); empty = every metric every year.
    years: tuple[YearSet, ...] = ()

    @property
    def targets_extract(self) -> str:
        return self.targets.extract

    def workbook_file(self, area: str, period_label: str) -> str:
        return self.workbook_name.format(card=self.id, area=area, period=period_label)


@dataclass(frozen=True)
class Metric:
    id: str
    scorecard: str
    order: int
    title: str
    reference: str
    definition: str
    unit: str
    polarity: Polarity
    method: Method
    multiplier: float
    window: MetricWindow
    cumulative: bool
    plan_basis: PlanBasis
    sources: tuple[str, ...]
    sql_path: Path
    decimals: int
    numerator_label: str
    denominator_label: str
    parameters: dict[str, Any] = field(default_factory=dict)
    # Further windows reported beside the headline one (e.g. rolling 12 months, year to date).
    views: tuple[MetricWindow, ...] = ()
    # Metrics whose numerators add up to a shared denominator (categories of one total): if one
    # is suppressed, another must be too, or the total gives it away.
    suppression_group: str = ""
    group_label: str = ""
    # The specification the metric implements (a citation with its URL) and how far that is checked.
    source: str = ""
    confirmation: Confirmation = "unconfirmed"
    # Names of the reference files (metrics/reference/sources.toml) the figure depends on; outputs
    # print the caveat of each unconfirmed one beside it (metrics.core.reference.caveats_for).
    reference_data: tuple[str, ...] = ()
    # ``[spc]``: whether the records give a discrete value for each calendar month (then SPC is drawn
    # on the months: each month's own numerator and denominator, never a running total), and why, or
    # why not. A monthly metric is computed for month_1..3 of every quarter (``windows``).
    monthly: bool = False
    monthly_note: str = ""

    @property
    def sql(self) -> str:
        return self.sql_path.read_text(encoding="utf-8")

    @property
    def higher_is_better(self) -> bool:
        return self.polarity == "higher_is_better"

    @property
    def declared_windows(self) -> tuple[MetricWindow, ...]:
        """The headline window and the further views the declaration asks to report (and judge)."""
        return (self.window, *(v for v in self.views if v != self.window))

    @property
    def windows(self) -> tuple[MetricWindow, ...]:
        """The declared windows, then the quarter if neither is it and, for a monthly metric, each month
        of the quarter: SPC needs in-period values, and Making Data Count does not chart running totals."""
        declared = self.declared_windows
        spc: tuple[MetricWindow, ...] = ("quarter", *MONTHS) if self.monthly else ("quarter",)
        return (*declared, *(w for w in spc if w not in declared))

    @property
    def spc_view(self) -> str:
        """The result view SPC is drawn from: the headline ("") when it is quarterly, else "quarter"."""
        return "" if self.window == "quarter" else "quarter"

    def sql_parameters(self, available: dict[str, Any]) -> dict[str, Any]:
        """The named parameters the SQL uses: run values first, then declared ones.

        DuckDB rejects unused named parameters, so only those referenced are passed.
        """
        wanted = set(re.findall(r"\$([A-Za-z_]\w*)", self.sql))
        merged = {**self.parameters, **available}
        missing = wanted - merged.keys()
        if missing:
            raise KeyError(f"metric {self.id}: SQL needs parameters {sorted(missing)}")
        return {k: merged[k] for k in wanted}


_T = TypeVar("_T")


def _read_toml(path: Path) -> dict[str, Any]:
    """A declaration file's TOML, or a :class:`DefinitionError` naming the file, line and column."""
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise DefinitionError(f"{path}: not valid TOML ({exc}): correct the declaration there") from exc
    except UnicodeDecodeError as exc:
        raise DefinitionError(f"{path}: not UTF-8 text (byte {exc.start}): save it as UTF-8") from exc


def _declared(path: Path, load: Callable[[Path], _T]) -> _T:
    """``load(path)``, its complaints about the declaration raised as a :class:`DefinitionError`
    (the messages already name the file and the key)."""
    try:
        return load(path)
    except DefinitionError:
        raise
    except (ValueError, KeyError, TypeError) as exc:
        text = str(exc.args[0]) if isinstance(exc, KeyError) and exc.args else str(exc)
        where = "" if str(path) in text else f"{path}: "
        raise DefinitionError(f"{where}{text}") from exc


def _load(path: Path) -> list[Metric]:
    raw = _read_toml(path)
    try:
        metric = Metric(
            id=raw["id"],
            scorecard=raw["scorecard"],
            order=int(raw["order"]),
            title=raw["title"],
            reference=raw.get("reference", ""),
            definition=" ".join(raw["definition"].split()),
            unit=raw["unit"],
            polarity=raw["polarity"],
            method=raw["method"],
            multiplier=float(raw["multiplier"]),
            window=raw["window"],
            cumulative=bool(raw["cumulative"]),
            plan_basis=raw["plan_basis"],
            sources=tuple(raw["sources"]),
            sql_path=path.with_name(raw["sql"]),
            decimals=int(raw.get("decimals", 1)),
            numerator_label=raw["numerator_label"],
            denominator_label=raw["denominator_label"],
            parameters=dict(raw.get("parameters", {})),
            views=tuple(raw.get("views", ())),
            source=" ".join(raw["source"].split()),
            confirmation=raw["confirmation"],
            reference_data=tuple(raw.get("reference_data", ())),
            **_spc_table(path, raw.get("spc")),
        )
    except KeyError as exc:
        raise ValueError(f"{path}: missing required key {exc}") from exc
    if metric.confirmation not in CONFIRMATIONS:
        raise ValueError(f"{path}: confirmation must be one of {CONFIRMATIONS}, got {metric.confirmation!r}")
    if not metric.source:
        raise ValueError(f"{path}: source (the specification the metric implements, with its URL) is empty")
    if metric.id != path.stem:
        raise ValueError(f"{path}: id {metric.id!r} must match the file name")
    if metric.scorecard != path.parent.name:
        raise ValueError(f"{path}: scorecard {metric.scorecard!r} must match the folder name")
    if metric.method not in METHOD_NAMES:
        raise ValueError(f"{path}: method must be one of {METHOD_NAMES}")
    if metric.polarity not in _POLARITIES:
        raise ValueError(f"{path}: polarity must be one of {_POLARITIES}")
    for w in metric.windows:
        if w not in _WINDOWS:
            raise ValueError(f"{path}: window/views must be among {_WINDOWS}, got {w!r}")
    if not all(isinstance(r, str) and r for r in metric.reference_data):
        raise ValueError(
            f"{path}: reference_data must be a list of reference file names (metrics/reference/sources.toml)"
        )
    if not metric.sql_path.exists():
        raise ValueError(f"{path}: SQL file {metric.sql_path.name} not found")
    breakdown = raw.get("breakdown")
    if breakdown is None:
        return [metric]
    return _expand(path, metric, breakdown)


def _spc_table(path: Path, spc: Any) -> dict[str, Any]:
    """The ``[spc]`` table: ``monthly`` (true/false) and ``note`` saying how a month's value is formed,
    or why the records give none. Absent: not monthly (a local scorecard need not declare it)."""
    if spc is None:
        return {}
    if not isinstance(spc, dict) or not isinstance(spc.get("monthly"), bool):
        raise ValueError(f"{path}: [spc] needs monthly = true or false (whether the records give monthly values)")
    note = " ".join(str(spc.get("note", "")).split())
    if not note:
        raise ValueError(
            f"{path}: [spc] needs a note: how a month's value is formed (monthly = true) or why the records "
            "give no monthly value (monthly = false)"
        )
    return {"monthly": spc["monthly"], "monthly_note": note}


def _expand(path: Path, metric: Metric, breakdown: dict[str, Any]) -> list[Metric]:
    """One metric per breakdown value: id ``<id>_<value>``, the value passed as a SQL parameter."""
    try:
        param, values = breakdown["parameter"], dict(breakdown["values"])
    except KeyError as exc:
        raise ValueError(f"{path}: [breakdown] needs {exc}") from exc
    if not values:
        raise ValueError(f"{path}: [breakdown] values is empty")
    return [
        replace(
            metric,
            id=f"{metric.id}_{value}",
            title=f"{metric.title}: {label}",
            numerator_label=metric.numerator_label.replace("{label}", label.lower()),
            parameters={**metric.parameters, param: value},
            suppression_group=metric.id,
            group_label=metric.title,
        )
        for value, label in values.items()
    ]


def _load_scorecard(path: Path) -> Scorecard:
    raw = _read_toml(path)
    try:
        card_id = raw["id"]
        t = raw["targets"]
        card = Scorecard(
            id=card_id,
            title=raw["title"],
            area_label=raw["area_label"],
            status_scheme=raw["status_scheme"],
            extracts=tuple(raw["extracts"]),
            population_extract=raw["population_extract"],
            targets=Targets(
                extract=t["extract"],
                area_column=t["area_column"],
                value_column=t["value_column"],
                tolerance_column=t.get("tolerance_column", ""),
                quarter_column=t.get("quarter_column", ""),
            ),
            contracts=raw["contracts"],
            folder=path.parent,
            description=" ".join(raw.get("description", "").split()),
            label=raw.get("label", raw["title"]),
            page_title=raw.get("page_title", raw["title"]),
            artifact_title=raw.get("artifact_title", raw["title"]),
            flow_name=raw.get("flow_name", f"{card_id}-quarterly"),
            report_folder=raw.get("report_folder", card_id),
            page_prefix=raw.get("page_prefix", card_id),
            workbook=raw.get("workbook", "scorecard_workbook"),
            workbook_name=raw.get("workbook_name", "{card}_{area}_{period}.xlsx"),
            workbook_artifact_key=raw.get("workbook_artifact_key", f"{card_id}-workbook"),
            default=bool(raw.get("default", False)),
            years=_year_sets(path, raw.get("years", {})),
        )
    except KeyError as exc:
        raise ValueError(f"{path}: missing required key {exc}") from exc
    if card.id != path.parent.name:
        raise ValueError(f"{path}: id {card.id!r} must match the folder name")
    if card.status_scheme not in ("plan", "rag"):
        raise ValueError(f"{path}: status_scheme must be 'plan' or 'rag'")
    if card.targets.extract not in card.extracts or card.population_extract not in card.extracts:
        raise ValueError(f"{path}: the population and targets extracts must be among its extracts")
    return card


def _year_sets(path: Path, years: dict[str, Any]) -> tuple[YearSet, ...]:
    """The ``[years."YYYY-YY"]`` tables, checked here so a typo fails naming the file and year."""
    out = []
    for year, t in years.items():
        try:
            financial_year(year)
        except ValueError as exc:
            raise ValueError(f'{path}: [years."{year}"]: {exc}') from None
        where = f'{path}: [years."{year}"]'
        try:
            ids, source, confirmation = t["metrics"], t["source"], t["confirmation"]
        except (KeyError, TypeError) as exc:
            raise ValueError(f"{where} needs metrics, source and confirmation (missing {exc})") from None
        if not isinstance(ids, list) or not ids or not all(isinstance(i, str) for i in ids):
            raise ValueError(f"{where}: metrics must be a non-empty list of metric ids")
        if len(set(ids)) != len(ids):
            raise ValueError(f"{where}: metrics lists {sorted({i for i in ids if ids.count(i) > 1})} twice")
        members = dict(t.get("member_confirmation", {}))
        for c in (confirmation, *members.values()):
            if c not in CONFIRMATIONS:
                raise ValueError(f"{where}: confirmation must be one of {CONFIRMATIONS}, got {c!r}")
        if set(members) - set(ids):
            raise ValueError(f"{where}: member_confirmation names {sorted(set(members) - set(ids))}, not in metrics")
        if not str(source).strip():
            raise ValueError(f"{where}: source is empty")
        out.append(
            YearSet(
                year,
                tuple(ids),
                " ".join(str(source).split()),
                confirmation,
                " ".join(t.get("note", "").split()),
                members,
            )
        )
    return tuple(sorted(out, key=lambda y: y.year))


def _check_year_sets(card: Scorecard, metric_ids: set[str]) -> None:
    for ys in card.years:
        unknown = [i for i in ys.metrics if i not in metric_ids]
        if unknown:
            raise ValueError(
                f'{card.folder / SCORECARD_FILE}: [years."{ys.year}"] lists {unknown}, not metrics of '
                f"scorecard {card.id!r}; its metrics: {sorted(metric_ids)}"
            )


def definition_roots() -> tuple[Path, ...]:
    """The shipped definitions folder, then any in ``SCORECARD_DEFINITIONS_PATH`` (os.pathsep-separated):
    a local team's own scorecard folders, kept outside this package."""
    extra = [Path(p) for p in os.environ.get("SCORECARD_DEFINITIONS_PATH", "").split(os.pathsep) if p]
    return (DEFINITIONS, *extra)


def _card_folders() -> list[Path]:
    return [p.parent for root in definition_roots() for p in sorted(root.glob(f"*/{SCORECARD_FILE}"))]


@functools.cache
def scorecards() -> dict[str, Scorecard]:
    cards = [_declared(folder / SCORECARD_FILE, _load_scorecard) for folder in _card_folders()]
    ids = [c.id for c in cards]
    if len(ids) != len(set(ids)):
        raise ValueError(f"duplicate scorecard ids: {sorted({i for i in ids if ids.count(i) > 1})}")
    defaults = [c.id for c in cards if c.default]
    if len(defaults) != 1:
        raise ValueError(f"exactly one scorecard must declare default = true, found {defaults}")
    for c in cards:
        _check_year_sets(c, {m.id for m in all_metrics() if m.scorecard == c.id})
    return {c.id: c for c in cards}


def scorecard(card_id: str) -> Scorecard:
    try:
        return scorecards()[card_id]
    except KeyError:
        raise KeyError(f"unknown scorecard {card_id!r}; known: {sorted(scorecards())}") from None


def default_scorecard() -> Scorecard:
    """The scorecard declared ``default = true`` (the main job)."""
    return next(c for c in scorecards().values() if c.default)


@functools.cache
def all_metrics() -> tuple[Metric, ...]:
    metrics = [
        m
        for folder in _card_folders()
        for p in sorted(folder.glob("*.toml"))
        if p.name != SCORECARD_FILE
        for m in _declared(p, _load)
    ]
    ids = [m.id for m in metrics]
    if len(ids) != len(set(ids)):
        raise ValueError(f"duplicate metric ids: {sorted({i for i in ids if ids.count(i) > 1})}")
    return tuple(sorted(metrics, key=lambda m: (m.scorecard, m.order)))  # stable: breakdown order kept


def metrics_for(card: str | Scorecard) -> tuple[Metric, ...]:
    card_id = card if isinstance(card, str) else card.id
    return tuple(m for m in all_metrics() if m.scorecard == card_id)


def metric_set(card: str | Scorecard, year: str) -> MetricSet:
    """The headline metrics of ``card`` for financial year ``year`` (``YYYY-YY``): its declared set,
    else the latest earlier declared set carried forward; every metric when it declares none."""
    sc = scorecard(card) if isinstance(card, str) else card
    financial_year(year)
    if not sc.years:
        return MetricSet(sc.id, year, tuple(m.id for m in metrics_for(sc)))
    earlier = [y for y in sc.years if y.year <= year]
    chosen = earlier[-1] if earlier else sc.years[0]
    listed = set(chosen.metrics)
    return MetricSet(sc.id, year, tuple(m.id for m in metrics_for(sc) if m.id in listed), chosen)


def get(metric_id: str) -> Metric:
    for m in all_metrics():
        if m.id == metric_id:
            return m
    raise KeyError(f"unknown metric {metric_id!r}; known: {[m.id for m in all_metrics()]}")
