"""The metrics collector as an operator meets it, through the control socket."""

import pytest

from conftest import CONSOLE, DICE, SLOW, plugin, wait_for

FAST_METRICS = {"poll_interval": 0.2, "history_duration": 60}


def samples(daemon, name, **args):
    return daemon.result("history", plugin=name, **args)["samples"]


# A busy process reads about 100 % only with a core to itself: not beside the
# parallel workers' daemons on a 2-core machine (scripts/run-tests).
@pytest.mark.serial
def test_busy_plugin_reads_about_100_percent_and_idle_about_0(daemon):
    cfg = daemon.config([plugin("hog", "hog"), plugin("idle", "hog", {"busy": False})],
                        metrics={"poll_interval": 0.5, "history_duration": 60})
    daemon.start(config=cfg)
    wait_for(lambda: len([s for s in samples(daemon, "hog") if s["cpu_percent"] is not None]) >= 4,
             timeout=10, what="4 CPU samples")
    hog = [s["cpu_percent"] for s in samples(daemon, "hog") if s["cpu_percent"] is not None]
    idle = [s["cpu_percent"] for s in samples(daemon, "idle") if s["cpu_percent"] is not None]
    # One core busy-looping reads about 100 %; an idle plugin about 0 % once
    # started (its first interval holds Python's start-up).
    assert 70 <= sorted(hog)[len(hog) // 2] <= 130, hog
    assert max(idle[-3:]) < 5, idle
    agg = daemon.result("metrics", plugin="hog")["aggregates"]
    assert agg["plugin_name"] == "hog"
    assert 70 <= agg["cpu"]["avg"] <= 130
    assert agg["cpu"]["min"] <= agg["cpu"]["avg"] <= agg["cpu"]["max"]
    assert agg["memory_mb"]["p95"] > 1


def test_first_sample_after_start_has_no_cpu_and_restarts_keep_history(daemon):
    cfg = daemon.config([CONSOLE, DICE], metrics=FAST_METRICS)
    daemon.start(config=cfg)
    wait_for(lambda: len(samples(daemon, "dice-roller")) >= 3, what="3 samples")
    before = samples(daemon, "dice-roller")
    running = [s for s in before if s["pid"]]
    assert running[0]["cpu_percent"] is None      # no delta yet: not a false 0
    assert all(s["cpu_percent"] is not None for s in running[1:])
    daemon.result("restart", plugin="dice-roller")
    daemon.wait_state("dice-roller", "RUNNING")
    new_pid = daemon.status("dice-roller")["pid"]
    wait_for(lambda: any(s["pid"] == new_pid for s in samples(daemon, "dice-roller")),
             what="a sample of the new process")
    after = samples(daemon, "dice-roller")
    assert after[0]["time"] == before[0]["time"]   # the ring survived the restart
    first_new = next(s for s in after if s["pid"] == new_pid)
    assert first_new["cpu_percent"] is None
    assert first_new["restarts"] == 1


def test_ring_is_bounded_by_history_duration(daemon):
    cfg = daemon.config([DICE], metrics={"poll_interval": 0.1, "history_duration": 1})
    daemon.start(config=cfg)
    r = daemon.result("history", plugin="dice-roller")
    assert r["capacity"] == 10
    full = wait_for(lambda: (lambda s: len(s) == 10 and s)(samples(daemon, "dice-roller")),
                    what="a full ring")
    # Five more samples: the oldest went out as each came in.
    s = wait_for(lambda: (lambda s: s[5]["time"] > full[-1]["time"] and s)(
        samples(daemon, "dice-roller")), what="five samples past a full ring")
    assert len(s) == 10
    assert s[-1]["time"] - s[0]["time"] <= 1.2 * SLOW
    assert len(samples(daemon, "dice-roller", last=3)) == 3
    assert len(samples(daemon, "dice-roller", since="0.35s")) in (3, 4, 5)


def test_events_per_minute_and_system_metrics(daemon):
    cfg = daemon.config([CONSOLE, DICE], metrics=FAST_METRICS)
    daemon.start(config=cfg)
    for _ in range(6):
        daemon.ask("!roll")
    wait_for(lambda: len(samples(daemon, "dice-roller")) >= 3, what="samples")
    agg = daemon.result("metrics", plugin="dice-roller")["aggregates"]
    assert agg["events"] == 6
    assert agg["events_per_minute"] > 0
    sysm = daemon.result("system")
    assert sysm["total_plugins"] == 2 and sysm["plugins_running"] == 2
    assert sysm["plugins_crashed"] == 0 and sysm["total_events"] == 6
    assert sysm["total_memory_mb"] > 0
    assert sysm["bot_uptime_human"].endswith("s")
    daemon_self = sysm["daemon"]
    assert daemon_self["memory_mb"] > 0 and daemon_self["cpu_percent"] is not None


def test_metrics_window_and_bad_window(daemon):
    cfg = daemon.config([DICE], metrics=FAST_METRICS)
    daemon.start(config=cfg)
    wait_for(lambda: len(samples(daemon, "dice-roller")) >= 6, what="samples")
    r = daemon.result("metrics", plugin="dice-roller", window="0.5s")
    assert r["window_seconds"] == 0.5
    assert 1 <= r["aggregates"]["sample_count"] <= 4
    bad = daemon.request({"cmd": "metrics", "plugin": "dice-roller", "window": "soon"})
    assert bad == {"ok": False, "error": {"code": "bad-argument", "message":
                   "window must be a duration like 90s, 5m, 1h, 2d or a number of seconds (up to 30 days)"}}


def test_memory_limit_restarts_the_plugin(daemon):
    leak = plugin("leak", "leak", {"mb_per_second": 100, "max_mb": 400},
                  limits={"memory_mb": 60, "violations": 2},
                  restart={"first_delay": 0, "autorestart": "never"})
    cfg = daemon.config([leak], metrics=FAST_METRICS)
    daemon.start(config=cfg)
    daemon.wait_state("leak", "STOPPED", timeout=15)
    crash = daemon.result("crashes", plugin="leak")["crashes"][0]
    assert crash["reason"] == "memory-limit"
    assert "over limits.memory_mb 60 for 2 samples" in crash["detail"]


def test_cpu_limit_restarts_the_plugin(daemon):
    hog = plugin("hog", "hog", limits={"cpu_percent": 50, "cpu_seconds": 1},
                 restart={"autorestart": "never"})
    cfg = daemon.config([hog], metrics=FAST_METRICS)
    daemon.start(config=cfg)
    daemon.wait_state("hog", "STOPPED", timeout=15)
    crash = daemon.result("crashes", plugin="hog")["crashes"][0]
    assert crash["reason"] == "cpu-limit"
    assert "over limits.cpu_percent 50" in crash["detail"]


def test_disabled_metrics_still_count_events_and_crashes(daemon):
    cfg = daemon.config([CONSOLE, DICE], metrics={"enabled": False})
    daemon.start(config=cfg)
    daemon.ask("!roll")
    assert samples(daemon, "dice-roller") == []
    assert daemon.status("dice-roller")["events"]["routed"] == 1
    assert daemon.result("metrics", plugin="dice-roller")["aggregates"] is None
    assert daemon.result("system")["metrics_enabled"] is False
