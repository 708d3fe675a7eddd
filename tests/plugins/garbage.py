#!/usr/bin/python3
"""garbage: a test plugin that breaks the protocol, one way per mode.

Command: go (sends the bad message when on_command is set). Config:

    mode          what to send (default "malformed"):
      malformed     invalid msgpack: c1 c1 c1 (→ killed, protocol)
      oversize      a log message of 70,000 bytes, over 64 KiB (→ killed)
      not-map       a msgpack array instead of a map (→ killed)
      no-type       a map without "type" (→ killed)
      unknown-type  {"type": "bogus"} (→ killed)
      deep          a log whose field nests 100 arrays deep (→ killed)
      huge-array    a log whose field is an array announcing 2^32-1
                    elements, in 5 bytes (→ killed, and nothing allocated)
      huge-string   a log whose text is a str 32 header announcing
                    2^31-1 bytes, and nothing after it (→ killed at once,
                    not at the ping timeout)
      close-socket  nothing bad on the wire: it closes its socket (fd 3)
                    and sleeps on, alive (→ killed, "closed its socket")
      bad-version   ready with protocol 999 instead of 1 (→ refused)
      bad-field     a reply whose id is a string (→ dropped, counted)
      long-text     a reply with 10,240 bytes of text, "é" × 5120 (→ cut at a
                    character boundary with "…", sent, counted)
      stop-daemon   a shutdown, which only the console with the terminal may
                    send (→ dropped, counted; the daemon runs on)
      split-empty   nothing bad: a valid ready written in two parts, split
                    just before its empty "version" string (→ RUNNING)
    before_ready  true: send it on hello, instead of ready (for bad-version
                  and split-empty, the ready is the bad message anyway)
    on_command    true: send it when the command "go" arrives; a reply-shaped
                  message answers that event (otherwise it uses id 1)
    delay         seconds to wait after ready before sending (default 0)
    commands, version, ready_delay: see testplugin.py

After sending it carries on serving normally (pings, shutdown) until killed.
"""
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import msgpack  # noqa: E402
import testplugin  # noqa: E402

plugin = testplugin.Plugin("garbage", commands=["go"])


def pack(**m):
    return msgpack.packb(m, use_bin_type=True)


def bad_bytes(p, mode, event_id):
    """The bytes for a mode (ready-shaped modes are handled by send_ready)."""
    if mode == "malformed":
        return b"\xc1\xc1\xc1"
    if mode == "oversize":
        return pack(type="log", level="info", text="x" * 70000)
    if mode == "not-map":
        return msgpack.packb(["type", "log"])
    if mode == "no-type":
        return pack(level="info", text="no type here")
    if mode == "unknown-type":
        return pack(type="bogus", text="what is this")
    if mode == "deep":
        return (b"\x82\xa4type\xa3log\xa4text" + b"\x91" * 100 + b"\xa1x")
    if mode == "huge-array":
        return b"\x82\xa4type\xa3log\xa4text\xdd\xff\xff\xff\xff"
    if mode == "huge-string":
        return b"\x83\xa4type\xa3log\xa5level\xa4info\xa4text\xdb\x7f\xff\xff\xff"
    if mode == "bad-field":
        return pack(type="reply", id=str(event_id), text="id is a string")
    if mode == "stop-daemon":
        return pack(type="shutdown")
    if mode == "long-text":
        return pack(type="reply", id=event_id, text="é" * 5120)
    raise SystemExit("garbage: unknown mode %r" % mode)


def send_bad(p, event_id=1):
    mode = p.config.get("mode", "malformed")
    if mode == "close-socket":
        p.err("closing my socket, staying alive (pid %d)" % os.getpid())
        p.sock.close()
        while True:
            time.sleep(3600)
    data = bad_bytes(p, mode, event_id)
    p.err("sending %s (%d bytes)" % (mode, len(data)))
    p.send_raw(data)


def send_special_ready(p, mode):
    if mode == "bad-version":
        p.err("sending ready with protocol 999")
        p.send(type="ready", protocol=999, version="1.0.0", commands=p.commands())
        return
    # split-empty: the second write starts with the empty string, so the
    # daemon's unpacker meets it first in a read.
    head = (b"\x84\xa4type\xa5ready\xa8protocol\x01\xa8commands"
            + msgpack.packb(p.commands()) + b"\xa7version")
    p.err("sending ready in two parts, split before an empty string")
    p.send_raw(head)
    time.sleep(0.3)
    p.send_raw(b"\xa0")


def on_hello(p):
    mode = p.config.get("mode", "malformed")
    if mode in ("bad-version", "split-empty"):
        if p.config.get("ready_delay"):
            time.sleep(float(p.config["ready_delay"]))
        send_special_ready(p, mode)
        p.ready_sent = True
        return False
    if p.config.get("before_ready"):
        send_bad(p)
        return False
    return True


def on_ready(p):
    if p.config.get("on_command"):
        return
    p.call_later(float(p.config.get("delay", 0)), send_bad)


def cmd_go(p, ev):
    if p.config.get("on_command"):
        send_bad(p, ev["id"])
    else:
        p.reply(ev, "on_command is not set")


plugin.on_hello(on_hello)
plugin.on_ready(on_ready)
plugin.command("go", cmd_go)
plugin.run()
