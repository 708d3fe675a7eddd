"""testplugin: the plugin side of docs/protocol.md, for the test plugins.

The misbehaving plugins in this directory are run from the source tree by the
end-to-end tests (tests/e2e/), with /usr/bin/python3 and python3-msgpack. Each
script puts its own directory on sys.path and imports this module:

    plugin = testplugin.Plugin("echo", commands=["echo"])
    plugin.command("echo", lambda p, ev: p.reply(ev, ev["args"]))
    plugin.run()

What a plugin does is chosen by the "config" map of its hello (the plugin's
"config" object in the daemon's config file), so one e2e test config sets it.
Command words: a plugin whose name in the daemon's config is the script's
own (crasher) claims the script's words (crash, echo). Under another name
("backoff", "idle") it claims that name instead, as long as it is a valid
command word, and the name acts as the script's first word ("!idle on" is
"!hog on"): so several instances of one script can run in one daemon without
fighting over a command. Events for a word without a handler are echoed (the
reply is the args).

Every plugin also accepts these config keys:

    commands      list of command words to claim in ready, instead of the
                  above
    version       the version string sent in ready
    usage         sent as ready's usage array as it is (any JSON value)
    ready_delay   seconds to wait after hello before sending ready

The loop is single-threaded: messages from the daemon, and timers set with
call_later(). send() takes a lock, so a plugin's own threads may send too.
"""

import os
import re
import select
import signal
import socket
import sys
import threading
import time

import msgpack

PROTOCOL = 1
MAX_MESSAGE = 64 * 1024
COMMAND_WORD = re.compile(r"[a-z0-9_-]{1,32}\Z")


class Plugin:
    def __init__(self, name, commands=(), chat=False, version="1.0.0"):
        self.name = name
        self.default_commands = list(commands)
        self.chat = chat
        self.version = version
        self.config = {}
        self.hello = None
        self.ready_sent = False
        self.handlers = {}
        self.chat_handler = None
        self.hello_hook = None
        self.ready_hook = None
        self.shutdown_hook = None
        self.timers = []          # [when, seq, fn]
        self.timer_seq = 0
        self.answer_pings = True
        self.send_lock = threading.Lock()
        fd = int(os.environ.get("SUPERVISOR_FD", "3"))
        self.sock = socket.socket(fileno=fd)
        self.sock.setblocking(True)
        self.unpacker = msgpack.Unpacker(max_buffer_size=MAX_MESSAGE, raw=False)

    # --- output -----------------------------------------------------------

    def err(self, text):
        """A line on stderr, which the daemon captures into its log."""
        print("%s: %s" % (self.name, text), file=sys.stderr, flush=True)

    def send_raw(self, data):
        """Bytes on the socket as they are; False if the daemon is gone."""
        try:
            with self.send_lock:
                self.sock.sendall(data)
            return True
        except (BrokenPipeError, ConnectionResetError):
            return False

    def send(self, **msg):
        return self.send_raw(msgpack.packb(msg, use_bin_type=True))

    def reply(self, event, text):
        return self.send(type="reply", id=event["id"], text=text)

    def say(self, platform, channel, text):
        return self.send(type="say", platform=platform, channel=channel, text=text)

    def log(self, text, level="info"):
        return self.send(type="log", level=level, text=text)

    # --- setup --------------------------------------------------------------

    def command(self, word, fn):
        """fn(plugin, event) handles events for command word."""
        self.handlers[word] = fn

    def on_chat(self, fn):
        """fn(plugin, event) handles plain chat lines (command "")."""
        self.chat_handler = fn

    def on_hello(self, fn):
        """fn(plugin) runs after hello; return False to send no ready."""
        self.hello_hook = fn

    def on_ready(self, fn):
        """fn(plugin) runs right after ready was sent."""
        self.ready_hook = fn

    def on_shutdown(self, fn):
        """fn(plugin) runs on shutdown instead of exiting 0 (it may return)."""
        self.shutdown_hook = fn

    def call_later(self, seconds, fn):
        """Run fn(plugin) from the loop after seconds."""
        self.timer_seq += 1
        self.timers.append([time.monotonic() + max(0.0, seconds), self.timer_seq, fn])
        self.timers.sort()

    def instance(self):
        """The plugin's name in the daemon's config (from hello)."""
        return (self.hello or {}).get("name", self.name)

    def commands(self):
        """The command words to claim in ready (see the module's comment)."""
        c = self.config.get("commands")
        if isinstance(c, list):
            return list(c)
        name = self.instance()
        if name == self.name:
            return list(self.default_commands)
        return [name] if isinstance(name, str) and COMMAND_WORD.match(name) else []

    def send_ready(self, **extra):
        msg = {"type": "ready", "protocol": PROTOCOL,
               "version": str(self.config.get("version", self.version)),
               "commands": self.commands(), "chat": bool(self.config.get("chat", self.chat))}
        if "usage" in self.config:
            msg["usage"] = self.config["usage"]
        msg.update(extra)
        self.send(**msg)
        self.ready_sent = True
        if self.ready_hook:
            self.ready_hook(self)

    # --- blocking forever ---------------------------------------------------

    def hang(self, ignore_term=False):
        """Stop reading the socket and answering anything, for good."""
        if ignore_term:
            signal.signal(signal.SIGTERM, signal.SIG_IGN)
        self.err("hanging now (pid %d)%s" % (os.getpid(),
                 ", ignoring SIGTERM" if ignore_term else ""))
        while True:
            time.sleep(3600)

    # --- the loop -----------------------------------------------------------

    def _dispatch(self, m):
        if not isinstance(m, dict):
            self.err("daemon sent a non-map: %r" % (m,))
            return
        t = m.get("type")
        if t == "hello":
            self.hello = m
            cfg = m.get("config")
            self.config = cfg if isinstance(cfg, dict) else {}
            if self.hello_hook and self.hello_hook(self) is False:
                return
            delay = float(self.config.get("ready_delay", 0) or 0)
            if delay > 0:
                self.call_later(delay, lambda p: p.send_ready())
            else:
                self.send_ready()
        elif t == "ping":
            if self.answer_pings:
                self.send(type="pong", seq=m.get("seq", 0))
        elif t == "shutdown":
            if self.shutdown_hook:
                self.shutdown_hook(self)
                return
            self.err("shutdown received, exiting 0")
            sys.exit(0)
        elif t == "event":
            word = m.get("command", "")
            if word == "":
                if self.chat_handler:
                    self.chat_handler(self, m)
            elif word in self.handlers:
                self.handlers[word](self, m)
            elif (word == self.instance() and self.default_commands and
                  self.default_commands[0] in self.handlers):
                self.handlers[self.default_commands[0]](self, m)
            else:
                self.reply(m, m.get("args", ""))
        elif t == "say":
            pass
        else:
            self.err("unexpected message from the daemon: %r" % (m,))

    def run(self):
        """Serve the daemon until shutdown or until the socket closes."""
        while True:
            timeout = None
            if self.timers:
                timeout = max(0.0, self.timers[0][0] - time.monotonic())
            readable, _, _ = select.select([self.sock], [], [], timeout)
            now = time.monotonic()
            while self.timers and self.timers[0][0] <= now:
                _, _, fn = self.timers.pop(0)
                fn(self)
            if not readable:
                continue
            try:
                data = self.sock.recv(65536)
            except ConnectionResetError:
                data = b""
            if not data:
                self.err("daemon closed the socket, exiting")
                sys.exit(0)
            try:
                self.unpacker.feed(data)
                for m in self.unpacker:
                    self._dispatch(m)
            except msgpack.exceptions.BufferFull:
                self.err("message from the daemon over %d bytes" % MAX_MESSAGE)
                sys.exit(1)
            except ValueError as e:
                self.err("bad msgpack from the daemon: %s" % e)
                sys.exit(1)
