#!/usr/bin/python3
"""pick: choose one of several options ("!pick pizza, tacos, sushi").

A plugin written in Python with python3-msgpack, to show that the plugin
protocol (docs/protocol.md) is language-neutral: it speaks the whole of it,
hello/ready, event/reply, ping/pong and shutdown, with the same limits as
the C SDK (64 KiB messages, 2048-byte texts).
"""

import os
import re
import secrets
import socket
import sys

import msgpack

VERSION = "1.0.0"
PROTOCOL = 1
MAX_MESSAGE = 64 * 1024
MAX_TEXT = 2048
MAX_OPTIONS = 100
# The usage line !help pick shows (declared in ready, at most 200 bytes).
HELP = "A, B[, C ...] — pick one of the options (commas or \"or\" between them)"
USAGE = "👉 give me at least two options: !pick pizza, tacos, sushi (or: tea or coffee)"

# Options are separated by commas, by the word "or", or by both ("a, b, or c").
SEPARATOR = re.compile(r"\s*,\s*(?:or\s+)?|\s+or\s+", re.IGNORECASE)

name = "pick"


def log(text):
    """One line on stderr, which the daemon captures into its log."""
    print(f"{name}: {text}", file=sys.stderr, flush=True)


def clip(text, limit=MAX_TEXT):
    """Cut text to at most limit bytes of UTF-8 without splitting a character."""
    data = text.encode("utf-8", "replace")
    if len(data) <= limit:
        return text
    return data[:limit].decode("utf-8", "ignore")


def options(args):
    """The distinct non-empty options in args, in order."""
    seen = []
    for option in SEPARATOR.split(args.strip()):
        option = option.strip()
        if option and option not in seen:
            seen.append(option)
    return seen


def answer(args):
    """The reply to "!pick ARGS"."""
    choices = options(args)
    if len(choices) < 2:
        return USAGE
    if len(choices) > MAX_OPTIONS:
        return f"👉 at most {MAX_OPTIONS} options, please"
    return "👉 " + secrets.choice(choices)


class Plugin:
    def __init__(self, sock):
        self.sock = sock
        self.unpacker = msgpack.Unpacker(raw=False, max_buffer_size=MAX_MESSAGE)
        self.fed = 0  # bytes fed to the unpacker, to compare with its tell()

    def send(self, **fields):
        self.sock.sendall(msgpack.packb(fields, use_bin_type=True))

    def handle(self, m):
        """Handle one message; returns False once the plugin must stop."""
        global name
        if not isinstance(m, dict) or not isinstance(m.get("type"), str):
            raise ValueError("message is not a map with a \"type\" string")
        kind = m["type"]
        if kind == "hello":
            if m.get("protocol") != PROTOCOL:
                log(f"daemon speaks protocol {m.get('protocol')!r}, this plugin {PROTOCOL}")
            if isinstance(m.get("name"), str):
                name = m["name"][:64]
            self.send(type="ready", protocol=PROTOCOL, version=VERSION,
                      commands=["pick"], usage=[HELP], chat=False)
        elif kind == "event":
            if not isinstance(m.get("id"), int) or not isinstance(m.get("args"), str):
                log("event without an id or args: ignored")
                return True
            if m.get("command") != "pick":
                log(f"event for a command not ours: {m.get('command')!r}")
                return True
            self.send(type="reply", id=m["id"], text=clip(answer(m["args"])))
        elif kind == "ping":
            if isinstance(m.get("seq"), int):
                self.send(type="pong", seq=m["seq"])
            else:
                log("ping without seq: ignored")
        elif kind == "shutdown":
            return False
        else:
            log(f"unexpected {kind!r} from daemon: ignored")
        return True

    def run(self):
        """The loop: read, unpack, handle; returns the exit status."""
        while True:
            # Read no more than the unpacker has room for: what it holds
            # is part of one message, and feeding it past max_buffer_size
            # would fail even if that message is within the limit.
            room = MAX_MESSAGE - (self.fed - self.unpacker.tell())
            if room <= 0:
                log(f"bad message from daemon: longer than {MAX_MESSAGE} bytes")
                return 1
            try:
                data = self.sock.recv(room)
            except InterruptedError:
                continue
            except OSError as e:
                log(f"read from daemon: {e}")
                return 1
            if not data:
                log("daemon closed the connection")
                return 1
            try:
                self.unpacker.feed(data)
                self.fed += len(data)
                for m in self.unpacker:
                    if not self.handle(m):
                        return 0
            except (msgpack.BufferFull, msgpack.ExtraData, msgpack.FormatError,
                    msgpack.StackError, ValueError, TypeError) as e:
                log(f"bad message from daemon: {e.__class__.__name__}: {e}")
                return 1
            except OSError as e:
                log(f"write to daemon: {e}")
                return 1


def main():
    fd = int(os.environ.get("SUPERVISOR_FD", "3"))
    sock = socket.socket(fileno=fd)
    return Plugin(sock).run()


if __name__ == "__main__":
    sys.exit(main())
