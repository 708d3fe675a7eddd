"""The HTTP endpoint (docs/http.md): /metrics checked by promtool, the JSON
API against the control socket's answers, /events, health checks, the
token, and bad input: long URIs and headers, unknown paths, other methods,
2000 connections, an event client that never reads."""
import json
import os
import re
import signal
import socket
import subprocess
import time

import pytest

from conftest import DICE, SLOW, SUPERVISOR, Conn, plugin, wait_for
from httpclient import EventStream, free_port, get, get_json, http_config, raw

PROMTOOL = "/usr/bin/promtool"


def start(daemon, plugins=None, wait_running=True, **http):
    port = free_port()
    daemon.start(config=http_config(daemon, plugins or [DICE], port, **http),
                 wait_running=wait_running)
    daemon.wait_log(r"http: listening on http://127\.0\.0\.1:%d/" % port)
    return port


def sample_value(text, name, **labels):
    """The value of one series in an exposition, or None."""
    want = ",".join('%s="%s"' % kv for kv in labels.items())
    for line in text.splitlines():
        if line.startswith(name + ("{" + want if labels else " ")):
            if labels and not line.startswith(name + "{" + want + ("}" if len(want) else "")) \
                    and not line.startswith(name + "{" + want + ","):
                continue
            return float(line.rsplit(" ", 1)[1])
    return None


def test_off_unless_configured(daemon):
    daemon.start([DICE])
    assert "http:" not in daemon.read_log()


def test_metrics_exposition_passes_promtool(daemon):
    port = start(daemon, [DICE, plugin("crasher", "crasher", {"on_command": True},
                                       limits={"memory_mb": 500})])
    status, hdrs, body = get(port, "/metrics")
    assert status == 200
    assert hdrs["content-type"].startswith("text/plain; version=0.0.4")
    text = body.decode()
    r = subprocess.run([PROMTOOL, "check", "metrics"], input=body, capture_output=True)
    assert r.returncode == 0, r.stdout + r.stderr
    # Every family has HELP and TYPE, counters end in _total.
    for m in re.finditer(r"^# TYPE (\S+) (\S+)$", text, re.M):
        assert "# HELP %s " % m.group(1) in text
        if m.group(2) == "counter":
            assert m.group(1).endswith("_total"), m.group(1)
    lab = {"plugin": "dice-roller", "role": "plugin"}
    assert sample_value(text, "supervisor_plugin_up", **lab) == 1
    assert 'supervisor_plugin_state{plugin="dice-roller",role="plugin",state="RUNNING"} 1' in text
    assert 'supervisor_plugin_state{plugin="dice-roller",role="plugin",state="FATAL"} 0' in text
    pid = daemon.status("dice-roller")["pid"]
    assert sample_value(text, "supervisor_plugin_pid", **lab) == pid
    assert 'supervisor_build_info{version="0.1.0",protocol="1"} 1' in text
    assert sample_value(text, "supervisor_plugin_memory_limit_bytes", plugin="crasher",
                        role="plugin") == 500 * 1048576
    assert sample_value(text, "supervisor_plugin_memory_limit_bytes", **lab) is None
    # A crash: counters rise, the reason is counted, the process is gone.
    daemon.result("stop", plugin="dice-roller")
    c = Conn(daemon.sock)
    c.close()
    before = sample_value(text, "supervisor_plugin_crashes_total", plugin="crasher", role="plugin")
    os.kill(daemon.status("crasher")["pid"], signal.SIGKILL)
    wait_for(lambda: daemon.status("crasher")["crashes"] == 1, what="crash recorded")
    text = get(port, "/metrics")[2].decode()
    assert sample_value(text, "supervisor_plugin_crashes_total", plugin="crasher",
                        role="plugin") == before + 1
    assert 'supervisor_plugin_crash_reasons_total{plugin="crasher",role="plugin",reason="signal"} 1' in text
    assert sample_value(text, "supervisor_plugin_last_crash_time_seconds", plugin="crasher",
                        role="plugin") > time.time() - 60
    # Stopped: not up, STOPPED one-hot, no pid series, no memory sample.
    assert sample_value(text, "supervisor_plugin_up", **lab) == 0
    assert 'supervisor_plugin_state{plugin="dice-roller",role="plugin",state="STOPPED"} 1' in text
    assert sample_value(text, "supervisor_plugin_pid", **lab) is None
    assert sample_value(text, "supervisor_plugin_resident_memory_bytes", **lab) is None


def test_api_answers_as_the_control_socket(daemon):
    port = start(daemon, [DICE, plugin("crasher", "crasher", {"on_command": True})])
    for path, req in [("/api/version", {"cmd": "version"}),
                      ("/api/crashes/dice-roller", {"cmd": "crashes", "plugin": "dice-roller"}),
                      ("/api/tail/crasher?lines=2", {"cmd": "tail", "plugin": "crasher", "lines": 2}),
                      ("/api/history/dice-roller?last=1", {"cmd": "history", "plugin": "dice-roller",
                                                           "last": 1})]:
        status, got = get_json(port, path)
        assert status == 200, got
        assert got == daemon.request(req), path
    status, got = get_json(port, "/api/status?plugin=dice-roller&fields=name,state,pid")
    assert status == 200 and got["result"] == {"name": "dice-roller", "state": "RUNNING",
                                               "pid": daemon.status("dice-roller")["pid"]}
    assert get_json(port, "/api/status/dice-roller")[1]["result"]["name"] == "dice-roller"
    status, got = get_json(port, "/api/metrics/dice-roller?window=1h")
    assert status == 200 and got["result"]["window_seconds"] == 3600
    assert got["result"]["source"] == "raw" and got["result"]["p95"] == "exact"
    status, got = get_json(port, "/api/metrics/dice-roller?window=7d")
    assert status == 200 and got["result"]["source"] == "rollup"
    status, got = get_json(port, "/api/system")
    assert status == 200 and got["result"]["total_plugins"] == 2
    # /api lists what it serves: the read-only verbs, none that change anything.
    names = [v["name"] for v in get_json(port, "/api")[1]["result"]["verbs"]]
    assert names == ["status", "metrics", "history", "crashes", "tail", "system", "alerts",
                     "version", "help"]


def test_api_refuses_what_is_not_read_only_or_wrong(daemon):
    port = start(daemon)
    pid = daemon.status("dice-roller")["pid"]
    for verb in ["restart", "stop", "start", "reload", "signal", "forget", "subscribe"]:
        status, got = get_json(port, "/api/%s/dice-roller" % verb)
        assert status == 403 and got["error"]["code"] == "read-only", (verb, got)
    assert daemon.status("dice-roller")["pid"] == pid
    cases = [("/api/nope", 404, "unknown-command"),
             ("/api/metrics/no-such", 404, "unknown-plugin"),
             ("/api/metrics", 400, "missing-argument"),
             ("/api/metrics/dice-roller?window=soon", 400, "bad-argument"),
             ("/api/metrics/dice-roller?window=1h&window=2h", 400, "bad-argument"),
             ("/api/metrics/dice-roller?bogus=1", 400, "bad-argument"),
             ("/api/version/dice-roller", 400, "bad-argument"),
             ("/api/history/dice-roller?last=0", 400, "bad-argument"),
             ("/api/tail/dice-roller?lines=%zz", 400, "bad-argument"),
             ("/api/tail/dice-roller?lines=%00", 400, "bad-argument"),
             ("/api/status?plugin=%ff", 400, "bad-argument")]
    for path, code, err in cases:
        status, got = get_json(port, path)
        assert (status, got["ok"], got["error"]["code"]) == (code, False, err), (path, got)
    assert daemon.status("dice-roller")["pid"] == pid


def test_bad_requests_get_4xx_and_the_daemon_serves_on(daemon):
    port = start(daemon)
    assert get(port, "/nope")[0] == 404
    assert get(port, "/metrics/")[0] == 404
    for m in ["POST", "PUT", "DELETE", "PATCH", "OPTIONS"]:
        status, hdrs, body = get(port, "/metrics", method=m)
        assert status == 405 and hdrs["allow"] == "GET, HEAD", m
    status, hdrs, body = get(port, "/metrics", method="HEAD")
    assert status == 200 and body == b""
    # An over-long URI (within the header limit), then one past it.
    status, _, body = get(port, "/api/status?plugin=" + "a" * 3000)
    assert status == 414, body
    status, _, _ = get(port, "/api/status?plugin=" + "a" * 10000)
    assert status in (400, 413, 414, 431, None)
    # Headers past 8 KiB in all.
    status, _, _ = get(port, "/metrics", headers={"X-Big": "b" * 9000})
    assert status in (400, 413, 431, None)
    status, _, _ = get(port, "/metrics", headers={"X-%d" % i: "v" * 100 for i in range(100)})
    assert status in (400, 413, 431, None)
    # Garbage, a body on GET past the limit, a half request left hanging.
    assert raw(port, b"\x00\x01\x02 garbage\r\n\r\n")[0] in (400, None)
    status, _, _ = raw(port, b"GET /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n" +
                       b"x" * 100000)
    assert status in (400, 413, None)
    half = socket.create_connection(("127.0.0.1", port))
    half.sendall(b"GET /metr")
    assert get(port, "/healthz")[0] == 200
    assert daemon.request({"cmd": "version"})["ok"]
    half.close()
    assert daemon.proc.poll() is None


def test_idle_connection_is_closed(daemon):
    port = start(daemon, idle_timeout=1)
    s = socket.create_connection(("127.0.0.1", port))
    s.settimeout(10 * SLOW)
    s.sendall(b"GET /metr")
    t = time.monotonic()
    data = s.recv(100)
    while data:
        data = s.recv(100)
    assert time.monotonic() - t < 5 * SLOW
    s.close()


def test_many_connections_are_capped_not_fatal(daemon):
    """2000 connections at once: the ones over max_connections get 503, the
    daemon and its control socket go on, and a request gets through once
    they are gone."""
    from conftest import fd_room
    fd_room(2400)
    port = start(daemon, max_connections=100, idle_timeout=30)
    socks = []
    for _ in range(2000):
        s = socket.socket()
        s.settimeout(5 * SLOW)
        s.connect(("127.0.0.1", port))
        socks.append(s)
    assert daemon.request({"cmd": "version"})["ok"]
    # A request on one past the cap is refused with 503 and closed.
    last = socks[-1]
    last.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
    reply = b""
    while True:
        chunk = last.recv(4096)
        if not chunk:
            break
        reply += chunk
    assert reply.startswith(b"HTTP/1.1 503"), reply
    daemon.wait_log(r"over the cap of 100 \(http\.max_connections\) answered 503")
    for s in socks:
        s.close()
    wait_for(lambda: get(port, "/healthz")[0] == 200, timeout=10, what="served again")
    assert daemon.proc.poll() is None


def test_healthz_and_readyz(daemon):
    port = start(daemon, [DICE, plugin("crasher", "crasher", {"exit_code": 1, "after": 0},
                                       restart={"max_crashes": 1, "crash_window": 60,
                                                "initial_delay": 0})],
                 wait_running=False)
    daemon.wait_state("crasher", "FATAL", timeout=10)
    status, got = get_json(port, "/healthz")
    assert status == 200
    assert got["status"] == "ok" and got["any_fatal"] is True and got["fatal"] == ["crasher"]
    status, _, body = get(port, "/readyz")
    assert status == 200 and body == b"ready\n"


def test_token_required_when_configured(daemon):
    tok = "s3cret-token-0123456789"
    port = start(daemon, token=tok)
    for path in ["/metrics", "/api/version", "/healthz", "/", "/events"]:
        status, hdrs, _ = get(port, path)
        assert status == 401 and hdrs["www-authenticate"].startswith("Bearer"), path
        assert get(port, path, {"Authorization": "Bearer wrong-token-0123456789"})[0] == 401
        assert get(port, path, {"Authorization": "Basic " + tok})[0] == 401
        assert get(port, path, {"Authorization": "Bearer " + tok[:-1]})[0] == 401
    assert get(port, "/metrics", {"Authorization": "Bearer " + tok})[0] == 200
    assert get_json(port, "/api/version", {"Authorization": "Bearer " + tok})[1]["ok"]


@pytest.mark.parametrize("http,message", [
    ({"listen": "0.0.0.0:8421"}, r'http\.listen: 0\.0\.0\.0 is not a loopback address: listening '
                                 r'there needs a "token"'),
    ({"listen": "[::]:8421"}, r"http\.listen: :: is not a loopback address"),
    ({"listen": "localhost:8421"}, r"http\.listen: must be \"ADDRESS:PORT\".*not a numeric IPv4"),
    ({"listen": "127.0.0.1:0"}, r"http\.listen: must be .*port is not a number from 1 to 65535"),
    ({"listen": "127.0.0.1"}, r"http\.listen: .*no :PORT"),
    ({"listen": "127.0.0.1:80", "token": "short"}, r"http\.token: must be a string of 16 to 256"),
    ({"listen": "127.0.0.1:80", "token": "has a space in it ok"}, r"http\.token: must be"),
    ({"listen": "127.0.0.1:80", "max_connections": 0}, r"http\.max_connections: must be an integer"),
    ({"listen": "127.0.0.1:80", "bogus": 1}, r"http\.bogus: unknown key"),
    ({"token": "0123456789abcdef0"}, r"http: listen is required"),
])
def test_config_errors_point_at_the_key(tmp_path, http, message):
    cfg = tmp_path / "bot.json"
    cfg.write_text(json.dumps({"socket": str(tmp_path / "s.sock"), "http": http,
                               "plugins": []}, indent=1))
    r = subprocess.run([SUPERVISOR, "-n", "-c", str(cfg)], capture_output=True, text=True)
    assert r.returncode != 0
    assert re.search(r"bot\.json:\d+:\d+: " + message, r.stderr), r.stderr


def test_non_loopback_with_token_is_accepted(tmp_path):
    cfg = tmp_path / "bot.json"
    cfg.write_text(json.dumps({"socket": str(tmp_path / "s.sock"), "plugins": [],
                               "http": {"listen": "0.0.0.0:8421",
                                        "token": "0123456789abcdef0"}}))
    r = subprocess.run([SUPERVISOR, "-n", "-c", str(cfg)], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr


def test_port_taken_leaves_the_daemon_running(daemon):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    s.listen(1)
    port = s.getsockname()[1]
    try:
        daemon.start(config=http_config(daemon, [DICE], port))
        daemon.wait_log(r"http: cannot listen on 127\.0\.0\.1:%d: .*; the HTTP endpoint is off" % port)
        assert daemon.request({"cmd": "version"})["ok"]
    finally:
        s.close()


def test_events_stream_state_crash_and_sample(daemon):
    port = start(daemon, [DICE, plugin("crasher", "crasher", {"on_command": True})])
    es = EventStream(port, "?topics=state,crash")
    assert es.status == 200 and es.headers["content-type"] == "text/event-stream"
    only = EventStream(port, "?topics=state&plugin=dice-roller")
    samples = EventStream(port, "?topics=sample")
    daemon.ctl("restart", "dice-roller", check=0)
    es.wait(lambda n, d: n == "state" and d["plugin"] == "dice-roller" and d["to"] == "RUNNING")
    only.wait(lambda n, d: n == "state" and d["to"] == "RUNNING")
    os.kill(daemon.status("crasher")["pid"], signal.SIGKILL)
    name, crash = es.wait(lambda n, d: n == "crash")
    assert crash["plugin"] == "crasher" and crash["crash"]["reason"] == "signal"
    assert crash["crash"]["signal_name"] == "SIGKILL"
    # The filtered stream saw nothing about the crasher.
    daemon.ctl("restart", "dice-roller", check=0)
    name, ev = only.wait(lambda n, d: n == "state" and d["to"] == "RUNNING")
    assert ev["plugin"] == "dice-roller"
    name, ev = samples.wait(lambda n, d: n == "sample", timeout=15)
    assert ev["sample"]["state"] in ("RUNNING", "BACKOFF", "STARTING", "STOPPED")
    for s in (es, only, samples):
        s.close()
    wait_for(lambda: "supervisor_http_event_streams 0" in get(port, "/metrics")[2].decode(),
             what="streams forgotten")


def test_events_bad_queries(daemon):
    port = start(daemon, max_events_clients=2)
    assert get(port, "/events?topics=state,bogus")[0] == 400
    assert get(port, "/events?topics=")[0] == 400
    assert get(port, "/events?plugin=no-such")[0] == 404
    assert get(port, "/events?what=1")[0] == 400
    a, b = EventStream(port), EventStream(port)
    status, _, body = get(port, "/events")
    assert status == 503 and b"max_events_clients" in body
    a.close()
    b.close()


def test_events_stream_outlives_the_idle_timeout(daemon):
    port = start(daemon, idle_timeout=1)
    es = EventStream(port, "?topics=state")
    time.sleep(2.5)     # what is tested is that nothing happens meanwhile
    daemon.ctl("restart", "dice-roller", check=0)
    es.wait(lambda n, d: n == "state" and d["to"] == "RUNNING")
    es.close()


def test_events_client_that_never_reads_is_dropped(daemon):
    """Forty plugins sampled ten times a second: an event client that reads
    nothing is dropped once its backlog is full; a reader beside it goes on."""
    plugins = [plugin("p%02d" % i, "echo", {"commands": ["c%02d" % i]}) for i in range(40)]
    port = free_port()
    cfg = http_config(daemon, plugins, port, idle_timeout=60)
    cfg["metrics"] = {"poll_interval": 0.1}
    daemon.start(config=cfg)
    stuck = EventStream(port, "?topics=sample", rcvbuf=4096)
    reader = EventStream(port, "?topics=sample")
    deadline = time.monotonic() + 30 * SLOW
    while "dropped: not reading" not in daemon.read_log():
        reader.next()
        assert time.monotonic() < deadline, "the stuck client was not dropped"
    assert reader.next()[0] == "sample"
    wait_for(lambda: "supervisor_http_event_streams 1" in get(port, "/metrics")[2].decode(),
             what="one stream left")
    stuck.close()
    reader.close()


def test_dashboard_page_is_self_contained(daemon):
    port = start(daemon)
    status, hdrs, body = get(port, "/")
    assert status == 200 and hdrs["content-type"] == "text/html; charset=utf-8"
    assert len(body) < 100 * 1024
    assert b"<svg" in body or b"createElementNS" in body
    # No asset from elsewhere: no http(s) URL but the SVG namespace.
    urls = set(re.findall(rb"https?://[^\s\"'<>]+", body))
    assert urls <= {b"http://www.w3.org/2000/svg"}, urls
    assert "default-src 'self'" in hdrs["content-security-policy"]


def test_reload_keeps_the_endpoint_as_it_started(daemon):
    port = start(daemon)
    cfg = http_config(daemon, [DICE], free_port(), token="0123456789abcdef0")
    with open(daemon.config_path, "w") as f:
        json.dump(cfg, f)
    r = daemon.result("reload")
    assert r["not_applied"] == ["http"], r
    daemon.wait_log(r"socket, metrics and http settings need a daemon restart")
    # Still where it was, still without a token.
    assert get(port, "/healthz")[0] == 200
