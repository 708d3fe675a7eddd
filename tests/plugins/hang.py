#!/usr/bin/python3
"""hang: a test plugin that stops answering, to exercise hang detection.

It sends ready and answers pings normally, then hangs: it stops reading its
socket (no pong, no reply, no reaction to shutdown) and sleeps forever.
Command: hang (reply "hanging", then hang at once). Config:

    hang_after    seconds after ready before hanging (default 0: at once);
                  null or negative: only on the command "hang"
    ignore_term   true: ignore SIGTERM (from the start), so stopping it takes
                  the daemon's SIGKILL
    commands, version, ready_delay: see testplugin.py
"""
import os
import signal
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import testplugin  # noqa: E402

plugin = testplugin.Plugin("hang", commands=["hang"])


def on_hello(p):
    if p.config.get("ignore_term"):
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
    return True


def on_ready(p):
    after = p.config.get("hang_after", 0)
    if after is None or float(after) < 0:
        return
    p.call_later(float(after), lambda p: p.hang(bool(p.config.get("ignore_term"))))


def cmd_hang(p, ev):
    p.reply(ev, "hanging")
    p.hang(bool(p.config.get("ignore_term")))


plugin.on_hello(on_hello)
plugin.on_ready(on_ready)
plugin.command("hang", cmd_hang)
plugin.run()
