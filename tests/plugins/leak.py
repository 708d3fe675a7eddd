#!/usr/bin/python3
"""leak: a test plugin whose memory (RSS) grows steadily, and still answers.

From ready on it allocates mb_per_second, in ten steps a second, writing
every page so the memory is resident, until max_mb; then it holds it.
Command: leak (args "free" drop everything and stop; the reply says how much
is held, e.g. "leaked 40 MiB"). Config:

    mb_per_second  growth rate in MiB/s (default 20)
    max_mb         stop growing at this many MiB (default 500)
    commands, version, ready_delay: see testplugin.py
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import testplugin  # noqa: E402

MIB = 1024 * 1024
STEP = 0.1

plugin = testplugin.Plugin("leak", commands=["leak"])
held = []
state = {"bytes": 0, "stopped": False}


def grow(p):
    if state["stopped"]:
        return
    rate = float(p.config.get("mb_per_second", 20))
    limit = float(p.config.get("max_mb", 500)) * MIB
    n = int(min(rate * MIB * STEP, limit - state["bytes"]))
    if n > 0:
        # Filled, not just allocated: calloc'd pages would not count in RSS.
        held.append(b"\x5a" * n)
        state["bytes"] += n
    if state["bytes"] < limit:
        p.call_later(STEP, grow)
    else:
        p.err("holding %d MiB" % (state["bytes"] // MIB))


def cmd_leak(p, ev):
    if ev.get("args", "").strip() == "free":
        held.clear()
        state["bytes"] = 0
        state["stopped"] = True
    p.reply(ev, "leaked %d MiB" % (state["bytes"] // MIB))


plugin.on_ready(lambda p: grow(p))
plugin.command("leak", cmd_leak)
plugin.run()
