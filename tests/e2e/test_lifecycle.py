"""Crash detection, restart with backoff, the breaker, hangs, queued events."""
import os
import signal
import time

from conftest import CONSOLE, DICE, SLOW, Subscriber, pid_alive, plugin, wait_for

FAST = {"first_delay": 0, "initial_delay": 0.2, "multiplier": 2, "max_delay": 1,
        "max_crashes": 100, "crash_window": 60}


def test_kill_9_is_recorded_and_restarted(daemon):
    daemon.start([CONSOLE, DICE])
    old = daemon.status("dice-roller")["pid"]
    os.kill(old, signal.SIGKILL)
    st = wait_for(lambda: (lambda s: s["state"] == "RUNNING" and s["pid"] != old and s)(
        daemon.status("dice-roller")), what="dice-roller restarted")
    assert st["restarts"] == 1 and st["crashes"] == 1
    crash = daemon.result("crashes", plugin="dice-roller")["crashes"][0]
    assert crash["pid"] == old
    assert crash["reason"] == "signal"
    assert crash["signal"] == 9 and crash["signal_name"] == "SIGKILL"
    assert crash["exit_code"] is None and crash["core_dumped"] is False
    assert crash["uptime_seconds"] > 0
    # History is kept by name: the restarted plugin still answers.
    assert daemon.ask("!roll 1d2") in ("🎲 [1] = 1", "🎲 [2] = 2")


def test_exit_code_and_last_stderr_lines_are_recorded(daemon):
    daemon.start([CONSOLE, plugin("crasher", "crasher", {"exit_code": 3, "on_command": True},
                                  {"autorestart": "never"})])
    daemon.say("!crash")
    daemon.wait_state("crasher", "STOPPED")
    crash = daemon.result("crashes", plugin="crasher")["crashes"][0]
    assert crash["reason"] == "exit"
    assert crash["exit_code"] == 3 and crash["signal"] is None
    assert any("exit" in line and "3" in line for line in crash["stderr"]), crash["stderr"]
    assert daemon.result("tail", plugin="crasher")["lines"][-len(crash["stderr"]):] == crash["stderr"]


def test_backoff_schedule_is_followed(daemon):
    restart = dict(FAST, max_crashes=100)
    daemon.start([plugin("crasher", "crasher", {"exit_code": 1, "after": 0}, restart)],
                 wait_running=False)
    sub = Subscriber(daemon, ("state", "crash"))
    # Note when each crash happens (→ BACKOFF) and each restart (BACKOFF → STARTING).
    marks = []
    while len(marks) < 12:
        ev = sub.next()
        if ev["event"] == "state" and ev["to"] == "BACKOFF":
            marks.append(("crash", ev["time"]))
        elif ev["event"] == "state" and ev["from"] == "BACKOFF":
            marks.append(("start", ev["time"]))
    sub.close()
    gaps = [b[1] - a[1] for a, b in zip(marks, marks[1:]) if a[0] == "crash" and b[0] == "start"]
    expected = [0, 0.2, 0.4, 0.8, 1.0, 1.0]
    assert len(gaps) >= 5
    for got, want in zip(gaps, expected):
        assert want - 0.01 <= got <= want + 0.25 * SLOW, (gaps, expected)


def test_crash_loop_goes_fatal_then_trial_then_manual_restart(daemon, tmp_path):
    flag = str(tmp_path / "healthy")
    restart = dict(FAST, initial_delay=0.05, max_crashes=3, crash_window=30, cooldown=1,
                   reset_after=1)
    daemon.start([CONSOLE, plugin("crasher", "crasher",
                                  {"exit_code": 1, "after": 0, "unless_file": flag}, restart)],
                 wait_running=False)
    daemon.wait_state("console", "RUNNING")
    st = daemon.wait_state("crasher", "FATAL")
    assert st["breaker"] == "open"
    assert st["crashes"] == 4
    daemon.wait_log(r"plugin crasher: \w+ -> FATAL \(crash loop: more than 3 crashes in 30 s; "
                    r"breaker open, trial start in 1 s\)")
    # After the cooldown: one trial start, half-open; it crashes → FATAL again.
    daemon.wait_log(r"cooldown over: trial start, breaker half-open")
    wait_for(lambda: daemon.status("crasher")["crashes"] == 5, what="trial crash")
    st = daemon.wait_state("crasher", "FATAL")
    assert st["breaker"] == "open"
    # Events for a FATAL plugin are dropped and counted at once.
    daemon.say("!crash")
    wait_for(lambda: daemon.status("crasher")["events"]["dropped"] == 1, what="dropped count")
    # Fixed now: the next trial stays up reset_after and the breaker closes.
    open(flag, "w").close()
    daemon.wait_log(r"plugin crasher: up 1 s after the trial start; breaker closed", timeout=10)
    assert daemon.status("crasher")["breaker"] == "closed"
    # A manual restart also closes it: break it again, then restart by hand.
    os.unlink(flag)
    daemon.result("restart", plugin="crasher")
    daemon.wait_state("crasher", "FATAL", timeout=10)
    r = daemon.result("restart", plugin="crasher")
    assert r["state"] == "STARTING"
    assert daemon.status("crasher")["breaker"] == "closed"


def test_hung_plugin_is_killed_and_restarted(daemon):
    restart = dict(FAST, ping_interval=0.2, hang_timeout=0.6)
    daemon.start([plugin("hang", "hang", {"hang_after": 0.3}, restart)])
    first = daemon.status("hang")["pid"]
    wait_for(lambda: daemon.status("hang")["crashes"] >= 1, timeout=5, what="hang detected")
    crash = daemon.result("crashes", plugin="hang")["crashes"][0]
    assert crash["reason"] == "hung"
    assert crash["pid"] == first
    assert crash["detail"] == "no pong within 0.6 s"
    assert crash["signal_name"] == "SIGKILL"
    daemon.wait_log(r"plugin hang: killing pid %d: no pong within 0.6 s" % first)


def test_ready_timeout_is_a_crash(daemon):
    restart = dict(FAST, ready_timeout=0.3, autorestart="never")
    daemon.start([plugin("noready", "noready", {}, restart)], wait_running=False)
    daemon.wait_state("noready", "STOPPED")
    crash = daemon.result("crashes", plugin="noready")["crashes"][0]
    assert crash["reason"] == "ready-timeout"
    assert crash["detail"] == "no ready within 0.3 s"


def test_events_sent_during_a_restart_are_delivered_afterwards(daemon):
    restart = dict(FAST, first_delay=1.0)
    daemon.start([CONSOLE, plugin("echo", "echo", {}, restart)])
    pid = daemon.status("echo")["pid"]
    os.kill(pid, signal.SIGKILL)
    daemon.wait_state("echo", "BACKOFF")
    daemon.say("!echo one")
    daemon.say("!echo two")
    st = wait_for(lambda: (lambda s: s["queued"] == 2 and s)(daemon.status("echo")),
                  what="2 events queued")
    assert st["state"] in ("BACKOFF", "STARTING")
    assert daemon.reply(timeout=5) == "one"
    assert daemon.reply(timeout=5) == "two"
    st = daemon.status("echo")
    assert st["events"]["routed"] == 2 and st["events"]["dropped"] == 0


def test_queue_overflow_drops_the_oldest(daemon):
    restart = dict(FAST, first_delay=1.0, queue_size=2)
    daemon.start([CONSOLE, plugin("echo", "echo", {}, restart)])
    os.kill(daemon.status("echo")["pid"], signal.SIGKILL)
    daemon.wait_state("echo", "BACKOFF")
    for word in ("a", "b", "c", "d"):
        daemon.say("!echo " + word)
    wait_for(lambda: daemon.status("echo")["events"]["routed"] == 4, what="4 routed")
    assert daemon.reply() == "c"
    assert daemon.reply() == "d"
    daemon.no_reply()
    assert daemon.status("echo")["events"]["dropped"] == 2
    daemon.wait_log(r"plugin echo: BACKOFF, queue full \(2\); oldest event \d+ dropped")


def test_sigterm_with_plugins_in_every_state_leaves_nothing_behind(daemon):
    plugins = [
        CONSOLE,
        DICE,                                                        # RUNNING
        plugin("backoff", "crasher", {"exit_code": 1, "after": 0},
               dict(FAST, first_delay=60)),                          # BACKOFF
        plugin("fatal", "crasher", {"exit_code": 1, "after": 0},
               dict(FAST, initial_delay=0, max_crashes=1, cooldown=0)),  # FATAL
        plugin("stopped", "echo", {}, autostart=False),              # STOPPED
        plugin("starting", "noready", {}, {"ready_timeout": 60}),    # STARTING
        plugin("stopping", "hang", {"hang_after": 0, "ignore_term": True},
               {"stop_timeout": 0.5, "hang_timeout": 60}),           # STOPPING below
    ]
    daemon.start(plugins, wait_running=False)
    daemon.wait_state("dice-roller", "RUNNING")
    daemon.wait_state("console", "RUNNING")
    daemon.wait_log(r"plugin starting still STARTING after 2 s; starting connectors anyway")
    daemon.wait_state("backoff", "BACKOFF")
    daemon.wait_state("fatal", "FATAL")
    daemon.wait_state("starting", "STARTING")
    daemon.wait_state("stopping", "RUNNING")
    assert daemon.state("stopped") == "STOPPED"
    daemon.result("stop", plugin="stopping")
    assert daemon.state("stopping") == "STOPPING"
    pids = [daemon.status(n)["pid"] for n in ("dice-roller", "starting", "stopping", "console")]
    t0 = time.monotonic()
    assert daemon.stop() == 0
    assert time.monotonic() - t0 < 5 * SLOW
    for pid in pids:
        assert not pid_alive(pid), pid
