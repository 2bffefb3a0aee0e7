"""A sweep from a plain script, without ``if __name__ == "__main__":`` (issue 13).

dask starts its local workers with multiprocessing's ``spawn``, which re-imports the
main module in every worker: an unguarded script used to run again from the top in each
worker (printing twice, starting sweeps of its own, tracebacks, then a SweepError). The
sweep now hides the main module from the spawn preparation while its own local cluster
lives, so the script runs once and the workers only run landscape code.
"""

import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import landscape as ls
from landscape.sweeps._sweep import _main_module_hidden

MARKER = "top of the user's script"

SCRIPT = textwrap.dedent(f"""\
    import json
    import sys

    import landscape as ls

    print({MARKER!r}, flush=True)
    net = ls.LinearNetwork([2, 2, 2], sigma=[2.0, 1.0])
    ds = ls.sweep(net, scales=[0.01, 1.0], seeds=3, chunk_size=2, t_end=20.0, n_points=40, n_workers=2,
                  progress=False)
    main = sys.modules["__main__"]
    print(json.dumps({{"loss_final": ds.loss_final.values.ravel().tolist(),
                      "route": ds.route.values.ravel().tolist(),
                      "chunks_computed": int(ds.attrs["chunks_computed"]),
                      "file_restored": getattr(main, "__file__", None) is not None,
                      "spec": getattr(getattr(main, "__spec__", None), "name", None)}}))
    """)


def _expected():
    net = ls.LinearNetwork([2, 2, 2], sigma=[2.0, 1.0])
    return ls.sweep(net, scales=[0.01, 1.0], seeds=3, chunk_size=2, t_end=20.0, n_points=40, processes=False,
                    n_workers=1, progress=False)


@pytest.fixture(scope="module")
def expected():
    return _expected()


@pytest.mark.parametrize("how", ["script", "module"])
def test_unguarded_script_sweeps_once_with_worker_processes(tmp_path, expected, how):
    (tmp_path / "user_sweep.py").write_text(SCRIPT, encoding="utf-8")
    cmd = [sys.executable, "user_sweep.py"] if how == "script" else [sys.executable, "-m", "user_sweep"]
    out = subprocess.run(cmd, cwd=tmp_path, capture_output=True, text=True, timeout=300,
                         env={**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(tmp_path),
                                                                                      os.environ.get("PYTHONPATH")]))})
    assert out.returncode == 0, out.stderr[-4000:]
    assert "Traceback" not in out.stderr, out.stderr[-4000:]
    assert "bootstrapping phase" not in out.stderr
    # the workers did not re-run the script: its top level printed once
    assert out.stdout.count(MARKER) == 1, out.stdout
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["chunks_computed"] == 4  # 2 scales x ceil(3 seeds / 2)
    np.testing.assert_allclose(result["loss_final"], expected.loss_final.values.ravel(), rtol=1e-12, atol=0)
    assert result["route"] == expected.route.values.ravel().tolist()
    assert result["file_restored"]  # the main module is given back after the sweep
    assert result["spec"] == (None if how == "script" else "user_sweep")


def test_main_module_hidden_restores_it_even_on_error():
    main = sys.modules["__main__"]
    before = (main.__dict__.get("__file__"), main.__dict__.get("__spec__"), "__file__" in main.__dict__)
    with pytest.raises(KeyError):
        with _main_module_hidden():
            assert "__file__" not in main.__dict__
            assert main.__spec__ is None
            raise KeyError("boom")
    after = (main.__dict__.get("__file__"), main.__dict__.get("__spec__"), "__file__" in main.__dict__)
    assert after == before
