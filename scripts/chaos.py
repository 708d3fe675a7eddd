"""make chaos: the daemon under a kill -9 storm, bounded to about two minutes.

A load connector (bench/chaos_connector.c) sends chat lines at RATE lines/s to
two plugins (dice-roller and 8ball) while KILLS random kill -9s hit them, a
plugin keeps starting descendants that leave its process group (setsid), and a
plugin floods stderr. Asserted:

- the daemon stays alive and answers the control socket throughout (latency
  of a status request every 0.1 s: p50, p99, max reported);
- one crash record per kill, with the killed pid and signal 9;
- for each plugin, every routed event is accounted for:
  routed = replies + dropped + in flight;
- no descendant of any plugin is left after the daemon's SIGTERM, and the
  daemon exits 0;
- the daemon's RSS and open descriptors come back to where they started;
- the daemon's log stays bounded despite the stderr flood.

The figures are printed and written to docs/benchmarks.md (its chaos section).

    scripts/chaos.py [BUILD]        CHAOS_KILLS, CHAOS_RATE, CHAOS_SECONDS
"""
import datetime
import json
import os
import random
import signal
import socket
import sys
import threading
import time

import bench

KILLS = int(os.environ.get("CHAOS_KILLS", "1000"))
RATE = int(os.environ.get("CHAOS_RATE", "10000"))
SECONDS = float(os.environ.get("CHAOS_SECONDS", "100"))
TARGETS = ("dice-roller", "8ball")
# A few MB of log at most: the flood alone would write hundreds.
LOG_BUDGET = 16 * 1024 * 1024
# RSS may settle a little above its start (allocator pages kept for reuse).
RSS_SLACK_KIB = 1024

TPLUG = os.path.join(bench.ROOT, "tests", "plugins")


def log(msg):
    print("chaos: " + msg, file=sys.stderr, flush=True)


class Conn:
    """One control connection kept open: a request line, a reply line."""

    def __init__(self, path):
        self.s = socket.socket(socket.AF_UNIX)
        self.s.settimeout(10)
        self.s.connect(path)
        self.f = self.s.makefile("rb")

    def ask(self, obj):
        self.s.sendall(json.dumps(obj).encode() + b"\n")
        r = json.loads(self.f.readline())
        if not r.get("ok"):
            raise AssertionError("request %s failed: %s" % (obj, r))
        return r["result"]


class CrashStream(threading.Thread):
    """The crash topic of subscribe, read as it streams: every crash record
    the daemon writes, including those its bounded ring has let go since."""

    def __init__(self, path):
        super().__init__(daemon=True)
        self.conn = Conn(path)
        self.conn.s.settimeout(None)
        self.conn.ask({"cmd": "subscribe", "topics": ["crash"]})
        self.records = []

    def run(self):
        for line in self.conn.f:
            ev = json.loads(line)
            if ev.get("event") == "crash":
                self.records.append((ev["plugin"], ev["crash"]["pid"], ev["crash"]["signal"]))


def open_fds(pid):
    return len(os.listdir("/proc/%d/fd" % pid))


def percentile(xs, q):
    xs = sorted(xs)
    return xs[min(int(len(xs) * q), len(xs) - 1)]


class Chaos:
    def __init__(self):
        self.checks = []
        self.figures = {}

    def check(self, what, ok):
        self.checks.append((what, bool(ok)))
        log(("ok: " if ok else "FAILED: ") + what)

    def plugins(self, out):
        """The config's plugins; out: the load connector's counts file."""
        fast = {"first_delay": 0, "initial_delay": 0.005, "multiplier": 2, "max_delay": 0.02,
                "max_crashes": 1000, "crash_window": 1,
                "queue_size": 4096}
        return [
            {"name": "chaos", "role": "connector",
             "exec": [os.path.join(bench.BENCH, "chaos_connector")],
             "config": {"rate": RATE, "seconds": SECONDS + 2, "out": out, "users": 500,
                        "lines": ["!roll 2d6", "!8ball will it hold?"]}},
            {"name": "dice-roller", "exec": ["dice-roller"], "restart": fast},
            {"name": "8ball", "exec": ["8ball"], "config": {"cooldown": 0}, "restart": fast},
            {"name": "spawner", "exec": [os.path.join(TPLUG, "spawner.py")],
             "config": {"every": 0.5, "pidfile": "descendants"}},
            {"name": "flood", "exec": [os.path.join(TPLUG, "flood.py")],
             "config": {"stream": "stderr", "yes": True}},
        ]

    def run(self):
        # Plugins run in the daemon's directory: relative paths land there.
        plugins = self.plugins("connector.json")

        def grant(directory):
            # The connector's counts and the spawner's pid file are written
            # in the daemon's directory: granted to those two (docs/sandbox.md).
            for p in plugins:
                if p["name"] in ("chaos", "spawner"):
                    p["sandbox"] = {"write": [directory]}
        d = bench.Daemon(plugins, setup=grant,
                         metrics={"poll_interval": 1, "history_duration": 600})
        self.d = d
        self.dir = d.dir
        out = os.path.join(d.dir, "connector.json")
        pid = d.proc.pid
        bench.wait_for(lambda: d.all_running(len(TARGETS) + 3), 20, "every plugin RUNNING")
        conn = Conn(d.sock)
        crashes = CrashStream(d.sock)
        crashes.start()
        time.sleep(2)		# the load is on; let the daemon settle
        rss0, fds0 = d.rss_kib(), open_fds(pid)
        log("start: daemon RSS %d KiB, %d open descriptors" % (rss0, fds0))

        kills = []
        latencies = []
        t0 = time.monotonic()
        interval = SECONDS / KILLS
        next_kill = t0
        while len(kills) < KILLS and time.monotonic() - t0 < SECONDS + 30:
            now = time.monotonic()
            if now >= next_kill:
                name = random.choice(TARGETS)
                st = conn.ask({"cmd": "status", "plugin": name})
                if st["pid"]:
                    try:
                        os.kill(st["pid"], signal.SIGKILL)
                        kills.append((name, st["pid"]))
                    except ProcessLookupError:
                        pass
                next_kill += interval
            if not latencies or now - latencies[-1][0] >= 0.1:
                a = time.monotonic()
                conn.ask({"cmd": "status"})
                latencies.append((a, (time.monotonic() - a) * 1000))
            time.sleep(max(0, min(next_kill - time.monotonic(), 0.01)))
        elapsed = time.monotonic() - t0
        self.check("%d kills in %.1f s" % (len(kills), elapsed), len(kills) == KILLS)
        lat = [ms for _, ms in latencies]
        self.figures["status_ms"] = (percentile(lat, 0.5), percentile(lat, 0.99), max(lat))
        self.check("the daemon answered %d status requests during the storm "
                   "(p50 %.2f ms, p99 %.2f ms, max %.2f ms)" % ((len(lat),) + self.figures["status_ms"]),
                   d.proc.poll() is None)

        # Let the load end and every plugin come back.
        def load_done():
            try:
                with open(out) as f:
                    return json.load(f)["done"]
            except (OSError, ValueError, KeyError):
                return False
        bench.wait_for(load_done, SECONDS + 60, "the load to end")
        with open(out) as f:
            load = json.load(f)
        self.figures["load"] = load
        bench.wait_for(lambda: d.all_running(len(TARGETS) + 3), 20, "every plugin RUNNING again")

        # One crash record per kill, with its pid and SIGKILL: as streamed
        # (the default ring of 64 per plugin keeps only the newest), and
        # as counted by status.
        for name in TARGETS:
            mine = [p for n, p in kills if n == name]
            seen = {p for n, p, sig in crashes.records if n == name and sig == 9}
            nine = sum(1 for n, p, sig in crashes.records if n == name and sig == 9)
            missing = [p for p in mine if p not in seen]
            total = conn.ask({"cmd": "status", "plugin": name})["crashes"]
            self.check("%s: %d kills, %d crash records with SIGKILL (%d counted by status), "
                       "none missing" % (name, len(mine), nine, total),
                       not missing and nine == len(mine) and total >= nine)

        # Accounting: wait until nothing is in flight, then the identity.
        def settled():
            rows = [conn.ask({"cmd": "status", "plugin": n}) for n in TARGETS]
            return all(r["events"].get("in_flight", 0) == 0 for r in rows) and rows
        rows = bench.wait_for(settled, 70, "no event in flight")
        self.figures["events"] = {}
        for r in rows:
            ev = r["events"]
            self.figures["events"][r["name"]] = ev
            self.check("%s: routed %d = replies %d + dropped %d + in flight %d"
                       % (r["name"], ev["routed"], ev["replies"], ev["dropped"],
                          ev.get("in_flight", 0)),
                       ev["routed"] == ev["replies"] + ev["dropped"] + ev.get("in_flight", 0))

        rss1, fds1 = d.rss_kib(), open_fds(pid)
        self.figures["rss"] = (rss0, rss1)
        self.figures["fds"] = (fds0, fds1)
        self.check("daemon RSS %d KiB at the start, %d KiB after" % (rss0, rss1),
                   rss1 <= rss0 + RSS_SLACK_KIB)
        self.check("daemon descriptors %d at the start, %d after" % (fds0, fds1), fds1 == fds0)
        size = os.path.getsize(os.path.join(self.dir, "log"))
        self.figures["log_bytes"] = size
        self.check("daemon log %.1f MB (at most %.0f MB)" % (size / 1e6, LOG_BUDGET / 1e6),
                   size <= LOG_BUDGET)

        descendants = self.descendants()
        d.stop()
        left = [p for p in descendants if bench_alive(p)]
        self.check("%d descendants started, none left after SIGTERM" % len(descendants),
                   descendants and not left)
        self.figures["descendants"] = len(descendants)
        self.figures["kills"] = len(kills)
        self.figures["elapsed"] = elapsed

    def descendants(self):
        try:
            with open(os.path.join(self.dir, "descendants")) as f:
                return [int(x) for x in f.read().split()]
        except FileNotFoundError:
            return []


def bench_alive(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (FileNotFoundError, IndexError):
        return False


def write_section(c):
    f = c.figures
    ev = f.get("events", {})
    now = datetime.datetime.now().strftime("%Y-%m-%d %H:%M")
    lines = [
        bench.CHAOS_MARK,
        "## Chaos run",
        "",
        "Measured by `make chaos` (scripts/chaos.py) on %s, on %s." % (now, bench.machine()),
        "",
        "A load connector sent %d chat lines in %.1f s (%d replies came back) to dice-roller and"
        % (f["load"]["sent"], f["load"]["seconds"], f["load"]["received"]),
        "8ball while %d random `kill -9`s hit them over %.1f s; a plugin kept starting setsid"
        % (f["kills"], f["elapsed"]),
        "descendants (%d in all) and another flooded stderr." % f["descendants"],
        "",
        "| figure | measured |",
        "| --- | --- |",
        "| `status` on the socket during the storm, p50 / p99 / max | %.2f / %.2f / %.2f ms |"
        % f["status_ms"],
    ]
    for name, e in sorted(ev.items()):
        lines.append("| %s: routed = replies + dropped + in flight | %d = %d + %d + %d |"
                     % (name, e["routed"], e["replies"], e["dropped"], e.get("in_flight", 0)))
    lines += [
        "| daemon RSS at the start / after | %d / %d KiB |" % f["rss"],
        "| daemon open descriptors at the start / after | %d / %d |" % f["fds"],
        "| daemon log written during the run (stderr flood included) | %.1f MB |" % (f["log_bytes"] / 1e6),
        "| descendants left after SIGTERM | 0 of %d |" % f["descendants"],
        "",
        "Every kill has its crash record with the killed pid and SIGKILL.",
        "",
    ]
    path = os.path.join(bench.ROOT, "docs", "benchmarks.md")
    with open(path) as fh:
        text = fh.read()
    if bench.CHAOS_MARK in text:
        text = text[:text.index(bench.CHAOS_MARK)]
    text = text.rstrip("\n") + "\n\n" + "\n".join(lines)
    with open(path, "w") as fh:
        fh.write(text)
    log("wrote the chaos section of " + path)


def main():
    c = Chaos()
    try:
        c.run()
    except (AssertionError, SystemExit) as e:
        c.check(str(e), False)
        if getattr(c, "d", None) is not None and c.d.proc.poll() is None:
            c.d.proc.kill()
            c.d.proc.wait()
    passed = sum(ok for _, ok in c.checks)
    failed = len(c.checks) - passed
    if failed == 0:
        write_section(c)
    print("%d passed, %d failed" % (passed, failed))
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
