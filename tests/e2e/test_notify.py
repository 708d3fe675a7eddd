"""The daemon under systemd, Type=notify: the test plays systemd.

It binds the datagram socket systemd would, starts the daemon with
NOTIFY_SOCKET (and WATCHDOG_USEC), and reads what the daemon says: READY=1
once the plugins are up, STATUS= lines, WATCHDOG=1 every half WatchdogSec,
RELOADING=1 then READY=1 around a reload, STOPPING=1 on SIGTERM.
"""
import os
import re
import signal
import socket
import time

import pytest

from conftest import DICE, SLOW, plugin


class Systemd:
    """The notification socket: a path, or an abstract @name."""

    def __init__(self, tmp_path, abstract=False):
        self.s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        if abstract:
            name = "bot-supervisor-test-%d-%d" % (os.getpid(), time.monotonic_ns())
            self.s.bind("\0" + name)
            self.env = "@" + name
        else:
            path = os.path.join(str(tmp_path), "notify")
            self.s.bind(path)
            self.env = path
        self.got = []          # (monotonic, wall, {key: value})

    def next(self, timeout=10.0):
        self.s.settimeout(timeout * SLOW)
        data = self.s.recv(4096)
        msg = dict(line.split("=", 1) for line in data.decode().split("\n") if line)
        self.got.append((time.monotonic(), time.time(), msg))
        return self.got[-1]

    def wait(self, key, value=None, timeout=10.0):
        """The next message with key (=value), skipping others (kept in got)."""
        deadline = time.monotonic() + timeout * SLOW
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError("no %s=%s; got %s" % (key, value, self.got[-10:]))
            try:
                t, wall, msg = self.next(left / SLOW)
            except socket.timeout:
                continue
            if key in msg and (value is None or msg[key] == value):
                return t, wall, msg

    def close(self):
        self.s.close()


@pytest.fixture
def systemd(tmp_path):
    s = Systemd(tmp_path)
    yield s
    s.close()


def slow_plugin(delay=1.0):
    """A plugin that takes delay seconds to send ready."""
    return plugin("slow", "echo", config={"ready_delay": delay, "commands": ["slow"]})


def test_ready_status_watchdog_reload_and_stopping(daemon, systemd):
    started = time.time()
    daemon.start([DICE, slow_plugin(1.0)], wait_running=False,
                 env={"NOTIFY_SOCKET": systemd.env, "WATCHDOG_USEC": "1000000"})
    t_ready, wall_ready, msg = systemd.wait("READY", "1")
    # Not before the slow plugin was up: its RUNNING came first.
    assert wall_ready - started >= 1.0, wall_ready - started
    assert msg["STATUS"] == "2/2 plugins running"
    for name in ("dice-roller", "slow"):
        st = daemon.status(name)
        assert st["state"] == "RUNNING"
        assert st["state_since"] <= wall_ready + 0.001   # rounded to 1 ms
    daemon.wait_log(r"notify: READY=1 \(2/2 plugins running\)")
    daemon.wait_log(r"notify: WATCHDOG=1 every 0\.5 s \(WatchdogSec=1 s\)")

    # WATCHDOG=1 every half WATCHDOG_USEC: 0.5 s, never near the 1 s limit.
    pings = []
    while len(pings) < 6:
        t, _, m = systemd.wait("WATCHDOG", "1", timeout=2.0)
        pings.append(t)
    gaps = [b - a for a, b in zip(pings, pings[1:])]
    assert all(g < 0.9 * SLOW for g in gaps), gaps
    assert sum(gaps) / len(gaps) == pytest.approx(0.5, abs=0.15 * SLOW), gaps

    # A change of state is a new STATUS= line (held back at most a second).
    daemon.ctl("stop", "slow", check=0)
    _, _, msg = systemd.wait("STATUS", "1/2 plugins running; slow STOPPED", timeout=5.0)

    # SIGHUP: RELOADING=1 (with the monotonic time systemd asks for), then READY=1.
    daemon.proc.send_signal(signal.SIGHUP)
    _, _, msg = systemd.wait("RELOADING", "1")
    assert int(msg["MONOTONIC_USEC"]) > 0
    assert msg["STATUS"] == "reloading %s" % daemon.config_path
    i = len(systemd.got)
    _, _, msg = systemd.wait("READY", "1")
    assert msg["STATUS"] == "1/2 plugins running; slow STOPPED"
    assert not any("RELOADING" in m for _, _, m in systemd.got[i:])

    # supervisorctl reload says the same.
    daemon.ctl("reload", check=0)
    systemd.wait("RELOADING", "1")
    systemd.wait("READY", "1")

    # SIGTERM: STOPPING=1 at once, then the daemon exits 0.
    daemon.proc.send_signal(signal.SIGTERM)
    _, _, msg = systemd.wait("STOPPING", "1")
    assert msg["STATUS"].startswith("stopping 2 plugins (SIGTERM)")
    assert daemon.proc.wait(20 * SLOW) == 0


def test_plugins_do_not_inherit_the_notification_variables(daemon, systemd):
    daemon.start([DICE], env={"NOTIFY_SOCKET": systemd.env, "WATCHDOG_USEC": "2000000"})
    systemd.wait("READY", "1")
    pid = daemon.status("dice-roller")["pid"]
    with open("/proc/%d/environ" % pid, "rb") as f:
        env = f.read().split(b"\0")
    names = {e.split(b"=", 1)[0] for e in env if e}
    assert b"SUPERVISOR_PLUGIN" in names
    assert not names & {b"NOTIFY_SOCKET", b"WATCHDOG_USEC", b"WATCHDOG_PID"}


def test_abstract_socket_and_no_plugins(tmp_path, daemon):
    systemd = Systemd(tmp_path, abstract=True)
    try:
        # Nothing to wait for: READY=1 right after the socket listens.
        daemon.start([], env={"NOTIFY_SOCKET": systemd.env})
        _, _, msg = systemd.wait("READY", "1")
        assert msg["STATUS"] == "0/0 plugins running"
        # No WATCHDOG_USEC: no pings.
        with pytest.raises(socket.timeout):
            systemd.next(timeout=1.0)
    finally:
        systemd.close()


def test_a_failing_plugin_does_not_hold_readiness_back(daemon, systemd):
    crasher = plugin("crasher", "crasher", config={"before_ready": True},
                     restart={"first_delay": 30})
    daemon.start([DICE, crasher], wait_running=False,
                 env={"NOTIFY_SOCKET": systemd.env})
    _, _, msg = systemd.wait("READY", "1")
    assert msg["STATUS"].startswith("1/2 plugins running; crasher ")
    assert daemon.state("crasher") == "BACKOFF"


def test_watchdog_pid_of_another_process_means_no_pings(daemon, systemd):
    daemon.start([DICE], env={"NOTIFY_SOCKET": systemd.env, "WATCHDOG_USEC": "200000",
                             "WATCHDOG_PID": "1"})
    systemd.wait("READY", "1")
    with pytest.raises(socket.timeout):
        systemd.next(timeout=1.0)
    assert "WATCHDOG=1 every" not in daemon.read_log()


@pytest.mark.parametrize("value, why", [
    ("relative/notify", "not an absolute path or an @name"),
    ("/" + "x" * 120, "not an absolute path or an @name"),
])
def test_a_bad_notify_socket_is_logged_and_the_daemon_runs(daemon, value, why):
    daemon.start([DICE], env={"NOTIFY_SOCKET": value})
    daemon.wait_log(r"warning: NOTIFY_SOCKET=\S+: " + why)
    assert daemon.result("version")["version"] == "0.1.0"


def test_a_notify_socket_nobody_listens_on_is_logged_once(daemon, tmp_path):
    gone = str(tmp_path / "gone")
    daemon.start([DICE], env={"NOTIFY_SOCKET": gone, "WATCHDOG_USEC": "200000"})
    daemon.wait_log(r"warning: notify: sending to NOTIFY_SOCKET: No such file or directory")
    # Reloads (RELOADING=1, READY=1) and pings every 0.1 s keep failing:
    # still one line.
    for _ in range(3):
        daemon.ctl("reload", check=0)
    assert daemon.read_log().count("sending to NOTIFY_SOCKET") == 1
    assert daemon.result("status", plugin="dice-roller")["state"] == "RUNNING"


def test_log_lines_carry_syslog_priorities_under_journald(daemon):
    """systemd connects stderr to the journal and names that stream in
    JOURNAL_STREAM; the test's log file plays the stream."""
    # start() opens the log file with O_TRUNC: the same inode as made here.
    open(daemon.log_path, "wb").close()
    st = os.stat(daemon.log_path)
    crasher = plugin("crasher", "crasher", config={"before_ready": True},
                     restart={"first_delay": 30})
    daemon.start([DICE, crasher], wait_running=False,
                 env={"JOURNAL_STREAM": "%d:%d" % (st.st_dev, st.st_ino)})
    daemon.wait_state("crasher", "BACKOFF")
    assert os.stat(daemon.log_path).st_ino == st.st_ino
    daemon.wait_log(r"<6>control socket listening on ")
    lines = daemon.read_log().splitlines()
    for line in lines:
        assert re.match(r"<[3467]>", line), line          # a priority, no time stamp
        assert not line[3:].startswith("supervisor: "), line
    log = daemon.read_log()
    assert re.search(r"^<4>warning: plugin crasher: pid \d+ crashed: exit", log, re.M), log
    # A plugin's stderr line, logged by the daemon, is info.
    assert re.search(r"^<6>crasher\[\d+\] stderr: crasher: about to exit", log, re.M), log


def test_a_journal_stream_that_is_not_stderr_changes_nothing(daemon, tmp_path):
    other = tmp_path / "other"
    other.write_text("")
    st = os.stat(other)
    daemon.start([DICE], env={"JOURNAL_STREAM": "%d:%d" % (st.st_dev, st.st_ino)})
    log = daemon.read_log()
    assert re.search(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3} supervisor: control socket "
                     r"listening on ", log, re.M), log
    assert "<6>" not in log
