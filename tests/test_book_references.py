"""The strict book build checks Python cross-references: `_config.yml` names its few exceptions,
so a reference to a function that does not exist fails the build, naming the target."""

from __future__ import annotations

import subprocess

import pytest

from synlib import book, paths

PAGE = """# References

```{{eval-rst}}
.. automodule:: synlib.text
   :members:
```

Intervals are written by {{py:func}}`{target}`.
"""


def build_page(tmp_path, target: str) -> subprocess.CompletedProcess:
    source = tmp_path / "source"
    source.mkdir(parents=True)
    (source / "index.md").write_text(PAGE.format(target=target), encoding="utf-8")
    (source / "references.bib").write_text((paths.BOOK / "references.bib").read_text(encoding="utf-8"),
                                           encoding="utf-8")
    (source / "_toc.yml").write_text("format: jb-book\nroot: index\n", encoding="utf-8")
    return subprocess.run(book.build_command(source, source / "_toc.yml", tmp_path / "out"), cwd=paths.ROOT,
                          capture_output=True, text=True, timeout=600)


@pytest.mark.slow
def test_a_broken_function_reference_fails_the_strict_build(tmp_path):
    valid = build_page(tmp_path / "valid", "synlib.text.span")
    assert valid.returncode == 0, valid.stdout[-3000:] + valid.stderr[-3000:]
    broken = build_page(tmp_path / "broken", "synlib.text.no_such_function")
    assert broken.returncode != 0
    assert "py:func reference target not found: synlib.text.no_such_function" in broken.stdout + broken.stderr


@pytest.mark.slow
def test_the_api_page_builds_strictly_alone(tmp_path):
    """Every reference in a docstring resolves: the API page on its own, without the chapters, so a
    docstring's broken reference is found in a minute rather than at the end of the book build."""
    source = tmp_path / "source"
    source.mkdir()
    for name in ("api.md", "references.bib"):
        (source / name).write_text((paths.BOOK / name).read_text(encoding="utf-8"), encoding="utf-8")
    (source / "_toc.yml").write_text("format: jb-book\nroot: api\n", encoding="utf-8")
    completed = subprocess.run(book.build_command(source, source / "_toc.yml", tmp_path / "out"), cwd=paths.ROOT,
                               capture_output=True, text=True, timeout=600)
    assert completed.returncode == 0, completed.stdout[-3000:] + completed.stderr[-3000:]
