"""Alerts in chat (docs/alerts.md), end to end through the console connector.

Each test starts one daemon whose alerts go to the console (its stdout, read
line by line by the harness): a crash is one line with its reason and a
recovery line follows; a crash loop is one FATAL line and no flood; a
threshold rule on the hog fires after `for` and resolves when the hog is
switched off; silences keep lines from chat and expire; a connector that is
down gets what waited, the overflow counted; the rate limit spaces lines; a
bad rule is refused with its file:line:column. The IRC side is
tests/e2e/test_alerts_irc.py.
"""
import json
import re
import subprocess
import time

from conftest import CONSOLE, SLOW, SUPERVISOR, Subscriber, plugin, wait_for

TARGET = {"connector": "console", "channel": "console"}
ADMIN = {"admins": ["console:console"], "admin_rate": 0}
CRASH_LINE = re.compile(
    r"🟠 (\S+) crashed: exit (\d+) after [\d.]+ s; restart \d+ in [\d.]+ s · "
    r"stderr: crasher: about to exit with code \2")
RECOVERY_LINE = re.compile(r"✅ (\S+) RUNNING again after 1 crash in [\d.]+ s")


def crasher(name="crasher", restart=None, **config):
    """The crasher test plugin: crashes on its command (!NAME), exit code 3."""
    cfg = {"on_command": True, "exit_code": 3}
    cfg.update(config)
    return plugin(name, "crasher", config=cfg, restart=restart)


def start(daemon, plugins, alerts=None, **top):
    cfg = daemon.config([CONSOLE, *plugins], chat=ADMIN, **top)
    cfg["alerts"] = {"targets": [TARGET]} if alerts is None else alerts
    daemon.start(config=cfg)
    return cfg


def lines_within(daemon, seconds):
    """Every console line that arrives within seconds."""
    out = []
    deadline = time.monotonic() + seconds * SLOW
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            return out
        try:
            out.append(daemon.lines.get(timeout=left))
        except Exception:
            return out


def crashes(daemon, name):
    return daemon.status(name)["crashes"]


def test_crash_is_one_line_with_its_reason_then_recovery(daemon):
    start(daemon, [crasher(), crasher("victim")])
    daemon.say("!crash")
    line = daemon.reply()
    m = CRASH_LINE.fullmatch(line)
    assert m and m.group(1) == "crasher" and m.group(2) == "3", line
    assert "; restart 1 in 0 s · " in line
    assert RECOVERY_LINE.fullmatch(daemon.reply()).group(1) == "crasher"
    daemon.no_reply(1.0)
    assert crashes(daemon, "crasher") == 1

    # A signal reads as one.
    daemon.ctl("signal", "victim", "KILL", check=0)
    line = daemon.reply()
    assert re.fullmatch(r"🟠 victim crashed: signal SIGKILL \(9\) after [\d.]+ s; "
                        r"restart 1 in 0 s( · stderr: .*)?", line), line
    assert RECOVERY_LINE.fullmatch(daemon.reply()).group(1) == "victim"
    daemon.no_reply(0.5)

    # The alerts verb: nothing fires; the history has the lines, oldest first.
    r = daemon.ctl("alerts", "--json", check=0)
    res = json.loads(r.stdout)
    assert res["firing"] == [] and res["pending"] == [] and res["silences"] == []
    assert res["rules"] == 0
    assert res["targets"] == [{"connector": "console", "channel": "console",
                               "state": "RUNNING", "sent": 4, "queued": 0, "dropped": 0}]
    assert [(h["kind"], h["severity"], h["source"], h["plugin"], h["silenced"])
            for h in res["history"]] == [
        ("firing", "warning", "crash", "crasher", False),
        ("resolved", "info", "crash", "crasher", False),
        ("firing", "warning", "crash", "victim", False),
        ("resolved", "info", "crash", "victim", False)]
    assert CRASH_LINE.fullmatch(res["history"][0]["text"])
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", res["history"][0]["time_iso"])
    assert re.search(r"alert: 🟠 crasher crashed: exit 3", daemon.read_log())


def test_crash_loop_is_one_fatal_line_and_no_flood(daemon):
    # Crashes 10 ms after each ready; a short backoff, a breaker that opens
    # after 3 crashes and half-opens again 50 ms later: about 50 crashes in
    # a few seconds.
    restart = {"first_delay": 0, "initial_delay": 0.01, "multiplier": 1,
               "max_delay": 0.01, "max_crashes": 3, "crash_window": 60,
               "cooldown": 0.05, "reset_after": 60}
    cfg = daemon.config([CONSOLE, crasher(restart=restart, after=0.01, on_command=False)],
                        chat=ADMIN)
    cfg["alerts"] = {"targets": [TARGET]}
    daemon.start(config=cfg, wait_running=False)
    seen = []
    deadline = time.monotonic() + 60 * SLOW
    while crashes(daemon, "crasher") < 50:
        assert time.monotonic() < deadline, "50 crashes took too long"
        seen += lines_within(daemon, 0.2)
    seen += lines_within(daemon, 0.5)
    n = crashes(daemon, "crasher")
    # One crash line, one recovery (the first crash came back), one FATAL.
    assert len(seen) == 3, seen
    assert CRASH_LINE.fullmatch(seen[0]), seen
    assert RECOVERY_LINE.fullmatch(seen[1]), seen
    assert re.fullmatch(r"🔴 crasher FATAL: crash loop: more than 3 crashes in 60 s; "
                        r"breaker open, trial start in 0.05 s · last: crashed: exit 3 "
                        r"after [\d.]+ s · stderr: crasher: about to exit with code 3",
                        seen[2]), seen
    res = daemon.result("alerts")
    [a] = res["firing"]
    assert (a["source"], a["plugin"], a["severity"]) == ("crash", "crasher", "critical")
    assert a["count"] >= n - 3, (a, n)
    assert a["status"].startswith(("FATAL", "RUNNING on a trial start")), a
    # Stopped by hand: the alert is over; what was collapsed is said in one
    # summary at the end of the collapse interval (60 s by default), not now.
    daemon.ctl("stop", "crasher", check=0)
    daemon.wait_state("crasher", "STOPPED")
    assert lines_within(daemon, 0.5) == []
    assert daemon.result("alerts")["firing"] == []


def test_collapsed_crashes_are_one_summary(daemon):
    fast = {"initial_delay": 0, "max_delay": 0}
    start(daemon, [crasher(restart=fast)], alerts={"targets": [TARGET], "collapse": "2s"})
    daemon.say("!crash")
    assert CRASH_LINE.fullmatch(daemon.reply())
    assert RECOVERY_LINE.fullmatch(daemon.reply())
    for i in range(3):
        wait_for(lambda: crashes(daemon, "crasher") == i + 1 and
                 daemon.state("crasher") == "RUNNING", what="crash %d back" % (i + 1))
        daemon.say("!crash")
    wait_for(lambda: crashes(daemon, "crasher") == 4, what="the 4th crash")
    line = daemon.reply(5)
    assert re.fullmatch(r"✅ 3 more crashes of crasher in the last [23] s; RUNNING again",
                        line), line
    daemon.no_reply(0.5)


def test_threshold_rule_fires_after_for_and_resolves(daemon):
    hog = plugin("hog", "hog", config={"busy": False})
    rule = {"name": "hot", "plugins": ["hog"], "metric": "cpu.avg", "op": ">",
            "value": 20, "window": "1s", "for": "1s"}
    start(daemon, [hog], alerts={"targets": [TARGET], "rules": [rule]},
          metrics={"poll_interval": 0.25, "history_duration": 60})
    sub = Subscriber(daemon, ["alert"])
    assert daemon.ask("!hog on") == "busy: on, duty 1"
    on = time.time()
    line = daemon.reply(10)
    fired = time.time()
    m = re.fullmatch(r"🟠 hot: hog cpu\.avg ([\d.]+)% > 20\.0% over 1 s for 1 s", line)
    assert m and float(m.group(1)) > 20, line
    # Not before the condition held for `for`: the CPU rose after "on".
    assert fired - on >= 0.9, fired - on
    ev = sub.wait(lambda e: e["event"] == "alert", what="the alert event")
    assert ev["kind"] == "firing" and ev["source"] == "hot" and ev["plugin"] == "hog"
    assert ev["severity"] == "warning" and ev["text"] == line and not ev["silenced"]
    assert ev["time"] - on >= 0.9
    [a] = daemon.result("alerts")["firing"]
    assert a["source"] == "hot" and a["count"] == 1

    assert daemon.ask("!hog off") == "busy: off, duty 1"
    line = daemon.reply(10)
    m = re.fullmatch(r"✅ hot resolved: hog cpu\.avg ([\d.]+)% now, after [\w. ]+", line)
    assert m and float(m.group(1)) <= 20, line
    ev = sub.wait(lambda e: e["event"] == "alert", what="the resolution event")
    assert ev["kind"] == "resolved" and ev["text"] == line
    assert daemon.result("alerts")["firing"] == []
    sub.close()


def test_silence_suppresses_and_expires(daemon):
    start(daemon, [crasher()])
    r = daemon.ctl("silence", "crasher", "2s", check=0)
    assert r.stdout == "crasher silenced for 2s\n"
    daemon.say("!crash")
    wait_for(lambda: crashes(daemon, "crasher") == 1 and daemon.state("crasher") == "RUNNING",
             what="the crash and the restart")
    daemon.no_reply(0.5)
    res = daemon.result("alerts")
    assert [s["name"] for s in res["silences"]] == ["crasher"]
    assert 0 < res["silences"][0]["remaining_seconds"] <= 2
    assert [(h["kind"], h["silenced"]) for h in res["history"]] == [
        ("firing", True), ("resolved", True)]
    # It expires by itself; the next crash is said.
    wait_for(lambda: daemon.result("alerts")["silences"] == [], 5, what="the silence to expire")
    daemon.say("!crash")
    line = daemon.reply()
    assert CRASH_LINE.fullmatch(line), line
    assert RECOVERY_LINE.fullmatch(daemon.reply())

    # In chat, and lifted early; "crash" silences every lifecycle alert.
    assert daemon.ask("!admin silence crash 5m") == "crash silenced for 5m"
    daemon.ctl("signal", "crasher", "KILL", check=0)
    wait_for(lambda: crashes(daemon, "crasher") == 3 and daemon.state("crasher") == "RUNNING",
             what="the third crash")
    daemon.no_reply(0.5)
    assert daemon.ask("!admin silence crash off") == "crash: silence lifted"
    r = daemon.ctl("silence", "crash", "off")
    assert r.returncode == 1 and r.stderr == ("supervisorctl: crash is not silenced "
                                              "(invalid-state)\n")
    r = daemon.ctl("silence", "ghost", "5m")
    assert r.returncode == 1 and r.stderr == (
        'supervisorctl: no plugin or alert rule named "ghost" (or "crash" for every '
        'lifecycle alert) (unknown-plugin)\n')
    for bad in ("soon", "0", "31d", "-5m", 5.5e9, [1]):
        r = daemon.request({"cmd": "silence", "name": "crasher", "duration": bad})
        assert r == {"ok": False, "error": {"code": "bad-argument", "message": (
            "duration must be a duration like 90s, 5m, 1h, 2d or a number of seconds "
            "(up to 30 days), or off to lift the silence")}}, (bad, r)
    r = daemon.request({"cmd": "silence", "name": "crasher"})
    assert r["error"]["code"] == "missing-argument"
    r = daemon.request({"cmd": "silence", "name": 5, "duration": "5m"})
    assert r["error"] == {"code": "bad-argument", "message": "name must be a string"}
    log = daemon.read_log()
    assert "alert: crasher silenced for 2 s by control socket" in log
    assert "alert: crash silenced for 300 s by console:console" in log
    assert "alert: silence of crash lifted by console:console" in log


def test_silence_ends_with_the_alert_still_firing(daemon):
    # noready never sends ready: its start fails the handshake; with a long
    # backoff it stays down, so its alert still fires when the silence ends.
    restart = {"ready_timeout": 1, "first_delay": 30}
    cfg = daemon.config([CONSOLE, plugin("noready", "noready", restart=restart)], chat=ADMIN)
    cfg["alerts"] = {"targets": [TARGET]}
    daemon.start(config=cfg, wait_running=False)
    daemon.ctl("silence", "noready", "2s", check=0)
    wait_for(lambda: crashes(daemon, "noready") == 1, what="the failed handshake")
    daemon.no_reply(0.3)
    line = daemon.reply(5)
    assert re.fullmatch(r"🟠 still, after [\d.]+ s: noready failed its ready handshake: "
                        r"no ready within 1 s after [\d.]+ s; restart 1 in 30 s"
                        r"( · stderr: .*)?", line), line
    [a] = daemon.result("alerts")["firing"]
    assert a["announced"] is True and a["silenced"] is False


def test_lifecycle_switches_hung_and_ready(daemon):
    hang = plugin("hang", "hang", config={"hang_after": 0},
                  restart={"ping_interval": 0.2, "hang_timeout": 0.5, "first_delay": 30})
    noready = plugin("noready", "noready", restart={"ready_timeout": 0.3, "first_delay": 30})
    cfg = daemon.config([CONSOLE, hang, noready], chat=ADMIN)
    cfg["alerts"] = {"targets": [TARGET], "lifecycle": {"hung": False}}
    daemon.start(config=cfg, wait_running=False)
    line = daemon.reply(5)
    assert re.fullmatch(r"🟠 noready failed its ready handshake: no ready within 0.3 s "
                        r"after [\d.]+ s; restart 1 in 30 s( · stderr: .*)?", line), line
    wait_for(lambda: crashes(daemon, "hang") >= 1, what="the hang kill")
    assert daemon.result("crashes", plugin="hang")["crashes"][0]["reason"] == "hung"
    daemon.no_reply(0.5)


def test_down_target_queues_and_counts_overflow(daemon):
    start(daemon, [crasher("a"), crasher("b"), crasher("c")],
          alerts={"targets": [TARGET], "queue": 2})
    daemon.ctl("stop", "console", check=0)
    daemon.wait_state("console", "STOPPED")
    for name in "abc":
        daemon.ctl("signal", name, "KILL", check=0)
        wait_for(lambda: crashes(daemon, name) == 1 and daemon.state(name) == "RUNNING",
                 what="%s to crash and come back" % name)
    # Six lines for two places: the oldest four were dropped, counted.
    wait_for(lambda: len(daemon.result("alerts")["history"]) == 6, what="six alert lines")
    [t] = daemon.result("alerts")["targets"]
    assert t == {"connector": "console", "channel": "console", "state": "STOPPED",
                 "sent": 0, "queued": 2, "dropped": 4}
    daemon.ctl("start", "console", check=0)
    assert daemon.reply(5) == ("🟠 4 alert lines for console dropped here (queue full); "
                               "supervisorctl alerts has the history")
    assert re.fullmatch(r"🟠 c crashed: signal SIGKILL \(9\) .*", daemon.reply())
    assert re.fullmatch(r"✅ c RUNNING again after 1 crash in .*", daemon.reply())
    daemon.no_reply(0.5)
    [t] = daemon.result("alerts")["targets"]
    assert (t["state"], t["sent"], t["queued"], t["dropped"]) == ("RUNNING", 3, 0, 4)


def test_rate_limit_spaces_lines(daemon):
    start(daemon, [crasher(n) for n in "abc"],
          alerts={"targets": [TARGET], "rate": 2, "burst": 2})
    for n in "abc":
        daemon.ctl("signal", n, "KILL", check=0)
    got = [(daemon.reply(5), time.monotonic()) for _ in range(6)]
    # Two at once, then one every half second, none lost.
    gaps = [b[1] - a[1] for a, b in zip(got[1:], got[2:])]
    assert all(g >= 0.4 for g in gaps), gaps
    assert sorted(re.match(r"\S+ (\S+)", line).group(1) for line, _ in got) == \
        ["a", "a", "b", "b", "c", "c"]
    daemon.no_reply(0.7)


def test_alerts_in_chat_and_cli(daemon):
    down = crasher("down", restart={"first_delay": 30})
    start(daemon, [crasher(), down])
    assert daemon.ask("!admin alerts") == "alerts: 0 firing · 0 pending · 0 silenced · 0 rules"
    assert daemon.reply() == "no alert lines yet"
    r = daemon.ctl("alerts")
    assert r.returncode == 0
    assert r.stdout == ("no alert firing\ntargets:\n  console console: RUNNING, 0 sent, "
                        "0 queued, 0 dropped\nrules: 0\n")
    # A plugin that stays down: its alert fires; exit status 1 meanwhile.
    daemon.ctl("signal", "down", "KILL", check=0)
    line = daemon.reply()
    assert re.fullmatch(r"🟠 down crashed: signal SIGKILL \(9\) after [\d.]+ s; restart 1 in "
                        r"30 s( · stderr: .*)?", line), line
    r = daemon.ctl("alerts")
    assert r.returncode == 1, r
    first, rest = r.stdout.split("\n", 1)
    assert re.fullmatch(r"🟠 crash down since \d{4}-\d\d-\d\d \d\d:\d\d:\d\d \([\d.]+ s\), "
                        r"1×: " + re.escape(line[2:]), first), first
    assert rest.endswith("recent alert lines (1 kept, newest last):\n  %s %s\n" % (
        rest.rsplit("\n  ", 1)[1][:19], line))
    assert daemon.ask("!admin alerts") == "alerts: 1 firing · 0 pending · 0 silenced · 0 rules"
    assert re.fullmatch(re.escape(line) + r" \(1×, for \d+s\)", daemon.reply())
    r = daemon.request({"cmd": "subscribe", "topics": ["nope"]})
    assert r["error"]["message"] == "unknown topic; topics are: state, crash, sample, log, alert"


def bad_config(tmp_path, text):
    path = tmp_path / "bad.json"
    path.write_text(text)
    return subprocess.run([SUPERVISOR, "-n", "-c", str(path)], capture_output=True,
                          text=True, timeout=10), str(path)


PLUGINS = '"plugins": [{"name": "console", "role": "connector", "exec": ["console"]},\n' \
          '  {"name": "hog", "exec": ["dice-roller"]}],\n'


def test_bad_rule_is_refused_with_its_position(tmp_path):
    cases = [
        ('  "rules": [{"name": "hot", "metric": "cpu.p95", "op": ">>", "value": 80, '
         '"window": "5m"}]',
         '5:56: alerts.rules[0].op: must be one of ">", ">=", "<", "<=", got ">>"'),
        ('  "rules": [{"name": "hot", "metric": "cpu.p99", "op": ">", "value": 80, '
         '"window": "5m"}]',
         '5:39: alerts.rules[0].metric: must be one of "cpu.avg", "cpu.min", "cpu.max", '
         '"cpu.p95", "memory_mb.avg", "memory_mb.min", "memory_mb.max", "memory_mb.p95", '
         '"events", "events_per_min", got "cpu.p99"'),
        ('  "rules": [{"name": "hot", "metric": "cpu.avg", "op": ">", "value": 80, '
         '"window": "2h"}]',
         '5:84: alerts.rules[0].window: longer than the samples kept: at most '
         'metrics.history_duration (3600 s), got 7200 s'),
        ('  "rules": [{"name": "hot", "plugins": ["hgo"], "metric": "cpu.avg", "op": ">", '
         '"value": 80, "window": "5m"}]',
         '5:41: alerts.rules[0].plugins[0]: no plugin named "hgo" in plugins'),
        ('  "rules": [{"name": "hot", "metric": "cpu.avg", "op": ">", "value": 80, '
         '"window": "5m", "for": "soon"}]',
         '5:97: alerts.rules[0].for: must be a duration from 0 to 604800 seconds: a number '
         'of seconds, or a string like "90s", "5m", "1.5h", "2d", got "soon"'),
        ('  "rules": [{"metric": "cpu.avg", "op": ">", "value": 80, "window": "5m"}]',
         '5:13: alerts.rules[0].name: missing required key'),
        ('  "rules": [{"name": "crash", "metric": "cpu.avg", "op": ">", "value": 80, '
         '"window": "5m"}]',
         '5:22: alerts.rules[0].name: rule name "crash" is taken by the lifecycle alerts'),
        ('  "targets": [{"connector": "hog", "channel": "#ops"}]',
         '5:29: alerts.targets[0].connector: plugin "hog" is not a connector (its role is '
         '"plugin"): alerts go to a connector\'s channel'),
        ('  "lifecycle": {"crash": true, "hang": false}',
         '5:32: alerts.lifecycle.hang: unknown key (expected one of: crash, crash_loop, '
         'memory_limit, cpu_limit, hung, ready, recovery)'),
    ]
    for alerts, want in cases:
        text = '{\n' + PLUGINS + '"alerts": {\n' + alerts + '\n}}\n'
        r, path = bad_config(tmp_path, text)
        assert r.returncode == 2, (r.stdout, r.stderr)
        assert r.stderr == "supervisor: %s:%s\n" % (path, want), (r.stderr, want)


def test_bad_rule_on_reload_changes_nothing(daemon):
    rule = {"name": "hot", "plugins": ["crasher"], "metric": "cpu.avg", "op": ">",
            "value": 99, "window": "5s"}
    cfg = start(daemon, [crasher()], alerts={"targets": [TARGET], "rules": [rule]})
    cfg["alerts"]["rules"][0]["op"] = "=>"
    with open(daemon.config_path, "w") as f:
        json.dump(cfg, f)
    r = daemon.request({"cmd": "reload"})
    assert r["ok"] is False and r["error"]["code"] == "config-error"
    assert 'alerts.rules[0].op: must be one of ">", ">=", "<", "<=", got "=>"' in \
        r["error"]["message"]
    assert daemon.result("alerts")["rules"] == 1


def test_reload_keeps_unchanged_rules_and_resolves_changed_ones(daemon):
    hog = plugin("hog", "hog", config={"busy": True})
    rule = {"name": "hot", "plugins": ["hog"], "metric": "cpu.avg", "op": ">",
            "value": 20, "window": "1s"}
    cfg = start(daemon, [hog], alerts={"targets": [TARGET], "rules": [rule]},
                metrics={"poll_interval": 0.25, "history_duration": 60})
    line = daemon.reply(10)
    assert line.startswith("🟠 hot: hog cpu.avg "), line

    # The same rules (another key changed): the alert goes on, nothing said.
    cfg["alerts"]["repeat"] = "20m"
    with open(daemon.config_path, "w") as f:
        json.dump(cfg, f)
    assert daemon.result("reload")["unchanged"] == 2
    daemon.no_reply(1.0)
    [a] = daemon.result("alerts")["firing"]
    assert a["source"] == "hot" and a["count"] == 1

    # The rule changed: its alert is over, the new rule fires afresh.
    cfg["alerts"]["rules"][0]["value"] = 10
    with open(daemon.config_path, "w") as f:
        json.dump(cfg, f)
    daemon.result("reload")
    assert daemon.reply() == "✅ hot on hog: the rule was changed or removed by a reload"
    assert daemon.result("alerts")["rules"] == 1
    # Within the collapse interval of the last line: said in a summary later.
    wait_for(lambda: [a["source"] for a in daemon.result("alerts")["firing"]] == ["hot"],
             what="the new rule to fire")
    daemon.no_reply(0.5)
