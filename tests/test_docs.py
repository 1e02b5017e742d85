"""Every ```python block of README.md and docs/*.md runs as written.

The blocks of one page run in order in one namespace (a page builds on its earlier
blocks), in an empty temporary folder, with matplotlib drawing off-screen. A block
that cannot run here (it needs a GPU, a cluster, a file the reader must supply) is
fenced ```python notest, with the reason next to it; keep that rare. Warnings are
allowed (a page may show one); exceptions are not.
"""

from __future__ import annotations

import re
import warnings
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
FENCE = re.compile(r"^```python(?P<tag>[^\n]*)\n(?P<code>.*?)^```[ \t]*$", re.MULTILINE | re.DOTALL)


def python_blocks(text: str) -> list[tuple[int, str, str]]:
    """``(line, tag, code)`` of every ```python block, in order.

    >>> python_blocks("x\\n```python\\na = 1\\n```\\n```python notest\\nb\\n```\\n")
    [(2, '', 'a = 1\\n'), (5, 'notest', 'b\\n')]
    """
    return [
        (text.count("\n", 0, m.start()) + 1, m.group("tag").strip(), m.group("code"))
        for m in FENCE.finditer(text)
    ]


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
    for line, tag, code in python_blocks(page.read_text(encoding="utf-8")):
        if tag == "notest":
            continue
        source = compile(code, f"{page.relative_to(ROOT)}, block at line {line}", "exec")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                exec(source, namespace)
            except Exception as exc:  # report which block, with its own traceback
                pytest.fail(f"{page.name} block at line {line} raised {exc!r}", pytrace=True)
        ran += 1
    if ran == 0:
        pytest.skip(f"{page.name} has no runnable python block")
