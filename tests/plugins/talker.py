#!/usr/bin/python3
"""talker: a test plugin that never answers a ping but talks, then stops.

It sends ready, then a log line every `every` seconds for `talk_for`
seconds, then nothing more (it keeps reading its socket). Pings it ignores
throughout, so the daemon may keep it only for as long as it talks: a
plugin that sent something within ping_interval is not pinged.
Config:

    every       seconds between two log lines (default 0.1)
    talk_for    seconds of talking after ready (default 2)
"""
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import testplugin  # noqa: E402

plugin = testplugin.Plugin("talker")
plugin.answer_pings = False
state = {}


def talk(p):
    if time.monotonic() >= state["until"]:
        p.log("talker: silent from now on")
        return
    p.log("talker: still here")
    p.call_later(float(p.config.get("every", 0.1)), talk)


def on_ready(p):
    state["until"] = time.monotonic() + float(p.config.get("talk_for", 2))
    talk(p)


plugin.on_ready(on_ready)
plugin.run()
