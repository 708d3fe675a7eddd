"""Following plugin output live: the `log` topic of subscribe, and
`supervisorctl tail -f [NAME]` on top of it (like supervisorctl tail -f and
pm2 logs). `tail NAME` stays a snapshot.
"""
import json
import os
import queue
import re
import signal
import socket
import subprocess
import threading
import time

import pytest

from conftest import DICE, SLOW, SUPERVISORCTL, Conn, Subscriber, plugin, wait_for


def flood(name, **config):
    """tests/plugins/flood.py under name, claiming a command of that name."""
    config.setdefault("commands", [name.replace("-", "")])
    return plugin(name, "flood", config=config)


class Follower:
    """supervisorctl tail -f ... running; its stdout lines in a queue."""

    def __init__(self, daemon, *args):
        self.proc = subprocess.Popen([SUPERVISORCTL, "-s", daemon.sock, "tail", "-f", *args],
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.lines = queue.Queue()
        self.seen = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in self.proc.stdout:
            self.lines.put(line.rstrip("\n"))

    def wait(self, pred, timeout=10.0, what="line"):
        deadline = time.monotonic() + timeout * SLOW
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError("%s not seen; got %s" % (what, self.seen[-10:]))
            try:
                line = self.lines.get(timeout=left)
            except queue.Empty:
                continue
            self.seen.append(line)
            if pred(line):
                return line

    def stop(self):
        """SIGINT, as an operator's ^C: exit 0."""
        self.proc.send_signal(signal.SIGINT)
        rc = self.proc.wait(10 * SLOW)
        err = self.proc.stderr.read()
        return rc, err


def test_tail_f_name_prints_kept_lines_then_follows_stdout_stderr_and_log(daemon):
    daemon.start([DICE, flood("talker", stream="stderr", lines=3)])
    daemon.wait_state("talker", "RUNNING")
    wait_for(lambda: len(daemon.result("tail", plugin="talker")["lines"]) == 3,
             what="three stderr lines kept")
    f = Follower(daemon, "talker")
    # First the stderr lines the daemon kept, as tail shows them ...
    for i in (1, 2, 3):
        assert f.wait(lambda l: True) == "flood %06d" % i
    # ... then what comes, on any stream, as the plugin wrote it.
    talker_pid = daemon.status("talker")["pid"]
    with open("/proc/%d/fd/1" % talker_pid, "w") as out:
        out.write("to stdout\n")
    with open("/proc/%d/fd/2" % talker_pid, "w") as err:
        err.write("to stderr \x1b[31mred\n")
    assert f.wait(lambda l: True) == "to stdout"
    # Control characters are shown as ?: a plugin cannot drive the terminal.
    assert f.wait(lambda l: True) == "to stderr ?[31mred"
    rc, err = f.stop()
    assert rc == 0, err
    # tail without -f is still the snapshot of kept stderr lines.
    r = daemon.ctl("tail", "talker", check=0)
    assert r.stdout.splitlines()[-1] == "to stderr ?[31mred"


def test_tail_f_of_everything_names_each_plugin(daemon):
    daemon.start([flood("a", stream="stdout", lines=1000, every=0.05),
                  flood("b", stream="log", lines=1000, every=0.05)])
    f = Follower(daemon)
    f.wait(lambda l: re.fullmatch(r"a \| flood \d{6}", l), what="a line of a")
    f.wait(lambda l: re.fullmatch(r"b \| flood \d{6}", l), what="a log message of b")
    rc, err = f.stop()
    assert rc == 0 and err == "", err


def test_the_name_filter_is_applied_by_the_daemon(daemon):
    daemon.start([flood("a", stream="stdout", lines=100000, every=0.01),
                  flood("b", stream="stdout", lines=100000, every=0.01)])
    sub = Subscriber(daemon, topics=["log", "state"])
    c = Conn(daemon.sock)
    reply = c.ask({"cmd": "subscribe", "topics": ["log", "state"], "plugin": "b"})
    assert reply == {"ok": True, "result": {"topics": ["state", "log"], "plugin": "b"}}
    # The unfiltered subscriber sees both; the filtered one b alone, for
    # every topic (its restart's state events too).
    sub.wait(lambda e: e.get("plugin") == "a" and e["event"] == "log", what="a's line")
    sub.wait(lambda e: e.get("plugin") == "b" and e["event"] == "log", what="b's line")
    daemon.ctl("restart", "a", check=0)
    daemon.ctl("restart", "b", check=0)
    seen = set()
    while True:
        ev = c.line()
        seen.add((ev["event"], ev["plugin"]))
        if ev["event"] == "state" and ev["to"] == "RUNNING":
            break
    assert seen == {("log", "b"), ("state", "b")}, seen
    ev = c.line()
    assert ev["plugin"] == "b" and set(ev) == {"event", "time", "plugin", "pid", "stream",
                                               "line"}, ev
    assert ev["stream"] == "stdout" and re.fullmatch(r"flood \d{6}", ev["line"]), ev
    c.close()
    sub.close()


def test_log_events_carry_the_level_of_log_messages(daemon):
    daemon.start([flood("a", stream="log", lines=1000, every=0.05)])
    sub = Subscriber(daemon, topics=["log"])
    ev = sub.wait(lambda e: e["event"] == "log", what="a log event")
    assert ev["stream"] == "log" and ev["level"] == "info", ev
    assert ev["pid"] == daemon.status("a")["pid"]


@pytest.mark.parametrize("req, code, message", [
    ({"cmd": "subscribe", "topics": ["log"], "plugin": "ghost"}, "unknown-plugin",
     'no plugin named "ghost"'),
    ({"cmd": "subscribe", "topics": ["log"], "plugin": 7}, "bad-argument",
     "plugin must be a string"),
    ({"cmd": "subscribe", "topics": ["logs"]}, "bad-argument",
     "unknown topic; topics are: state, crash, sample, log, alert"),
])
def test_bad_subscriptions_are_refused(daemon, req, code, message):
    daemon.start([DICE])
    c = Conn(daemon.sock)
    assert c.ask(req) == {"ok": False, "error": {"code": code, "message": message}}
    # The connection is no subscriber: it still answers.
    assert c.ask({"cmd": "version"})["ok"] is True
    c.close()


def test_tail_f_of_an_unknown_plugin_fails(daemon):
    daemon.start([DICE])
    r = daemon.ctl("tail", "-f", "ghost")
    assert r.returncode == 1
    assert r.stderr == 'supervisorctl: no plugin named "ghost" (unknown-plugin)\n'
    r = daemon.ctl("status", "-f")
    assert r.returncode == 2 and "-f is for tail only" in r.stderr


def test_lines_the_log_budget_leaves_out_still_reach_followers(daemon):
    # One line a second into the log: the 300 lines are suppressed there,
    # but a follower gets every one.
    cfg = daemon.config([flood("chatty", stream="stderr", lines=300, every=0.002)],
                        output={"lines_per_second": 1, "burst_lines": 1})
    for p in cfg["plugins"]:
        p["autostart"] = False
    daemon.start(config=cfg)
    sub = Subscriber(daemon, topics=["log"])
    daemon.ctl("start", "chatty", check=0)
    got = []
    while len(got) < 300:
        ev = sub.next()
        got.append(ev["line"])
    assert got == ["flood %06d" % i for i in range(1, 301)]
    wait_for(lambda: daemon.status("chatty")["output_suppressed"] > 250,
             what="the log budget to leave lines out")
    sub.close()


def test_a_follower_that_does_not_read_is_dropped_and_told(daemon):
    # yes(1) into stdout: lines of two bytes, each a log event of ~100.
    daemon.start([DICE, flood("yes", stream="stdout", yes=True)])
    slow = Conn(daemon.sock, timeout=30)
    slow.s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    assert slow.ask({"cmd": "subscribe", "topics": ["log"]})["ok"] is True
    other = Subscriber(daemon, topics=["state"])
    daemon.wait_log(r"control: client pid \d+ uid \d+ dropped: not reading its replies "
                    r"\(over 4 MiB queued\); events to it stop here", timeout=30)
    # Everyone else carries on.
    assert daemon.result("status", plugin="dice-roller")["state"] == "RUNNING"
    other.close()
    # What was queued still comes, whole lines, then why it ends.
    data = slow.rest()
    lines = data.split(b"\n")
    assert lines[-1] == b""
    last = json.loads(lines[-2])
    assert last == {"ok": False, "error": {"code": "not-reading", "message":
                    "over 4 MiB of events queued to this client: it is not reading fast "
                    "enough and is dropped; events after this point were not sent"}}
    assert len(lines) > 10000
    assert all(json.loads(l)["event"] == "log" for l in lines[1:-2:997])
    slow.close()


def test_a_dropped_follower_that_never_reads_is_closed_after_10_s(daemon):
    daemon.start([flood("yes", stream="stdout", yes=True)])
    slow = Conn(daemon.sock, timeout=30)
    slow.s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    assert slow.ask({"cmd": "subscribe", "topics": ["log"]})["ok"] is True
    daemon.wait_log(r"dropped: not reading its replies", timeout=30)
    dropped = time.monotonic()
    # It never reads: its 4 MiB are let go after 10 s without progress.
    daemon.wait_log(r"control: client pid \d+ uid \d+ took nothing of what was queued to it "
                    r"for 10 s after it was dropped; closed", timeout=20)
    assert time.monotonic() - dropped >= 9.5
    data = slow.rest()
    assert b"not-reading" not in data      # the end of the queue never went out
    slow.close()
    assert daemon.result("version")["version"] == "0.1.0"


def test_supervisorctl_tail_f_says_it_was_dropped(daemon):
    daemon.start([flood("yes", stream="stdout", yes=True)])
    # Its stdout is a pipe nobody reads for now: it stops reading the socket.
    r, w = os.pipe()
    p = subprocess.Popen([SUPERVISORCTL, "-s", daemon.sock, "tail", "-f", "yes"],
                         stdout=w, stderr=subprocess.PIPE, text=True)
    os.close(w)
    daemon.wait_log(r"dropped: not reading its replies", timeout=30)
    with os.fdopen(r, "rb") as out:
        data = out.read()
    assert p.wait(10 * SLOW) == 3, p.stderr.read()
    assert data.count(b"y\n") > 1000
    assert p.stderr.read() == (
        "supervisorctl: the supervisor on %s closed the connection: over 4 MiB of events "
        "queued to this client: it is not reading fast enough and is dropped; events after "
        "this point were not sent (not-reading)\n" % daemon.sock)


def test_watch_log_prints_one_line_per_output_line(daemon):
    daemon.start([flood("a", stream="stderr", lines=1000, every=0.05)])
    p = subprocess.Popen([SUPERVISORCTL, "-s", daemon.sock, "watch", "log"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    line = p.stdout.readline()
    pid = daemon.status("a")["pid"]
    assert re.fullmatch(r"\d\d:\d\d:\d\d a\[%d\] stderr: flood \d{6}\n" % pid, line), line
    p.send_signal(signal.SIGINT)
    assert p.wait(10 * SLOW) == 0
    assert p.stderr.read().startswith("watching log events on ")
