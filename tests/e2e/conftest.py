"""End-to-end harness: one isolated supervisor per test.

Each test gets a temp dir with its own config and control socket, starts the
real daemon binary from $SUPERVISOR_BUILD (default build/), drives the console
connector through the daemon's stdin/stdout pipes, and reaches the control
socket with JSON or the real supervisorctl. Waits are conditions with
deadlines, never bare sleeps. At teardown the daemon must exit 0 on SIGTERM,
leave no plugin process behind, and its log must hold no sanitizer report.
"""
import json
import os
import queue
import re
import resource
import signal
import socket
import subprocess
import threading
import time

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILD = os.path.join(ROOT, os.environ.get("SUPERVISOR_BUILD", "build"))
SUPERVISOR = os.path.join(BUILD, "bin", "supervisor")
SUPERVISORCTL = os.path.join(BUILD, "bin", "supervisorctl")
TEST_PLUGINS = os.path.join(ROOT, "tests", "plugins")
SANITIZED = "asan" in os.path.basename(BUILD)
# Sanitized binaries are slower; deadlines stretch with them.
SLOW = 3.0 if SANITIZED else 1.0


def wait_for(cond, timeout=5.0, interval=0.02, what="condition"):
    """Poll cond() until it returns a true value; fail after timeout."""
    deadline = time.monotonic() + timeout * SLOW
    while True:
        v = cond()
        if v:
            return v
        if time.monotonic() > deadline:
            raise AssertionError("timed out after %.1fs waiting for %s" % (timeout * SLOW, what))
        time.sleep(interval)


def fd_room(need=2400):
    """Raise this process's open-file limit to need; (soft, hard) before."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard < need:
        pytest.skip("the test itself needs %d open files (hard limit %d)" % (need, hard))
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, need), hard))
    return soft, hard


def tplugin(name):
    return os.path.join(TEST_PLUGINS, name + ".py")


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "serial: runs alone, after the tests in parallel workers "
        "(scripts/run-tests): it reads state every daemon on the machine shares")


def plugin(name, script, config=None, restart=None, **extra):
    """A config entry for test plugin tests/plugins/SCRIPT.py named name."""
    p = {"name": name, "exec": [tplugin(script)], "config": config or {}}
    if restart:
        p["restart"] = restart
    p.update(extra)
    return p


def grant_config_files(p):
    """Grant a plugin read access to the existing files its config names by a
    key ending in "_file" (the IRC connector's TLS and SASL files), as its
    operator would in its "sandbox" (docs/sandbox.md)."""
    if not isinstance(p, dict) or not isinstance(p.get("config"), dict):
        return p
    files = [v for k, v in p["config"].items() if k.endswith("_file") and isinstance(v, str)
             and os.path.isabs(v) and os.path.exists(v)]
    if files:
        sb = p.setdefault("sandbox", {})
        sb["read"] = list(sb.get("read", [])) + [f for f in files if f not in sb.get("read", [])]
    return p


def connectable(path):
    """True if a connection to the Unix socket at path goes through."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        s.connect(path)
        return True
    except OSError:
        return False
    finally:
        s.close()


def ctl(*args, env=None, cwd=None, timeout=20):
    """The real supervisorctl, with no -s added (Daemon.ctl adds it)."""
    e = dict(os.environ)
    e.pop("SUPERVISOR_SOCKET", None)
    if env:
        e.update(env)
    return subprocess.run([SUPERVISORCTL, *args], capture_output=True, text=True,
                          env=e, cwd=cwd, timeout=timeout * SLOW)


def pid_alive(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            state = f.read().rsplit(")", 1)[1].split()[0]
        return state != "Z"
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return False


class Daemon:
    def __init__(self, tmp_path):
        self.dir = str(tmp_path)
        self.sock = os.path.join(self.dir, "run", "supervisor.sock")
        self.log_path = os.path.join(self.dir, "supervisor.log")
        self.proc = None
        self.lines = queue.Queue()
        self.seen_pids = set()
        self.stdout_lines = []

    def config(self, plugins, **top):
        cfg = {"socket": self.sock}
        cfg.update(top)
        cfg["plugins"] = plugins
        return cfg

    def start(self, plugins=None, config=None, wait_running=True, args=(), env=None):
        if config is None:
            config = self.config(plugins or [])
        for p in config.get("plugins", []):
            grant_config_files(p)
        self.config_path = os.path.join(self.dir, "config.json")
        with open(self.config_path, "w") as f:
            json.dump(config, f, indent=2)
        self.log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(
            [SUPERVISOR, "-c", self.config_path, *args],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.log,
            cwd=self.dir, env=None if env is None else dict(os.environ, **env))
        t = threading.Thread(target=self._reader, daemon=True)
        t.start()
        wait_for(lambda: self.connectable() or self.proc.poll() is not None,
                 what="control socket")
        assert self.proc.poll() is None, "daemon exited at start:\n" + self.read_log()
        if wait_running:
            names = [p["name"] for p in config["plugins"] if p.get("autostart", True)]
            for n in names:
                self.wait_state(n, "RUNNING")
        return self

    def connectable(self):
        return connectable(self.sock)

    def _reader(self):
        for raw in self.proc.stdout:
            line = raw.decode("utf-8", "replace").rstrip("\n")
            self.stdout_lines.append(line)
            self.lines.put(line)

    # chat through the console connector
    def say(self, text):
        self.proc.stdin.write((text + "\n").encode())
        self.proc.stdin.flush()

    def reply(self, timeout=5.0):
        try:
            return self.lines.get(timeout=timeout * SLOW)
        except queue.Empty:
            raise AssertionError("no reply on the console within %.1fs; log:\n%s"
                                 % (timeout * SLOW, self.read_log()[-3000:]))

    def ask(self, text, timeout=5.0):
        self.say(text)
        return self.reply(timeout)

    def no_reply(self, within=0.5):
        try:
            line = self.lines.get(timeout=within)
        except queue.Empty:
            return True
        raise AssertionError("unexpected console output: %r" % line)

    # control socket
    def request(self, obj, timeout=5.0):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(timeout * SLOW)
        s.connect(self.sock)
        data = obj if isinstance(obj, (bytes, str)) else json.dumps(obj)
        if isinstance(data, str):
            data = data.encode()
        s.sendall(data + b"\n")
        buf = b""
        while not buf.endswith(b"\n"):
            chunk = s.recv(65536)
            if not chunk:
                break
            buf += chunk
        s.close()
        return json.loads(buf)

    def result(self, cmd, **args):
        r = self.request(dict(cmd=cmd, **args))
        assert r["ok"], r
        return r["result"]

    def status(self, name):
        st = self.result("status", plugin=name)
        if st.get("pid"):
            self.seen_pids.add(st["pid"])
        return st

    def state(self, name):
        return self.status(name)["state"]

    def wait_state(self, name, state, timeout=5.0):
        return wait_for(lambda: self.state(name) == state and self.status(name),
                        timeout, what="%s to be %s (log tail:\n%s)" % (
                            name, state, self.read_log()[-2000:]))

    def ctl(self, *args, check=None):
        r = subprocess.run([SUPERVISORCTL, "-s", self.sock, *args],
                           capture_output=True, text=True, timeout=20 * SLOW)
        if check is not None:
            assert r.returncode == check, (r.returncode, r.stdout, r.stderr)
        return r

    def read_log(self):
        with open(self.log_path, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def wait_log(self, pattern, timeout=5.0):
        rx = re.compile(pattern)
        return wait_for(lambda: rx.search(self.read_log()), timeout,
                        what="log line /%s/" % pattern)

    def stop(self, timeout=20.0):
        """SIGTERM; returns the exit status."""
        if self.proc is None or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else 0
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout * SLOW)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise AssertionError("daemon did not exit within %.0fs of SIGTERM" % (timeout * SLOW))

    def close(self):
        status = self.stop()
        try:
            self.proc.stdin.close()
        except Exception:
            pass
        self.log.close()
        log = self.read_log()
        assert "Sanitizer" not in log and "runtime error:" not in log, log[-5000:]
        assert status == 0, "daemon exit status %s; log:\n%s" % (status, log[-3000:])
        left = [p for p in self.seen_pids if pid_alive(p)]
        assert not left, "plugin processes left behind: %s" % left


class Conn:
    """One control connection: send request lines, read reply/event lines."""

    def __init__(self, path, timeout=5.0):
        self.s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.s.settimeout(timeout * SLOW)
        self.s.connect(path)
        self.buf = b""

    def send(self, obj):
        data = obj if isinstance(obj, bytes) else json.dumps(obj).encode()
        self.s.sendall(data + b"\n")

    def raw_line(self):
        """The next line without its newline, or None at end of file."""
        while b"\n" not in self.buf:
            try:
                chunk = self.s.recv(65536)
            except ConnectionResetError:
                chunk = b""
            if not chunk:
                return None
            self.buf += chunk
        line, self.buf = self.buf.split(b"\n", 1)
        return line

    def line(self):
        raw = self.raw_line()
        assert raw is not None, "connection closed; no line"
        return json.loads(raw)

    def ask(self, obj):
        self.send(obj)
        return self.line()

    def rest(self):
        """Everything until end of file (a reset counts as the end)."""
        data = self.buf
        self.buf = b""
        while True:
            try:
                chunk = self.s.recv(65536)
            except ConnectionResetError:
                return data
            if not chunk:
                return data
            data += chunk

    def close(self):
        self.s.close()


class Subscriber(Conn):
    """A subscription (to a Daemon or a socket path); wait() skips events
    until one matches. topics None: every topic."""

    def __init__(self, target, topics=None):
        super().__init__(target.sock if isinstance(target, Daemon) else target,
                         timeout=10.0)
        req = {"cmd": "subscribe"}
        if topics is not None:
            req["topics"] = list(topics)
        self.reply = self.ask(req)
        assert self.reply["ok"], self.reply
        self.events = []

    def next(self, timeout=10.0):
        """The next event, within timeout seconds."""
        self.s.settimeout(max(timeout, 0.01) * SLOW)
        ev = self.line()
        self.events.append(ev)
        return ev

    def wait(self, pred, timeout=10.0, what="event"):
        deadline = time.monotonic() + timeout * SLOW
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError("%s not seen; got %s" % (what, self.events[-10:]))
            ev = self.next(left / SLOW)
            if pred(ev):
                return ev


@pytest.fixture
def daemon(tmp_path):
    d = Daemon(tmp_path)
    yield d
    if d.proc is not None:
        d.close()


CONSOLE = {"name": "console", "role": "connector", "exec": ["console"], "terminal": True}
DICE = {"name": "dice-roller", "exec": ["dice-roller"]}
EIGHTBALL = {"name": "8ball", "exec": ["8ball"]}
PICK = {"name": "pick", "exec": ["pick"]}
