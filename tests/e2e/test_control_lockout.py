"""Control clients cannot lock the operator out (docs/control.md, "Framing
and limits"): a client that leaves a request unfinished is closed after
control.idle_timeout, and with the table of clients full a new connection
takes the place of the client that has held an unfinished request longest.
"""
import fcntl
import json
import os
import re
import resource
import signal
import socket
import struct
import subprocess
import termios
import time

from conftest import DICE, SLOW, SUPERVISOR, Conn, Subscriber, fd_room, wait_for

MAX_CLIENTS = 1024
PARTIAL = b'{"cmd": "sta'


def unread_by_peer(s):
    """Bytes sent on the Unix socket s that its peer has not read yet."""
    return struct.unpack("i", fcntl.ioctl(s.fileno(), termios.TIOCOUTQ, b"\0" * 4))[0]



def hold_partial(path, n):
    """n connections, each holding an unfinished request the daemon has read."""
    socks = []
    for _ in range(n):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.connect(path)             # blocking: waits while the backlog is full
        s.settimeout(10 * SLOW)
        s.sendall(PARTIAL)
        socks.append(s)
    wait_for(lambda: all(unread_by_peer(s) == 0 for s in socks), 10,
             what="the daemon to read every unfinished request")
    return socks


def start(daemon, idle_timeout=None):
    """DICE, with control.idle_timeout if given (the default is 10 s)."""
    top = {"control": {"idle_timeout": idle_timeout}} if idle_timeout else {}
    daemon.start(config=daemon.config([DICE], **top))


def closed_with(s, code):
    """The one error line the daemon sent before closing s, by its code."""
    s.settimeout(5 * SLOW)
    data = b""
    while True:
        try:
            chunk = s.recv(4096)
        except ConnectionResetError:
            break
        if not chunk:
            break
        data += chunk
    lines = data.split(b"\n")
    assert len(lines) == 2 and lines[1] == b"", data
    reply = json.loads(lines[0])
    assert reply["ok"] is False and reply["error"]["code"] == code, reply
    return reply["error"]["message"]


def test_a_full_table_of_unfinished_requests_does_not_lock_the_operator_out(daemon):
    soft, hard = fd_room()
    start(daemon)           # the default idle timeout, 10 s, outlasts the test
    # The oldest client is a subscriber: never pushed out.
    sub = Subscriber(daemon, topics=["state"])
    socks = []
    try:
        socks = hold_partial(daemon.sock, MAX_CLIENTS - 1)
        t = time.monotonic()
        r = daemon.ctl("status")
        took = time.monotonic() - t
        assert r.returncode == 0, (r.returncode, r.stdout, r.stderr[-500:])
        assert r.stdout.startswith("NAME") and "dice-roller" in r.stdout
        assert took < 2 * SLOW, took
        # The client that held its request longest made room, and was told.
        msg = closed_with(socks[0], "evicted")
        assert re.fullmatch(r"1024 clients already; this connection was holding 12 bytes of "
                            r"an unfinished request, nothing sent for \d+\.\d s, and is "
                            r"closed to make room for a new one", msg), msg
        daemon.wait_log(r"warning: control: 1024 clients already: closed client pid %d uid "
                        r"%d to make room for a new one: holding 12 bytes of an unfinished "
                        r"request, nothing sent for \d+\.\d s" % (os.getpid(), os.geteuid()))
        # Full again (supervisorctl has gone): the next oldest makes room.
        for i in range(1, 4):
            socks += hold_partial(daemon.sock, 1)
            assert daemon.result("version")["version"] == "0.1.0"
            closed_with(socks[i], "evicted")
        # The others still hold their place: they finish their request.
        socks[-1].sendall(b'tus"}\n')
        assert json.loads(_line(socks[-1]))["ok"] is True
        # The subscriber was left alone: it still gets events.
        daemon.result("restart", plugin="dice-roller")
        ev = sub.wait(lambda e: e.get("plugin") == "dice-roller" and e["to"] == "RUNNING",
                      what="dice-roller RUNNING again")
        assert ev["event"] == "state"
        # One line for the first eviction, the rest summed up.
        daemon.wait_log(r"warning: control: \d+ more idle clients closed to make room for new "
                        r"ones in the last 2 s")
        assert len(re.findall(r"to make room for a new one:", daemon.read_log())) == 1
    finally:
        for s in socks:
            s.close()
        sub.close()
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


def _line(s):
    s.settimeout(5 * SLOW)
    data = b""
    while not data.endswith(b"\n"):
        chunk = s.recv(4096)
        assert chunk, "closed before a reply"
        data += chunk
    return data


def test_an_unfinished_request_is_closed_after_the_idle_timeout(daemon):
    start(daemon, 0.5)
    sub = Subscriber(daemon, topics=["state"])
    between = Conn(daemon.sock)          # connected, sends nothing
    assert between.ask({"cmd": "version"})["ok"] is True
    partial = hold_partial(daemon.sock, 20)
    try:
        # Trickling a request a byte at a time is not idling.
        slow = Conn(daemon.sock)
        request = b'{"cmd": "version"}\n'
        for b in request:
            slow.s.sendall(bytes([b]))
            time.sleep(0.05)        # well under the timeout, on purpose
        assert slow.line()["ok"] is True
        for s in partial:
            msg = closed_with(s, "idle-timeout")
            assert msg == ("request unfinished (no newline) and nothing more sent for 0.5 s; "
                           "closing")
        # Between requests, or subscribed: not idle, however long.
        assert between.ask({"cmd": "version"})["ok"] is True
        daemon.result("restart", plugin="dice-roller")
        sub.wait(lambda e: e.get("plugin") == "dice-roller" and e["to"] == "RUNNING",
                 what="dice-roller RUNNING again")
        # One line for the first, one summing up the other 19.
        daemon.wait_log(r"warning: control: 19 more clients closed for an unfinished request "
                        r"in the last 2 s")
        log = daemon.read_log()
        first = re.findall(r"control: client pid %d uid %d closed: 12 bytes of a request without "
                           r"its newline and nothing more for 0\.5 s \(control\.idle_timeout\)"
                           % (os.getpid(), os.geteuid()), log)
        assert len(first) == 1, log[-3000:]
    finally:
        for s in partial:
            s.close()
        between.close()
        sub.close()


def test_a_low_open_file_limit_is_reported_at_start(tmp_path):
    cfg = tmp_path / "config.json"
    sock = tmp_path / "run" / "supervisor.sock"
    cfg.write_text(json.dumps({"socket": str(sock), "plugins": []}))
    log = open(tmp_path / "supervisor.log", "wb")

    def low_limit():
        resource.setrlimit(resource.RLIMIT_NOFILE, (512, 512))

    p = subprocess.Popen([SUPERVISOR, "-c", str(cfg)], stdin=subprocess.DEVNULL,
                         stdout=subprocess.DEVNULL, stderr=log, preexec_fn=low_limit)
    try:
        wait_for(lambda: os.path.exists(sock) or p.poll() is not None, what="the socket")
        text = wait_for(lambda: (lambda t: "open-file limit" in t and t)(
            (tmp_path / "supervisor.log").read_text()), what="the warning")
        assert ("warning: open-file limit 512 is below the 1088 that 1024 control clients and "
                "0 plugins need: raise the hard limit (ulimit -Hn, LimitNOFILE=)") in text
    finally:
        p.send_signal(signal.SIGTERM)
        assert p.wait(10 * SLOW) == 0
        log.close()
