"""make check-valgrind: the daemon under valgrind memcheck through a shortened
end-to-end scenario: chat through the console, every read-only verb, a bad
request, a kill -9 and its restart, stop/start/restart, a reload that removes a
plugin, then SIGTERM. It passes when memcheck reports no invalid access and no
leak (definite, indirect or possible) and the daemon exits 0.

    scripts/check-valgrind.py [BUILD]
"""
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time

import bench

BUILD = bench.BUILD
# Under memcheck the daemon runs some 20-50 times slower.
TIMEOUT = 60


def log(msg):
    print("check-valgrind: " + msg, file=sys.stderr, flush=True)


def wait_for(cond, what, timeout=TIMEOUT):
    """bench's wait, with memcheck's longer deadline."""
    return bench.wait_for(cond, timeout, what)


class Scenario:
    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="supervisor-valgrind-")
        self.sock = os.path.join(self.dir, "sock")
        self.vlog = os.path.join(self.dir, "valgrind.log")
        self.cfg_path = os.path.join(self.dir, "config.json")
        self.checks = []

    def config(self, with_pick=True):
        plugins = [
            {"name": "console", "role": "connector", "exec": ["console"], "terminal": True},
            {"name": "dice-roller", "exec": ["dice-roller"]},
            {"name": "8ball", "exec": ["8ball"], "config": {"cooldown": 0}},
        ]
        if with_pick:
            plugins.append({"name": "pick", "exec": ["pick"]})
        cfg = {"socket": self.sock, "chat": {"admins": ["console:console"]},
               "metrics": {"poll_interval": 0.5, "history_duration": 60},
               "restart": {"first_delay": 0, "ready_timeout": 30, "hang_timeout": 60},
               "plugins": plugins}
        with open(self.cfg_path, "w") as f:
            json.dump(cfg, f)

    def start(self):
        self.config()
        self.log = open(os.path.join(self.dir, "supervisor.log"), "wb")
        cmd = ["valgrind", "--tool=memcheck", "--error-exitcode=97", "--leak-check=full",
               "--show-leak-kinds=definite,indirect,possible",
               "--errors-for-leak-kinds=definite,indirect,possible",
               "--log-file=" + self.vlog,
               os.path.join(BUILD, "bin", "supervisor"), "-c", self.cfg_path,
               "-P", os.path.join(BUILD, "plugins")]
        self.proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=self.log, cwd=self.dir)
        os.set_blocking(self.proc.stdout.fileno(), False)
        self.out = b""
        wait_for(lambda: bench.connectable(self.sock), "the control socket")

    def request(self, obj):
        return json.loads(bench.ask_raw(self.sock, obj, TIMEOUT))

    def state(self, name):
        return self.request({"cmd": "status", "plugin": name})["result"]

    def running(self, name):
        st = self.state(name)
        return st["state"] == "RUNNING" and st

    def say(self, line, expect):
        """A chat line at the console; wait for a reply matching expect."""
        self.proc.stdin.write((line + "\n").encode())
        self.proc.stdin.flush()

        def got():
            try:
                data = os.read(self.proc.stdout.fileno(), 65536)
                self.out += data
            except BlockingIOError:
                pass
            return re.search(expect.encode(), self.out)
        wait_for(got, "a reply to %r" % line)
        self.out = b""

    def check(self, what, ok):
        self.checks.append((what, bool(ok)))
        log(("ok: " if ok else "FAILED: ") + what)

    def run(self):
        self.start()
        for name in ("console", "dice-roller", "8ball", "pick"):
            wait_for(lambda: self.running(name), name + " RUNNING")
        self.say("!roll 2d6", r"\] = \d+")
        self.say("!8ball will it work?", r"\S")
        self.say("!pick tea or coffee", r"(tea|coffee)")
        self.say("!help", r"roll")
        self.say("!admin status dice-roller", r"dice-roller")
        for req in ({"cmd": "status"}, {"cmd": "system"}, {"cmd": "version"},
                    {"cmd": "help"}, {"cmd": "metrics", "plugin": "dice-roller"},
                    {"cmd": "history", "plugin": "dice-roller"},
                    {"cmd": "tail", "plugin": "8ball"}):
            r = self.request(req)
            self.check("%s answers" % req["cmd"], r.get("ok"))
        self.check("bad JSON is refused", not self.request(b"{nope")["ok"])
        self.check("an unknown verb is refused", not self.request({"cmd": "nope"})["ok"])
        old = self.state("dice-roller")["pid"]
        os.kill(old, signal.SIGKILL)
        wait_for(lambda: (self.running("dice-roller") or {}).get("pid") not in (None, old),
                 "dice-roller restarted")
        crashes = self.request({"cmd": "crashes", "plugin": "dice-roller"})["result"]
        self.check("the kill -9 is recorded", crashes["crashes"][-1]["signal"] == 9)
        self.request({"cmd": "restart", "plugin": "8ball"})
        wait_for(lambda: self.running("8ball"), "8ball restarted")
        self.request({"cmd": "stop", "plugin": "pick"})
        wait_for(lambda: self.state("pick")["state"] == "STOPPED", "pick stopped")
        self.request({"cmd": "start", "plugin": "pick"})
        wait_for(lambda: self.running("pick"), "pick started again")
        self.config(with_pick=False)
        r = self.request({"cmd": "reload"})
        self.check("reload removes pick", r.get("ok") and r["result"]["removed"] == ["pick"])
        self.say("!roll 1d6", r"\] = \d+")
        time.sleep(1.5)		# a few sampling ticks under memcheck
        self.proc.send_signal(signal.SIGTERM)
        rc = self.proc.wait(TIMEOUT)
        self.log.close()
        with open(self.vlog) as f:
            report = f.read()
        summary = re.search(r"ERROR SUMMARY: (\d+) errors", report)
        self.check("the daemon exits 0 (valgrind's exit status %d)" % rc, rc == 0)
        self.check("memcheck: %s" % (summary.group(0) if summary else "no summary"),
                   summary and summary.group(1) == "0")
        for kind in ("definitely", "indirectly", "possibly"):
            m = re.search(r"%s lost: ([\d,]+) bytes" % kind, report)
            self.check("%s lost: %s bytes" % (kind, m.group(1) if m else "0"),
                       m is None or m.group(1) == "0")
        if not all(ok for _, ok in self.checks):
            log("valgrind's report: " + self.vlog)


def main():
    if subprocess.run(["sh", "-c", "command -v valgrind"], capture_output=True).returncode:
        raise SystemExit("check-valgrind: valgrind is not installed (scripts/install-deps --valgrind)")
    s = Scenario()
    try:
        s.run()
    except (AssertionError, SystemExit) as e:
        s.check(str(e), False)
        if s.proc.poll() is None:
            s.proc.kill()
            s.proc.wait()
    passed = sum(ok for _, ok in s.checks)
    failed = len(s.checks) - passed
    print("%d passed, %d failed" % (passed, failed))
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
