"""Make GX Data Docs safe to open, and usable offline.

GX 1.24 renders failing cell values into its validation pages without escaping them (a delivered
``<img src=x onerror=alert(1)>`` becomes an element), and every page loads Bootstrap, jQuery,
Font Awesome and Vega from public CDNs (jsdelivr, cdnjs, bootstrapcdn, unpkg, code.jquery.com). Its
index is a table filled in by that JavaScript, so offline it is unstyled and empty.

After GX has written its pages, ``make_safe`` rewrites every HTML file under the Data Docs folder:

- a whitelist rewrite through the standard library's HTML parser: every ``<script>``, ``<iframe>``,
  ``<object>``, ``<embed>``, ``<svg>``, ``<form>`` and ``<link>`` is removed, and of the attributes
  only plain ones are kept (``id``, ``class``, ``colspan`` ...; ``href``/``src`` only when they point
  inside the folder; never ``on*`` handlers, ``style`` with ``url(``, ``javascript:`` or remote URLs);
  text is re-escaped, so whatever a cell held is shown as inert markup at worst;
- a Content-Security-Policy ``<meta>`` first in ``<head>`` that allows no script and no network
  request at all (styles inline, images and fonts from local files only), in case anything slipped
  through the rewrite;
- a small inline stylesheet instead of the CDN ones;
- our own ``index.html`` (no JavaScript) listing every validation result page, newest first, with
  its extract, quarter, run time and status, and the expectation suites.
"""

from __future__ import annotations

import datetime as dt
import html
import re
from html.parser import HTMLParser
from pathlib import Path

from metrics.core import atomic

MARKER = '<meta name="scorecard-safe-data-docs" content="1">'
CSP = (
    "default-src 'none'; script-src 'none'; style-src 'unsafe-inline'; img-src file: data:; "
    "font-src file: data:; base-uri 'none'; form-action 'none'"
)
STYLE = """
body { font-family: system-ui, -apple-system, "Segoe UI", Arial, sans-serif; margin: 1.5rem; color: #1b1b1b;
       line-height: 1.4; }
table { border-collapse: collapse; margin: 0.5rem 0 1rem; }
th, td { border: 1px solid #c8c8c8; padding: 0.25rem 0.5rem; vertical-align: top; text-align: left; }
th { background: #f0f0f0; }
a { color: #1d4f91; }
img { max-width: 2rem; max-height: 2rem; }
.text-danger, .failed { color: #a4000f; font-weight: 600; }
.text-success, .succeeded { color: #00703c; font-weight: 600; }
.show-scrollbars { max-height: 20rem; overflow: auto; }
.sr-only, .d-none { display: none; }
""".strip()

# Removed together with everything inside them.
DROP_WITH_CONTENT = {
    "script",
    "iframe",
    "frame",
    "frameset",
    "object",
    "embed",
    "applet",
    "noscript",
    "template",
    "svg",
    "math",
    "audio",
    "video",
    "canvas",
}
# Removed, their content kept.
DROP_TAG = {"link", "base", "meta", "form", "input", "button", "select", "option", "textarea", "label", "portal"}
VOID = {"area", "br", "col", "hr", "img", "wbr", "source", "track", "meta", "link", "input", "base", "embed"}
PLAIN_ATTRS = {"id", "class", "title", "colspan", "rowspan", "scope", "alt", "width", "height", "align", "role"}
_SAFE_STYLE = re.compile(r"^[-\w\s:;.,%#()'\"!/]*$")
_SCHEME = re.compile(r"^\s*[a-zA-Z][a-zA-Z0-9+.-]*:")


def _local_url(value: str) -> bool:
    """A relative reference inside the Data Docs folder (or a fragment): no scheme, no ``//`` host."""
    v = value.strip()
    return bool(v) and not _SCHEME.match(v) and not v.startswith(("//", "\\\\", "/\\"))


class _Sanitiser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        self.skip: list[str] = []
        self.in_style = False
        self.head_done = False

    def _head(self) -> str:
        self.head_done = True
        return (
            f'<meta http-equiv="Content-Security-Policy" content="{html.escape(CSP)}">'
            f'{MARKER}<meta charset="utf-8"><style>{STYLE}</style>'
        )

    def _attrs(self, tag: str, attrs: list[tuple[str, str | None]]) -> str:
        kept = []
        for name, value in attrs:
            name = name.lower()
            value = value or ""
            ok = (
                name in PLAIN_ATTRS
                or name.startswith("aria-")
                or (name == "href" and tag == "a" and _local_url(value))
                or (name == "src" and tag == "img" and _local_url(value))
                or (
                    name == "style"
                    and _SAFE_STYLE.match(value) is not None
                    and not re.search(r"url|expression|import|javascript|\\", value, re.I)
                )
            )
            if ok:
                kept.append(f' {name}="{html.escape(value, quote=True)}"')
        return "".join(kept)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if self.skip:
            if tag == self.skip[-1] and tag not in VOID:
                self.skip.append(tag)
            return
        if tag in DROP_WITH_CONTENT:
            if tag not in VOID:
                self.skip.append(tag)
            return
        if tag == "html":
            self.out.append('<html lang="en">')
            return
        if tag in DROP_TAG:
            return
        if tag == "style":
            self.in_style = True
        self.out.append(f"<{tag}{self._attrs(tag, attrs)}>")
        if tag == "head" and not self.head_done:
            self.out.append(self._head())

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)
        if tag not in VOID:
            self.handle_endtag(tag)

    def handle_endtag(self, tag: str) -> None:
        if self.skip:
            if tag == self.skip[-1]:
                self.skip.pop()
            return
        if tag in DROP_WITH_CONTENT or tag in DROP_TAG or tag in VOID:
            return
        if tag == "style":
            self.in_style = False
        self.out.append(f"</{tag}>")

    def handle_data(self, data: str) -> None:
        if self.skip:
            return
        if self.in_style:
            # No imports, no URLs (fonts, images or anything else fetched from elsewhere), no markup.
            css = re.sub(r"@import[^;]*;?", "", data, flags=re.I)
            css = re.sub(r"url\([^)]*\)", "none", css, flags=re.I)
            self.out.append(css.replace("<", ""))
            return
        self.out.append(html.escape(data, quote=False))

    def handle_decl(self, decl: str) -> None:
        if decl.lower().startswith("doctype"):
            self.out.append("<!DOCTYPE html>")

    def handle_comment(self, data: str) -> None:
        return None

    def handle_pi(self, data: str) -> None:
        return None

    def unknown_decl(self, data: str) -> None:
        return None


def sanitise_html(text: str) -> str:
    """The page with scripts, handlers, remote resources and unsafe attributes removed, a CSP that
    forbids script and network, and a local stylesheet."""
    if MARKER in text:
        return text
    parser = _Sanitiser()
    parser.feed(text)
    parser.close()
    page = "".join(parser.out)
    if not parser.head_done:
        page = f"<!DOCTYPE html><head>{parser._head()}</head>{page}"
    return page


_STATUS = re.compile(r"Status:</span>\s*(?:<i[^>]*>\s*</i>\s*)?(Succeeded|Failed)")


def _status(page: str) -> str:
    m = _STATUS.search(page)
    return m.group(1) if m else "unknown"


def _run_time(folder: str) -> str:
    try:
        t = dt.datetime.strptime(folder, "%Y%m%dT%H%M%S.%fZ")
    except ValueError:
        return folder
    return t.strftime("%Y-%m-%d %H:%M:%S UTC")


def index_html(docs_dir: Path) -> str:
    """Our index: every validation result page (newest first) and expectation suite, escaped."""
    results = []
    for page in (docs_dir / "validations").rglob("*.html") if (docs_dir / "validations").is_dir() else []:
        rel = page.relative_to(docs_dir)
        parts = rel.parts  # validations/<suite>/<run name>/<run time>/<batch>.html
        suite = parts[1] if len(parts) > 1 else page.stem
        stamp = parts[3] if len(parts) > 3 else ""
        results.append((stamp, suite, rel.as_posix(), _status(page.read_text(encoding="utf-8", errors="replace"))))
    results.sort(key=lambda r: (r[0], r[1]), reverse=True)
    suites = sorted((docs_dir / "expectations").glob("*.html")) if (docs_dir / "expectations").is_dir() else []
    e = html.escape
    rows = "\n".join(
        f'<tr><td><a href="{e(rel)}">{e(suite)}</a></td><td>{e(_run_time(stamp))}</td>'
        f'<td class="{e(status.lower())}">{e(status)}</td></tr>'
        for stamp, suite, rel, status in results
    )
    suite_items = "\n".join(
        f'<li><a href="{e(p.relative_to(docs_dir).as_posix())}">{e(p.stem)}</a></li>' for p in suites
    )
    return (
        '<!DOCTYPE html>\n<html lang="en"><head>'
        f'<meta http-equiv="Content-Security-Policy" content="{e(CSP)}">{MARKER}<meta charset="utf-8">'
        f"<title>Data Docs: validation results</title><style>{STYLE}</style></head><body>\n"
        "<h1>Validation results</h1>\n"
        "<p>Great Expectations results for every extract checked, newest first. These pages can show "
        "failing values from the extracts: keep them with the restricted data.</p>\n"
        '<table id="validation-results"><thead><tr><th>Extract and quarter</th><th>Run time</th>'
        f"<th>Status</th></tr></thead><tbody>\n{rows}\n</tbody></table>\n"
        f"<h2>Expectation suites</h2>\n<ul>\n{suite_items}\n</ul>\n</body></html>\n"
    )


def sanitise_tree(docs_dir: Path) -> None:
    """Rewrite every GX page under ``docs_dir`` not already rewritten (``sanitise_html``), in place."""
    # GX's own folders only: another scorecard's Data Docs can live in a subfolder (its own site).
    pages = [
        *(p for p in docs_dir.glob("*.html") if p.name != "index.html"),
        *(p for sub in ("validations", "expectations", "static") for p in (docs_dir / sub).rglob("*.html")),
    ]
    for page in pages:
        text = page.read_text(encoding="utf-8", errors="replace")
        if MARKER not in text:
            page.write_text(sanitise_html(text), encoding="utf-8")


def make_safe(docs_dir: Path) -> Path | None:
    """Rewrite every HTML page under ``docs_dir`` (see the module docstring) and write our index;
    returns the index, or None when there are no Data Docs."""
    if not docs_dir.is_dir():
        return None
    sanitise_tree(docs_dir)
    return atomic.write_text(docs_dir / "index.html", index_html(docs_dir))
