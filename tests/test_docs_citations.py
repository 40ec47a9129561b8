"""Citations of the project's own docs resolve, and nothing cites documents outside the repository.

Code, tests and docs cite `docs/semantics.md §9.2`, `docs/decisions.md D3`, or several sections
of one file (`docs/semantics.md §5.1, §5.2`, `§4.4-§4.7`, `D5 and D6`); see docs/README.md.
Each cited file must exist and each cited section must be a heading of that file
(`### 9.2 Evaluation pipeline`, `## D3. ...`). Old-style references (`spec 9.2`, `decision 3`,
`issue 4`, `../shared/...`, a bare `§9.2`, "seed docs") point outside the repository and fail,
listed as file:line. Files under docs/ may use bare `§N` for their own sections.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
EXTENSIONS = (".py", ".md", ".yaml", ".yml", ".toml")
EXCLUDED_DIRS = (".venv/", "node_modules/", ".git/")
THIS_FILE = "tests/test_docs_citations.py"  # holds old-style patterns on purpose

REF = r"(?:§\d+(?:\.\d+)*|D\d+)\b"
CITATION = re.compile(
    rf"(?<![\w/.])docs/(?P<file>[\w-]+)\.md"
    rf"(?P<refs>[ \t]{REF}(?:(?:\s*[,/]|\s+and|-)\s*(?:#\s*)?{REF})*)?"
)
REF_IN_RUN = re.compile(REF)
HEADING = re.compile(r"^#{1,6}\s+(?:(?P<num>\d+(?:\.\d+)*)\.?\s|D(?P<dec>\d+)\.\s)", re.M)
OLD_STYLE = [
    (re.compile(r"\b[Ss]pecs?\s+§?\d"), "a spec section number"),
    (re.compile(r"\b[Ss]pec:\s*(?:architecture|craft|§|\d)"), "a spec reference"),
    (re.compile(r"\b[Dd]ecisions?\s+#?\d"), "a decision number"),
    (re.compile(r"\b[Ii]ssues?\s+#?\d"), "an old issue number"),
    (re.compile(r"\.\./shared|shared/spec|shared/seed"), "the team's private reference"),
    (re.compile(r"tellescope-semantics\.md|temporal-python-craft"), "the team's private reference"),
    (re.compile(r"\bseed\s+docs\b", re.I), "'seed docs' (say: Tellescope's API docs)"),
    (re.compile(r"\b(?:craft|architecture)\s+§?\d", re.I), "a craft/architecture note section"),
    (re.compile(r"\bsection\s+\d+\.\d", re.I), "a section number without its docs file"),
    (re.compile(r"§\s?\d"), "a § section without its docs file"),
]


def doc_sections(docs: Path = DOCS) -> dict[str, set[str]]:
    """`{"semantics": {"§9", "§9.2", ...}, "decisions": {"D3", ...}, ...}` from the headings."""
    sections: dict[str, set[str]] = {}
    for path in docs.glob("*.md"):
        found = set()
        for m in HEADING.finditer(path.read_text()):
            found.add(f"§{m['num']}" if m["num"] else f"D{m['dec']}")
        sections[path.stem] = found
    return sections


def check_text(text: str, path: str, sections: dict[str, set[str]]) -> list[str]:
    """Problems in one file's text, as `path:line: message`."""
    problems = []

    def line_of(pos: int) -> int:
        return text.count("\n", 0, pos) + 1

    blanked = list(text)
    for m in CITATION.finditer(text):
        name = m["file"]
        where = f"{path}:{line_of(m.start())}"
        if name not in sections:
            problems.append(f"{where}: docs/{name}.md does not exist")
        for ref in REF_IN_RUN.findall(m["refs"] or ""):
            if name in sections and ref not in sections[name]:
                problems.append(f"{where}: docs/{name}.md has no heading {ref}")
        for i in range(m.start(), m.end()):
            if blanked[i] != "\n":
                blanked[i] = " "
    if path.startswith("docs/") or path == THIS_FILE:
        return problems
    rest = "".join(blanked)
    for pattern, what in OLD_STYLE:
        for m in pattern.finditer(rest):
            problems.append(
                f"{path}:{line_of(m.start())}: {what} outside the repository's docs: "
                f"{text[m.start() : m.end() + 12].splitlines()[0]!r}"
            )
    return sorted(problems)


def tracked_files(root: Path = ROOT) -> list[str]:
    try:
        names = subprocess.run(
            ["git", "-C", str(root), "ls-files"], check=True, capture_output=True, text=True
        ).stdout.splitlines()
    except (OSError, subprocess.CalledProcessError):
        names = [str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()]
    return sorted(
        n
        for n in names
        if n.endswith(EXTENSIONS) and not n.startswith(EXCLUDED_DIRS) and (root / n).is_file()
    )


def test_every_citation_resolves_and_none_points_outside_the_repository():
    sections = doc_sections()
    problems = []
    for name in tracked_files():
        if name == THIS_FILE:  # its examples of bad citations are deliberate
            continue
        problems += check_text((ROOT / name).read_text(), name, sections)
    assert not problems, "\n".join(problems)


def test_the_docs_number_their_sections_and_decisions():
    sections = doc_sections()
    assert {"semantics", "decisions", "architecture", "temporal", "README"} <= set(sections)
    assert {"§4.5", "§9.2", "§10.1", "§13"} <= sections["semantics"]
    assert {f"D{n}" for n in range(1, 13)} <= sections["decisions"]


# --- the checker itself can fail -------------------------------------------------------------

SECTIONS = {"semantics": {"§4", "§4.4", "§4.5", "§4.7", "§9.6"}, "decisions": {"D1", "D2", "D3"}}


@pytest.mark.parametrize(
    "text",
    [
        "# docs/semantics.md §4.5: only the matching branch",
        '"""docs/semantics.md §4.4-§4.7, §9.6; docs/decisions.md D1-D3 and D2."""',
        "see docs/decisions.md D3 and docs/semantics.md §4, plus docs/decisions.md",
        "x = 1  # docs/semantics.md §4.4,\n# §4.5 (a run may continue on the next line)",
        "ModelSpec = spec.origin  # not citations: spec = 1, spec[0], check(spec: ModelSpec)",
    ],
)
def test_good_citations_pass(text):
    assert check_text(text, "pkg/module.py", SECTIONS) == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("# docs/semantics.md §9.9: a missing section", "docs/semantics.md has no heading §9.9"),
        ("# docs/decisions.md D42", "docs/decisions.md has no heading D42"),
        ("# docs/semantics.md §4.4-§4.8", "has no heading §4.8"),
        ("# docs/nowhere.md §1", "docs/nowhere.md does not exist"),
        ("# the evaluation pipeline (spe" + "c 9.2)", "a spec section number"),
        ('"""Spe' + 'c 4.5: a reason fires only its children."""', "a spec section number"),
        ("# (spe" + 'c: architecture "Side effects")', "a spec reference"),
        ("# decisio" + "n 3: an unmatched reason fires nothing", "a decision number"),
        ('"""Decisio' + 'ns 11 and 12."""', "a decision number"),
        ("# Regression (issu" + "e 7)", "an old issue number"),
        ("# see ../share" + "d/spec/architecture.md", "the team's private reference"),
        ("# (see" + "d docs, 'Pagination')", "'seed docs'"),
        ("# only that branch (" + "§4.5)", "a § section without its docs file"),
        ("# docs/semantics.md §4.5 and then (" + "§4.4) alone", "a § section without"),
    ],
)
def test_bad_citations_fail_with_file_and_line(text, expected):
    problems = check_text("first line\n" + text, "pkg/module.py", SECTIONS)
    assert problems, text
    assert all(p.startswith("pkg/module.py:2: ") for p in problems), problems
    assert any(expected in p for p in problems), problems


def test_docs_may_use_bare_sections_but_their_citations_must_resolve():
    assert check_text("as §4.5 says; see D3", "docs/semantics.md", SECTIONS) == []
    assert check_text("see docs/semantics.md §8", "docs/decisions.md", SECTIONS) == [
        "docs/decisions.md:1: docs/semantics.md has no heading §8"
    ]
