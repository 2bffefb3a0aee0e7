"""README.md as a new user meets it (issue 13): every ```python block, pasted in order into
one script, runs as written; the Quickstart stays the two ```bash blocks that
``/work/shared/tools/try-readme`` runs.

The script runs in a fresh folder (it writes ``run.nc``, ``chunks/``, ``trajectory.png``)
through ``python script.py`` in a subprocess, as a user would run it: no
``if __name__ == "__main__":`` guard, so the sweep block's dask worker processes must not
re-run the script (they would start sweeps of their own and fail).
"""

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"
TIMEOUT = 300  # s; the script takes ~10 s on a quiet 2-core machine


def python_blocks(text):
    """The bodies of the fenced ```python blocks of ``text``, in order."""
    return re.findall(r"^```python[ \t]*\n(.*?)^```[ \t]*$", text, re.S | re.M)


def readme_script(text):
    """The ```python blocks joined into one script, each preceded by a marker comment."""
    return "\n".join(f"# --- README python block {i + 1}\n{block}" for i, block in enumerate(python_blocks(text)))


def run_script(source, folder, timeout=TIMEOUT):
    path = Path(folder) / "script.py"
    path.write_text(source, encoding="utf-8")
    env = {**os.environ, "MPLBACKEND": "Agg", "PYTHONUNBUFFERED": "1"}
    return subprocess.run([sys.executable, "script.py"], cwd=folder, capture_output=True, text=True,
                          timeout=timeout, env=env)


def test_block_extraction_finds_every_python_block():
    text = README.read_text(encoding="utf-8")
    blocks = python_blocks(text)
    assert len(blocks) == text.count("```python") >= 6
    assert all(b.strip() for b in blocks)


def test_every_python_block_is_self_contained_or_says_it_continues():
    """Each block imports what it uses: no block silently relies on names from an earlier one."""
    for i, block in enumerate(python_blocks(README.read_text(encoding="utf-8"))):
        if re.search(r"\bls\.", block):
            assert re.search(r"^import landscape as ls$", block, re.M), f"block {i + 1} uses ls without importing it"
        if re.search(r"\bnp\.", block):
            assert re.search(r"^import numpy as np$", block, re.M), f"block {i + 1} uses np without importing it"
        try:
            compile(block, f"<README block {i + 1}>", "exec")
        except SyntaxError as exc:  # e.g. the old `ls.sweep(net, scheduler="...", ...)`
            pytest.fail(f"README python block {i + 1} is not valid Python: {exc}")


def test_readme_python_blocks_run_as_one_script(tmp_path):
    script = readme_script(README.read_text(encoding="utf-8"))
    start = time.perf_counter()
    out = run_script(script, tmp_path)
    elapsed = time.perf_counter() - start
    assert out.returncode == 0, f"the README script failed (exit {out.returncode}):\n{out.stderr[-4000:]}"
    assert "Traceback" not in out.stderr, out.stderr[-4000:]
    # what the blocks promise to write, in the folder they ran in
    for name in ("run.nc", "chunks/sweep.json", "trajectory.png"):
        assert (tmp_path / name).is_file(), name
    assert elapsed < TIMEOUT


def test_the_check_fails_on_a_block_that_raises(tmp_path):
    """The runner reports a failing block (the test above can fail)."""
    text = "```python\nimport landscape as ls\n```\n\ntext\n\n```python\nls.load('missing.nc')\n```\n"
    out = run_script(readme_script(text), tmp_path, timeout=120)
    assert out.returncode != 0
    assert "missing.nc" in out.stderr


def test_quickstart_is_two_bash_blocks_install_explore_then_tests():
    text = README.read_text(encoding="utf-8")
    section = re.search(r"^##\s+Quickstart\s*$(.*?)(?=^##\s|\Z)", text, re.S | re.M)
    assert section, "README.md has no '## Quickstart' section"
    blocks = re.findall(r"```(?:bash|sh|shell)\n(.*?)```", section.group(1), re.S)
    assert len(blocks) == 2
    assert "pip install" in blocks[0] and "landscape explore" in blocks[0]
    assert "pip install" in blocks[1] and ".[test]" in blocks[1]
    assert blocks[1].strip().splitlines()[-1] == "python -m pytest -q"
