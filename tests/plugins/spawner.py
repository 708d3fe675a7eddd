#!/usr/bin/python3
"""spawner: a test plugin that keeps starting processes that leave its process
group and session (setsid), the way a careless plugin's helpers do: they are
not in its process group, so a kill of the group misses them.

Config:

    every     seconds between two descendants (default 1)
    pidfile   file the descendants' pids are appended to, one per line
    commands, version, ready_delay: see testplugin.py
"""
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import testplugin  # noqa: E402

plugin = testplugin.Plugin("spawner", commands=["spawner"])


def spawn(p):
    child = subprocess.Popen(["sleep", "3601"], start_new_session=True,
                             stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
    path = p.config.get("pidfile")
    if path:
        with open(path, "a") as f:
            f.write("%d\n" % child.pid)
    p.call_later(float(p.config.get("every", 1)), spawn)


plugin.on_ready(spawn)
plugin.run()
