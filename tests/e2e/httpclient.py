"""Helpers for the HTTP endpoint's tests: free ports, a config with "http",
plain requests over a socket (so bad requests can be sent as written), and
an SSE reader."""
import json
import socket
import time

from conftest import SLOW


def free_port():
    """A TCP port on 127.0.0.1 nothing listens on now."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def http_config(daemon, plugins, port, **http):
    h = {"listen": "127.0.0.1:%d" % port}
    h.update(http)
    return daemon.config(plugins, http=h)


def raw(port, data, timeout=5.0):
    """Send bytes as they are; return (status, headers dict, body bytes)."""
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout * SLOW)
    try:
        s.sendall(data)
        buf = b""
        while True:
            try:
                chunk = s.recv(65536)
            except ConnectionResetError:
                break
            if not chunk:
                break
            buf += chunk
            head, sep, body = buf.partition(b"\r\n\r\n")
            if sep:
                hdrs = parse_headers(head)
                n = hdrs.get("content-length")
                if n is not None and len(body) >= int(n):
                    break
    finally:
        s.close()
    head, _, body = buf.partition(b"\r\n\r\n")
    if not head:
        return None, {}, b""
    status = int(head.split(b" ", 2)[1])
    return status, parse_headers(head), body


def parse_headers(head):
    hdrs = {}
    for line in head.split(b"\r\n")[1:]:
        k, _, v = line.partition(b":")
        hdrs[k.strip().lower().decode()] = v.strip().decode()
    return hdrs


def get(port, path, headers=None, method="GET", timeout=5.0):
    """One request on its own connection: (status, headers, body)."""
    lines = ["%s %s HTTP/1.1" % (method, path), "Host: 127.0.0.1", "Connection: close"]
    for k, v in (headers or {}).items():
        lines.append("%s: %s" % (k, v))
    return raw(port, ("\r\n".join(lines) + "\r\n\r\n").encode(), timeout)


def get_json(port, path, headers=None):
    status, hdrs, body = get(port, path, headers)
    return status, json.loads(body)


class EventStream:
    """GET /events: reads "event:"/"data:" blocks from the chunked reply."""

    def __init__(self, port, query="", headers=None, rcvbuf=None):
        self.s = socket.socket()
        if rcvbuf:
            self.s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        self.s.settimeout(10 * SLOW)
        self.s.connect(("127.0.0.1", port))
        req = "GET /events%s HTTP/1.1\r\nHost: 127.0.0.1\r\n" % query
        for k, v in (headers or {}).items():
            req += "%s: %s\r\n" % (k, v)
        self.s.sendall((req + "\r\n").encode())
        self.buf = b""
        while b"\r\n\r\n" not in self.buf:
            chunk = self.s.recv(65536)
            assert chunk, "closed before the headers"
            self.buf += chunk
        head, _, self.buf = self.buf.partition(b"\r\n\r\n")
        self.status = int(head.split(b" ", 2)[1])
        self.headers = parse_headers(head)
        self.text = b""     # de-chunked stream

    def _fill(self, deadline):
        """Read more and de-chunk; False at end of stream."""
        while True:
            # A whole chunk in buf?
            line, sep, rest = self.buf.partition(b"\r\n")
            if sep:
                size = int(line.split(b";")[0], 16)
                if size == 0:
                    return False
                if len(rest) >= size + 2:
                    self.text += rest[:size]
                    self.buf = rest[size + 2:]
                    return True
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError("no event within the deadline")
            self.s.settimeout(left)
            try:
                chunk = self.s.recv(65536)
            except ConnectionResetError:
                chunk = b""
            if not chunk:
                return False
            self.buf += chunk

    def next(self, timeout=10.0):
        """The next (event name, data) block; comments are skipped; None at the end."""
        deadline = time.monotonic() + timeout * SLOW
        while True:
            while b"\n\n" in self.text:
                block, _, self.text = self.text.partition(b"\n\n")
                name, data = None, None
                for line in block.decode().split("\n"):
                    if line.startswith("event: "):
                        name = line[7:]
                    elif line.startswith("data: "):
                        data = json.loads(line[6:])
                if name is not None:
                    return name, data
            if not self._fill(deadline):
                return None

    def wait(self, pred, timeout=10.0, what="event"):
        deadline = time.monotonic() + timeout * SLOW
        seen = []
        while True:
            left = (deadline - time.monotonic()) / SLOW
            if left <= 0:
                raise AssertionError("%s not seen; got %s" % (what, seen[-5:]))
            ev = self.next(left)
            assert ev is not None, "stream ended; got %s" % seen[-5:]
            seen.append(ev)
            if pred(*ev):
                return ev

    def close(self):
        self.s.close()
