#!/usr/bin/python3
"""hog: a test plugin that keeps one CPU core busy and still answers.

A second thread spins from the start; the main thread serves the protocol,
so pings are answered within milliseconds (the spinning thread gives up the
GIL every switch interval, 5 ms). Command: hog (args "on" or "off" switch the
spinning; the reply says the current state, e.g. "busy: on, duty 1"). Config:

    busy          false: do not spin until "!hog on" (default true)
    duty          fraction of each 100 ms to spin, 0..1 (default 1: a core)
    commands, version, ready_delay: see testplugin.py
"""
import os
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import testplugin  # noqa: E402

plugin = testplugin.Plugin("hog", commands=["hog"])
busy = threading.Event()
duty = [1.0]


def spin():
    while True:
        busy.wait()
        start = time.monotonic()
        work = 0.1 * duty[0]
        while time.monotonic() - start < work:
            for _ in range(1000):
                pass
        rest = 0.1 - work
        if rest > 0:
            time.sleep(rest)


def on_hello(p):
    duty[0] = min(1.0, max(0.0, float(p.config.get("duty", 1.0))))
    if p.config.get("busy", True):
        busy.set()
    threading.Thread(target=spin, daemon=True).start()
    return True


def cmd_hog(p, ev):
    arg = ev.get("args", "").strip()
    if arg == "on":
        busy.set()
    elif arg == "off":
        busy.clear()
    p.reply(ev, "busy: %s, duty %g" % ("on" if busy.is_set() else "off", duty[0]))


plugin.on_hello(on_hello)
plugin.command("hog", cmd_hog)
plugin.run()
