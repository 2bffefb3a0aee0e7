"""Headless Chromium, offline: load a page, measure what its interactive viewers draw.

``measure_viewers(page)`` opens ``page`` in an iframe of a small harness page, waits (in
virtual time) for it to load, and for every ``.viewer`` div reads the pixels of the
plotly WebGL scene it holds (the scene's own ``toImage``: a redraw and ``readPixels`` of
the WebGL canvas, so the SVG legend, title and colour bar do not count). The harness
writes the numbers into its DOM; ``--dump-dom`` prints them.

Chromium runs with no network: every request goes to a recording proxy on the loopback
that answers 502, and host names resolve to nothing. The proxy's log is returned, so a
test can assert the page fetched nothing.
"""

from __future__ import annotations

import json
import re
import shutil
import socketserver
import subprocess
import threading
from pathlib import Path

HARNESS = """<!DOCTYPE html><html><head><meta charset='utf-8'></head><body>
%(frames)s
<pre id='result'>pending</pre>
<script>
function stats(url) {
  return new Promise(function (resolve) {
    var img = new Image();
    img.onload = function () {
      var c = document.createElement('canvas'); c.width = img.width; c.height = img.height;
      var g = c.getContext('2d'); g.drawImage(img, 0, 0);
      var d = g.getImageData(0, 0, c.width, c.height).data, colours = {}, chromatic = 0;
      for (var i = 0; i < d.length; i += 4) {
        var r = d[i], gg = d[i + 1], b = d[i + 2];
        if (Math.max(r, gg, b) - Math.min(r, gg, b) > 60) { chromatic++; colours[(r >> 3) + ',' + (gg >> 3) + ',' + (b >> 3)] = 1; }
      }
      resolve({width: c.width, height: c.height, chromatic: chromatic / (d.length / 4),
               colours: Object.keys(colours).length});
    };
    img.onerror = function () { resolve({error: 'image did not decode'}); };
    img.src = url;
  });
}
function measure(frame) {
  var w = frame.contentWindow, doc = w.document;
  var divs = Array.prototype.slice.call(doc.querySelectorAll('.viewer'));
  var out = {src: frame.getAttribute('src'), plotly: !!w.Plotly, version: w.Plotly ? w.Plotly.version : null};
  return Promise.all(divs.map(function (d) {
    var scene = d._fullLayout && d._fullLayout.scene && d._fullLayout.scene._scene;
    var entry = {id: d.id, text: d.textContent.slice(0, 300), traces: d.data ? d.data.length : 0,
                 canvases: d.querySelectorAll('canvas').length, gl: !!scene};
    if (!scene) return Promise.resolve(entry);
    return stats(scene.toImage('png')).then(function (s) { entry.pixels = s; return entry; });
  })).then(function (entries) { out.viewers = entries; return out; });
}
function report(obj) { document.getElementById('result').textContent = 'RESULT ' + JSON.stringify(obj); }
window.addEventListener('load', function () {
  setTimeout(function () {
    try {
      var frames = Array.prototype.slice.call(document.querySelectorAll('iframe'));
      Promise.all(frames.map(measure)).then(report, function (e) { report({error: String(e)}); });
    } catch (e) { report({error: String(e)}); }
  }, 4000);
});
</script></body></html>
"""


def chromium():
    """The Chromium executable (Debian's ``chromium``), or None."""
    return shutil.which("chromium") or shutil.which("chromium-browser")


class _Recorder(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self):
        self.requests = []

        class Handler(socketserver.StreamRequestHandler):
            def handle(inner):  # noqa: N805 - the server's handler
                inner.connection.settimeout(5)
                try:
                    line = inner.rfile.readline(4096).decode("latin-1").strip()
                except OSError:
                    line = "<unreadable>"
                self.requests.append(line)
                try:
                    inner.wfile.write(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
                except OSError:
                    pass

        super().__init__(("127.0.0.1", 0), Handler)


def offline_flags(port):
    """Chromium flags: headless, software WebGL, every request to the recorder on ``port``, no DNS."""
    return ["--headless", "--no-sandbox", "--use-angle=swiftshader", "--enable-unsafe-swiftshader",
            "--allow-file-access-from-files", f"--proxy-server=http://127.0.0.1:{port}",
            "--proxy-bypass-list=<-loopback>", "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
            "--disable-background-networking", "--disable-component-update", "--disable-sync",
            "--disable-default-apps", "--no-first-run", "--no-default-browser-check", "--disable-extensions",
            "--metrics-recording-only", "--disable-domain-reliability", "--mute-audio",
            "--disable-client-side-phishing-detection", "--safebrowsing-disable-auto-update",
            "--disable-field-trial-config", "--disable-features=" + ",".join(_QUIET_FEATURES)]


#: browser features that call home on their own (sign-in, optimisation hints, translation)
_QUIET_FEATURES = ("OptimizationHints", "OptimizationHintsFetching", "OptimizationGuideModelDownloading",
                   "OptimizationTargetPrediction", "Translate", "MediaRouter", "AutofillServerCommunication",
                   "CertificateTransparencyComponentUpdater", "AccountConsistency", "DiceWebSigninInterception",
                   "ChromeSignin")
#: Chromium's own services (component and extension updates, network time, sign-in): it
#: calls them whatever page is open, flags notwithstanding; a page never needs them.
BROWSER_SERVICE_HOSTS = frozenset({
    "update.googleapis.com", "clients2.google.com", "clients2.googleusercontent.com", "accounts.google.com",
    "optimizationguide-pa.googleapis.com", "clientservices.googleapis.com", "redirector.gvt1.com",
    "edgedl.me.gvt1.com", "safebrowsingohttpgateway.googleapis.com", "content-autofill.googleapis.com",
    # Chromium 150 (Debian bookworm) also calls these for a blank page with no reference to any host
    "www.google.com", "android.clients.google.com",
})


def requested_hosts(requests):
    """Host names in proxy request lines (``CONNECT host:443``, ``GET http://host/...``)."""
    hosts = set()
    for line in requests:
        if not line:  # a connection opened and closed without a request line (a speculative preconnect): no fetch
            continue
        m = re.match(r"CONNECT ([^:\s]+)", line) or re.match(r"[A-Z]+ [a-z]+://([^/:\s]+)", line)
        hosts.add(m.group(1) if m else line)
    return hosts


def page_requests(requests):
    """The requests that were not Chromium's own (see :data:`BROWSER_SERVICE_HOSTS`)."""
    return sorted(requested_hosts(requests) - BROWSER_SERVICE_HOSTS)


def run_offline(args, timeout=180):
    """Run Chromium with :func:`offline_flags` and ``args``; returns (completed process, requests seen)."""
    exe = chromium()
    if exe is None:
        raise RuntimeError("chromium is not installed (.ci/run installs Debian's chromium package)")
    server = _Recorder()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        res = subprocess.run([exe, *offline_flags(server.server_address[1]), *args], capture_output=True, text=True,
                             timeout=timeout)
    finally:
        server.shutdown()
        server.server_close()
    return res, list(server.requests)


def measure_viewers(pages, workdir):
    """Load ``pages`` offline in one headless Chromium (one iframe each) and measure their viewers.

    Returns
    -------
    results : list of dict
        Per page: ``plotly`` (bool: the viewer script loaded), ``version`` and
        ``viewers``: per ``.viewer`` div its ``id``, ``text``, ``traces``, ``canvases``,
        ``gl`` (a WebGL scene exists) and ``pixels`` of the WebGL scene (``chromatic``:
        fraction of coloured pixels, ``colours``: distinct coloured values).
    requests : list of str
        Request lines the recording proxy saw (see :func:`page_requests`).
    """
    frames = "\n".join(f"<iframe src='{Path(p).resolve().as_uri()}' style='width:1200px;height:2400px'></iframe>"
                       for p in pages)
    harness = Path(workdir) / "harness.html"
    harness.write_text(HARNESS % {"frames": frames}, encoding="utf-8")
    res, requests = run_offline(["--virtual-time-budget=15000", "--window-size=1300,2600", "--dump-dom",
                                 harness.as_uri()])
    m = re.search(r"RESULT (.*?)</pre>", res.stdout, re.S)
    if not m:
        raise AssertionError(f"the harness reported nothing; chromium exit {res.returncode}; "
                             f"stdout {res.stdout[-500:]!r}; stderr {res.stderr[-1500:]!r}")
    import html

    out = json.loads(html.unescape(m.group(1)))
    if isinstance(out, dict) and "error" in out:
        raise AssertionError(f"the harness failed: {out['error']}")
    return out, requests


def assert_viewers_draw(result, expected, min_chromatic=0.002, min_colours=10):
    """Every one of the ``expected`` viewer ids holds a WebGL scene that drew coloured content."""
    assert result.get("plotly"), f"the viewer script (plotly.js) did not load: {result}"
    seen = {v["id"]: v for v in result["viewers"]}
    assert set(seen) == set(expected), (sorted(seen), sorted(expected))
    for vid in expected:
        v = seen[vid]
        assert v["gl"] and v["canvases"] >= 1, f"{vid}: no WebGL scene ({v})"
        px = v.get("pixels") or {}
        assert "error" not in px, (vid, px)
        assert px["chromatic"] >= min_chromatic and px["colours"] >= min_colours, f"{vid}: blank canvas ({px})"
