"""Pings at scale: a plugin that talks is not pinged; one that falls silent
is pinged and, if it does not answer, killed as hung within the same bound
as ever (ping_interval + hang_timeout after its last message)."""
import datetime
import re

from conftest import SLOW, plugin, wait_for

FAST = {"first_delay": 0, "initial_delay": 0.2, "multiplier": 2, "max_delay": 1,
        "max_crashes": 100, "crash_window": 60,
        "ping_interval": 0.2, "hang_timeout": 0.6}


def log_time(text, pattern):
    """The time stamp of the first log line matching pattern."""
    m = re.search(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}) .*" + pattern, text, re.M)
    assert m, "no log line /%s/" % pattern
    return datetime.datetime.strptime(m.group(1), "%Y-%m-%d %H:%M:%S.%f")


def test_talking_plugin_is_not_pinged_and_silence_is_still_caught(daemon):
    # It never answers a ping. It talks for 2 s: more than twice
    # ping_interval + hang_timeout, so a ping sent meanwhile would kill it.
    daemon.start([plugin("talker", "talker", {"every": 0.05, "talk_for": 2.0}, FAST)])
    first = daemon.status("talker")["pid"]
    wait_for(lambda: daemon.status("talker")["crashes"] >= 1, timeout=6, what="hang detected")
    crash = daemon.result("crashes", plugin="talker")["crashes"][0]
    assert crash["reason"] == "hung", crash
    assert crash["pid"] == first
    assert crash["detail"] == "no pong within 0.6 s"
    assert crash["uptime_seconds"] >= 2.0, crash
    daemon.wait_log(r"plugin talker: killing pid %d" % first)
    text = daemon.read_log()
    silent = log_time(text, r"talker: silent from now on")
    killed = log_time(text, r"plugin talker: killing pid %d" % first)
    gap = (killed - silent).total_seconds()
    # Pinged within ping_interval of its last line, killed hang_timeout
    # later: 0.8 s, plus the scheduling of two timers.
    assert 0.6 <= gap <= 0.8 + 0.3 * SLOW, gap
