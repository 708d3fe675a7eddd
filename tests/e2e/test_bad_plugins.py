"""Plugins that break the protocol are refused; the daemon serves the others."""
import pytest

from conftest import CONSOLE, DICE, tplugin, wait_for

NO_RESTART = {"autorestart": "never"}


def garbage(mode, **extra):
    cfg = {"mode": mode}
    cfg.update(extra)
    return {"name": "garbage", "exec": [tplugin("garbage")], "config": cfg,
            "restart": NO_RESTART}


def assert_killed_for_protocol(daemon, detail):
    daemon.wait_state("garbage", "STOPPED")
    crashes = daemon.result("crashes", plugin="garbage")["crashes"]
    assert len(crashes) == 1
    assert crashes[0]["reason"] == "protocol"
    assert detail in crashes[0]["detail"]
    # The rest of the bot still answers.
    assert daemon.ask("!flip") in ("🪙 heads", "🪙 tails")


# A plugin sending each kind of bad message: what the crash record says,
# and the daemon's log line (if checked).
KILLED = [
    ("malformed", "malformed msgpack",
     r"plugin garbage: killing pid \d+: protocol violation: malformed msgpack"),
    ("oversize", "exceeds the 65536-byte limit", None),
    ("not-map", "message is not a map", None),
    ("unknown-type", "unknown message type", None),
    ("bad-version", "speaks protocol version 999, the daemon speaks 1", None),
]


@pytest.mark.parametrize("mode, detail, log", KILLED, ids=[k[0] for k in KILLED])
def test_bad_message_kills_the_plugin(daemon, mode, detail, log):
    daemon.start([CONSOLE, DICE, garbage(mode)], wait_running=False)
    daemon.wait_state("dice-roller", "RUNNING")
    daemon.wait_state("console", "RUNNING")
    assert_killed_for_protocol(daemon, detail)
    if log is not None:
        daemon.wait_log(log)


def test_command_owned_by_another_plugin_is_refused(daemon):
    thief = {"name": "thief", "exec": [tplugin("echo")], "autostart": False,
             "config": {"commands": ["roll"]}, "restart": NO_RESTART}
    daemon.start([CONSOLE, DICE, thief])
    daemon.result("start", plugin="thief")
    daemon.wait_state("thief", "STOPPED")
    crash = daemon.result("crashes", plugin="thief")["crashes"][0]
    assert crash["reason"] == "protocol"
    assert crash["detail"] == 'command "roll" is already owned by plugin dice-roller'
    assert daemon.ask("!roll 1d2") in ("🎲 [1] = 1", "🎲 [2] = 2")


def test_reserved_command_is_refused(daemon):
    thief = {"name": "thief", "exec": [tplugin("echo")],
             "config": {"commands": ["admin"]}, "restart": NO_RESTART}
    daemon.start([CONSOLE, thief], wait_running=False)
    daemon.wait_state("thief", "STOPPED")
    crash = daemon.result("crashes", plugin="thief")["crashes"][0]
    assert crash["detail"] == 'command "admin" is reserved by the daemon'


def test_bad_field_drops_the_message_but_keeps_the_plugin(daemon):
    daemon.start([CONSOLE, DICE, garbage("bad-field", on_command=True)])
    daemon.say("!go")
    daemon.wait_log(r"plugin garbage: protocol error, message dropped: reply needs an integer id")
    st = daemon.status("garbage")
    assert st["state"] == "RUNNING"
    assert st["events"]["protocol_errors"] == 1
    assert daemon.ask("!roll 1d2") in ("🎲 [1] = 1", "🎲 [2] = 2")


def test_overlong_reply_text_is_cut_and_sent(daemon):
    daemon.start([CONSOLE, DICE, garbage("long-text", on_command=True)])
    daemon.say("!go")
    # Cut at a character boundary (é is 2 bytes: 1022 of them fit before
    # the 3-byte ellipsis in 2048), still sent, counted, logged.
    assert daemon.reply() == "é" * 1022 + "…"
    daemon.wait_log(r"plugin garbage: reply of 10240 bytes is over the 2048-byte chat limit: "
                    r"sent cut, with an ellipsis")
    st = daemon.status("garbage")
    assert st["state"] == "RUNNING"
    assert st["events"]["protocol_errors"] == 1 and st["events"]["replies"] == 1
    assert daemon.ask("!roll 1d2") in ("🎲 [1] = 1", "🎲 [2] = 2")


def test_huge_string_header_is_refused_when_it_arrives(daemon):
    # A str header announcing 2 GiB and then nothing: killed at once, not
    # after hang_timeout (15 s) as a hung plugin.
    daemon.start([CONSOLE, DICE, garbage("huge-string")], wait_running=False)
    daemon.wait_state("dice-roller", "RUNNING")
    daemon.wait_state("console", "RUNNING")
    wait_for(lambda: daemon.status("garbage")["crashes"] == 1, timeout=3,
             what="garbage killed for its string header")
    crash = daemon.result("crashes", plugin="garbage")["crashes"][0]
    assert crash["reason"] == "protocol"
    assert crash["detail"] == ("protocol violation: message exceeds the "
                               "65536-byte limit: a str header announces "
                               "2147483647 bytes")
    assert crash["uptime_seconds"] < 2
    daemon.wait_log(r"plugin garbage: killing pid \d+: protocol violation: "
                    r"message exceeds the 65536-byte limit: a str header")
    assert daemon.ask("!flip") in ("🪙 heads", "🪙 tails")


def test_plugin_that_closes_its_socket_is_killed_at_once(daemon):
    daemon.start([CONSOLE, DICE, garbage("close-socket")], wait_running=False)
    daemon.wait_state("dice-roller", "RUNNING")
    wait_for(lambda: daemon.status("garbage")["crashes"] == 1, timeout=3,
             what="garbage killed for closing its socket")
    crash = daemon.result("crashes", plugin="garbage")["crashes"][0]
    assert crash["reason"] == "protocol"
    assert crash["detail"] == "closed its socket"
    assert crash["signal"] == 9
    assert crash["uptime_seconds"] < 2
    daemon.wait_log(r"plugin garbage: killing pid \d+: closed its socket")
    daemon.wait_state("garbage", "STOPPED")
