"""The dashboard in a real headless browser (Debian's chromium, driven over
the DevTools protocol with python3-websocket): the page loads without a
console error, shows every plugin, a crash made during the test appears
without a reload, and a screenshot is written to BUILD/http-dashboard.png.
Heavy: run in the normal build only (docs/http.md)."""
import base64
import json
import os
import signal
import subprocess
import time
import urllib.request

import pytest

from conftest import BUILD, DICE, EIGHTBALL, PICK, SANITIZED, plugin, wait_for
from httpclient import free_port, http_config

pytestmark = pytest.mark.skipif(SANITIZED, reason="browser tests run in the normal build only")

CHROMIUM = "/usr/bin/chromium"
SCREENSHOT = os.path.join(BUILD, "http-dashboard.png")


class DevTools:
    """One page's DevTools connection: commands, and the events seen."""

    def __init__(self, ws_url):
        import websocket
        self.ws = websocket.create_connection(ws_url, timeout=30, suppress_origin=True)
        self.next_id = 0
        self.events = []

    def call(self, method, **params):
        self.next_id += 1
        mid = self.next_id
        self.ws.send(json.dumps({"id": mid, "method": method, "params": params}))
        while True:
            msg = json.loads(self.ws.recv())
            if msg.get("id") == mid:
                assert "error" not in msg, msg
                return msg.get("result", {})
            if "method" in msg:
                self.events.append(msg)

    def eval(self, expr):
        r = self.call("Runtime.evaluate", expression=expr, returnByValue=True, awaitPromise=True)
        assert "exceptionDetails" not in r, r
        return r["result"].get("value")

    def errors(self):
        out = []
        for e in self.events:
            m, p = e["method"], e.get("params", {})
            if m == "Runtime.exceptionThrown":
                out.append(p["exceptionDetails"].get("text"))
            elif m == "Runtime.consoleAPICalled" and p.get("type") in ("error", "assert"):
                out.append(p.get("args"))
            elif m == "Log.entryAdded" and p["entry"].get("level") == "error":
                out.append(p["entry"].get("text"))
        return out

    def close(self):
        self.ws.close()


@pytest.fixture
def browser(tmp_path):
    port = free_port()
    log = open(tmp_path / "chromium.log", "wb")
    proc = subprocess.Popen(
        [CHROMIUM, "--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run",
         "--no-default-browser-check", "--disable-extensions", "--disable-background-networking",
         "--remote-debugging-address=127.0.0.1", "--remote-debugging-port=%d" % port,
         "--user-data-dir=%s" % (tmp_path / "profile"), "--window-size=1366,900", "about:blank"],
        stdout=log, stderr=log, start_new_session=True)

    def page_ws():
        try:
            with urllib.request.urlopen("http://127.0.0.1:%d/json/list" % port, timeout=2) as r:
                pages = [p for p in json.load(r) if p.get("type") == "page"]
            return pages[0]["webSocketDebuggerUrl"] if pages else None
        except OSError:
            return None
    try:
        dt = DevTools(wait_for(page_ws, timeout=30, interval=0.2, what="chromium's DevTools"))
        yield dt
        dt.close()
    finally:
        # Chromium and its helpers are one process group, started here.
        try:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        except ProcessLookupError:
            pass
        log.close()


def test_dashboard_in_chromium_live_crash_and_screenshot(daemon, browser):
    hport = free_port()
    crasher = plugin("crasher", "crasher", {"on_command": True})
    cfg = http_config(daemon, [DICE, EIGHTBALL, PICK, crasher], hport)
    cfg["metrics"] = {"poll_interval": 0.5}
    daemon.start(config=cfg)
    # Samples with CPU for every plugin first, so the charts have a p95.
    wait_for(lambda: all(daemon.status(n)["cpu_percent"] is not None for n in
                         ["dice-roller", "8ball", "pick", "crasher"]), what="CPU samples")
    names = ["dice-roller", "8ball", "pick", "crasher"]
    dt = browser
    dt.call("Runtime.enable")
    dt.call("Log.enable")
    dt.call("Page.enable")
    dt.call("Emulation.setDeviceMetricsOverride", width=1366, height=900, deviceScaleFactor=1,
            mobile=False)
    t0 = time.monotonic()
    dt.call("Page.navigate", url="http://127.0.0.1:%d/" % hport)
    rows = lambda: dt.eval("[...document.querySelectorAll('#rows tr')].map(r => r.dataset.plugin)")
    wait_for(lambda: sorted(rows() or []) == sorted(names), timeout=15, what="every plugin's row")
    rendered = time.monotonic() - t0
    wait_for(lambda: dt.eval("document.getElementById('live').className") == "on",
             timeout=10, what="the event stream")
    states = dt.eval("[...document.querySelectorAll('#rows .badge')].map(b => b.textContent)")
    assert states == ["RUNNING"] * 4, states
    # The detail charts of the first plugin, with p95 marked.
    wait_for(lambda: "p95" in (dt.eval("document.getElementById('c-cpu').textContent") or ""),
             timeout=10, what="the CPU chart's p95")
    # A crash now: it shows up on the page as it is, with no reload.
    dt.eval("window.__same_page = 1")
    pid = daemon.status("crasher")["pid"]
    os.kill(pid, signal.SIGKILL)
    wait_for(lambda: "crasher" in (dt.eval("document.getElementById('crashes').textContent") or ""),
             timeout=10, what="the crash on the page")
    text = dt.eval("document.getElementById('crashes').textContent")
    assert "signal" in text and "SIGKILL" in text, text
    assert dt.eval("window.__same_page") == 1, "the page was reloaded"
    wait_for(lambda: dt.eval("document.querySelector('tr[data-plugin=crasher] td:nth-child(5)')"
                             ".textContent") == "1", timeout=10, what="the crash count")
    # Let the restart settle, then the picture.
    daemon.wait_state("crasher", "RUNNING", timeout=10)
    wait_for(lambda: dt.eval("document.querySelector('tr[data-plugin=crasher] .badge')"
                             ".textContent") == "RUNNING", timeout=10, what="RUNNING again")
    # Samples of the new process reach the page live, sparklines included.
    wait_for(lambda: dt.eval("document.querySelector('tr[data-plugin=crasher] td:nth-child(7)')"
                             ".textContent") not in ("–", ""), timeout=10, what="a live sample")
    wait_for(lambda: dt.eval("[...document.querySelectorAll('#rows svg.spark path')].length") == 8,
             timeout=10, what="every sparkline drawn")
    shot = dt.call("Page.captureScreenshot", format="png")
    with open(SCREENSHOT, "wb") as f:
        f.write(base64.b64decode(shot["data"]))
    assert os.path.getsize(SCREENSHOT) > 10000
    fcp = dt.eval("(performance.getEntriesByName('first-contentful-paint')[0] || {}).startTime")
    weight = dt.eval("performance.getEntriesByType('navigation')[0].transferSize")
    with open(os.path.join(BUILD, "http-dashboard.json"), "w") as f:
        json.dump({"rows_rendered_seconds": rendered, "first_contentful_paint_ms": fcp,
                   "page_transfer_bytes": weight}, f)
    assert dt.errors() == [], dt.errors()
