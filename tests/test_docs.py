"""Every ```python block of README.md and docs/*.md runs as written, and prints what the page shows.

The blocks of one page run in order in one namespace (a page builds on its earlier
blocks), in an empty temporary folder, with matplotlib drawing off-screen. A block
that cannot run here (it needs a GPU, a cluster, a file the reader must supply) is
fenced ```python notest, with the reason next to it; keep that rare. Warnings are
allowed (a page may show one); exceptions are not.

What a block prints is shown in a ```text block: the first ```text block after a
```python block (prose may come between, another ```python block may not) is that
block's output, and what the block prints to stdout must match it line by line
(trailing spaces aside). Where the output differs from run to run (timings, memory,
paths), ``...`` stands for what varies: a line that is only ``...`` matches any
number of lines, and ``...`` inside a line matches any text on that line. Output
shown as a comment next to the code (``# [12, 6, 2]``) is not compared; prefer a
```text block where the numbers matter. A plain ``` block is not output (a diagram,
a file's contents), nor is a ```console transcript of the command line (the CLI
tests run those commands).
"""

from __future__ import annotations

import contextlib
import io
import re
import warnings
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
FENCE = re.compile(r"^```python(?P<tag>[^\n]*)\n(?P<code>.*?)^```[ \t]*$", re.MULTILINE | re.DOTALL)
ANY_FENCE = re.compile(r"^```(?P<lang>[^\n]*)\n(?P<body>.*?)^```[ \t]*$", re.MULTILINE | re.DOTALL)


def python_blocks(text: str) -> list[tuple[int, str, str]]:
    """``(line, tag, code)`` of every ```python block, in order.

    >>> python_blocks("x\\n```python\\na = 1\\n```\\n```python notest\\nb\\n```\\n")
    [(2, '', 'a = 1\\n'), (5, 'notest', 'b\\n')]
    """
    return [
        (text.count("\n", 0, m.start()) + 1, m.group("tag").strip(), m.group("code"))
        for m in FENCE.finditer(text)
    ]


def shown_outputs(text: str) -> dict[int, str]:
    r"""The ```text block shown after each ```python block, by the python block's line.

    >>> shown_outputs("```python\nprint(1)\n```\nIt prints:\n```text\n1\n```\n")
    {1: '1\n'}
    >>> shown_outputs("```python\na = 1\n```\n```python\nprint(a)\n```\n```text\n1\n```\n")
    {4: '1\n'}
    """
    shown: dict[int, str] = {}
    last_python: int | None = None
    for m in ANY_FENCE.finditer(text):
        lang = m.group("lang").strip().split(" ")[0]
        if lang == "python":
            last_python = text.count("\n", 0, m.start()) + 1
        elif lang == "text" and last_python is not None:
            shown[last_python] = m.group("body")
            last_python = None
    return shown


def _line_matches(pattern: str, line: str) -> bool:
    parts = [re.escape(part) for part in pattern.split("...")]
    return re.fullmatch(".*".join(parts), line) is not None


def output_matches(shown: str, printed: str) -> bool:
    r"""Whether ``printed`` is what ``shown`` shows, with ``...`` for what varies.

    >>> output_matches("a 1\n...\nd ... s\n", "a 1\nb\nc\nd 0.3 s\n")
    True
    >>> output_matches("[98, 104, 91]\n", "[95, 108, 80]\n")
    False
    """
    want = [line.rstrip() for line in shown.strip("\n").splitlines()]
    got = [line.rstrip() for line in printed.strip("\n").splitlines()]

    def match(i: int, j: int) -> bool:
        if i == len(want):
            return j == len(got)
        if want[i] == "...":
            return any(match(i + 1, k) for k in range(j, len(got) + 1))
        return j < len(got) and _line_matches(want[i], got[j]) and match(i + 1, j + 1)

    return match(0, 0)


def test_the_pages_have_blocks():
    assert any(python_blocks(page.read_text(encoding="utf-8")) for page in PAGES)
    for page in PAGES:  # a fence with another language word is not silently skipped
        for _, tag, _ in python_blocks(page.read_text(encoding="utf-8")):
            assert tag in ("", "notest"), (page.name, tag)


# Pages whose blocks fail today, each with why: strict, so the entry must go when fixed.
KNOWN_FAILING: dict[str, str] = {}


def _page_param(page: Path) -> object:
    name = page.relative_to(ROOT).as_posix()
    if name in KNOWN_FAILING:
        return pytest.param(
            page, id=name, marks=pytest.mark.xfail(reason=KNOWN_FAILING[name], strict=True)
        )
    return pytest.param(page, id=name)


@pytest.mark.parametrize("page", [_page_param(p) for p in PAGES])
def test_python_blocks_run_as_written(page, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MPLBACKEND", "Agg")
    namespace: dict = {"__name__": f"docs:{page.name}"}
    ran = 0
    text = page.read_text(encoding="utf-8")
    shown = shown_outputs(text)
    for line, tag, code in python_blocks(text):
        if tag == "notest":
            continue
        source = compile(code, f"{page.relative_to(ROOT)}, block at line {line}", "exec")
        printed = io.StringIO()
        with warnings.catch_warnings(), contextlib.redirect_stdout(printed):
            warnings.simplefilter("ignore")
            try:
                exec(source, namespace)
            except Exception as exc:  # report which block, with its own traceback
                pytest.fail(f"{page.name} block at line {line} raised {exc!r}", pytrace=True)
        if line in shown and not output_matches(shown[line], printed.getvalue()):
            pytest.fail(
                f"{page.name} block at line {line} printed\n{printed.getvalue()}\n"
                f"but the page shows\n{shown[line]}",
                pytrace=False,
            )
        ran += 1
    if ran == 0:
        pytest.skip(f"{page.name} has no runnable python block")
