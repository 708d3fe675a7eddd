"""A spawn that fails before the child exists (descriptors used up) is a crash:
it gets a record with reason "spawn", goes through the restart policy, and the
plugin comes back by itself once descriptors are free again. Status never shows
a state the daemon is not acting on (BACKOFF with nothing scheduled, STOPPING
without a process)."""
import os
import resource
import signal
import socket

from conftest import Conn, tplugin, wait_for

FAST = {"first_delay": 0, "initial_delay": 0.2, "multiplier": 2, "max_delay": 0.5,
        "max_crashes": 1000, "crash_window": 60}
# Long sampling interval: the sampler opens /proc files of its own, and the
# test wants to be the only one using up the daemon's descriptors.
METRICS = {"poll_interval": 3600, "history_duration": 3600}


def victim(restart=None):
    return {"name": "victim", "exec": [tplugin("echo")], "restart": restart or FAST}


def open_fds(pid):
    return len(os.listdir("/proc/%d/fd" % pid))


class Exhaust:
    """Use up the daemon's descriptors with idle control clients. Requests
    go through self.conn, opened before."""

    def __init__(self, daemon):
        self.daemon = daemon
        self.pid = daemon.proc.pid
        self.clients = []
        self.conn = Conn(daemon.sock)
        assert self.conn.ask({"cmd": "version"})["ok"]

    def __enter__(self):
        used = open_fds(self.pid)
        # Room for the clients below and nothing more: 9 descriptors, what a
        # spawn needs (4 pipes and its sandbox's ruleset).
        limit = used + 9
        resource.prlimit(self.pid, resource.RLIMIT_NOFILE, (limit, limit))
        for _ in range(9 + 8):
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.connect(self.daemon.sock)
            self.clients.append(s)
        wait_for(lambda: open_fds(self.pid) >= limit, what="the daemon's descriptors used up")
        return self

    def __exit__(self, *exc):
        for s in self.clients:
            s.close()
        self.clients = []


def result(conn, cmd, **args):
    r = conn.ask(dict(cmd=cmd, **args))
    assert r["ok"], r
    return r["result"]


def spawn_crashes(conn):
    return [c for c in result(conn, "crashes", plugin="victim")["crashes"]
            if c["reason"] == "spawn"]


def acting(conn):
    """The state is one the daemon acts on: no STOPPING or STARTING without a pid."""
    st = result(conn, "status", plugin="victim")
    if st["state"] in ("STARTING", "RUNNING", "STOPPING"):
        assert st["pid"], "%s with no process: %s" % (st["state"], st)
    return st


def test_spawn_failure_is_a_crash_and_retried(daemon):
    daemon.start(config=daemon.config([victim()], metrics=METRICS))
    first = daemon.status("victim")["pid"]
    with Exhaust(daemon) as ex:
        os.kill(first, signal.SIGKILL)
        crashes = wait_for(lambda: spawn_crashes(ex.conn), what="a spawn crash record")
        c = crashes[0]
        assert c["pid"] is None and c["exit_code"] is None and c["signal"] is None
        assert "Too many open files" in c["detail"], c
        assert c["detail"].split(":")[0] in ("socketpair", "pipe"), c
        # Retried with backoff while descriptors stay short.
        wait_for(lambda: len(spawn_crashes(ex.conn)) >= 2, what="a second spawn attempt")
        st = acting(ex.conn)
        assert st["state"] == "BACKOFF", st
        daemon.wait_log(r"plugin victim: cannot start: (socketpair|pipe): Too many open files")
    # Descriptors free again: it comes back by itself.
    st = wait_for(lambda: acting(ex.conn)["state"] == "RUNNING" and daemon.status("victim"),
                  timeout=5, what="victim RUNNING again")
    assert st["pid"] and st["pid"] != first
    r = daemon.ctl("crashes", "victim", check=0)
    rows = [l.split() for l in r.stdout.splitlines() if " spawn " in l]
    assert rows and "Too many open files" in r.stdout, r.stdout
    # TIME (date and time), PID, REASON, EXIT/SIGNAL: no pid, no exit status.
    assert rows[0][2:5] == ["-", "spawn", "-"], r.stdout


def test_restart_that_cannot_spawn_goes_backoff(daemon):
    daemon.start(config=daemon.config([victim()], metrics=METRICS))
    with Exhaust(daemon) as ex:
        # The stop is asked and answered; the start after the exit fails.
        r = ex.conn.ask({"cmd": "restart", "plugin": "victim"})
        assert r["ok"] and r["result"]["state"] == "STOPPING", r
        wait_for(lambda: spawn_crashes(ex.conn), what="a spawn crash record")
        wait_for(lambda: acting(ex.conn)["state"] == "BACKOFF", what="BACKOFF")
    wait_for(lambda: acting(ex.conn)["state"] == "RUNNING", timeout=5, what="RUNNING again")


def test_start_that_cannot_spawn_says_why(daemon):
    daemon.start(config=daemon.config([dict(victim(), autostart=False)], metrics=METRICS))
    with Exhaust(daemon) as ex:
        r = ex.conn.ask({"cmd": "start", "plugin": "victim"})
        assert not r["ok"], r
        assert r["error"]["code"] == "start-failed", r
        assert "Too many open files" in r["error"]["message"], r
        assert r["error"]["message"].endswith("now BACKOFF"), r
    wait_for(lambda: acting(ex.conn)["state"] == "RUNNING", timeout=5, what="RUNNING again")


def test_trial_start_that_cannot_spawn_stays_fatal_and_retries(daemon):
    loop = dict(FAST, max_crashes=1, crash_window=60, cooldown=0.5)
    daemon.start(config=daemon.config([victim(loop)], metrics=METRICS))
    first = daemon.status("victim")["pid"]
    with Exhaust(daemon) as ex:
        os.kill(first, signal.SIGKILL)
        # kill, then a spawn failure: more than one crash in the window.
        wait_for(lambda: acting(ex.conn)["state"] == "FATAL", what="FATAL")
        # The cooldown's trial cannot spawn either: a record, FATAL again.
        wait_for(lambda: len(spawn_crashes(ex.conn)) >= 2, what="a failed trial start")
        assert acting(ex.conn)["state"] == "FATAL"
    wait_for(lambda: acting(ex.conn)["state"] == "RUNNING", timeout=5, what="the next trial to succeed")
