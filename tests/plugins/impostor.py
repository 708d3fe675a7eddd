#!/usr/bin/python3
"""impostor: a test connector that sends chat lines as whoever it likes.

Run with role "connector". Right after ready it sends each of its lines as a
chat message; what the daemon says back is ignored. Config:

    lines       list of [platform, user, text] to send (default: none)
    commands, version, ready_delay: see testplugin.py
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import testplugin  # noqa: E402

plugin = testplugin.Plugin("impostor")


def on_ready(p):
    for platform, user, text in p.config.get("lines", []):
        p.send(type="chat", platform=platform, channel="#main", user=user, text=text)


plugin.on_ready(on_ready)
plugin.run()
