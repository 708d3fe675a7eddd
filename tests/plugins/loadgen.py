#!/usr/bin/python3
"""loadgen: a connector that sends a steady stream of commands and records
every reply, for the upgrade tests and bench.

Config:
    out       file written when done: JSON {"sent": N, "replies": [[seq,
              text, t_sent, t_reply], ...]} (times monotonic, seconds)
    rate      commands per second (default 2000)
    seconds   how long to send (default 3)
    word      the command word (default ver); each line is "!WORD SEQ"
    start_file  begin only once this file exists (optional)
    grace     seconds to wait for the last replies (default 3)
"""
import json
import os
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import testplugin  # noqa: E402


class Loadgen(testplugin.Plugin):
    def __init__(self):
        super().__init__("loadgen")
        self.lock = threading.Lock()
        self.sent_at = {}
        self.replies = []

    def _dispatch(self, m):
        if isinstance(m, dict) and m.get("type") == "say":
            now = time.monotonic()
            text = m.get("text", "")
            try:
                seq = int(text.split(":", 1)[1])
            except (IndexError, ValueError):
                seq = -1
            with self.lock:
                self.replies.append([seq, text, self.sent_at.get(seq), now])
            return
        super()._dispatch(m)


def sender(p):
    cfg = p.config
    rate = float(cfg.get("rate", 2000))
    seconds = float(cfg.get("seconds", 3))
    word = cfg.get("word", "ver")
    start = cfg.get("start_file")
    while start and not os.path.exists(start):
        time.sleep(0.01)
    n = int(rate * seconds)
    t0 = time.monotonic()
    for seq in range(n):
        due = t0 + seq / rate
        delay = due - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        with p.lock:
            p.sent_at[seq] = time.monotonic()
        p.send(type="chat", platform="load", channel="#load", user="gen",
               text="!%s %d" % (word, seq))
    time.sleep(float(cfg.get("grace", 3)))
    with p.lock:
        out = {"sent": n, "replies": p.replies}
    tmp = cfg["out"] + ".tmp"
    with open(tmp, "w") as f:
        json.dump(out, f)
    os.rename(tmp, cfg["out"])


plugin = Loadgen()
plugin.on_ready(lambda p: threading.Thread(target=sender, args=(p,),
                                           daemon=True).start())
plugin.run()
