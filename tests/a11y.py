"""Accessibility checks for the browser tests: axe-core (npm, ``node_modules/``) against WCAG 2.1
A and AA, and what a phone or a tablet needs besides (no sideways scrolling, a name for every
form control).

``axe_problems(page)`` runs axe on the page as it stands and returns its serious and critical
violations; ``format_problems`` turns them into a readable failure. The pages send a strict
Content-Security-Policy; axe's source is evaluated through the browser's protocol, which the
policy does not govern, so the pages under test keep their policy.

``DocumentRecorder`` keeps every HTML document a page receives (each page a test visits, as the
user saw it) so that ``check_recorded`` can replay each one in a fresh browser context afterwards
and run axe on it: the check then sees the page the user was shown, whoever was signed in and
whatever the data were at the time.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import pytest

AXE_JS = Path(__file__).resolve().parent.parent / "node_modules" / "axe-core" / "axe.min.js"
WCAG_TAGS = ("wcag2a", "wcag2aa", "wcag21a", "wcag21aa")
BLOCKING = ("serious", "critical")

_RUN_AXE = """async (tags) => {
  const result = await axe.run(document, {runOnly: {type: 'tag', values: tags}, resultTypes: ['violations']});
  return result.violations.map(v => ({
    id: v.id, impact: v.impact, help: v.help, helpUrl: v.helpUrl,
    nodes: v.nodes.map(n => ({target: n.target.map(String).join(' '), summary: n.failureSummary || ''})),
  }));
}"""

# Form controls a person fills in, and whether each has an accessible name.
_UNNAMED_CONTROLS = """() => {
  const controls = document.querySelectorAll(
    'input:not([type=hidden]), select, textarea, button, [role=checkbox], [role=radio], [role=combobox]');
  const unnamed = [];
  for (const el of controls) {
    if (el.closest('[hidden], [aria-hidden=true]') || el.getClientRects().length === 0) continue;
    const labelled = (el.labels && [...el.labels].some(l => l.textContent.trim()))
      || (el.getAttribute('aria-label') || '').trim()
      || (el.getAttribute('aria-labelledby') || '').split(/\\s+/).some(
           id => id && document.getElementById(id) && document.getElementById(id).textContent.trim())
      || (el.getAttribute('title') || '').trim()
      || ((el.tagName === 'BUTTON') && el.textContent.trim())
      || (el.tagName === 'INPUT' && ['submit', 'reset', 'button'].includes(el.type)
          && (el.value || '').trim());
    if (!labelled) unnamed.push(el.outerHTML.slice(0, 160));
  }
  return unnamed;
}"""


def axe_missing_reason() -> str | None:
    if AXE_JS.exists():
        return None
    return f"The accessibility checks need axe-core at {AXE_JS} (make install runs npm ci)"


def require_axe() -> None:
    """Skips the test when axe-core is not installed (a failure where nothing may skip)."""
    reason = axe_missing_reason()
    if reason:
        pytest.skip(reason)


@cache
def _axe_source() -> str:
    return AXE_JS.read_text(encoding="utf-8")


def axe_problems(page) -> list[dict]:
    """The page's serious and critical WCAG 2.1 A/AA violations according to axe-core."""
    require_axe()
    if not page.evaluate("() => typeof window.axe === 'object'"):
        page.evaluate(_axe_source())  # evaluated by the protocol: the page's CSP does not apply
    violations = page.evaluate(_RUN_AXE, list(WCAG_TAGS))
    return [v for v in violations if v["impact"] in BLOCKING]


def format_problems(where: str, violations: list[dict]) -> str:
    lines = [f"{where}: {len(violations)} serious or critical accessibility violation(s)"]
    for v in violations:
        lines.append(f"  [{v['impact']}] {v['id']}: {v['help']} ({v['helpUrl']})")
        for node in v["nodes"][:8]:
            summary = " ".join(node["summary"].split())[:300]
            lines.append(f"      at {node['target']}  {summary}")
        if len(v["nodes"]) > 8:
            lines.append(f"      … and {len(v['nodes']) - 8} more")
    return "\n".join(lines)


def overflow(page) -> int:
    """How many CSS pixels the page is wider than its viewport (0 when nothing scrolls sideways)."""
    return page.evaluate("() => Math.max(0, document.documentElement.scrollWidth - window.innerWidth)")


def unnamed_controls(page) -> list[str]:
    """Visible form controls without an accessible name (the start of their markup)."""
    return page.evaluate(_UNNAMED_CONTROLS)


def page_problems(page, where: str, *, fits: bool = True, named: bool = True) -> list[str]:
    """Every problem of the page as it stands: axe's, sideways scrolling, unnamed controls."""
    problems = []
    violations = axe_problems(page)
    if violations:
        problems.append(format_problems(where, violations))
    if fits and (extra := overflow(page)):
        width = page.evaluate("() => window.innerWidth")
        problems.append(f"{where}: {extra} px wider than the {width}-px screen (sideways scrolling)")
    if named and (unnamed := unnamed_controls(page)):
        problems.append(f"{where}: form controls without an accessible name: {unnamed}")
    return problems


# --- Every page a browser test visits ---------------------------------------------------------

_TOKENS = re.compile(
    rb'(csrfmiddlewaretoken" value="|X-CSRFToken": ")[^"]*|name="idempotency_key" value="[^"]*'
)


_NOT_REPLAYED = {"content-encoding", "content-length", "transfer-encoding", "set-cookie"}


@dataclass
class Document:
    url: str
    status: int
    viewport: dict | None
    headers: dict[str, str]
    body: bytes


@dataclass
class DocumentRecorder:
    """Keeps each HTML document the page's main frame receives (once per URL and content)."""

    page: object
    documents: list[Document] = field(default_factory=list)
    unreadable: list[str] = field(default_factory=list)
    _seen: set = field(default_factory=set)

    def __post_init__(self):
        self.page.on("requestfinished", self._finished)

    def _finished(self, request) -> None:
        if request.resource_type != "document" or request.frame != self.page.main_frame:
            return
        response = request.response()
        if response is None or 300 <= response.status < 400:
            return
        headers = response.headers
        if not headers.get("content-type", "").startswith("text/html"):
            return
        try:
            body = response.body()
        except Exception:  # noqa: BLE001 - the page moved on before the body could be read
            self.unreadable.append(request.url)
            return
        key = (request.url, hashlib.sha256(_TOKENS.sub(b"", body)).hexdigest())
        if key not in self._seen:
            self._seen.add(key)
            document = Document(request.url, response.status, self.page.viewport_size, headers, body)
            self.documents.append(document)


def check_recorded(browser, recorder: DocumentRecorder) -> list[str]:
    """Replays each recorded document in a fresh context, at the screen size it was shown on (its
    styles and scripts load from the server), and returns axe's serious and critical violations,
    one readable entry per page."""
    problems = []
    context = browser.new_context()
    try:
        replay = context.new_page()
        replay.set_default_timeout(15_000)
        current: list[Document] = []

        def serve(route):
            # The recorded document itself; its styles, scripts and images from the server; and
            # nothing else (a script's later requests would answer as nobody signed in).
            url = route.request.url
            if url == current[0].url and route.request.resource_type == "document":
                document = current[0]
                headers = {k: v for k, v in document.headers.items() if k not in _NOT_REPLAYED}
                route.fulfill(status=document.status, headers=headers, body=document.body)
            elif route.request.resource_type in ("stylesheet", "script", "image", "font"):
                route.continue_()
            else:
                route.abort()

        replay.route("**/*", serve)
        for document in recorder.documents:
            current[:] = [document]
            replay.set_viewport_size(document.viewport or {"width": 1280, "height": 900})
            replay.goto(document.url, wait_until="load")
            violations = axe_problems(replay)
            if violations:
                problems.append(format_problems(f"{document.url} (HTTP {document.status})", violations))
    finally:
        context.close()
    return problems
