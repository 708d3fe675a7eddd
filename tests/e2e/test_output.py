"""Plugin output cannot drown the host (docs/config.md "output", "log_file").

A plugin flooding stdout, stderr or log messages costs the daemon's log at
most its budget plus one summary line per interval, and every line is either
logged or counted in a summary; the daemon keeps answering meanwhile; the
crash record still holds the plugin's last lines. Repeated warnings about one
plugin collapse the same way. A plugin's log_file rotates by size.
"""
import json
import os
import re
import time

import pytest

from conftest import CONSOLE, SLOW, plugin, wait_for

# A small budget so that a flood of a few seconds is far over it.
OUTPUT = {"lines_per_second": 20, "burst_lines": 40, "summary_interval": 1}
SUMMARY = re.compile(r"plugin flood: (\d+) (stderr|stdout|log) (?:lines|messages) "
                     r"\(([\d.]+ (?:bytes|KiB|MiB))\) suppressed in the last ([\d.]+) s "
                     r"\(output limit 20 lines/s, 65536 bytes/s\)")


def flood(stream, lines, then="stay", **extra):
    cfg = {"stream": stream, "lines": lines, "then": then}
    cfg.update(extra)
    return plugin("flood", "flood", cfg, restart={"autorestart": "never"})


def flood_lines(log, stream):
    """The flood's lines that reached the daemon's log, in order."""
    if stream == "log":
        rx = re.compile(r"supervisor: flood: (flood \d+)$", re.M)
    else:
        rx = re.compile(r"supervisor: flood\[\d+\] %s: (flood \d+)$" % stream, re.M)
    return rx.findall(log)


def suppressed(log, stream):
    return sum(int(m.group(1)) for m in SUMMARY.finditer(log) if m.group(2) == stream)


@pytest.mark.parametrize("stream", ["stderr", "stdout", "log"])
def test_flood_is_rate_limited_and_counted(daemon, stream):
    n = 20000
    start = time.monotonic()
    daemon.start(config=daemon.config([flood(stream, n)], output=OUTPUT))
    # The daemon answers while the plugin floods.
    worst = 0.0
    while True:
        t = time.monotonic()
        assert daemon.state("flood") == "RUNNING"
        worst = max(worst, time.monotonic() - t)
        log = daemon.read_log()
        logged = flood_lines(log, stream)
        if len(logged) + suppressed(log, stream) == n:
            break
        assert time.monotonic() - start < 20 * SLOW, \
            "not every line logged or counted: %d + %d of %d" % (
                len(logged), suppressed(log, stream), n)
        time.sleep(0.05)
    elapsed = time.monotonic() - start
    assert worst < 0.5 * SLOW, "status took %.3f s during the flood" % worst
    # Within budget: the burst, the rate over the time it ran, one summary
    # line a second.
    assert len(logged) <= 40 + 20 * elapsed, (len(logged), elapsed)
    summaries = list(SUMMARY.finditer(log))
    assert 1 <= len(summaries) <= elapsed + 2
    assert all(float(m.group(4)) >= 0.9 for m in summaries[:-1])
    lines = [l for l in log.splitlines() if "flood" in l]
    assert len(lines) <= 40 + 20 * elapsed + len(summaries) + 10
    assert len(log) < 40000, len(log)
    # The lines that were logged came in order, the first ones first.
    assert logged[0] == "flood 000001" and logged == sorted(logged)


def test_crash_record_keeps_the_last_lines(daemon):
    n = 10000
    daemon.start(config=daemon.config([flood("stderr", n, then="exit")], output=OUTPUT))
    daemon.wait_state("flood", "STOPPED", timeout=20)
    crash = daemon.result("crashes", plugin="flood")["crashes"][0]
    assert crash["exit_code"] == 3
    # Suppressed in the daemon's log, but the crash record has the latest.
    assert crash["stderr"] == ["flood %06d" % i for i in range(n - 9, n + 1)]
    wait_for(lambda: len(flood_lines(daemon.read_log(), "stderr")) +
             suppressed(daemon.read_log(), "stderr") == n, what="every line counted")
    # Status counts what was left out, as the summaries do.
    st = daemon.status("flood")
    assert st["output_suppressed"] == suppressed(daemon.read_log(), "stderr") > 0, st


def test_dropped_event_warnings_collapse(daemon):
    echo = plugin("echo", "echo", output={"summary_interval": 1})
    daemon.start(config=daemon.config([CONSOLE, echo]))
    assert daemon.ask("!echo hi") == "hi"
    daemon.ctl("stop", "echo", check=0)
    daemon.wait_state("echo", "STOPPED")
    n = 200
    for i in range(n):
        daemon.say("!echo %d" % i)
    wait_for(lambda: daemon.status("echo")["events"]["dropped"] == n, what="drops counted")
    m = daemon.wait_log(r"plugin echo: (\d+) more events dropped in the last ([\d.]+) s "
                        r"\(stopped, stopping or FATAL\)", timeout=5)
    log = daemon.read_log()
    one_by_one = re.findall(r"plugin echo: STOPPED; event \d+ dropped", log)
    assert len(one_by_one) == 3
    assert int(m.group(1)) + len(one_by_one) == n


def read(path):
    with open(path, "rb") as f:
        return f.read().decode()


def test_log_file_rotates(daemon):
    n = 2000
    p = flood("stdout", n, size=40)
    p["log_file"] = {"path": "logs/flood.log", "max_bytes": 8192, "backups": 3}
    os.mkdir(os.path.join(daemon.dir, "logs"))
    # The oldest beyond the kept count is not touched; the next one is replaced.
    base = os.path.join(daemon.dir, "logs", "flood.log")
    for k in (3, 5):
        with open("%s.%d" % (base, k), "w") as f:
            f.write("old %d\n" % k)
    daemon.start(config=daemon.config([p], output=OUTPUT))
    wait_for(lambda: "flood %06d" % n in read(base), timeout=10, what="last line in the file")
    names = sorted(os.listdir(os.path.join(daemon.dir, "logs")))
    assert names == ["flood.log", "flood.log.1", "flood.log.2", "flood.log.3", "flood.log.5"]
    assert read(base + ".5") == "old 5\n"
    for name in names[:4]:
        size = os.path.getsize(os.path.join(daemon.dir, "logs", name))
        assert 0 < size <= 8192, (name, size)
    # Newest last: the files, oldest first, hold consecutive lines.
    text = "".join(read("%s.%d" % (base, k)) for k in (3, 2, 1)) + read(base)
    nums = [int(x) for x in re.findall(r"\] stdout: flood (\d+) x+$", text, re.M)]
    assert nums == list(range(nums[0], n + 1)) and nums[0] > 1
    assert re.match(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3} \[\d+\] stdout: flood ", text)
    # Not in the daemon's log, and not counted as suppressed there.
    log = daemon.read_log()
    assert not flood_lines(log, "stdout") and not SUMMARY.search(log)


def test_log_file_that_cannot_be_written(daemon):
    p = flood("stderr", 50, every=0.01)
    p["log_file"] = {"path": "missing/dir/flood.log"}
    daemon.start(config=daemon.config([p], output=OUTPUT))
    wait_for(lambda: len(flood_lines(daemon.read_log(), "stderr")) +
             suppressed(daemon.read_log(), "stderr") == 50, what="lines in the daemon's log")
    log = daemon.read_log()
    warnings = re.findall(r"plugin flood: log file: cannot open %s/missing/dir/flood.log: "
                          r"No such file or directory; its stdout and stderr go to the "
                          r"daemon's log until the file can be written \(tried every 10 s\)"
                          % re.escape(daemon.dir), log)
    assert len(warnings) == 1, log
    assert daemon.state("flood") == "RUNNING"


def test_reload_applies_a_new_log_file(daemon):
    p = flood("stderr", 100000, every=0.02)
    cfg = daemon.config([p], output=OUTPUT)
    daemon.start(config=cfg)
    daemon.wait_log(r"flood\[\d+\] stderr: flood 000001")
    p["log_file"] = {"path": "flood.log"}
    with open(daemon.config_path, "w") as f:
        json.dump(cfg, f)
    assert daemon.result("reload")["changed"] == ["flood"]
    path = os.path.join(daemon.dir, "flood.log")
    wait_for(lambda: os.path.exists(path) and "stderr: flood 000003" in read(path),
             what="lines in the new log file")
