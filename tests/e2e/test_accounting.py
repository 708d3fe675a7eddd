"""Every event routed ends once: replied, or dropped with a reason.

Per plugin, routed = replies + dropped + in_flight holds at every moment, and
dropped is the sum of dropped_by_reason.
"""
import os
import signal

from conftest import CONSOLE, plugin, wait_for

FAST = {"first_delay": 0, "initial_delay": 0.2, "multiplier": 2, "max_delay": 1,
        "reset_after": 30, "max_crashes": 1000, "crash_window": 60,
        "stop_timeout": 2}


def balanced(ev):
    """The accounting identity of one status row's events object."""
    return (ev["routed"] == ev["replies"] + ev["dropped"] + ev["in_flight"] and
            ev["dropped"] == sum(ev["dropped_by_reason"].values()))


def events(daemon, name):
    ev = daemon.status(name)["events"]
    assert balanced(ev), ev
    return ev


def test_events_in_flight_when_the_plugin_dies_are_dropped_as_died(daemon):
    # "slow" answers after 30 s: the five events are in flight when it dies.
    daemon.start([CONSOLE, plugin("echo", "echo", {"slow_seconds": 30}, FAST)])
    pid = daemon.status("echo")["pid"]
    for i in range(5):
        daemon.say("!slow %d" % i)
    wait_for(lambda: events(daemon, "echo")["in_flight"] == 5, what="5 in flight")
    os.kill(pid, signal.SIGKILL)
    wait_for(lambda: daemon.status("echo")["crashes"] == 1, what="the crash")
    ev = events(daemon, "echo")
    assert ev["routed"] == 5 and ev["replies"] == 0 and ev["in_flight"] == 0
    assert ev["dropped"] == 5 and ev["dropped_by_reason"]["died"] == 5
    daemon.wait_log(r"plugin echo: 5 events in flight dropped: its process ended "
                    r"before replying")
    # The next process answers, and that is counted too.
    daemon.wait_state("echo", "RUNNING")
    assert daemon.ask("!echo back") == "back"
    ev = events(daemon, "echo")
    assert (ev["routed"], ev["replies"], ev["dropped"], ev["in_flight"]) == (6, 1, 5, 0)
    r = daemon.ctl("status", "echo", check=0)
    assert "in flight:       0\n" in r.stdout
    assert "dropped by:      5 died\n" in r.stdout


def test_queued_events_of_a_plugin_then_stopped_are_dropped_as_plugin_down(daemon):
    restart = dict(FAST, first_delay=5)
    daemon.start([CONSOLE, plugin("echo", "echo", {}, restart)])
    os.kill(daemon.status("echo")["pid"], signal.SIGKILL)
    daemon.wait_state("echo", "BACKOFF")
    for word in ("a", "b", "c"):
        daemon.say("!echo " + word)
    wait_for(lambda: daemon.status("echo")["queued"] == 3, what="3 queued")
    assert events(daemon, "echo")["in_flight"] == 3
    daemon.result("stop", plugin="echo")
    daemon.wait_state("echo", "STOPPED")
    ev = events(daemon, "echo")
    assert ev["in_flight"] == 0 and ev["dropped"] == 3
    assert ev["dropped_by_reason"]["plugin_down"] == 3
    # Stopped: dropped at once, for the same reason.
    daemon.say("!echo d")
    wait_for(lambda: events(daemon, "echo")["dropped"] == 4, what="dropped while stopped")
    assert events(daemon, "echo")["dropped_by_reason"]["plugin_down"] == 4
    daemon.no_reply()


def test_events_queued_through_a_crash_while_starting_keep_their_replies(daemon):
    # A plugin that is slow to get ready and is killed before it is: the
    # events queued for it wait for the next process, which answers them.
    restart = dict(FAST, first_delay=0.3)
    daemon.start([CONSOLE, plugin("echo", "echo", {"ready_delay": 1.0}, restart)])
    daemon.result("restart", plugin="echo")
    daemon.wait_state("echo", "STARTING")
    daemon.say("!echo early")
    wait_for(lambda: daemon.status("echo")["queued"] == 1, what="queued")
    os.kill(daemon.status("echo")["pid"], signal.SIGKILL)
    wait_for(lambda: daemon.status("echo")["crashes"] == 1, what="the crash")
    assert events(daemon, "echo")["in_flight"] == 1
    assert daemon.reply(timeout=10) == "early"
    ev = events(daemon, "echo")
    assert (ev["routed"], ev["replies"], ev["dropped"], ev["in_flight"]) == (1, 1, 0, 0)


def test_accounting_holds_through_a_burst_with_restarts(daemon):
    restart = dict(FAST, first_delay=0.05, queue_size=20)
    daemon.start([CONSOLE, plugin("echo", "echo", {"slow_seconds": 0.3}, restart)])
    kills = 0
    for i in range(300):
        daemon.say("!%s %d" % ("slow" if i % 3 == 0 else "echo", i))
        if i % 60 == 30:
            # Kill it with events in flight (the slow ones at least).
            st = daemon.wait_state("echo", "RUNNING")
            assert balanced(st["events"]), st["events"]
            os.kill(st["pid"], signal.SIGKILL)
            kills += 1
            wait_for(lambda: balanced(daemon.status("echo")["events"]) and
                     daemon.status("echo")["crashes"] == kills, what="crash %d" % kills)
    assert kills == 5
    wait_for(lambda: daemon.status("echo")["events"]["routed"] == 300, what="all routed")
    daemon.wait_state("echo", "RUNNING")
    ev = wait_for(lambda: (lambda e: e["in_flight"] == 0 and e)(events(daemon, "echo")),
                  timeout=10, what="nothing in flight")
    assert ev["routed"] == ev["replies"] + ev["dropped"]
    assert ev["replies"] > 0 and ev["dropped_by_reason"]["died"] > 0
