"""The report page in a real browser: headless Chromium, no network, an interactive 3-D view per scene.

Chromium (Debian's ``chromium``; ``.ci/run`` installs it) loads ``index.html`` from the
report folder with every request sent to a recording proxy on the loopback and host names
resolving to nothing. A harness page reads the pixels each plotly WebGL scene draws. The
last test shows the check fails when the viewer's script is missing, when a scene draws
nothing, and that a page fetching from the network is caught.
"""

import re
import shutil

import pytest

from landscape.explore import explore
from landscape.render import PLOTLY_JS, Scene3D, save_html
from tests.render.browser import assert_viewers_draw, measure_viewers, page_requests

SCENES = ["scalar-depth3-manifolds", "scalar-depth3-landscape", "widths-3333-manifolds", "widths-3333-trajectory-3d"]


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    out = tmp_path_factory.mktemp("page")
    explore(out, size="small", progress=False, echo=lambda *_: None)
    return out


@pytest.fixture(scope="module")
def measured(report, tmp_path_factory):
    return measure_viewers([report / "index.html", report / "scalar-depth3-landscape.html"],
                           tmp_path_factory.mktemp("harness"))


def test_page_loads_offline_and_every_3d_scene_draws_a_coloured_canvas(measured):
    from plotly.offline import get_plotlyjs_version

    (page, standalone), requests = measured
    assert page_requests(requests) == []  # nothing fetched: plotly.js comes from the report folder
    assert page["plotly"] and page["version"] == get_plotlyjs_version()
    assert_viewers_draw(page, [f"view-{s}" for s in SCENES])
    assert_viewers_draw(standalone, ["scene"])  # the one-scene page too
    viewers = {v["id"]: v for v in page["viewers"]}
    for name in ("view-scalar-depth3-landscape", "view-widths-3333-trajectory-3d"):
        assert "start" in viewers[name]["text"] and "end" in viewers[name]["text"]  # the legend of the markers
        assert viewers[name]["pixels"]["colours"] >= 40  # tubes coloured along the plasma scale
    for name in SCENES:
        assert viewers[f"view-{name}"]["traces"] >= 3


def test_page_keeps_the_pngs_and_links_each_scene_alone(report):
    page = (report / "index.html").read_text()
    assert f"<script src='{PLOTLY_JS}'></script>" in page.split("</head>")[0]
    assert (report / PLOTLY_JS).stat().st_size > 1_000_000
    for name in SCENES:
        figure = re.search(rf"<figure><div class='viewer' id='view-{name}'.*?</figure>", page, re.S)
        assert figure, name
        refs = re.findall(r"(?:src|href)='([^']+)'", figure.group(0))
        assert f"{name}.png" in refs and f"{name}.html" in refs, refs
        assert (report / f"{name}.png").is_file() and (report / f"{name}.html").is_file()
    for chart in ("widths-3333-spectra", "widths-3333-loss", "widths-3333-singular-values"):
        assert f"<img src='{chart}.png'" in page


def test_browser_check_fails_without_the_viewer_script_on_a_blank_canvas_and_on_a_fetch(report, tmp_path):
    nojs = tmp_path / "nojs"
    nojs.mkdir()
    shutil.copy(report / "index.html", nojs / "index.html")  # the page without plotly.min.js beside it
    nothing = Scene3D(title="nothing drawn", axis_titles=("w1", "w2", "w3"), bounds=(-1, 1) * 3)
    nothing.add_path([[0, 0, 0], [1, 1, 1]], color="#ffffff")  # a WebGL scene whose only line is white on white
    blank = save_html(nothing, tmp_path / "blank" / "blank.html")
    fetching = tmp_path / "cdn" / "cdn.html"
    fetching.parent.mkdir()
    standalone = (report / "scalar-depth3-landscape.html").read_text()
    fetching.write_text(standalone.replace(f"src='{PLOTLY_JS}'", "src='https://cdn.plot.ly/plotly-3.0.1.min.js'"))
    (missing, empty, cdn), requests = measure_viewers([nojs / "index.html", blank, fetching], tmp_path)
    with pytest.raises(AssertionError, match="did not load"):
        assert_viewers_draw(missing, [f"view-{s}" for s in SCENES])
    assert len(missing["viewers"]) == len(SCENES)
    assert all("needs plotly.min.js" in v["text"] for v in missing["viewers"])  # said on the page, not blank
    assert empty["plotly"] and empty["viewers"][0]["gl"]
    with pytest.raises(AssertionError, match="blank canvas"):
        assert_viewers_draw(empty, ["scene"])
    assert "cdn.plot.ly" in page_requests(requests)
    assert not cdn["plotly"]
