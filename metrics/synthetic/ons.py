"""The demo's population records written as the ONS publishes them (``scorecard demo-data --formats ons``).

From each quarter folder's contract files (``population.csv``: by sex, single years 0-89 and 90+;
``child_population.csv``: persons 0-17), this writes

- ``ukpopestimates.xlsx``: the MYE2 workbook of the quarter's mid-year (sheets ``MYE2 - Persons``, ``MYE2 - Males``,
  ``MYE2 - Females``; title rows naming the mid-year, the header on row 8 as in the MYE24UK edition:
  ``Code, Name, Geography, All ages, 0 ... 89, 90+``; the UK, England and region rows above the
  areas, as sums of the areas shown);
- ``MYEB1_detailed_population_estimates_series.csv``: the long time series (``ladcode23, laname23,
  country, sex, age, population_YYYY``), one file with every mid-year of the demo's by-sex
  records, the same in each quarter folder that has them, as a real series would be;

and removes the contract files, so the folder runs only through the ``ons_mye`` reader
(``mappings/ons_mye.toml``). The figures are the demo's synthetic ones, not ONS estimates.

The demo's two population extracts are independent synthetic draws (BCF by sex; safeguarding persons
0-17), so the workbook's Persons sheet holds the safeguarding counts for ages 0-17 and, for 18 and
over, Males + Females where the area has them (else a flat illustrative profile): a real workbook's
Persons sheet is exactly Males + Females.
"""

from __future__ import annotations

import csv
from collections.abc import Mapping, Sequence
from pathlib import Path

import xlsxwriter

from metrics.core.reference import hwb_code_list
from metrics.ingest.formats.ons_mye import CHILD_TOP, TOP, rules

LONG_FILE = "MYEB1_detailed_population_estimates_series.csv"
# England's regions as the MYE2 workbook lists them (region name in hwb_codes.csv -> ONS code, name).
REGIONS = {
    "North East": ("E12000001", "North East"),
    "North West": ("E12000002", "North West"),
    "Yorkshire and The Humber": ("E12000003", "Yorkshire and The Humber"),
    "East Midlands": ("E12000004", "East Midlands"),
    "West Midlands": ("E12000005", "West Midlands"),
    "East of England": ("E12000006", "East"),
    "London": ("E12000007", "London"),
    "South East": ("E12000008", "South East"),
    "South West": ("E12000009", "South West"),
}
HEADER_ROW = 8  # as the MYE24UK edition: title and notes above, the UK on row 9

Ages = list[int]  # 0 ... 89, 90+


# One name in every quarter folder (a mapping names its files literally); the edition's mid-year
# is in the workbook's title rows, as in the ONS file.
WORKBOOK = "ukpopestimates.xlsx"


def _read(path: Path) -> list[dict[str, str]]:
    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def _ages(row: Mapping[str, str]) -> Ages:
    return [int(row[str(a)]) for a in range(TOP)] + [int(row["90+"])]


def _only(values: set[int], what: str) -> int:
    if len(values) != 1:
        raise ValueError(f"{what}: expected one mid-year, found {sorted(values)}")
    return values.pop()


def write_mye2(
    path: Path,
    mid_year: int,
    sheets: Mapping[str, Sequence[tuple[str, str, str, Ages]]],
) -> None:
    """The MYE2 workbook: ``sheets`` maps ``persons``/``males``/``females`` to (code, name,
    geography, ages) rows of the areas; UK, England and region rows are added as their sums."""
    decl = rules()["mye2"]
    regions = {c.code: c.region for c in hwb_code_list()}
    book = xlsxwriter.Workbook(str(path))
    bold = book.add_format({"bold": True})
    header = [decl["code"], decl["name"], decl["geography"][0], decl["all_ages"], *range(TOP), decl["top_age"]]
    for key in ("persons", "males", "females"):
        ws = book.add_worksheet(decl["sheets"][key])
        who = {"persons": "Persons", "males": "Males", "females": "Females"}[key]
        ws.write(
            0,
            0,
            f"MYE2: Population estimates: {who} by single year of age for local authorities in the UK, mid-{mid_year}",
            bold,
        )
        ws.write(
            1,
            0,
            "Synthetic figures from the hwb-scorecard demo, in the layout of the ONS MYE2 table: not ONS estimates",
        )
        ws.write(2, 0, f"Reference date: 30 June {mid_year}")
        ws.write(3, 0, "Age 90 comprises ages 90 and above (90+)")
        for col, label in enumerate(header):
            ws.write(HEADER_ROW - 1, col, label, bold)
        areas = list(sheets.get(key, ()))
        lines: list[tuple[str, str, str, Ages]] = []
        if areas:
            total = [sum(a[3][i] for a in areas) for i in range(TOP + 1)]
            lines += [("K02000001", "UNITED KINGDOM", "Country", total), ("E92000001", "ENGLAND", "Country", total)]
            for region in sorted({regions.get(a[0], "") for a in areas}):
                code, name = REGIONS[region]
                members = [a for a in areas if regions.get(a[0]) == region]
                lines.append((code, name.upper(), "Region", [sum(a[3][i] for a in members) for i in range(TOP + 1)]))
            lines += areas
        for r, (code, name, geography, ages) in enumerate(lines, start=HEADER_ROW):
            ws.write_string(r, 0, code)
            ws.write_string(r, 1, name)
            ws.write_string(r, 2, geography)
            ws.write_number(r, 3, sum(ages))
            for a, n in enumerate(ages):
                ws.write_number(r, 4 + a, n)
    book.close()


def write_long(path: Path, series: Mapping[tuple[str, str, str], Mapping[int, Ages]]) -> None:
    """The long time series: ``series[(code, name, sex)][mid_year]`` = ages; one column per mid-year
    (every area must have every year), sex written with the declared codes."""
    decl = rules()["long"]
    years = sorted({y for by_year in series.values() for y in by_year})
    for key, by_year in series.items():
        if sorted(by_year) != years:
            raise ValueError(f"{key}: has mid-years {sorted(by_year)}, the series {years}")
    codes = decl["sex_codes"]
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(["ladcode23", "laname23", "country", "sex", "age", *(f"population_{y}" for y in years)])
        for (code, name, sex), by_year in sorted(series.items()):
            for age in range(TOP + 1):
                w.writerow([code, name, code[0], codes[sex], age, *(by_year[y][age] for y in years)])


def split_persons(ages: Ages) -> tuple[Ages, Ages]:
    """Persons split into males (the larger half) and females, which sum back to the persons."""
    return [n - n // 2 for n in ages], [n // 2 for n in ages]


def _filler(child: Ages) -> Ages:
    """Ages 18 and over for an area the demo has only children for: flat, then tapering (illustrative)."""
    level = round(sum(child[: CHILD_TOP + 1]) / (CHILD_TOP + 1))
    adult = [level if a < 65 else max(0, round(level * (1 - (a - 64) / 30))) for a in range(CHILD_TOP + 1, TOP + 1)]
    return child[: CHILD_TOP + 1] + adult


def convert_folder(folder: Path, series: Mapping[tuple[str, str, str], Mapping[int, Ages]]) -> list[Path]:
    """One quarter folder: its population files written as the ONS publishes them, the contract
    files removed. Returns the files written."""
    pop_file, child_file = folder / "population.csv", folder / "child_population.csv"
    pop = _read(pop_file) if pop_file.exists() else []
    child = _read(child_file) if child_file.exists() else []
    if not pop and not child:
        return []
    mid_year = _only({int(r["mid_year"]) for r in pop + child}, str(folder))
    by_sex: dict[str, list[tuple[str, str, str, Ages]]] = {"M": [], "F": []}
    geography: dict[str, str] = {}
    for r in pop:
        by_sex[r["sex"]].append((r["code"], r["name"], r["geography"], _ages(r)))
        geography[r["code"]] = r["geography"]
    children: dict[tuple[str, str], Ages] = {}
    for r in child:
        children.setdefault((r["code"], r["name"]), [0] * (CHILD_TOP + 1))[int(r["age"])] = int(r["population"])
    females = {code: ages for code, _, _, ages in by_sex["F"]}
    both = {code: [m + f for m, f in zip(ages, females[code], strict=True)] for code, _, _, ages in by_sex["M"]}
    names = {code: name for code, name, _, _ in by_sex["M"]}
    geographies = rules()["areas"]["geography"]
    persons = []
    for code in sorted({c for c, _ in children} | set(both)):
        name = names.get(code) or next(n for c, n in children if c == code)
        kids = children.get((code, name))
        base = both.get(code) or _filler(kids or [0] * (CHILD_TOP + 1))
        ages = (kids + base[CHILD_TOP + 1 :]) if kids else base
        persons.append((code, name, geography.get(code, geographies[code[:3]]), ages))
    book = folder / WORKBOOK
    write_mye2(book, mid_year, {"persons": persons, "males": by_sex["M"], "females": by_sex["F"]})
    written = [book]
    if pop:
        write_long(folder / LONG_FILE, series)
        written.append(folder / LONG_FILE)
    for f in (pop_file, child_file):
        f.unlink(missing_ok=True)
    return written


def write_formats(root: Path) -> list[Path]:
    """Every quarter folder under ``root`` (the native demo, already written) converted."""
    folders = sorted(p for p in root.iterdir() if p.is_dir())
    series: dict[tuple[str, str, str], dict[int, Ages]] = {}
    for folder in folders:
        if (folder / "population.csv").exists():
            for r in _read(folder / "population.csv"):
                series.setdefault((r["code"], r["name"], r["sex"]), {})[int(r["mid_year"])] = _ages(r)
    return [p for folder in folders for p in convert_folder(folder, series)]
