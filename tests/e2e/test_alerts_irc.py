"""Alerts in an IRC ops channel (docs/alerts.md), against a real ngircd.

The bot joins #test (its own channel) and #ops, where its alerts go; a test
client sits in both, as an admin would. A crash is exactly one PRIVMSG in
#ops with its reason, the recovery follows; nothing reaches #test; a crash
loop is one FATAL line; !admin alerts and !admin silence answer from the
channel they were asked in, through the same command table as
supervisorctl.
"""
import json
import os
import re
import time

import pytest

from conftest import SLOW, plugin
from test_irc import CHANNEL, NGIRCD, clients, irc_plugin, ircd  # noqa: F401 (fixtures)

pytestmark = pytest.mark.skipif(
    not os.access(NGIRCD, os.X_OK),
    reason="ngircd is not installed (scripts/install-deps installs it)")

OPS = "#ops"


def crasher(name, restart=None, **config):
    cfg = {"on_command": True, "exit_code": 3}
    cfg.update(config)
    return plugin(name, "crasher", config=cfg, restart=restart)


def start(daemon, ircd, clients, plugins, **alerts):
    client = clients(ircd.port, "tester").register()
    client.send("JOIN " + CHANNEL)
    client.send("JOIN " + OPS)
    for ch in (CHANNEL, OPS):
        client.expect(lambda m, ch=ch: m.command == "JOIN" and m.nick == "tester" and
                      m.params[0] == ch, what="our JOIN of " + ch)
    cfg = daemon.config([irc_plugin(ircd.port, channels=[CHANNEL, OPS]), *plugins],
                        chat={"admins": ["irc:tester!*@*"], "admin_rate": 0})
    cfg["alerts"] = dict({"targets": [{"connector": "irc", "channel": OPS}]}, **alerts)
    daemon.start(config=cfg)
    for ch in (CHANNEL, OPS):
        client.send("NAMES " + ch)
        client.expect(lambda m, ch=ch: (m.command == "JOIN" and m.nick == "bot" and
                                        m.params[0] == ch) or
                      (m.command == "353" and m.params[-2] == ch and
                       "bot" in [n.lstrip("~&@%+") for n in m.params[-1].split()]),
                      what="the bot in " + ch)
    return client


def bot_line(client, channel=OPS, timeout=5.0):
    m = client.expect(lambda m: m.command == "PRIVMSG" and m.nick == "bot", timeout,
                      "a PRIVMSG from the bot")
    assert m.params[0] == channel, (m.params, m.raw)
    return m.params[1]


def no_bot_line(client, within=1.0):
    client.nothing(lambda m: m.command == "PRIVMSG" and m.nick == "bot", within)


def test_crash_alert_and_recovery_in_the_ops_channel(ircd, daemon, clients):
    client = start(daemon, ircd, clients, [crasher("crasher"), crasher("other")])
    daemon.ctl("signal", "crasher", "SEGV", check=0)
    line = bot_line(client)
    assert re.fullmatch(r"🟠 crasher crashed: signal SIGSEGV \(11\)(, core dumped)? after "
                        r"[\d.]+ s; restart 1 in 0 s( · stderr: .*)?", line), line
    line = bot_line(client)
    assert re.fullmatch(r"✅ crasher RUNNING again after 1 crash in [\d.]+ s", line), line
    no_bot_line(client)

    # A crash by a chat command in #test: its alert goes to #ops only.
    client.say(CHANNEL, "!other")
    line = bot_line(client)
    assert re.fullmatch(r"🟠 other crashed: exit 3 after [\d.]+ s; restart 1 in 0 s · "
                        r"stderr: crasher: about to exit with code 3", line), line
    assert re.fullmatch(r"✅ other RUNNING again after 1 crash in [\d.]+ s", bot_line(client))
    no_bot_line(client)

    # !admin alerts and !admin silence answer where they were asked.
    client.say(CHANNEL, "!admin alerts")
    assert bot_line(client, CHANNEL) == "alerts: 0 firing · 0 pending · 0 silenced · 0 rules"
    # Nothing fires: the newest three lines of the history follow.
    recent = [bot_line(client, CHANNEL) for _ in range(3)]
    for r, want in zip(recent, ("✅ crasher RUNNING again", "🟠 other crashed: exit 3",
                                "✅ other RUNNING again")):
        assert re.match(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d " + want, r), recent
    client.say(CHANNEL, "!admin silence other 10m")
    assert bot_line(client, CHANNEL) == "other silenced for 10m"
    res = daemon.result("alerts")
    assert res["targets"] == [{"connector": "irc", "channel": OPS, "state": "RUNNING",
                               "sent": 4, "queued": 0, "dropped": 0}]
    assert [s["name"] for s in res["silences"]] == ["other"]


def test_crash_loop_is_one_fatal_line_in_the_ops_channel(ircd, daemon, clients):
    restart = {"first_delay": 0, "initial_delay": 0.01, "multiplier": 1,
               "max_delay": 0.01, "max_crashes": 3, "crash_window": 60,
               "cooldown": 0.05, "reset_after": 60}
    client = start(daemon, ircd, clients, [crasher("looper", restart=restart)])
    client.say(CHANNEL, "!admin signal looper KILL")
    assert bot_line(client, CHANNEL).startswith("looper: SIGKILL sent to pid ")
    # From then on it crashes 10 ms after each ready: reload it so.
    lines = [bot_line(client), bot_line(client)]
    cfg_crash = crasher("looper", restart=restart, after=0.01, on_command=False)
    with open(daemon.config_path) as f:
        cfg = json.load(f)
    cfg["plugins"][1] = cfg_crash
    with open(daemon.config_path, "w") as f:
        json.dump(cfg, f)
    assert daemon.result("reload")["changed"] == ["looper"]
    deadline = time.monotonic() + 60 * SLOW
    while daemon.status("looper")["crashes"] < 51:
        assert time.monotonic() < deadline, "50 crashes took too long"
        time.sleep(0.1)
    try:
        while True:
            lines.append(bot_line(client, timeout=1.0))
    except AssertionError:
        pass
    assert re.fullmatch(r"🟠 looper crashed: signal SIGKILL \(9\) .*", lines[0]), lines
    assert re.fullmatch(r"✅ looper RUNNING again after 1 crash in .*", lines[1]), lines
    # The crashes that came back within the collapse interval are counted,
    # not said; the breaker's opening is: one FATAL line, nothing more.
    assert len(lines) == 3, lines
    assert re.fullmatch(r"🔴 looper FATAL: crash loop: more than 3 crashes in 60 s; breaker "
                        r"open, trial start in 0.05 s · last: crashed: exit 3 .*", lines[2]), lines


def test_alerts_wait_while_the_irc_server_is_away(ircd, daemon, clients):
    # Reconnect attempts every 3 s exactly, so the test client is back in
    # #ops before the bot.
    reconnect = {"initial": 3, "multiplier": 1, "max": 3, "jitter": 0,
                 "max_failures": 100, "window": 60, "cooldown": 5}
    client = clients(ircd.port, "tester").register()
    client.send("JOIN " + OPS)
    client.expect(lambda m: m.command == "JOIN" and m.nick == "tester", what="our JOIN")
    cfg = daemon.config([irc_plugin(ircd.port, channels=[OPS], reconnect=reconnect),
                         crasher("crasher")])
    cfg["alerts"] = {"targets": [{"connector": "irc", "channel": OPS}]}
    daemon.start(config=cfg)
    client.send("NAMES " + OPS)
    client.expect(lambda m: (m.command == "JOIN" and m.nick == "bot") or
                  (m.command == "353" and "bot" in [n.lstrip("~&@%+") for n in
                                                    m.params[-1].split()]),
                  what="the bot in " + OPS)

    ircd.kill()
    daemon.wait_log(r"irc: warning: lost connection to 127\.0\.0\.1:%d" % ircd.port)
    # The crash happens while the bot is away: its lines wait in the connector.
    daemon.ctl("signal", "crasher", "KILL", check=0)
    daemon.wait_log(r"irc: warning: not connected: lines for #ops and others wait for "
                    r"the next connection \(at most 32, for 600 s\)")
    daemon.wait_log(r"alert: ✅ crasher RUNNING again")
    daemon.wait_log(r"cannot connect to 127\.0\.0\.1:%d: connect: Connection refused; "
                    r"attempt 3 in 3\.0 s" % ircd.port, timeout=10)
    ircd.start()
    client2 = clients(ircd.port, "tester2").register()
    client2.send("JOIN " + OPS)
    client2.expect(lambda m: m.command == "JOIN" and m.nick == "tester2", what="our JOIN")
    line = bot_line(client2, timeout=10)
    assert re.fullmatch(r"🟠 crasher crashed: signal SIGKILL \(9\) after [\d.]+ s; restart 1 in "
                        r"0 s( · stderr: .*)?", line), line
    assert re.fullmatch(r"✅ crasher RUNNING again after 1 crash in [\d.]+ s", bot_line(client2))
    daemon.wait_log(r"irc: 2 lines said while not connected sent; 0 older than 600 s and "
                    r"0 over 32 dropped")
