"""The control plane end to end: the JSON socket, supervisorctl and !admin.

Everything goes through the real daemon, the real supervisorctl binary and
the console connector (docs/control.md is the reference for every exact
string checked here).
"""
import calendar
import fcntl
import json
import os
import queue
import re
import resource
import selectors
import shutil
import signal
import socket
import stat
import struct
import subprocess
import tempfile
import termios
import threading
import time

import pytest

from conftest import (BUILD, CONSOLE, DICE, ROOT, SLOW, SUPERVISOR, SUPERVISORCTL, Conn,
                      Daemon, Subscriber, connectable, ctl, fd_room, plugin, wait_for)

# Fast sampling so metrics and sample events show up within a second.
FAST = {"poll_interval": 0.1, "history_duration": 30}
ADMINS = {"admins": ["console:console"], "admin_rate": 0}
SPARK = set("▁▂▃▄▅▆▇█ ")

# A listing leaves the cgroup-read fields out unless "fields" names them.
TREE_KEYS = {"tree_cpu_seconds", "tree_memory_mb"}
PLUGIN_KEYS = {"name", "role", "state", "state_since", "uptime_seconds", "uptime_human",
               "restarts", "crashes", "starts", "breaker", "pid", "version", "commands",
               "cpu_percent", "memory_mb", "tree_cpu_seconds", "tree_memory_mb",
               "events", "queued", "output_suppressed", "history_since", "upgrade", "sandbox"}
NO_DROPS = {"queue_full": 0, "plugin_down": 0, "died": 0, "expired": 0, "not_reading": 0}
SYSTEM_KEYS = {"bot_uptime_seconds", "bot_uptime_human", "total_plugins", "plugins_running",
               "plugins_crashed", "total_events", "total_memory_mb", "chat_lines",
               "unknown_commands", "daemon", "poll_interval", "metrics_enabled",
               "containment", "state"}
SAMPLE_KEYS = {"time", "state", "pid", "rss_bytes", "events", "threads", "restarts",
               "cpu_percent", "memory_mb", "version"}
CRASH_KEYS = {"time", "time_iso", "pid", "reason", "core_dumped", "uptime_seconds", "stderr",
              "exit_code", "signal", "signal_name", "detail"}
VERBS = ["status", "metrics", "history", "crashes", "start", "stop", "restart", "upgrade", "signal",
         "reload", "tail", "forget", "system", "alerts", "silence", "shutdown", "version",
         "help",
         "subscribe"]
CHAT_VERBS = {"status", "metrics", "crashes", "start", "stop", "restart", "upgrade", "signal", "reload",
              "system", "alerts", "silence", "version", "help"}
SIGNAL_MSG = ('unknown signal "%s"; give a name like HUP, USR1, TERM or KILL (with or without '
              'SIG) or a number from 1 to 64')
WINDOW_MSG = "window must be a duration like 90s, 5m, 1h, 2d or a number of seconds (up to 30 days)"


def err(code, message):
    return {"ok": False, "error": {"code": code, "message": message}}


def crasher(name="crasher", config=None, restart=None, **extra):
    return plugin(name, "crasher", config, restart, **extra)


def start(daemon, plugins, metrics=None, chat=None, wait_running=True):
    """Start on a config with fast sampling and the console as admin.

    The socket file exists from bind(), a moment before the daemon listens
    (a connection then is refused): wait for a connection to go through
    before the first request.
    """
    cfg = daemon.config(plugins, metrics=metrics or FAST, chat=chat or ADMINS)
    daemon.start(config=cfg, wait_running=False)
    wait_for(lambda: connectable(daemon.sock), what="the daemon to listen")
    if wait_running:
        for p in plugins:
            if p.get("autostart", True):
                daemon.wait_state(p["name"], "RUNNING")
    return daemon


def unread_by_peer(s):
    """Bytes sent on the Unix socket s that its peer has not read yet."""
    return struct.unpack("i", fcntl.ioctl(s.fileno(), termios.TIOCOUTQ, b"\0" * 4))[0]


def kill9(daemon, name):
    """kill -9 a plugin and wait until it runs again under a new pid."""
    old = daemon.status(name)["pid"]
    os.kill(old, signal.SIGKILL)
    wait_for(lambda: (lambda s: s["state"] == "RUNNING" and s["pid"] != old)(
        daemon.status(name)), what="%s restarted after kill -9" % name)
    return old


def n_samples(daemon, name):
    return len(daemon.result("history", plugin=name)["samples"])


# --- every verb through JSON ------------------------------------------------

def test_status_of_every_plugin_and_of_one(daemon):
    start(daemon, [CONSOLE, DICE, crasher("idle", autostart=False)])
    wait_for(lambda: daemon.result("status")["plugins"][1]["memory_mb"] is not None,
             what="a sample of dice-roller")
    res = daemon.result("status")
    assert set(res) == {"plugins", "system"}
    assert [p["name"] for p in res["plugins"]] == ["console", "dice-roller", "idle"]
    console, dice, idle = res["plugins"]
    assert set(console) == (PLUGIN_KEYS - TREE_KEYS) | {"chat_lines", "chat_lines_dropped"}
    assert set(dice) == PLUGIN_KEYS - TREE_KEYS and set(idle) == PLUGIN_KEYS - TREE_KEYS
    assert console["role"] == "connector" and dice["role"] == "plugin"
    assert dice["state"] == "RUNNING" and dice["breaker"] == "closed"
    assert dice["version"] == "1.0.0" and dice["commands"] == ["roll", "flip"]
    assert dice["restarts"] == 0 and dice["crashes"] == 0 and dice["starts"] == 1
    assert dice["events"] == {"routed": 0, "replies": 0, "dropped": 0, "in_flight": 0,
                              "dropped_by_reason": NO_DROPS, "protocol_errors": 0}
    assert dice["queued"] == 0 and isinstance(dice["pid"], int)
    assert abs(dice["state_since"] - time.time()) < 30
    # A plugin that was never started: no process, nothing said in ready.
    assert idle["state"] == "STOPPED" and idle["pid"] is None
    assert idle["uptime_seconds"] == 0 and idle["uptime_human"] == "0s"
    assert idle["version"] is None and idle["commands"] == []
    assert idle["upgrade"] is None and dice["upgrade"] is None
    assert idle["cpu_percent"] is None and idle["memory_mb"] is None
    sysm = res["system"]
    assert set(sysm) == SYSTEM_KEYS
    assert sysm["total_plugins"] == 3 and sysm["plugins_running"] == 2
    assert sysm["plugins_crashed"] == 0 and sysm["total_events"] == 0
    assert sysm["poll_interval"] == 0.1 and sysm["metrics_enabled"] is True
    assert sysm["daemon"]["pid"] == daemon.proc.pid and sysm["daemon"]["version"] == "0.1.0"
    assert sysm["daemon"]["ring_bytes_per_plugin"] > 0
    # One plugin: the same object as in the list, plus the tree_* fields.
    one = daemon.result("status", plugin="dice-roller")
    assert set(one) == PLUGIN_KEYS
    volatile = {"uptime_seconds", "uptime_human", "cpu_percent", "memory_mb"} | TREE_KEYS
    assert {k: v for k, v in one.items() if k not in volatile} == \
        {k: v for k, v in dice.items() if k not in volatile}
    # "plugin": null is the same as no plugin.
    assert set(daemon.result("status", plugin=None)) == {"plugins", "system"}


FIELD_ORDER = ["name", "role", "state", "state_since", "uptime_seconds", "uptime_human",
               "restarts", "crashes", "starts", "breaker", "pid", "version", "commands",
               "cpu_percent", "memory_mb", "tree_cpu_seconds", "tree_memory_mb",
               "events", "queued", "output_suppressed", "chat_lines", "chat_lines_dropped",
               "history_since", "upgrade", "sandbox"]


def test_status_fields_select_what_each_row_carries(daemon):
    start(daemon, [CONSOLE, DICE])
    full = daemon.result("status")
    # Rows keep the documented order, whatever order the request names.
    for row in full["plugins"]:
        assert list(row) == [k for k in FIELD_ORDER if k in row]
    res = daemon.result("status", fields=["pid", "state", "name"])
    assert set(res) == {"plugins", "system"} and set(res["system"]) == SYSTEM_KEYS
    assert [list(r) for r in res["plugins"]] == [["name", "state", "pid"]] * 2
    assert [(r["name"], r["state"], r["pid"]) for r in res["plugins"]] == \
        [(r["name"], r["state"], r["pid"]) for r in full["plugins"]]
    # chat_lines is a connector's only; a field named twice is written once.
    res = daemon.result("status", fields=["name", "chat_lines", "name"])
    assert res["plugins"] == [{"name": "console", "chat_lines": 0}, {"name": "dice-roller"}]
    # A part of events: just it; with "events" itself, the whole object.
    rows = daemon.result("status", fields=["name", "events.routed", "events.in_flight"])["plugins"]
    assert rows == [{"name": "console", "events": {"routed": 0, "in_flight": 0}},
                    {"name": "dice-roller", "events": {"routed": 0, "in_flight": 0}}]
    one = daemon.result("status", plugin="dice-roller", fields=["events.routed", "events"])
    assert set(one["events"]) == {"routed", "replies", "dropped", "in_flight",
                                  "dropped_by_reason", "protocol_errors"}
    one = daemon.result("status", plugin="dice-roller", fields=["events", "commands"])
    assert one == {"commands": ["roll", "flip"],
                   "events": {"routed": 0, "replies": 0, "dropped": 0, "in_flight": 0,
                              "dropped_by_reason": NO_DROPS, "protocol_errors": 0}}
    every = daemon.result("status", plugin="console", fields=FIELD_ORDER)
    assert list(every) == FIELD_ORDER
    # "fields": null is the same as no fields: every one but the tree_* of a listing.
    assert [set(r) for r in daemon.result("status", fields=None)["plugins"]] == \
        [(PLUGIN_KEYS - TREE_KEYS) | {"chat_lines", "chat_lines_dropped"},
         PLUGIN_KEYS - TREE_KEYS]
    # Named, a listing has them too.
    rows = daemon.result("status", fields=["name", "tree_cpu_seconds"])["plugins"]
    assert [set(r) for r in rows] == [{"name", "tree_cpu_seconds"}] * 2
    c = Conn(daemon.sock)
    listing = ", ".join(FIELD_ORDER)
    for fields, message in (
            ("name", "fields must be a non-empty array of status field names"),
            ([], "fields must be a non-empty array of status field names"),
            ({"name": 1}, "fields must be a non-empty array of status field names"),
            (["name", "bogus"], "unknown status field bogus; the fields are " + listing +
             " (and events.NAME for a part of events)"),
            (["name", "events.bogus"], "unknown status field events.bogus; the fields are " +
             listing + " (and events.NAME for a part of events)"),
            (["name", 7], "unknown status field (not a string); the fields are " + listing +
             " (and events.NAME for a part of events)")):
        assert c.ask({"cmd": "status", "fields": fields}) == err("bad-argument", message), fields
        assert c.ask({"cmd": "status", "plugin": "dice-roller", "fields": fields}) == \
            err("bad-argument", message), fields
    # An unknown plugin is reported before the fields are looked at.
    assert c.ask({"cmd": "status", "plugin": "nope", "fields": "x"}) == \
        err("unknown-plugin", 'no plugin named "nope"')
    assert c.ask({"cmd": "version"})["ok"]
    c.close()


def test_metrics_with_and_without_a_window(daemon):
    start(daemon, [DICE])
    wait_for(lambda: n_samples(daemon, "dice-roller") >= 5, what="5 samples")
    res = daemon.result("metrics", plugin="dice-roller")
    assert set(res) == {"plugin", "window_seconds", "status", "current", "aggregates", "series",
                        "resolution_seconds", "source", "covers_seconds", "p95",
                        "history_since"}
    assert res["plugin"] == "dice-roller" and res["window_seconds"] is None
    # Within the raw ring: raw samples, exact p95, history since the first.
    assert res["source"] == "raw" and res["p95"] == "exact"
    assert res["resolution_seconds"] == daemon.result("system")["poll_interval"]
    assert res["history_since"] <= res["current"]["time"]
    assert res["status"]["name"] == "dice-roller" and set(res["status"]) == PLUGIN_KEYS
    assert set(res["current"]) == SAMPLE_KEYS
    assert res["current"]["pid"] == res["status"]["pid"]
    agg = res["aggregates"]
    assert set(agg) == {"plugin_name", "sample_count", "cpu_samples", "time_span_seconds", "cpu",
                        "memory_mb", "events", "events_per_minute"}
    assert agg["plugin_name"] == "dice-roller" and agg["sample_count"] >= 5
    assert agg["cpu_samples"] == agg["sample_count"] - 1   # the first has no delta
    for k in ("cpu", "memory_mb"):
        assert set(agg[k]) == {"avg", "min", "max", "p95"}
        assert agg[k]["min"] <= agg[k]["avg"] <= agg[k]["max"]
        assert agg[k]["min"] <= agg[k]["p95"] <= agg[k]["max"]
    assert set(res["series"]) == {"cpu", "memory_mb"}
    assert 5 <= len(res["series"]["cpu"]) == len(res["series"]["memory_mb"]) <= 60
    # Windows: a string with a unit, a number, a numeric string.
    for window, secs in (("0.5s", 0.5), ("5m", 300.0), ("1.5h", 5400.0), ("2d", 172800.0),
                         (90, 90.0), ("90", 90.0), (2.5, 2.5)):
        r = daemon.result("metrics", plugin="dice-roller", window=window)
        assert r["window_seconds"] == secs, (window, r["window_seconds"])
    small = daemon.result("metrics", plugin="dice-roller", window="0.35s")["aggregates"]
    assert 1 <= small["sample_count"] <= 5
    assert 1 <= len(daemon.result("metrics", plugin="dice-roller",
                                  window="0.35s")["series"]["cpu"]) <= 5


def test_history_last_since_and_both(daemon):
    start(daemon, [DICE])
    wait_for(lambda: n_samples(daemon, "dice-roller") >= 8, what="8 samples")
    res = daemon.result("history", plugin="dice-roller")
    assert set(res) == {"plugin", "capacity", "poll_interval", "samples"}
    assert res["capacity"] == 300 and res["poll_interval"] == 0.1
    times = [s["time"] for s in res["samples"]]
    assert times == sorted(times) and len(times) >= 8
    assert all(set(s) == SAMPLE_KEYS for s in res["samples"])
    last3 = daemon.result("history", plugin="dice-roller", last=3)["samples"]
    assert len(last3) == 3 and last3[0]["time"] <= last3[1]["time"] <= last3[2]["time"]
    assert last3[0]["time"] >= times[-3]
    since = daemon.result("history", plugin="dice-roller", since="0.55s")["samples"]
    assert 2 <= len(since) <= 8
    assert since[0]["time"] >= time.time() - 0.6 - 0.3 * SLOW
    assert daemon.result("history", plugin="dice-roller", last=1)["samples"][0]["pid"] == \
        daemon.status("dice-roller")["pid"]
    both = daemon.request({"cmd": "history", "plugin": "dice-roller", "last": 2, "since": "5s"})
    assert both == err("bad-argument", "give last or since, not both")


def test_history_last_accepts_up_to_100000(daemon):
    # docs/control.md: "last: the newest N samples (1 to 100000)".
    start(daemon, [DICE])
    r = daemon.request({"cmd": "history", "plugin": "dice-roller", "last": 100000})
    assert r["ok"], r
    r = daemon.request({"cmd": "history", "plugin": "dice-roller", "last": 100001})
    assert r["ok"] is False and r["error"]["code"] == "bad-argument"


def test_crashes_before_and_after_kill_9(daemon):
    start(daemon, [DICE])
    assert daemon.result("crashes", plugin="dice-roller") == {
        "plugin": "dice-roller", "total": 0, "kept": 64, "breaker": "closed", "crashes": []}
    old = kill9(daemon, "dice-roller")
    res = daemon.result("crashes", plugin="dice-roller")
    assert res["total"] == 1 and res["kept"] == 64 and res["breaker"] == "closed"
    (cr,) = res["crashes"]
    assert set(cr) == CRASH_KEYS
    assert cr["pid"] == old and cr["reason"] == "signal"
    assert cr["signal"] == 9 and cr["signal_name"] == "SIGKILL"
    assert cr["exit_code"] is None and cr["core_dumped"] is False and cr["detail"] is None
    assert abs(cr["time"] - time.time()) < 10
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", cr["time_iso"])
    iso = calendar.timegm(time.strptime(cr["time_iso"][:19], "%Y-%m-%dT%H:%M:%S"))
    assert abs(iso + int(cr["time_iso"][20:23]) / 1000 - cr["time"]) <= 0.0015


def test_start_stop_restart_change_the_state(daemon):
    slow_stop = crasher("stubborn", {"ignore_shutdown": True}, {"stop_timeout": 1})
    start(daemon, [DICE, slow_stop])
    pid1 = daemon.status("dice-roller")["pid"]
    assert daemon.result("stop", plugin="dice-roller") == {
        "plugin": "dice-roller", "action": "stop", "state": "STOPPING"}
    st = daemon.wait_state("dice-roller", "STOPPED")
    assert st["pid"] is None
    assert daemon.request({"cmd": "stop", "plugin": "dice-roller"}) == \
        err("invalid-state", "dice-roller is already STOPPED")
    assert daemon.result("start", plugin="dice-roller") == {
        "plugin": "dice-roller", "action": "start", "state": "STARTING"}
    pid2 = daemon.wait_state("dice-roller", "RUNNING")["pid"]
    assert pid2 != pid1
    assert daemon.request({"cmd": "start", "plugin": "dice-roller"}) == \
        err("invalid-state", "dice-roller is already RUNNING")
    assert daemon.result("restart", plugin="dice-roller") == {
        "plugin": "dice-roller", "action": "restart", "state": "STOPPING"}
    st = wait_for(lambda: (lambda s: s["state"] == "RUNNING" and s["pid"] not in (pid1, pid2)
                           and s)(daemon.status("dice-roller")), what="restarted")
    assert st["starts"] == 3 and st["restarts"] >= 1 and st["crashes"] == 0
    # restart of a STOPPED plugin starts it.
    daemon.result("stop", plugin="dice-roller")
    daemon.wait_state("dice-roller", "STOPPED")
    assert daemon.result("restart", plugin="dice-roller")["state"] == "STARTING"
    daemon.wait_state("dice-roller", "RUNNING")
    # start while STOPPING is refused.
    assert daemon.result("stop", plugin="stubborn")["state"] == "STOPPING"
    assert daemon.request({"cmd": "start", "plugin": "stubborn"}) == \
        err("invalid-state", "stubborn is stopping; use restart")
    daemon.wait_state("stubborn", "STOPPED")


def test_tail_gives_the_last_stderr_lines(daemon):
    start(daemon, [crasher(config={"after": 0, "exit_code": 3},
                           restart={"autorestart": "never"})], wait_running=False)
    daemon.wait_state("crasher", "STOPPED")
    res = daemon.result("tail", plugin="crasher")
    assert res["plugin"] == "crasher" and res["kept"] == 10
    assert res["lines"][-1] == "crasher: about to exit with code 3"
    assert len(res["lines"]) >= 3
    two = daemon.result("tail", plugin="crasher", lines=2)
    assert two["lines"] == res["lines"][-2:]
    assert daemon.result("tail", plugin="crasher", lines=100000)["lines"] == res["lines"]
    crash = daemon.result("crashes", plugin="crasher")["crashes"][0]
    assert crash["reason"] == "exit" and crash["exit_code"] == 3 and crash["signal"] is None
    assert crash["stderr"] == res["lines"][-len(crash["stderr"]):]


def test_system_version_and_help(daemon):
    start(daemon, [CONSOLE, DICE])
    assert daemon.result("version") == {"version": "0.1.0", "protocol": 1}
    sysm = daemon.result("system")
    assert set(sysm) == SYSTEM_KEYS
    assert sysm["total_plugins"] == 2 and sysm["plugins_running"] == 2
    assert sysm["poll_interval"] == 0.1
    wait_for(lambda: "cpu" in daemon.result("system")["daemon"], what="daemon self-samples")
    d = daemon.result("system")["daemon"]
    assert set(d) == {"pid", "version", "ring_bytes_per_plugin", "cpu_seconds", "cpu_percent",
                      "memory_mb", "cpu", "memory_mb_stats", "history_bytes_per_plugin"}
    assert d["memory_mb"] > 0
    # cpu_seconds is the daemon's own rusage: what /proc says it used (in
    # whole 10 ms ticks), and it only grows.
    with open("/proc/%d/stat" % daemon.proc.pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    ticks = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    later = daemon.result("system")["daemon"]["cpu_seconds"]
    assert ticks - 0.011 <= later and d["cpu_seconds"] <= later < ticks + 1.0, (ticks, later)
    verbs = daemon.result("help")["verbs"]
    assert [v["name"] for v in verbs] == VERBS
    assert {v["name"] for v in verbs if v["chat"]} == CHAT_VERBS
    assert all(set(v) == {"name", "args", "usage", "chat"} and v["usage"] for v in verbs)
    args = {v["name"]: v["args"] for v in verbs}
    assert args["status"] == "[plugin]" and args["metrics"] == "plugin [window]"
    assert args["crashes"] == "plugin" and args["system"] == "" and args["subscribe"] == "[topics]"


def test_reload_unchanged_and_config_error(daemon):
    start(daemon, [CONSOLE, DICE])
    pid = daemon.status("dice-roller")["pid"]
    assert daemon.result("reload") == {"added": [], "removed": [], "changed": [],
                                       "unchanged": 2, "not_applied": []}
    good = open(daemon.config_path).read()
    with open(daemon.config_path, "w") as f:
        f.write('{"plugins": [}')
    r = daemon.request({"cmd": "reload"})
    assert r["ok"] is False and r["error"]["code"] == "config-error", r
    assert r["error"]["message"].startswith(daemon.config_path + ":1:")
    r = daemon.ctl("reload", check=1)
    assert r.stderr.startswith("supervisorctl: %s:1:" % daemon.config_path)
    assert r.stderr.endswith(" (config-error)\n") and len(r.stderr.splitlines()) == 1
    assert daemon.ask("!admin reload").startswith("error: %s:1:" % daemon.config_path)
    with open(daemon.config_path, "w") as f:
        f.write(good)
    assert daemon.ctl("reload", check=0).stdout == \
        "reloaded: 0 added, 0 removed, 0 changed, 2 unchanged\n"
    assert daemon.ask("!admin reload") == "reloaded: 0 added, 0 removed, 0 changed, 2 unchanged"
    assert daemon.status("dice-roller")["pid"] == pid


def test_subscribe_state_events_on_restart(daemon):
    start(daemon, [DICE])
    old = daemon.status("dice-roller")["pid"]
    sub = Subscriber(daemon.sock, ["state"])
    assert sub.reply == {"ok": True, "result": {"topics": ["state"]}}
    daemon.result("restart", plugin="dice-roller")
    ev = sub.wait(lambda e: e["to"] == "RUNNING", what="RUNNING again")
    evs = sub.events
    assert [(e["from"], e["to"]) for e in evs] == [
        ("RUNNING", "STOPPING"), ("STOPPING", "STARTING"), ("STARTING", "RUNNING")]
    for e in evs:
        assert set(e) == {"event", "time", "plugin", "from", "to", "reason", "pid"}
        assert e["event"] == "state" and e["plugin"] == "dice-roller"
        assert abs(e["time"] - time.time()) < 10
    assert evs[0]["reason"] == "restart by control socket" and evs[0]["pid"] == old
    new = ev["pid"]
    assert new != old and evs[1]["pid"] == new
    assert ev["reason"].startswith("ready in ")
    assert daemon.status("dice-roller")["pid"] == new
    sub.close()


def test_subscribe_crash_event_when_a_plugin_is_killed(daemon):
    start(daemon, [DICE])
    crashes = Subscriber(daemon.sock, ["crash"])
    both = Subscriber(daemon.sock, ["crash", "state"])
    old = daemon.status("dice-roller")["pid"]
    os.kill(old, signal.SIGKILL)
    ev = crashes.wait(lambda e: True)
    assert set(ev) == {"event", "plugin", "crash"}
    assert ev["event"] == "crash" and ev["plugin"] == "dice-roller"
    cr = ev["crash"]
    assert set(cr) == CRASH_KEYS
    assert cr["pid"] == old and cr["reason"] == "signal"
    assert cr["signal"] == 9 and cr["signal_name"] == "SIGKILL" and cr["exit_code"] is None
    # The crash comes just before the transition to BACKOFF.
    first = both.wait(lambda e: True)
    second = both.wait(lambda e: True)
    assert first == ev
    assert second["event"] == "state" and (second["from"], second["to"]) == ("RUNNING", "BACKOFF")
    assert "SIGKILL" in second["reason"]
    daemon.wait_state("dice-roller", "RUNNING")
    # The crash-only subscriber got no state events: its next line is this reply.
    assert crashes.ask({"cmd": "version"}) == {"ok": True, "result": {"version": "0.1.0",
                                                                      "protocol": 1}}
    assert daemon.result("crashes", plugin="dice-roller")["crashes"][-1] == cr
    crashes.close()
    both.close()


def test_subscribe_sample_events_and_topic_changes(daemon):
    start(daemon, [CONSOLE, DICE])
    pids = {n: daemon.status(n)["pid"] for n in ("console", "dice-roller")}
    sub = Subscriber(daemon.sock)
    assert sub.reply["result"] == {"topics": ["state", "crash", "sample", "alert"]}
    seen = {}
    sub.wait(lambda e: e["event"] == "sample" and seen.setdefault(e["plugin"], e) and
             len(seen) == 2, what="a sample of each plugin")
    for name, ev in seen.items():
        assert set(ev) == {"event", "plugin", "sample"}
        s = ev["sample"]
        assert set(s) == SAMPLE_KEYS
        assert s["pid"] == pids[name] and s["state"] == "RUNNING"
        assert abs(s["time"] - time.time()) < 2 * SLOW     # a plausible time
        assert s["memory_mb"] > 0 and s["rss_bytes"] > 0 and s["threads"] >= 1
    # A second subscribe replaces the topics; replies interleave, told by "ok".
    sub.send({"cmd": "subscribe", "topics": ["crash"]})
    reply = sub.wait(lambda e: "ok" in e, what="the second subscribe's reply")
    assert reply == {"ok": True, "result": {"topics": ["crash"]}}
    time.sleep(0.3)   # several poll ticks: no sample may come now
    assert sub.ask({"cmd": "version"})["ok"] is True
    sub.close()


# --- every error code -------------------------------------------------------

def test_every_error_code_and_the_connection_stays_open(daemon):
    start(daemon, [DICE, crasher("idle", autostart=False)])
    cases = [
        (b'{"cmd": "status",', err("invalid-json", "invalid JSON at column 17: string or '}' "
                                   "expected near end of file")),
        (b'{"cmd": "status", "cmd": "help"}', None, "invalid-json"),
        (b'\xff\xfe', None, "invalid-json"),
        (b'[1, 2]', err("invalid-request", 'a request is a JSON object like {"cmd": "status"}')),
        (b'{}', err("invalid-request", 'the request has no "cmd" string')),
        (b'{"cmd": 5}', err("invalid-request", 'the request has no "cmd" string')),
        (b'{"cmd": null}', err("invalid-request", 'the request has no "cmd" string')),
        (b'{"cmd": "nope"}', err("unknown-command", 'unknown command "nope"; try "help"')),
        (b'{"cmd": "STATUS"}', err("unknown-command", 'unknown command "STATUS"; try "help"')),
        ({"cmd": "metrics"}, err("missing-argument",
                                 "metrics needs a plugin name: metrics plugin [window]")),
        ({"cmd": "metrics", "plugin": None}, err(
            "missing-argument", "metrics needs a plugin name: metrics plugin [window]")),
        ({"cmd": "history"}, err("missing-argument", "history needs a plugin name: history "
                                 "plugin [last N | since WINDOW]")),
        ({"cmd": "crashes"}, err("missing-argument", "crashes needs a plugin name: crashes plugin")),
        ({"cmd": "start"}, err("missing-argument", "start needs a plugin name: start plugin")),
        ({"cmd": "stop"}, err("missing-argument", "stop needs a plugin name: stop plugin")),
        ({"cmd": "restart"}, err("missing-argument", "restart needs a plugin name: restart plugin")),
        ({"cmd": "tail"}, err("missing-argument", "tail needs a plugin name: tail plugin [lines]")),
        ({"cmd": "metrics", "plugin": 5}, err("bad-argument", "plugin must be a string")),
        ({"cmd": "status", "plugin": ["dice-roller"]}, err("bad-argument", "plugin must be a string")),
        ({"cmd": "stop", "plugin": True}, err("bad-argument", "plugin must be a string")),
        ({"cmd": "metrics", "plugin": "ghost"}, err("unknown-plugin", 'no plugin named "ghost"')),
        ({"cmd": "status", "plugin": "ghost"}, err("unknown-plugin", 'no plugin named "ghost"')),
        ({"cmd": "restart", "plugin": "Dice-Roller"}, err("unknown-plugin",
                                                          'no plugin named "Dice-Roller"')),
        ({"cmd": "metrics", "plugin": "dice-roller", "window": "soon"}, err("bad-argument",
                                                                            WINDOW_MSG)),
        ({"cmd": "metrics", "plugin": "dice-roller", "window": 0}, err("bad-argument", WINDOW_MSG)),
        ({"cmd": "metrics", "plugin": "dice-roller", "window": -5}, err("bad-argument", WINDOW_MSG)),
        ({"cmd": "metrics", "plugin": "dice-roller", "window": "31d"}, err("bad-argument",
                                                                           WINDOW_MSG)),
        ({"cmd": "metrics", "plugin": "dice-roller", "window": "5x"}, err("bad-argument",
                                                                          WINDOW_MSG)),
        ({"cmd": "metrics", "plugin": "dice-roller", "window": ""}, err("bad-argument", WINDOW_MSG)),
        ({"cmd": "metrics", "plugin": "dice-roller", "window": "nan"}, err("bad-argument",
                                                                           WINDOW_MSG)),
        ({"cmd": "metrics", "plugin": "dice-roller", "window": True}, err("bad-argument",
                                                                          WINDOW_MSG)),
        ({"cmd": "metrics", "plugin": "dice-roller", "window": ["5m"]}, err("bad-argument",
                                                                            WINDOW_MSG)),
        ({"cmd": "history", "plugin": "dice-roller", "since": "later"}, err("bad-argument",
                                                                           WINDOW_MSG)),
        ({"cmd": "history", "plugin": "dice-roller", "last": 0}, None, "bad-argument"),
        ({"cmd": "history", "plugin": "dice-roller", "last": -1}, None, "bad-argument"),
        ({"cmd": "history", "plugin": "dice-roller", "last": "3"}, None, "bad-argument"),
        ({"cmd": "history", "plugin": "dice-roller", "last": 1.5}, None, "bad-argument"),
        ({"cmd": "history", "plugin": "dice-roller", "last": 3, "since": "1m"}, err(
            "bad-argument", "give last or since, not both")),
        ({"cmd": "tail", "plugin": "dice-roller", "lines": 0}, err(
            "bad-argument", "lines must be an integer from 1 to 100000")),
        ({"cmd": "tail", "plugin": "dice-roller", "lines": 100001}, err(
            "bad-argument", "lines must be an integer from 1 to 100000")),
        ({"cmd": "tail", "plugin": "dice-roller", "lines": "2"}, err(
            "bad-argument", "lines must be an integer from 1 to 100000")),
        ({"cmd": "subscribe", "topics": []}, err(
            "bad-argument", "topics must be a non-empty array of: state, crash, sample, log, alert")),
        ({"cmd": "subscribe", "topics": "state"}, err(
            "bad-argument", "topics must be a non-empty array of: state, crash, sample, log, alert")),
        ({"cmd": "subscribe", "topics": ["state", "bogus"]}, err(
            "bad-argument", "unknown topic; topics are: state, crash, sample, log, alert")),
        ({"cmd": "subscribe", "topics": [1]}, err(
            "bad-argument", "unknown topic; topics are: state, crash, sample, log, alert")),
        ({"cmd": "start", "plugin": "dice-roller"}, err("invalid-state",
                                                        "dice-roller is already RUNNING")),
        ({"cmd": "stop", "plugin": "idle"}, err("invalid-state", "idle is already STOPPED")),
        # Not errors: unknown keys are ignored, \r\n is a line end.
        ({"cmd": "version", "extra": [1, 2]}, {"ok": True, "result": {"version": "0.1.0",
                                                                      "protocol": 1}}),
        (b'{"cmd": "version"}\r', {"ok": True, "result": {"version": "0.1.0", "protocol": 1}}),
    ]
    c = Conn(daemon.sock)
    c.send(b"")          # empty lines are ignored: no reply
    c.send(b"\r")
    bad = []
    for case in cases:
        req, want = case[0], case[1]
        got = c.ask(req)
        if want is None:
            ok = got.get("ok") is False and got["error"]["code"] == case[2] and \
                set(got["error"]) == {"code", "message"} and got["error"]["message"]
        else:
            ok = got == want
        if not ok:
            bad.append((req, got, want or case[2]))
    assert not bad, "\n".join("%r -> %r, want %r" % b for b in bad)
    # The same connection still works, and nothing changed.
    assert c.ask({"cmd": "status", "plugin": "dice-roller"})["result"]["state"] == "RUNNING"
    assert daemon.state("idle") == "STOPPED"
    c.close()


def test_a_json_value_that_is_not_an_object_is_an_invalid_request(daemon):
    # docs/control.md: invalid-request is "the line is JSON but not an object".
    start(daemon, [DICE])
    for line in (b'42', b'"status"', b'null', b'true'):
        r = daemon.request(line)
        assert r.get("ok") is False and r["error"]["code"] == "invalid-request", (line, r)


LONG = "a" * 63 + "é"      # the 64th byte is the first half of "é"


@pytest.mark.parametrize("req, code", [
    ({"cmd": LONG}, "unknown-command"),
    ({"cmd": "metrics", "plugin": LONG}, "unknown-plugin"),
    ({"cmd": "status", "plugin": LONG}, "unknown-plugin"),
], ids=["cmd", "metrics-plugin", "status-plugin"])
def test_long_non_ascii_names_in_error_messages_do_not_stop_the_daemon(daemon, req, code):
    # Error messages cut names at 64 bytes; the cut must not produce invalid
    # UTF-8, or the reply cannot be encoded (and the daemon exits).
    start(daemon, [DICE])
    try:
        r = daemon.request(req)
    except (json.JSONDecodeError, OSError) as e:
        r = "no reply (%r)" % e
    assert isinstance(r, dict) and r["error"]["code"] == code, (req, r)
    assert r["error"]["message"].startswith('unknown command "aaa' if code == "unknown-command"
                                            else 'no plugin named "aaa')
    assert daemon.proc.poll() is None, "daemon exited:\n" + daemon.read_log()[-1000:]
    assert daemon.result("version")["version"] == "0.1.0"


def test_line_over_64_KiB_gets_line_too_long_and_is_disconnected(daemon):
    start(daemon, [DICE])
    too_long = err("line-too-long", "request line over 65536 bytes; closing")
    # Pipelined: the good request before it is answered first.
    c = Conn(daemon.sock)
    c.send({"cmd": "version"})
    c.send(b'{"cmd": "version", "pad": "' + b"x" * 70000 + b'"}')
    assert c.line()["ok"] is True
    assert c.line() == too_long
    assert c.rest() == b""
    c.close()
    daemon.wait_log(r"control: client pid \d+ sent a line over 65536 bytes; disconnecting")
    # A line that never ends is cut off the same way.
    c = Conn(daemon.sock)
    c.s.sendall(b"x" * 70000)
    assert c.line() == too_long
    assert c.rest() == b""
    c.close()
    # Exactly 64 KiB is still a line; one byte more is not.
    req = b'{"cmd": "version"}'
    c = Conn(daemon.sock)
    assert c.ask(req + b" " * (65536 - len(req)))["ok"] is True
    assert c.ask(req + b" " * (65537 - len(req))) == too_long
    assert c.rest() == b""
    c.close()
    # Another client, and the daemon, carry on.
    assert daemon.result("version")["version"] == "0.1.0"
    assert daemon.proc.poll() is None


def test_client_that_does_not_read_is_dropped_and_others_carry_on(daemon):
    start(daemon, [DICE])
    other = Conn(daemon.sock)
    hog = Conn(daemon.sock, timeout=10)
    n = 6000      # ~1.5 KB of help each: far over the 4 MiB a client may queue
    hog.s.sendall(b'{"cmd": "help"}\n' * n)
    daemon.wait_log(r"control: client pid \d+ uid \d+ dropped: not reading its replies")
    assert other.ask({"cmd": "version"})["ok"] is True
    assert daemon.result("status", plugin="dice-roller")["state"] == "RUNNING"
    # The dropped client gets what was already sent, then the end.
    data = hog.rest()
    assert 0 < data.count(b"\n") < n
    hog.close()
    assert other.ask({"cmd": "status"})["ok"] is True
    other.close()
    assert daemon.proc.poll() is None


def test_100_concurrent_clients_each_get_their_own_answers(daemon):
    start(daemon, [DICE, crasher("idle", autostart=False)])
    help_result = daemon.result("help")
    n = 100
    barrier = threading.Barrier(n)
    failures = []

    def client(i):
        try:
            c = Conn(daemon.sock, timeout=10)
            barrier.wait(timeout=10 * SLOW)
            name = ("dice-roller", "idle")[i % 2]
            c.send({"cmd": "status", "plugin": name})
            c.send({"cmd": "nope-%d" % i})
            c.send({"cmd": "help"})
            c.send({"cmd": "metrics", "plugin": "ghost-%d" % i})
            st = c.line()
            assert st["ok"] and st["result"]["name"] == name, st
            assert st["result"]["state"] == ("RUNNING", "STOPPED")[i % 2]
            assert c.line() == err("unknown-command", 'unknown command "nope-%d"; try "help"' % i)
            assert c.line() == {"ok": True, "result": help_result}
            assert c.line() == err("unknown-plugin", 'no plugin named "ghost-%d"' % i)
            c.close()
        except Exception as e:     # collected: an assert in a thread is lost
            failures.append((i, repr(e)))

    threads = [threading.Thread(target=client, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30 * SLOW)
    assert not failures, failures[:5]
    assert daemon.result("version")["version"] == "0.1.0"



def connect_many(path, n):
    """Up to n connections, each given up to a second to be queued."""
    socks = []
    for _ in range(n):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.setblocking(False)
        give_up = time.monotonic() + 1.0 * SLOW
        connected = False
        while not connected and time.monotonic() < give_up:
            try:
                s.connect(path)
                connected = True
            except BlockingIOError:   # the listen queue is full for now
                time.sleep(0.002)
        if not connected:
            s.close()
            break
        socks.append(s)
    return socks


def ask_all(socks, timeout, send=True):
    """Send version on each; (served, closed without a reply, still waiting)."""
    for s in socks if send else ():
        try:
            s.send(b'{"cmd": "version"}\n')
        except OSError:
            pass
    sel = selectors.DefaultSelector()
    got = {}
    for s in socks:
        sel.register(s, selectors.EVENT_READ)
        got[s] = b""
    served, closed = [], []
    deadline = time.monotonic() + timeout * SLOW
    while got and time.monotonic() < deadline:
        for key, _ in sel.select(0.05):
            s = key.fileobj
            try:
                chunk = s.recv(4096)
            except ConnectionResetError:
                chunk = b""
            if chunk:
                got[s] += chunk
                if not got[s].endswith(b"\n"):
                    continue
                assert json.loads(got[s])["ok"] is True
                served.append(s)
            else:
                closed.append(s)
            sel.unregister(s)
            del got[s]
    sel.close()
    return served, closed, list(got)


def test_clients_over_the_limit_are_closed_at_once_under_the_stock_fd_limit(daemon):
    # docs/control.md: at most 1024 clients at once; "a new connection is
    # closed at once, without a reply (logged)". The daemon is started with
    # Debian's stock soft limit of 1024 open files.
    soft, hard = fd_room()
    resource.setrlimit(resource.RLIMIT_NOFILE, (1024, hard))
    try:
        start(daemon, [DICE])
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, 2400), hard))
    n = 1100
    socks = connect_many(daemon.sock, n)
    try:
        served, closed, waiting = ask_all(socks, 1.0)
        log = daemon.read_log()
        spin = log.count("Error from accept() call")
        state = ("%d connected of %d, %d served, %d closed without a reply, %d neither within "
                 "%.1f s; %d log lines 'Error from accept() call'" % (
                     len(socks), n, len(served), len(closed), len(waiting), 1.0 * SLOW, spin))
        # Nobody is left hanging, and the daemon does not spin on accept().
        assert len(socks) == n and not waiting and spin < 10, state
        # Up to the limit served; over it, closed at once and logged.
        assert len(served) == 1024 and len(closed) == n - 1024, state
        assert re.search(r"control: refused pid \d+: 1024 clients already", log)
    finally:
        for s in socks:
            s.close()
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
    assert daemon.result("version")["version"] == "0.1.0"


def test_out_of_descriptors_the_daemon_waits_instead_of_spinning(daemon):
    # A hard limit of 1024 open files: the daemon cannot hold 1024 clients.
    # It must neither spin on accept() nor stop serving; clients it cannot
    # take are refused or wait, and those waiting are served once
    # descriptors are free again.
    soft, hard = fd_room()
    start(daemon, [CONSOLE, DICE])
    resource.prlimit(daemon.proc.pid, resource.RLIMIT_NOFILE, (1024, 1024))
    socks = connect_many(daemon.sock, 1100)
    try:
        assert len(socks) == 1100
        served, closed, waiting = ask_all(socks, 1.0)
        # The ones it cannot take are closed at once or wait (either is fine).
        assert len(served) >= 1000 and len(served) + len(closed) + len(waiting) == 1100, (
            len(served), len(closed), len(waiting))
        log = daemon.read_log()
        assert log.count("Error from accept() call") < 10
        assert log.count("control: accept") < 50, log.count("control: accept")
        # Chat carries on meanwhile.
        assert daemon.ask("!roll 1d2") in ("🎲 [1] = 1", "🎲 [2] = 2")
        # Free 200 descriptors: the waiting clients are taken and answered.
        for s in served[:200]:
            s.close()
        more, closed2, still = ask_all(waiting, 2.0, send=False)
        assert len(more) == len(waiting) and not closed2 and not still, \
            (len(more), len(closed2), len(still))
        assert daemon.result("status", plugin="dice-roller")["state"] == "RUNNING"
    finally:
        for s in socks:
            s.close()
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
    assert daemon.result("version")["version"] == "0.1.0"


def test_half_closed_client_still_receives_every_reply(daemon):
    start(daemon, [DICE])
    wait_for(lambda: n_samples(daemon, "dice-roller") >= 10, what="10 samples")
    c = Conn(daemon.sock)
    # Some 500 KB of replies: more than the socket buffers hold, so most of
    # it is still queued in the daemon when it reads the end of file.
    reqs = [{"cmd": "version"}, {"cmd": "status"}, {"cmd": "nope"},
            {"cmd": "history", "plugin": "dice-roller"}] + [{"cmd": "help"}] * 300 + \
        [{"cmd": "crashes", "plugin": "dice-roller"}]
    c.s.sendall(b"".join(json.dumps(r).encode() + b"\n" for r in reqs))
    c.s.shutdown(socket.SHUT_WR)
    # Read nothing until the daemon has read every request (and so comes
    # to the end of file) while most replies are still queued on its side.
    wait_for(lambda: unread_by_peer(c.s) == 0, what="the daemon to read every request")
    lines = c.rest().split(b"\n")
    assert lines[-1] == b"" and len(lines) == len(reqs) + 1, (len(lines), lines[-2:])
    replies = [json.loads(x) for x in lines[:-1]]
    assert replies[0]["result"]["version"] == "0.1.0"
    assert "plugins" in replies[1]["result"]
    assert replies[2]["error"]["code"] == "unknown-command"
    assert len(replies[3]["result"]["samples"]) >= 10
    assert all([v["name"] for v in r["result"]["verbs"]] == VERBS for r in replies[4:-1])
    assert replies[-1]["result"]["plugin"] == "dice-roller"
    c.close()


# --- permissions ------------------------------------------------------------

def test_socket_is_0600_in_a_0700_directory(daemon):
    start(daemon, [DICE])
    st = os.stat(daemon.sock)
    assert stat.S_ISSOCK(st.st_mode)
    assert stat.S_IMODE(st.st_mode) == 0o600, oct(st.st_mode)
    assert st.st_uid == os.geteuid()
    d = os.stat(os.path.dirname(daemon.sock))
    assert stat.S_IMODE(d.st_mode) == 0o700, oct(d.st_mode)
    # A second daemon on the same socket refuses to start.
    r = subprocess.run([SUPERVISOR, "-c", daemon.config_path], capture_output=True, text=True,
                       stdin=subprocess.DEVNULL, timeout=10 * SLOW)
    assert r.returncode == 1
    assert "another supervisor is running on %s" % daemon.sock in r.stderr
    assert daemon.result("version")["version"] == "0.1.0"


PEER_CLIENT = r"""
import json, os, socket, sys
s = socket.socket(socket.AF_UNIX)
s.settimeout(10)
s.connect(sys.argv[1])
try:
    s.sendall(b'{"cmd": "version"}\n')
except OSError:
    pass
data = b""
try:
    while True:
        chunk = s.recv(4096)
        if not chunk:
            break
        data += chunk
except ConnectionResetError:
    pass
print(json.dumps({"pid": os.getpid(), "uid": os.getuid(), "got": data.decode("latin-1")}))
"""


def test_a_client_of_another_uid_is_refused(daemon):
    if os.geteuid() != 0:
        pytest.skip("needs root to run a client as another uid (setuid to nobody, 65534)")
    # A socket path that uid 65534 can reach; the daemon's own modes are
    # opened up on purpose, to reach the peer-credential check behind them.
    base = tempfile.mkdtemp(prefix="sv-peer-", dir="/tmp")
    try:
        os.chmod(base, 0o711)
        daemon.sock = os.path.join(base, "run", "supervisor.sock")
        start(daemon, [DICE])
        os.chmod(os.path.dirname(daemon.sock), 0o711)
        os.chmod(daemon.sock, 0o666)
        r = subprocess.run(["/usr/bin/python3", "-c", PEER_CLIENT, daemon.sock],
                           user=65534, group=65534, extra_groups=[], cwd="/",
                           capture_output=True, text=True, timeout=20 * SLOW)
        assert r.returncode == 0, r.stderr
        out = json.loads(r.stdout)
        assert out["uid"] == 65534
        assert out["got"] == "", "another uid got a reply: %r" % out["got"]
        daemon.wait_log(r"control: refused pid %d uid 65534: only root may use the control "
                        r"socket" % out["pid"])
        # The daemon's own user is still served.
        assert daemon.result("version")["version"] == "0.1.0"
    finally:
        daemon.stop()
        shutil.rmtree(base, ignore_errors=True)


# --- supervisorctl ----------------------------------------------------------

def test_ctl_status_table_and_its_exit_status(daemon):
    start(daemon, [CONSOLE, DICE, crasher("idle", autostart=False)])
    daemon.result("start", plugin="idle")
    daemon.wait_state("idle", "RUNNING")
    pids = {n: daemon.status(n)["pid"] for n in ("console", "dice-roller", "idle")}
    r = daemon.ctl("status", check=0)
    lines = r.stdout.splitlines()
    assert lines[0].split() == ["NAME", "STATE", "PID", "UPTIME", "CPU%", "MEM(MB)", "EVENTS",
                                "RESTARTS", "CRASHES"]
    for line, name in zip(lines[1:4], ("console", "dice-roller", "idle")):
        cols = line.split()
        assert cols[:3] == [name, "RUNNING", str(pids[name])], line
        assert cols[-3:] == ["0", "0", "0"], line
    assert re.fullmatch(r"system: up \S+( \S+)?, 3 plugins \(3 running, 0 crashed\), 0 events, "
                        r"plugins [\d.]+ MB, daemon pid %d cpu (n/a|[\d.]+%%) mem (-|[\d.]+) MB"
                        % daemon.proc.pid, lines[4]), lines[4]
    assert len(lines) == 5 and r.stderr == ""
    # One plugin stopped: the table says so and the exit status is 1.
    daemon.result("stop", plugin="idle")
    daemon.wait_state("idle", "STOPPED")
    r = daemon.ctl("status", check=1)
    row = [x for x in r.stdout.splitlines() if x.startswith("idle ")][0]
    assert row.split()[:6] == ["idle", "STOPPED", "-", "-", "-", "-"], row
    assert daemon.ctl("status", "--json", check=1).stdout
    # status NAME: key: value lines; 1 when not RUNNING.
    r = daemon.ctl("status", "dice-roller", check=0)
    kv = dict(re.match(r"(\w[\w ]*):\s+(.*)", x).groups() for x in r.stdout.splitlines())
    assert kv["name"] == "dice-roller" and kv["role"] == "plugin"
    assert kv["state"].startswith("RUNNING since ")
    assert kv["pid"] == str(pids["dice-roller"]) and kv["version"] == "1.0.0"
    assert kv["commands"] == "roll, flip" and kv["restarts"] == "0 (1 start)"
    assert kv["crashes"] == "0" and kv["breaker"] == "closed" and kv["queued"] == "0"
    assert kv["events"] == "0 routed, 0 replies, 0 dropped, 0 protocol errors"
    assert kv["in flight"] == "0" and kv["dropped by"] == "-"
    r = daemon.ctl("status", "idle", check=1)
    assert "state:           STOPPED since " in r.stdout
    assert "pid:             -\n" in r.stdout and r.stderr == ""
    daemon.ctl("status", "idle", "--json", check=1)
    daemon.ctl("status", "dice-roller", "--json", check=0)


def test_ctl_json_is_the_socket_result(daemon):
    start(daemon, [DICE], metrics={"poll_interval": 30, "history_duration": 3600})
    kill9(daemon, "dice-roller")
    for args, req in ((["version"], {"cmd": "version"}),
                      (["help"], {"cmd": "help"}),
                      (["crashes", "dice-roller"], {"cmd": "crashes", "plugin": "dice-roller"}),
                      (["tail", "dice-roller", "3"], {"cmd": "tail", "plugin": "dice-roller",
                                                      "lines": 3}),
                      (["history", "dice-roller", "--last", "5"],
                       {"cmd": "history", "plugin": "dice-roller", "last": 5})):
        r = daemon.ctl("--json", *args, check=0)
        assert json.loads(r.stdout) == daemon.result(**req), args
        assert r.stdout.startswith("{\n  \""), "indented JSON expected"
    volatile = {"uptime_seconds", "uptime_human", "cpu_percent", "memory_mb",
                "bot_uptime_seconds", "bot_uptime_human", "cpu_seconds"}

    def strip(o):
        if isinstance(o, dict):
            return {k: strip(v) for k, v in o.items() if k not in volatile}
        if isinstance(o, list):
            return [strip(v) for v in o]
        return o
    assert strip(json.loads(daemon.ctl("status", "--json", check=0).stdout)) == \
        strip(daemon.result("status"))
    r = daemon.ctl("metrics", "dice-roller", "5m", "-j", check=0)
    assert strip(json.loads(r.stdout)) == strip(daemon.result("metrics", plugin="dice-roller",
                                                              window="5m"))


def test_ctl_status_json_fields(daemon):
    start(daemon, [CONSOLE, DICE])
    r = daemon.ctl("status", "--json", "--fields", "name,state,pid", check=0)
    res = json.loads(r.stdout)
    assert [list(p) for p in res["plugins"]] == [["name", "state", "pid"]] * 2
    assert res["plugins"][1] == {"name": "dice-roller", "state": "RUNNING",
                                 "pid": daemon.status("dice-roller")["pid"]}
    assert set(res["system"]) == SYSTEM_KEYS
    r = daemon.ctl("status", "dice-roller", "-j", "--fields=commands", check=0)
    assert json.loads(r.stdout) == {"commands": ["roll", "flip"]}
    # The exit status follows the states shown: none shown, none failed.
    daemon.result("stop", plugin="dice-roller")
    daemon.wait_state("dice-roller", "STOPPED")
    daemon.ctl("status", "--json", "--fields", "name,state", check=1)
    daemon.ctl("status", "dice-roller", "--json", "--fields", "state", check=1)
    daemon.ctl("status", "--json", "--fields", "name", check=0)
    # A name the daemon does not know: its error, exit 1.
    r = daemon.ctl("status", "--json", "--fields", "name,pids", check=1)
    assert r.stdout == "" and r.stderr.startswith(
        "supervisorctl: unknown status field pids; the fields are name, role, state,"), r.stderr


def test_ctl_metrics_history_tail_system_version_help(daemon):
    start(daemon, [DICE, crasher(config={"after": 0.2, "exit_code": 3},
                                 restart={"autorestart": "never"})], wait_running=False)
    daemon.wait_state("dice-roller", "RUNNING")
    pid = daemon.status("dice-roller")["pid"]
    wait_for(lambda: n_samples(daemon, "dice-roller") >= 6, what="6 samples")
    out = daemon.ctl("metrics", "dice-roller", check=0).stdout.splitlines()
    assert re.fullmatch(r"dice-roller: RUNNING, pid %d, up \S+; window: all retained" % pid,
                        out[0]), out[0]
    assert out[1].split() == ["avg", "min", "max", "p95"]
    assert re.fullmatch(r"CPU %( +\d+\.\d\d){4}", out[2]), out[2]
    assert re.fullmatch(r"MEM MB( +\d+\.\d\d){4}", out[3]), out[3]
    assert re.fullmatch(r"samples:  (\d+) \((\d+) with CPU\) over [\d.]+ s", out[4]), out[4]
    assert out[5] == "events:   0 in window, 0.00/min"
    assert re.fullmatch(r"from:     raw samples every [\d.]+ s \(p95 exact\)", out[6]), out[6]
    assert re.fullmatch(r"history:  \d\d:\d\d:\d\d", out[7]), out[7]
    assert re.fullmatch(r"current:  \d\d:\d\d:\d\d RUNNING pid %d cpu [\d.]+%% mem [\d.]+ MB "
                        r"threads \d+" % pid, out[8]), out[8]
    m = re.fullmatch(r"cpu:      (.+)  ([\d.]+)\.\.([\d.]+) %", out[9])
    assert m and set(m.group(1)) <= SPARK and len(m.group(1)) >= 6, out[9]
    m = re.fullmatch(r"memory:   (.+)  ([\d.]+)\.\.([\d.]+) MB", out[10])
    assert m and set(m.group(1)) <= SPARK and len(m.group(1)) >= 6, out[10]
    assert float(m.group(2)) <= float(m.group(3))
    assert len(out) == 11
    assert "; window 5m" in daemon.ctl("metrics", "dice-roller", "5m", check=0).stdout
    # history
    out = daemon.ctl("history", "dice-roller", "--last", "3", check=0).stdout.splitlines()
    assert out[0].split() == ["TIME", "STATE", "PID", "CPU%", "MEM(MB)"]
    assert len(out) == 5 and out[4] == "3 samples of 300 kept, one every 0.1 s"
    for row in out[1:4]:
        assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d  RUNNING +%d +[\d.]+ +[\d.]+"
                            % pid, row), row
    out2 = daemon.ctl("history", "dice-roller", "last", "2", check=0).stdout.splitlines()
    assert len(out2) == 4
    out3 = daemon.ctl("history", "dice-roller", "--since", "0.35s", check=0).stdout.splitlines()
    assert re.fullmatch(r"[1-5] samples of 300 kept, one every 0.1 s", out3[-1]), out3[-1]
    # tail
    daemon.wait_state("crasher", "STOPPED")
    assert daemon.ctl("tail", "crasher", "1", check=0).stdout == \
        "crasher: about to exit with code 3\n"
    assert daemon.ctl("tail", "crasher", check=0).stdout.splitlines() == \
        daemon.result("tail", plugin="crasher")["lines"]
    # system
    out = daemon.ctl("system", check=0).stdout
    assert re.search(r"^plugins:         2 total, 1 running, 0 crashed$", out, re.M), out
    assert re.search(r"^daemon:          pid %d, version 0\.1\.0$" % daemon.proc.pid, out, re.M)
    assert re.search(r"^metrics:         every 0\.1 s, enabled; \d+ bytes of history per "
                     r"plugin$", out, re.M), out
    for key in ("uptime:", "events:", "plugin memory:", "daemon cpu:", "daemon memory:"):
        assert re.search(r"^%s +\S" % key, out, re.M), key
    # version, help
    assert daemon.ctl("version", check=0).stdout == \
        "supervisor 0.1.0, protocol 1 (supervisorctl 0.1.0)\n"
    out = daemon.ctl("help", check=0).stdout
    assert out.startswith("verbs (* also in chat as !admin VERB):\n")
    for verb in CHAT_VERBS:
        assert re.search(r"^\* %s\b" % verb, out, re.M), verb
    for verb in ("history", "tail", "watch"):
        assert re.search(r"^  %s\b" % verb, out, re.M), verb


def test_ctl_crashes_table(daemon):
    start(daemon, [DICE, crasher(config={"after": 0, "exit_code": 3},
                                 restart={"autorestart": "never"})], wait_running=False)
    daemon.wait_state("dice-roller", "RUNNING")
    assert daemon.ctl("crashes", "dice-roller", check=0).stdout == \
        "dice-roller: no crashes (breaker closed)\n"
    old = kill9(daemon, "dice-roller")
    out = daemon.ctl("crashes", "dice-roller", check=0).stdout.splitlines()
    assert out[0] == "dice-roller: 1 crash, 1 kept (at most 64); breaker closed"
    assert out[1].split() == ["TIME", "PID", "REASON", "EXIT/SIGNAL", "UPTIME", "DETAIL"]
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d  %d  signal +SIGKILL \(9\) +[\d.]+ s  -"
                        % old, out[2]), out[2]
    assert out[3] == "no stderr lines from pid %d" % old and len(out) == 4
    daemon.wait_state("crasher", "STOPPED")
    cr = daemon.result("crashes", plugin="crasher")["crashes"][0]
    out = daemon.ctl("crashes", "crasher", check=0).stdout.splitlines()
    assert out[0] == "crasher: 1 crash, 1 kept (at most 64); breaker closed"
    assert re.search(r"  %d  exit +exit 3 " % cr["pid"], out[2]), out[2]
    assert out[3] == "last stderr lines at the crash of pid %d:" % cr["pid"]
    assert out[4:] == ["    " + x for x in cr["stderr"]]
    assert out[-1] == "    crasher: about to exit with code 3"


def test_ctl_start_stop_restart_and_verb_errors(daemon):
    start(daemon, [DICE])
    pid = daemon.status("dice-roller")["pid"]
    r = daemon.ctl("stop", "dice-roller", check=0)
    assert r.stdout == "dice-roller: stop asked, now STOPPING\n" and r.stderr == ""
    daemon.wait_state("dice-roller", "STOPPED")
    r = daemon.ctl("stop", "dice-roller", check=1)
    assert r.stdout == ""
    assert r.stderr == "supervisorctl: dice-roller is already STOPPED (invalid-state)\n"
    r = daemon.ctl("start", "dice-roller", check=0)
    assert r.stdout == "dice-roller: start asked, now STARTING\n"
    pid2 = daemon.wait_state("dice-roller", "RUNNING")["pid"]
    assert pid2 != pid
    r = daemon.ctl("start", "dice-roller", check=1)
    assert r.stderr == "supervisorctl: dice-roller is already RUNNING (invalid-state)\n"
    r = daemon.ctl("restart", "dice-roller", check=0)
    assert r.stdout == "dice-roller: restart asked, now STOPPING\n"
    wait_for(lambda: (lambda s: s["state"] == "RUNNING" and s["pid"] not in (pid, pid2))(
        daemon.status("dice-roller")), what="restarted")
    for args, msg in ((["metrics", "ghost"], 'no plugin named "ghost" (unknown-plugin)'),
                      (["restart", "ghost"], 'no plugin named "ghost" (unknown-plugin)'),
                      (["metrics", "dice-roller", "soon"], WINDOW_MSG + " (bad-argument)"),
                      (["history", "dice-roller", "--since", "soon"],
                       WINDOW_MSG + " (bad-argument)")):
        r = daemon.ctl(*args, check=1)
        assert r.stderr == "supervisorctl: %s\n" % msg, args
        assert r.stdout == ""
    r = daemon.ctl("--json", "crashes", "ghost", check=1)
    assert r.stdout == "" and r.stderr.endswith("(unknown-plugin)\n")


USAGE = "usage: supervisorctl [-s SOCKET | -c CONFIG] "


@pytest.mark.parametrize("args, reason, usage", [
    ([], "no verb given", USAGE + "VERB [ARGS] [--json]"),
    (["frob"], 'unknown verb "frob"', USAGE + "VERB [ARGS] [--json]"),
    (["metrics"], "metrics needs a plugin name", USAGE + "metrics plugin [window] [--json]"),
    (["crashes"], "crashes needs a plugin name", USAGE + "crashes plugin [--json]"),
    (["restart"], "restart needs a plugin name", USAGE + "restart plugin ... | all [--json]"),
    (["status", "a", "b"], "too many arguments for status",
     USAGE + "status [plugin] [--fields NAME,...] [--json]"),
    (["status", "--fields", "name"], "--fields is for --json output (the table shows its own "
     "columns)", USAGE + "status [plugin] [--fields NAME,...] [--json]"),
    (["status", "--json", "--fields=name,,pid"], '--fields: an empty field name in "name,,pid"',
     None),
    (["status", "--json", "--fields="], '--fields: an empty field name in ""', None),
    (["metrics", "x", "--json", "--fields", "name"], "--fields is for status only", None),
    (["version", "x"], "too many arguments for version", None),
    (["tail", "x", "many"], 'lines must be a positive integer, not "many"',
     USAGE + "tail plugin [lines] | -f [plugin [lines]] [--json]"),
    (["status", "-f"], "-f is for tail only", None),
    (["history", "x", "--last", "0"], '--last must be a positive integer, not "0"', None),
    (["history", "x", "--last", "3", "--since", "5m"], "--last and --since are exclusive", None),
    (["status", "--last", "3"], "--last and --since are for history only", None),
    (["--bogus", "status"], "unknown option --bogus", None),
    (["status", "-s"], "-s needs a value", None),
    (["-c", "/nonexistent.json", "-s", "/x.sock", "status"], "-s and -c are exclusive", None),
])
def test_ctl_usage_errors_exit_2(args, reason, usage):
    r = ctl(*args, env={"SUPERVISOR_SOCKET": "/nonexistent/socket"})
    assert r.returncode == 2, (r.returncode, r.stderr)
    lines = r.stderr.splitlines()
    assert lines[0] == "supervisorctl: " + reason
    assert lines[1].startswith(USAGE)
    if usage:
        assert lines[1] == usage
    assert r.stdout == ""


def test_ctl_help_option_and_bad_config(tmp_path):
    r = ctl("-h")
    assert r.returncode == 0 and r.stdout.startswith(USAGE + "VERB [ARGS] [--json]\n")
    for verb in ("status", "metrics", "history", "crashes", "start", "stop", "restart", "reload",
                 "tail", "forget", "system", "version", "help", "watch"):
        assert re.search(r"^  %s\b" % verb, r.stdout, re.M), verb
    bad = tmp_path / "bad.json"
    bad.write_text('{"socket": 5, "plugins": []}')
    r = ctl("-c", str(bad), "status")
    assert r.returncode == 2
    assert r.stderr.startswith("supervisorctl: %s:1:" % bad) and "socket" in r.stderr
    assert len(r.stderr.splitlines()) == 1


def test_ctl_exit_3_when_the_daemon_cannot_be_reached(tmp_path):
    path = str(tmp_path / "none.sock")
    r = ctl("-s", path, "status")
    assert r.returncode == 3 and r.stdout == ""
    assert r.stderr == ("supervisorctl: cannot connect to %s: No such file or directory "
                        "(is the supervisor running?)\n" % path)
    r = ctl("status", env={"SUPERVISOR_SOCKET": path})
    assert r.returncode == 3 and path in r.stderr
    r = ctl("status", cwd=str(tmp_path))
    assert r.returncode == 3
    assert r.stderr == ("supervisorctl: cannot connect to run/supervisor.sock: No such file or "
                        "directory (is the supervisor running?)\n")
    # A socket file nobody listens on: connection refused.
    s = socket.socket(socket.AF_UNIX)
    s.bind(path)
    s.close()
    r = ctl("-s", path, "version")
    assert r.returncode == 3 and "Connection refused" in r.stderr and path in r.stderr
    assert len(r.stderr.splitlines()) == 1
    os.unlink(path)
    # Something that answers, but not like the daemon.
    for answer, status, text in ((None, 3, "closed the connection without a reply"),
                                 (b"hello\n", 3, "invalid reply from"),
                                 (b'{"ok": false}\n', 3, "invalid reply from"),
                                 (b'{"ok": false, "error": {"code": "x-y", "message": "m n"}}\n',
                                  1, None)):
        srv = socket.socket(socket.AF_UNIX)
        srv.bind(path)
        srv.listen(1)

        def serve():
            c, _ = srv.accept()
            c.recv(4096)
            if answer:
                c.sendall(answer)
            c.close()
        t = threading.Thread(target=serve)
        t.start()
        r = ctl("-s", path, "version")
        t.join(5)
        srv.close()
        os.unlink(path)
        assert r.returncode == status, (answer, r.returncode, r.stderr)
        assert len(r.stderr.splitlines()) == 1 and r.stdout == ""
        if text:
            assert text in r.stderr and path in r.stderr, r.stderr
        else:
            assert r.stderr == "supervisorctl: m n (x-y)\n"


def fake_daemon_status(path, answer):
    """supervisorctl -s path status against a socket that reads the request
    line and answers with answer (bytes, or None: close), as a daemon would
    not. Returns the run and the request it sent."""
    srv = socket.socket(socket.AF_UNIX)
    srv.bind(path)
    srv.listen(1)
    got = []

    def serve():
        c, _ = srv.accept()
        req = b""
        while not req.endswith(b"\n"):
            chunk = c.recv(4096)
            if not chunk:
                break
            req += chunk
        got.append(json.loads(req))
        try:
            if answer:
                c.sendall(answer)
        except OSError:
            pass        # supervisorctl stopped reading an over-long reply
        c.close()
    t = threading.Thread(target=serve)
    t.start()
    try:
        r = ctl("-s", path, "status")
    finally:
        t.join(10)
        srv.close()
        os.unlink(path)
    return r, got[0]


ROWS_COLUMNS = ["name", "state", "pid", "uptime_human", "cpu_percent", "memory_mb",
                "events.routed", "restarts", "crashes"]
ROWS_SYSTEM = {"bot_uptime_human": "5m", "total_plugins": 2, "plugins_running": 2,
               "plugins_crashed": 0, "total_events": 3, "total_memory_mb": 2.5,
               "daemon": {"pid": 7, "cpu_percent": 0.25, "memory_mb": 3.14}}


def test_ctl_status_table_from_any_rows_reply_and_clear_errors_for_bad_ones(tmp_path):
    # supervisorctl reads the rows of a plain status where they are in the
    # reply line and hands any line of another shape to its JSON parser:
    # both print the same table, and a bad or over-long reply is a one-line
    # error with exit 3, never a crash.
    path = str(tmp_path / "fake.sock")
    want = ("NAME     STATE     PID  UPTIME  CPU%  MEM(MB)  EVENTS  RESTARTS  CRASHES\n"
            "{name}  RUNNING  4242  5m       0.2      1.4       3         0        0\n"
            "8ball    RUNNING  4243  1h       0.0      1.6       0         1        2\n"
            "system: up 5m, 2 plugins (2 running, 0 crashed), 3 events, plugins 2.5 MB, "
            "daemon pid 7 cpu 0.2% mem 3.1 MB\n")
    for name, shown in (("dice-rl", "dice-rl"),      # as the daemon writes it
                        ("dic\u00e9-rl", "dic\u00e9-rl")):   # an escape: the JSON parser's
        reply = {"ok": True, "result": {
            "columns": ROWS_COLUMNS,
            "rows": [[name, "RUNNING", 4242, "5m", 0.25, 1.36, 3, 0, 0],
                     ["8ball", "RUNNING", 4243, "1h", 0.0, 1.64, 0, 1, 2]],
            "system": ROWS_SYSTEM}}
        r, req = fake_daemon_status(path, json.dumps(reply).encode() + b"\n")
        assert req == {"cmd": "status", "fields": ROWS_COLUMNS, "rows": True}
        assert (r.returncode, r.stderr, r.stdout) == (0, "", want.replace("{name}", shown))
    # Rows the JSON parser refuses, a line cut short, a line over the bound.
    cols = json.dumps(ROWS_COLUMNS).encode()
    for answer, text in (
            (b'{"ok":true,"result":{"columns":' + cols + b',"rows":[["a",01]]}}\n',
             "invalid reply from %s: " % path),
            (b'{"ok":true,"result":{"columns":' + cols + b',"rows":[["a","RUNNING",1e999]]}}\n',
             "invalid reply from %s: " % path),
            (b'{"ok":true,"result":{"columns":' + cols + b',"rows":[["a"',
             "the supervisor on %s closed the connection without a reply" % path),
            (b'{"ok":true,"result":{"columns":' + cols + b',"rows":[' +
             b'["p","RUNNING",1,"1s",0.0,1.0,0,0,0],' * (17 * 1024 * 1024 // 36),
             "reply from %s is over 16 MiB; refused" % path)):
        r, _ = fake_daemon_status(path, answer)
        assert r.returncode == 3 and r.stdout == "", (answer[:80], r)
        assert r.stderr.startswith("supervisorctl: " + text), r.stderr
        assert len(r.stderr.splitlines()) == 1


def test_ctl_finds_the_socket_from_config_env_and_cwd(daemon, tmp_path):
    start(daemon, [DICE])
    other = str(tmp_path / "elsewhere")
    os.mkdir(other)
    want = "supervisor 0.1.0, protocol 1 (supervisorctl 0.1.0)\n"
    r = ctl("-c", daemon.config_path, "version", cwd=other)
    assert (r.returncode, r.stdout) == (0, want), r.stderr
    r = ctl("version", "-c", daemon.config_path, cwd=other)     # options after the verb
    assert (r.returncode, r.stdout) == (0, want), r.stderr
    r = ctl("version", env={"SUPERVISOR_SOCKET": daemon.sock}, cwd=other)
    assert (r.returncode, r.stdout) == (0, want), r.stderr
    # run/supervisor.sock in the current directory.
    r = ctl("version", cwd=daemon.dir)
    assert (r.returncode, r.stdout) == (0, want), r.stderr
    # -s wins over the environment.
    r = ctl("-s", daemon.sock, "version", env={"SUPERVISOR_SOCKET": "/nonexistent.sock"})
    assert (r.returncode, r.stdout) == (0, want), r.stderr
    r = ctl("-s", "/nonexistent.sock", "version", env={"SUPERVISOR_SOCKET": daemon.sock})
    assert r.returncode == 3 and "/nonexistent.sock" in r.stderr


def test_ctl_c_status_after_a_plugin_binary_was_deleted(daemon, tmp_path):
    # A plugin run from a copy beside the config; the copy is deleted while
    # the plugin runs (an upgrade gone wrong, a cleaned-up temp dir): the
    # operator's first question is status, and -c must still find the socket.
    bindir = os.path.join(daemon.dir, "bin")
    os.mkdir(bindir)
    shutil.copy(os.path.join(BUILD, "plugins", "8ball"), bindir)
    cfg = daemon.config([DICE, {"name": "copy", "exec": ["bin/8ball"]}],
                        metrics=FAST, chat=ADMINS)
    cfg["socket"] = "run/supervisor.sock"     # relative to the config's directory
    daemon.start(config=cfg)
    pid = daemon.status("copy")["pid"]
    os.unlink(os.path.join(bindir, "8ball"))
    other = str(tmp_path / "elsewhere")
    os.mkdir(other)
    r = ctl("-c", daemon.config_path, "status", cwd=other)
    assert (r.returncode, r.stderr) == (0, ""), r
    rows = {x.split()[0]: x.split() for x in r.stdout.splitlines()[1:-1]}
    assert rows["copy"][:3] == ["copy", "RUNNING", str(pid)], r.stdout
    assert rows["dice-roller"][1] == "RUNNING", r.stdout
    assert r.stdout.splitlines()[-1].startswith("system: up ")
    # status keeps its exit status: 1 once a plugin shown is not RUNNING.
    daemon.result("stop", plugin="copy")
    daemon.wait_state("copy", "STOPPED")
    r = ctl("-c", daemon.config_path, "status", "copy", cwd=other)
    assert r.returncode == 1 and r.stderr == "", r
    assert "state:           STOPPED since " in r.stdout
    r = ctl("-c", daemon.config_path, "status", "--json", cwd=other)
    assert r.returncode == 1 and r.stderr == "", r
    assert [p["name"] for p in json.loads(r.stdout)["plugins"]] == ["dice-roller", "copy"]
    # The daemon itself refuses the file now, and says why.
    r = subprocess.run([SUPERVISOR, "-n", "-c", daemon.config_path], capture_output=True,
                       text=True, timeout=20 * SLOW)
    assert r.returncode == 2 and r.stdout == ""
    assert re.fullmatch(r"supervisor: %s:\d+:\d+: plugins\[1\]\.exec\[0\]: cannot find "
                        r"executable \"bin/8ball\" \(tried: %s/8ball \(no such "
                        r"file\)\)\n" % (re.escape(daemon.config_path), re.escape(bindir)),
                        r.stderr), r.stderr


def test_ctl_c_reads_the_socket_and_reports_a_broken_config(daemon, tmp_path):
    start(daemon, [DICE])
    want = "supervisor 0.1.0, protocol 1 (supervisorctl 0.1.0)\n"
    # Only the socket matters to supervisorctl: plugins it cannot find do not.
    other = tmp_path / "other.json"
    other.write_text(json.dumps({"socket": daemon.sock, "plugins": [
        {"name": "gone", "exec": ["/nonexistent/bin"]},
        {"name": "bare", "exec": ["no-such-plugin-anywhere"]}]}))
    r = ctl("-c", str(other), "version")
    assert (r.returncode, r.stdout, r.stderr) == (0, want, "")
    # Text that is not JSON: one line with the file, line and column, exit 2.
    for text, where in (('{"socket": "run/s.sock",\n "plugins": [}\n', "2:14"),
                        ("", "1:1"), ('{"socket": "a"} x', "1:17")):
        bad = tmp_path / "bad.json"
        bad.write_text(text)
        r = ctl("-c", str(bad), "status")
        assert (r.returncode, r.stdout) == (2, ""), r
        assert r.stderr.startswith("supervisorctl: %s:%s: invalid JSON: " % (bad, where)), r
        assert len(r.stderr.splitlines()) == 1
    # The socket itself wrong: the config's own error, as the daemon gives it.
    long_sock = "%s/%s" % (tmp_path, "x" * 120)
    for text, msg in (
            ('[1]', "1:1: (top level): must be an object, got an array"),
            ('{"socket": ""}', '1:12: socket: must be a non-empty path without control '
             'characters, got ""'),
            ('{"sokcet": "x.sock", "plugins": []}',
             "1:2: sokcet: unknown key (expected one of: socket, control, chat, metrics, "
             "state, restart, output, plugins, alerts, http, base_dir, sandbox)"),
            ('{"socket": "%s"}' % ("x" * 120),
             '1:12: socket: socket path "%s..." is %d bytes, longer than the 107 a Unix '
             'socket allows' % (long_sock[:48], len(long_sock)))):
        bad = tmp_path / "bad.json"
        bad.write_text(text)
        r = ctl("-c", str(bad), "status")
        assert (r.returncode, r.stdout, r.stderr) == (2, "", "supervisorctl: %s:%s\n" % (bad, msg))
    r = ctl("-c", str(tmp_path / "missing.json"), "status")
    assert (r.returncode, r.stdout) == (2, "")
    assert r.stderr == ("supervisorctl: %s: cannot open: No such file or directory\n"
                        % (tmp_path / "missing.json"))


class Lines:
    """Lines of a pipe, read by a thread, with a deadline on each get."""

    def __init__(self, pipe):
        self.q = queue.Queue()
        self.all = []
        threading.Thread(target=self._read, args=(pipe,), daemon=True).start()

    def _read(self, pipe):
        for line in pipe:
            self.q.put(line.rstrip("\n"))
        self.q.put(None)

    def wait(self, pred, timeout=5.0, what="line"):
        deadline = time.monotonic() + timeout * SLOW
        while True:
            left = deadline - time.monotonic()
            try:
                line = self.q.get(timeout=max(left, 0.01))
            except queue.Empty:
                raise AssertionError("%s not seen; got %s" % (what, self.all[-10:]))
            if line is None:
                raise AssertionError("%s not seen before the end; got %s" % (what, self.all[-10:]))
            self.all.append(line)
            if pred(line):
                return line


def watch(daemon, *args):
    p = subprocess.Popen([SUPERVISORCTL, "-s", daemon.sock, "watch", *args],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    return p, Lines(p.stdout), Lines(p.stderr)


def test_ctl_watch_prints_a_restart_and_exits_0_on_sigint(daemon):
    start(daemon, [DICE])
    old = daemon.status("dice-roller")["pid"]
    p, out, errs = watch(daemon, "--samples")
    try:
        assert errs.wait(lambda x: True) == \
            "watching state, crash, sample, alert events on %s (interrupt to stop)" % daemon.sock
        out.wait(lambda x: " sample " in x, what="a sample line")
        assert re.fullmatch(r"\d\d:\d\d:\d\d dice-roller sample cpu (-|[\d.]+%) mem [\d.]+ MB",
                            out.all[-1]), out.all[-1]
        daemon.result("restart", plugin="dice-roller")
        line = out.wait(lambda x: "RUNNING -> STOPPING" in x, what="RUNNING -> STOPPING")
        assert re.fullmatch(r"\d\d:\d\d:\d\d dice-roller RUNNING -> STOPPING pid %d "
                            r"\(restart by control socket\)" % old, line), line
        line = out.wait(lambda x: "STARTING -> RUNNING" in x, what="STARTING -> RUNNING")
        new = daemon.status("dice-roller")["pid"]
        assert re.fullmatch(r"\d\d:\d\d:\d\d dice-roller STARTING -> RUNNING pid %d \(ready in .*"
                            % new, line), line
        p.send_signal(signal.SIGINT)
        assert p.wait(5 * SLOW) == 0
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()


def test_ctl_watch_crash_json_and_sigterm_then_daemon_gone(daemon):
    start(daemon, [DICE])
    p, out, errs = watch(daemon, "crash", "sample", "--json")
    p2, out2, errs2 = watch(daemon, "crash")
    try:
        # Subscribed: the text one says so, the JSON one streams samples.
        errs2.wait(lambda x: x.startswith("watching crash events on "))
        out.wait(lambda x: json.loads(x)["event"] == "sample", what="a sample event")
        old = kill9(daemon, "dice-roller")
        line = out.wait(lambda x: json.loads(x)["event"] == "crash", what="a crash event")
        ev = json.loads(line)
        assert ev["event"] == "crash" and ev["plugin"] == "dice-roller"
        assert ev["crash"]["pid"] == old and ev["crash"]["signal_name"] == "SIGKILL"
        line = out2.wait(lambda x: True, what="a crash line")
        assert re.fullmatch(r"\d\d:\d\d:\d\d dice-roller crashed: signal SIGKILL \(9\) after "
                            r"[\d.]+ s", line), line
        p.send_signal(signal.SIGTERM)
        assert p.wait(5 * SLOW) == 0
        # The daemon goes away: watch ends with 3.
        assert daemon.stop() == 0
        assert p2.wait(5 * SLOW) == 3
        assert errs2.wait(lambda x: "closed the connection" in x).startswith("supervisorctl: ")
    finally:
        for proc in (p, p2):
            if proc.poll() is None:
                proc.kill()
                proc.wait()


# --- signal -----------------------------------------------------------------

def test_signal_a_running_plugin(daemon):
    start(daemon, [DICE])
    pid = daemon.status("dice-roller")["pid"]
    # SIGWINCH is ignored by default: the plugin runs on and nothing crashed.
    for sig in ("WINCH", "winch", "SIGWINCH", "sigWinch", 28, "28"):
        assert daemon.result("signal", plugin="dice-roller", signal=sig) == {
            "plugin": "dice-roller", "signal": "SIGWINCH", "signal_number": 28, "pid": pid,
            "state": "RUNNING"}, sig
    r = daemon.ctl("signal", "dice-roller", "WINCH", check=0)
    assert r.stdout == "dice-roller: SIGWINCH sent to pid %d (RUNNING)\n" % pid
    assert json.loads(daemon.ctl("--json", "signal", "dice-roller", "28", check=0).stdout) == {
        "plugin": "dice-roller", "signal": "SIGWINCH", "signal_number": 28, "pid": pid,
        "state": "RUNNING"}
    daemon.wait_log(r"plugin dice-roller: SIGWINCH sent to pid %d by control socket" % pid)
    st = daemon.status("dice-roller")
    assert (st["state"], st["pid"], st["crashes"]) == ("RUNNING", pid, 0)
    # TERM ends it: an exit not asked for is a crash, and the restart policy runs.
    assert daemon.ctl("signal", "dice-roller", "SIGTERM", check=0).stdout == \
        "dice-roller: SIGTERM sent to pid %d (RUNNING)\n" % pid
    wait_for(lambda: (lambda s: s["state"] == "RUNNING" and s["pid"] != pid)(
        daemon.status("dice-roller")), what="dice-roller restarted after SIGTERM")
    crashes = daemon.result("crashes", plugin="dice-roller")
    assert crashes["total"] == 1
    cr = crashes["crashes"][0]
    assert (cr["pid"], cr["reason"], cr["signal"], cr["signal_name"]) == (
        pid, "signal", 15, "SIGTERM")


def test_signal_a_starting_plugin(daemon):
    slow = crasher("slow", config={"ready_delay": 30}, restart={"ready_timeout": 20})
    start(daemon, [slow], wait_running=False)
    st = daemon.wait_state("slow", "STARTING")
    assert daemon.result("signal", plugin="slow", signal="WINCH") == {
        "plugin": "slow", "signal": "SIGWINCH", "signal_number": 28, "pid": st["pid"],
        "state": "STARTING"}


def test_signal_bad_input(daemon):
    start(daemon, [DICE, crasher("idle", autostart=False)])
    pid = daemon.status("dice-roller")["pid"]
    req = {"cmd": "signal", "plugin": "dice-roller"}
    missing = err("missing-argument", "signal needs a signal name or number: signal plugin signal")
    assert daemon.request(req) == missing
    assert daemon.request(dict(req, signal=None)) == missing
    for name in ("FOO", "SIG", "", "0", "65", "-1", "+9", " 9", "9x", "SIGRTMIN", "SIG34",
                 "HUP ", "kill -9"):
        assert daemon.request(dict(req, signal=name)) == err("bad-argument", SIGNAL_MSG % name), name
    for value in (0, 65, -9, 9.0, True, [9], {"n": 9}):
        assert daemon.request(dict(req, signal=value)) == err(
            "bad-argument", "signal must be a name like HUP or a number from 1 to 64"), value
    assert daemon.request({"cmd": "signal", "signal": "HUP"}) == err(
        "missing-argument", "signal needs a plugin name: signal plugin signal")
    assert daemon.request({"cmd": "signal", "plugin": "ghost", "signal": "HUP"}) == err(
        "unknown-plugin", 'no plugin named "ghost"')
    assert daemon.request({"cmd": "signal", "plugin": "idle", "signal": "KILL"}) == err(
        "invalid-state", "idle is STOPPED: only a RUNNING or STARTING plugin has a process "
        "to signal")
    # supervisorctl: usage errors before asking, the daemon's errors after.
    usage = "usage: supervisorctl [-s SOCKET | -c CONFIG] signal plugin signal [--json]\n"
    r = daemon.ctl("signal", check=2)
    assert r.stderr == "supervisorctl: signal needs a plugin name\n" + usage
    r = daemon.ctl("signal", "dice-roller", check=2)
    assert r.stderr == "supervisorctl: signal needs a signal\n" + usage
    r = daemon.ctl("signal", "dice-roller", "HUP", "now", check=2)
    assert r.stderr == "supervisorctl: too many arguments for signal\n" + usage
    r = daemon.ctl("signal", "dice-roller", "FOO", check=1)
    assert r.stdout == "" and r.stderr == "supervisorctl: %s (bad-argument)\n" % (SIGNAL_MSG % "FOO")
    r = daemon.ctl("signal", "idle", "HUP", check=1)
    assert r.stderr == ("supervisorctl: idle is STOPPED: only a RUNNING or STARTING plugin has a "
                        "process to signal (invalid-state)\n")
    # Nothing was sent: dice-roller runs on untouched, idle is still STOPPED.
    st = daemon.status("dice-roller")
    assert (st["state"], st["pid"], st["crashes"]) == ("RUNNING", pid, 0)
    assert daemon.state("idle") == "STOPPED"
    assert "sent to pid" not in daemon.read_log()


def test_admin_signal_from_chat(daemon):
    start(daemon, [CONSOLE, DICE])
    pid = daemon.status("dice-roller")["pid"]
    assert daemon.ask("!admin signal dice-roller winch") == \
        "dice-roller: SIGWINCH sent to pid %d (RUNNING)" % pid
    daemon.wait_log(r'admin: console:console runs "signal dice-roller winch"')
    daemon.wait_log(r"plugin dice-roller: SIGWINCH sent to pid %d by console:console" % pid)
    assert daemon.ask("!admin signal dice-roller") == \
        "error: signal needs a signal name or number: signal plugin signal"
    assert daemon.ask("!admin signal dice-roller FOO") == "error: " + SIGNAL_MSG % "FOO"
    assert daemon.ask("!admin signal ghost KILL") == 'error: no plugin named "ghost"'
    assert daemon.ask("!admin signal dice-roller KILL now") == \
        "too many arguments; usage: !admin signal plugin signal"
    assert daemon.status("dice-roller")["pid"] == pid
    assert daemon.ask("!admin signal dice-roller KILL") == \
        "dice-roller: SIGKILL sent to pid %d (RUNNING)" % pid
    wait_for(lambda: (lambda s: s["state"] == "RUNNING" and s["pid"] != pid)(
        daemon.status("dice-roller")), what="dice-roller restarted after SIGKILL")
    cr = daemon.result("crashes", plugin="dice-roller")["crashes"][-1]
    assert (cr["pid"], cr["reason"], cr["signal_name"]) == (pid, "signal", "SIGKILL")


# --- !admin in chat ---------------------------------------------------------

def test_admin_status_metrics_crashes_help_and_errors(daemon):
    start(daemon, [CONSOLE, DICE])
    wait_for(lambda: n_samples(daemon, "dice-roller") >= 4, what="samples")
    pid = daemon.status("dice-roller")["pid"]
    cpid = daemon.status("console")["pid"]
    daemon.say("!admin status")
    lines = [daemon.reply() for _ in range(3)]
    assert re.fullmatch(r"up \S+( \S+)? · 2 plugins, 2 running, 0 crashed · 0 events · plugins "
                        r"[\d.]+ MB · daemon cpu (n/a|[\d.]+%) mem [\d.]+ MB", lines[0]), lines[0]
    assert re.fullmatch(r"console RUNNING pid %d up \S+ · (cpu [\d.]+%% · )?mem [\d.]+ MB · "
                        r"0 events · 0 crashes" % cpid, lines[1]), lines[1]
    assert re.fullmatch(r"dice-roller RUNNING pid %d up \S+ · (cpu [\d.]+%% · )?mem [\d.]+ MB · "
                        r"0 events · 0 crashes" % pid, lines[2]), lines[2]
    daemon.wait_log(r'admin: console:console runs "status"')
    line = daemon.ask("!admin status dice-roller")
    assert re.fullmatch(r"dice-roller RUNNING pid %d up \S+ · (cpu [\d.]+%% · )?mem [\d.]+ MB · "
                        r"0 events · 0 crashes" % pid, line), line
    daemon.wait_log(r'admin: console:console runs "status dice-roller"')
    daemon.say("!admin metrics dice-roller")
    line1, line2 = daemon.reply(), daemon.reply()
    assert re.fullmatch(r"dice-roller RUNNING pid %d up \S+ · cpu avg [\d.]+%% p95 [\d.]+%% · "
                        r"mem [\d.]+ MB · 0 events · 0 crashes" % pid, line1), line1
    assert re.fullmatch(r"\d+ samples over \d+ s · cpu avg [\d.]+% min [\d.]+% max [\d.]+% "
                        r"p95 [\d.]+% · mem avg [\d.]+ MB max [\d.]+ MB p95 [\d.]+ MB · "
                        r"[\d.]+ events/min", line2), line2
    daemon.say("!admin metrics dice-roller 5m")
    assert daemon.reply().startswith("dice-roller RUNNING pid %d" % pid)
    assert re.match(r"\d+ samples? over", daemon.reply())
    assert daemon.ask("!admin crashes dice-roller") == "dice-roller: 0 crashes (breaker closed)"
    old = kill9(daemon, "dice-roller")
    daemon.say("!admin crashes dice-roller")
    assert re.fullmatch(r"dice-roller: 1 crash(es)? \(breaker closed\)", daemon.reply())
    line = daemon.reply()
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d signal SIGKILL after [\d.]+ s", line), line
    assert old != daemon.status("dice-roller")["pid"]
    assert daemon.ask("!admin version") == "supervisor 0.1.0, protocol 1"
    help_line = ("!admin verbs: status metrics crashes start stop restart upgrade signal reload "
                 "system alerts silence version help (a plugin name follows status, metrics, "
                 "crashes, start, stop, restart, upgrade, signal)")
    assert daemon.ask("!admin help") == help_line
    assert daemon.ask("!admin") == help_line
    assert re.fullmatch(r"up \S+( \S+)? · 2 plugins, 2 running, 0 crashed · .*",
                        daemon.ask("!admin system"))
    # Errors come back as one line; socket-only verbs are unknown in chat.
    assert daemon.ask("!admin tail dice-roller") == 'unknown admin verb "tail"; try !admin help'
    assert daemon.ask("!admin subscribe") == 'unknown admin verb "subscribe"; try !admin help'
    assert daemon.ask("!admin frobnicate") == 'unknown admin verb "frobnicate"; try !admin help'
    assert daemon.ask("!admin start dice-roller") == "error: dice-roller is already RUNNING"
    assert daemon.ask("!admin metrics ghost") == 'error: no plugin named "ghost"'
    assert daemon.ask("!admin metrics") == \
        "error: metrics needs a plugin name: metrics plugin [window]"
    assert daemon.ask("!admin metrics dice-roller soon") == "error: " + WINDOW_MSG
    assert daemon.ask("!roll 1d2") in ("🎲 [1] = 1", "🎲 [2] = 2")     # chat carries on


def test_admin_restart_stop_start_from_chat(daemon):
    start(daemon, [CONSOLE, DICE])
    old = daemon.status("dice-roller")["pid"]
    sub = Subscriber(daemon.sock, ["state"])
    assert daemon.ask("!admin restart dice-roller") == "dice-roller: restart asked, now STOPPING"
    ev = sub.wait(lambda e: e["to"] == "RUNNING")
    assert sub.events[0]["reason"] == "restart by console:console"
    new = ev["pid"]
    assert new != old and daemon.wait_state("dice-roller", "RUNNING")["pid"] == new
    daemon.wait_log(r'admin: console:console runs "restart dice-roller"')
    assert daemon.ask("!admin stop dice-roller") == "dice-roller: stop asked, now STOPPING"
    daemon.wait_state("dice-roller", "STOPPED")
    assert daemon.ask("!admin start dice-roller") == "dice-roller: start asked, now STARTING"
    daemon.wait_state("dice-roller", "RUNNING")
    assert daemon.ask("!roll 1d2") in ("🎲 [1] = 1", "🎲 [2] = 2")
    sub.close()


def test_admin_words_are_the_verbs_arguments(daemon):
    start(daemon, [CONSOLE, DICE])
    daemon.say("!admin   metrics   dice-roller   5m")
    assert daemon.reply().startswith("dice-roller RUNNING pid")
    assert re.match(r"\d+ samples? over", daemon.reply())
    daemon.wait_log(r'admin: console:console runs "metrics dice-roller 5m"')
    assert daemon.ask("!admin metrics dice-roller 5m soon") == \
        "too many arguments; usage: !admin metrics plugin [window]"
    assert daemon.ask("!admin version 2") == "too many arguments; usage: !admin version"
    assert daemon.ask("!admin crashes dice-roller x") == \
        "too many arguments; usage: !admin crashes plugin"
    assert daemon.ask("!admin status ghost") == 'error: no plugin named "ghost"'
    assert daemon.ask("!admin version") == "supervisor 0.1.0, protocol 1"     # carries on


def test_admin_rate_limit(daemon):
    start(daemon, [CONSOLE, DICE], chat={"admins": ["console:console"]})   # admin_rate 2 s
    assert daemon.ask("!admin version") == "supervisor 0.1.0, protocol 1"
    pid = daemon.status("dice-roller")["pid"]
    line = daemon.ask("!admin restart dice-roller")
    m = re.fullmatch(r"slow down: one admin command every 2 s \(wait (\d\.\d) s\)", line)
    assert m and 0 < float(m.group(1)) <= 2.0, line
    assert daemon.status("dice-roller")["pid"] == pid       # not run
    assert "runs \"restart" not in daemon.read_log()
    # Other chat is not limited.
    assert daemon.ask("!roll 1d2") in ("🎲 [1] = 1", "🎲 [2] = 2")


def test_admin_refused_for_a_non_admin_and_logged(daemon):
    start(daemon, [CONSOLE, DICE], chat={"admins": ["irc:alice!*@*", "console:root"],
                                         "admin_rate": 0})
    pid = daemon.status("dice-roller")["pid"]
    refusal = "not allowed: !admin is for the bot's admins"
    assert daemon.ask("!admin restart dice-roller") == refusal
    daemon.wait_log(r'admin: refused "!admin restart dice-roller" from console:console '
                    r'\(not in chat\.admins\)')
    assert daemon.ask("!admin status") == refusal
    assert daemon.ask("!admin") == refusal
    daemon.wait_log(r'admin: refused "!admin status" from console:console')
    assert daemon.status("dice-roller")["pid"] == pid
    assert daemon.status("dice-roller")["restarts"] == 0
    assert " runs \"" not in daemon.read_log()


def test_admin_patterns_and_prefix(daemon):
    start(daemon, [CONSOLE, DICE], chat={"admins": ["irc:*", "console:c?ns*e"], "admin_rate": 0,
                                         "prefix": "?"})
    assert daemon.ask("?admin version") == "supervisor 0.1.0, protocol 1"
    assert daemon.ask("?admin tail x") == 'unknown admin verb "tail"; try ?admin help'


class BuiltinDaemon(Daemon):
    """The daemon on its built-in config (no -c), in the test's directory."""

    def start_builtin(self):
        with open(os.path.join(ROOT, "config", "default.json")) as f:
            config = json.load(f)
        self.log = open(self.log_path, "wb")
        self.proc = subprocess.Popen([SUPERVISOR], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=self.log, cwd=self.dir)
        threading.Thread(target=self._reader, daemon=True).start()
        wait_for(lambda: os.path.exists(self.sock) or self.proc.poll() is not None,
                 what="control socket")
        assert self.proc.poll() is None, "daemon exited at start:\n" + self.read_log()
        wait_for(lambda: connectable(self.sock), what="the daemon to listen")
        for p in config["plugins"]:
            self.wait_state(p["name"], "RUNNING")
        return self


def test_admin_default_config_makes_the_console_an_admin(tmp_path):
    d = BuiltinDaemon(tmp_path)
    try:
        d.start_builtin()
        assert d.sock == str(tmp_path / "run" / "supervisor.sock")
        pid = d.status("dice-roller")["pid"]
        line = d.ask("!admin status dice-roller")
        assert re.fullmatch(r"dice-roller RUNNING pid %d up .* · 0 events · 0 crashes" % pid,
                            line), line
        d.wait_log(r'admin: console:console runs "status dice-roller"')
        # The default admin_rate is 2 s.
        assert d.ask("!admin version").startswith("slow down: one admin command every 2 s")
        for name in ("console", "8ball", "pick"):
            d.status(name)
    finally:
        if d.proc is not None:
            d.close()
