#!/usr/bin/python3
"""flood: a test plugin that writes many lines once it is ready.

A second thread writes the lines, so the main thread keeps answering pings
while the daemon holds the pipe unread. Each line is "flood NNNNNN" and a
padding of x up to size bytes. Config:

    stream    "stderr" (default), "stdout" or "log" (log messages)
    lines     how many lines (default 1000)
    size      bytes a line has at least (default: no padding)
    every     seconds between two lines (default 0: as fast as it can)
    then      after the last line: "stay" (default: keep serving), or
              "exit" (exit status 3: a crash)
    yes       true: instead of the lines, run yes(1) with its output on
              the stream (stdout or stderr), as fast as a pipe goes
    commands, version, ready_delay: see testplugin.py
"""
import os
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import testplugin  # noqa: E402

plugin = testplugin.Plugin("flood", commands=["flood"])


def flood(p):
    cfg = p.config
    stream = cfg.get("stream", "stderr")
    if cfg.get("yes"):
        subprocess.Popen(["yes"], stdout=sys.stdout if stream == "stdout" else sys.stderr)
        return
    lines = int(cfg.get("lines", 1000))
    size = int(cfg.get("size", 0))
    every = float(cfg.get("every", 0))
    out = {"stderr": sys.stderr, "stdout": sys.stdout}.get(stream)
    for i in range(1, lines + 1):
        text = "flood %06d" % i
        if len(text) < size:
            text += " " + "x" * (size - len(text) - 1)
        if out is None:
            p.log(text)
        else:
            out.write(text + "\n")
            if every > 0 or i == lines:
                out.flush()
        if every > 0:
            time.sleep(every)
    if cfg.get("then") == "exit":
        os._exit(3)


plugin.on_ready(lambda p: threading.Thread(target=flood, args=(p,), daemon=True).start())
plugin.run()
