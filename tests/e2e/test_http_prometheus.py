"""A real Prometheus (Debian's package) scraping the daemon's /metrics, and
the example rules and scrape config of contrib/prometheus checked by
promtool. Heavy: run in the normal build only, not under the sanitizers
(docs/http.md)."""
import json
import os
import shutil
import signal
import subprocess
import time
import urllib.parse
import urllib.request

import pytest

from conftest import CONSOLE, DICE, ROOT, SANITIZED, wait_for
from httpclient import free_port, get, http_config

pytestmark = pytest.mark.skipif(SANITIZED, reason="Prometheus tests run in the normal build only")

PROMETHEUS = "/usr/bin/prometheus"
PROMTOOL = "/usr/bin/promtool"
CONTRIB = os.path.join(ROOT, "contrib", "prometheus")


def promtool(*args, cwd=None):
    r = subprocess.run([PROMTOOL, *args], capture_output=True, text=True, cwd=cwd, timeout=60)
    assert r.returncode == 0, r.stdout + r.stderr
    return r.stdout


def test_example_rules_check_and_pass_their_unit_tests():
    out = promtool("check", "rules", os.path.join(CONTRIB, "supervisor-rules.yml"))
    assert "SUCCESS: 5 rules found" in out
    out = promtool("test", "rules", "supervisor-rules.test.yml", cwd=CONTRIB)
    assert "SUCCESS" in out


def test_example_scrape_config_checks(tmp_path):
    # The example reads its token from /etc/prometheus; here, from tmp_path.
    tok = tmp_path / "bot-supervisor.token"
    tok.write_text("0123456789abcdef0123\n")
    text = open(os.path.join(CONTRIB, "prometheus.yml")).read()
    assert "/etc/prometheus/bot-supervisor.token" in text
    (tmp_path / "prometheus.yml").write_text(
        text.replace("/etc/prometheus/bot-supervisor.token", str(tok)))
    shutil.copy(os.path.join(CONTRIB, "supervisor-rules.yml"), tmp_path)
    out = promtool("check", "config", str(tmp_path / "prometheus.yml"))
    assert "SUCCESS" in out


def query(port, q):
    url = "http://127.0.0.1:%d/api/v1/query?%s" % (port, urllib.parse.urlencode({"query": q}))
    with urllib.request.urlopen(url, timeout=5) as r:
        j = json.load(r)
    assert j["status"] == "success", j
    return {tuple(sorted(x["metric"].items())): float(x["value"][1]) for x in j["data"]["result"]}


def one(port, q):
    v = query(port, q)
    return next(iter(v.values())) if len(v) == 1 else None


def test_prometheus_scrapes_state_and_a_rising_counter(daemon, tmp_path):
    """Prometheus on 127.0.0.1 (a free port, storage in tmp_path, 1 s scrape)
    sees the plugin RUNNING and its routed-events counter rise after chat
    commands; the token is sent as a bearer token."""
    token = "prom-scrape-token-0123456789"
    hport, pport = free_port(), free_port()
    daemon.start(config=http_config(daemon, [CONSOLE, DICE], hport, token=token))
    (tmp_path / "token").write_text(token)
    (tmp_path / "prometheus.yml").write_text(json.dumps({
        "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
        "scrape_configs": [{
            "job_name": "bot-supervisor",
            "authorization": {"type": "Bearer", "credentials_file": str(tmp_path / "token")},
            "static_configs": [{"targets": ["127.0.0.1:%d" % hport]}]}]}))
    log = open(tmp_path / "prometheus.log", "wb")
    prom = subprocess.Popen([PROMETHEUS, "--config.file=%s" % (tmp_path / "prometheus.yml"),
                             "--storage.tsdb.path=%s" % (tmp_path / "data"),
                             "--web.listen-address=127.0.0.1:%d" % pport],
                            stdout=log, stderr=log, cwd=str(tmp_path))
    try:
        def running():
            try:
                return one(pport, 'supervisor_plugin_state{plugin="dice-roller",state="RUNNING"}')
            except OSError:
                return None
        assert wait_for(running, timeout=30, interval=0.25, what="Prometheus to scrape") == 1
        assert one(pport, 'up{job="bot-supervisor"}') == 1
        assert one(pport, 'supervisor_plugin_up{plugin="dice-roller",role="plugin"}') == 1
        before = one(pport, 'supervisor_plugin_events_routed_total{plugin="dice-roller"}')
        for _ in range(5):
            assert "🎲" in daemon.ask("!roll 2d6")
        wait_for(lambda: one(pport, 'supervisor_plugin_events_routed_total{plugin="dice-roller"}')
                 >= before + 5, timeout=15, interval=0.25, what="the counter to rise in Prometheus")
        assert one(pport, 'supervisor_plugin_replies_total{plugin="dice-roller"}') >= 5
        # A stop shows too: up falls to 0, STOPPED is the state.
        daemon.ctl("stop", "dice-roller", check=0)
        wait_for(lambda: one(pport, 'supervisor_plugin_state{plugin="dice-roller",state="STOPPED"}')
                 == 1, timeout=15, interval=0.25, what="STOPPED in Prometheus")
        assert one(pport, 'supervisor_plugin_up{plugin="dice-roller"}') == 0
    finally:
        prom.send_signal(signal.SIGTERM)
        try:
            prom.wait(20)
        except subprocess.TimeoutExpired:
            prom.kill()
            prom.wait()
        log.close()
    # Prometheus sent the token on every scrape: nothing was refused.
    assert get(hport, "/metrics")[0] == 401
