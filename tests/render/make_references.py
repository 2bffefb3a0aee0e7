"""Regenerate the cached reference images (run from the repository root, then review them).

    python tests/render/make_references.py
"""

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(ROOT))

from tests.render.test_render import manifold_picture  # noqa: E402

out = Path(tempfile.mkdtemp())
env = dict(os.environ, LANDSCAPE_GALLERY_SIZE="small", LANDSCAPE_GALLERY_OUT=str(out))
env.pop("DISPLAY", None)
for script in ("gallery/01_landscapes/plot_g1_phase_portrait.py", "gallery/01_landscapes/plot_g2_scalar_depth3.py"):
    subprocess.run([sys.executable, script], cwd=ROOT, env=env, check=True)
ref = HERE / "reference"
ref.mkdir(exist_ok=True)
for name in ("g1_phase_portrait.png", "g2_scalar_depth3.png"):
    shutil.copy(out / name, ref / name)
manifold_picture(ref / "manifolds_scalar_depth3.png")
print("wrote", sorted(p.name for p in ref.iterdir()))
