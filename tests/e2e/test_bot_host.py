"""The bot host end to end: console → daemon → plugins → console."""
import json
import os
import re
import subprocess

from conftest import (CONSOLE, DICE, EIGHTBALL, PICK, SUPERVISOR, tplugin,
                      wait_for)

DEFAULT = [CONSOLE, DICE, EIGHTBALL, PICK]
NO_DROPS = {"queue_full": 0, "plugin_down": 0, "died": 0, "expired": 0, "not_reading": 0}


def test_roll_2d6_answers_with_dice_and_sum(daemon):
    daemon.start(DEFAULT)
    for _ in range(5):
        line = daemon.ask("!roll 2d6")
        m = re.fullmatch(r"🎲 \[(\d+), (\d+)\] = (\d+)", line)
        assert m, line
        a, b, total = map(int, m.groups())
        assert 1 <= a <= 6 and 1 <= b <= 6 and a + b == total


def test_roll_modifier_and_bad_notation(daemon):
    daemon.start(DEFAULT)
    m = re.fullmatch(r"🎲 \[(\d+)\] \+5 = (\d+)", daemon.ask("!roll d20+5"))
    assert m and int(m.group(1)) + 5 == int(m.group(2))
    assert daemon.ask("!roll 21d6") == "at most 20 dice"
    bad = daemon.ask("!roll 2x6")
    assert "2x6" in bad and "NdM" in bad


def test_flip_8ball_and_python_pick(daemon):
    daemon.start(DEFAULT)
    assert daemon.ask("!flip") in ("🪙 heads", "🪙 tails")
    assert daemon.ask("!8ball will the tests pass?").startswith("🎱 ")
    # 8ball's per-user cooldown of 3 s.
    assert "wait" in daemon.ask("!8ball again?").lower()
    assert daemon.ask("!pick tea, coffee") in ("👉 tea", "👉 coffee")


def test_commands_are_case_insensitive_and_help_lists_them(daemon):
    daemon.start(DEFAULT)
    assert daemon.ask("!FLIP") in ("🪙 heads", "🪙 tails")
    assert daemon.ask("!help") == \
        "commands: !8ball !flip !help !pick !roll (!help COMMAND: how to use one)"


def test_unknown_commands_are_ignored_by_default(daemon):
    daemon.start(DEFAULT)
    daemon.say("!nosuchthing")
    daemon.say("just chatting")
    assert daemon.ask("!flip") in ("🪙 heads", "🪙 tails")
    sysm = daemon.result("system")
    assert sysm["unknown_commands"] == 1


def test_unknown_commands_answered_when_configured(daemon):
    cfg = daemon.config(DEFAULT, chat={"unknown_command": "reply", "prefix": "?"})
    daemon.start(config=cfg)
    assert daemon.ask("?nosuch") == "unknown command ?nosuch; try ?help"
    assert daemon.ask("?flip") in ("🪙 heads", "🪙 tails")
    daemon.say("!flip")     # not our prefix: plain chat, nobody listens
    daemon.no_reply()


def test_events_and_replies_are_counted_per_plugin(daemon):
    daemon.start(DEFAULT)
    for _ in range(7):
        daemon.ask("!roll")
    daemon.ask("!flip")
    st = daemon.status("dice-roller")
    assert st["events"] == {"routed": 8, "replies": 8, "dropped": 0, "in_flight": 0,
                            "dropped_by_reason": NO_DROPS, "protocol_errors": 0}
    assert daemon.status("8ball")["events"]["routed"] == 0
    assert daemon.result("system")["total_events"] == 8
    assert daemon.status("console")["chat_lines"] == 8


def listener(name="listener"):
    """The echo test plugin asking for all chat: it answers "heard: LINE"."""
    return {"name": name, "exec": [tplugin("echo")], "config": {"chat": True}}


def test_plain_chat_reaches_the_plugins_that_asked_for_it(daemon):
    daemon.start(DEFAULT + [listener()])
    assert daemon.ask("just chatting") == "heard: just chatting"
    # Tabs and control characters arrive as spaces; commands are not chat.
    assert daemon.ask("a\tb") == "heard: a b"
    assert daemon.ask("!flip") in ("🪙 heads", "🪙 tails")
    # The prefix alone is a plain line too.
    assert daemon.ask("!") == "heard: !"
    st = daemon.status("listener")
    assert st["events"] == {"routed": 3, "replies": 3, "dropped": 0, "in_flight": 0,
                            "dropped_by_reason": NO_DROPS, "protocol_errors": 0}
    # Plugins that did not ask see none of it.
    assert daemon.status("dice-roller")["events"]["routed"] == 1


def test_plain_chat_follows_the_plugin_through_restart_and_stop(daemon):
    daemon.start([CONSOLE, DICE, listener()])
    assert daemon.ask("before") == "heard: before"
    old = daemon.status("listener")["pid"]

    # A restart: the new process asks again in its ready, and hears again.
    daemon.result("restart", plugin="listener")
    wait_for(lambda: daemon.status("listener")["pid"] not in (None, 0, old)
             and daemon.state("listener") == "RUNNING", what="listener restarted")
    assert daemon.ask("after restart") == "heard: after restart"

    # Stopped: no plain line is routed to it, nor counted as dropped for it.
    daemon.result("stop", plugin="listener")
    daemon.wait_state("listener", "STOPPED")
    before = daemon.status("listener")["events"]
    daemon.say("anyone there?")
    assert daemon.ask("!roll 1d2") in ("🎲 [1] = 1", "🎲 [2] = 2")   # the line was handled
    daemon.no_reply()
    assert daemon.status("listener")["events"] == before
    assert daemon.status("console")["chat_lines"] == 4

    # Started again by hand: it hears again.
    daemon.result("start", plugin="listener")
    daemon.wait_state("listener", "RUNNING")
    assert daemon.ask("back again") == "heard: back again"


def test_plain_chat_stops_when_the_plugin_crashes(daemon):
    crashy = {"name": "crashy", "exec": [tplugin("crasher")],
              "config": {"exit_code": 3, "on_command": True, "chat": True,
                         "commands": ["crash"]},
              "restart": {"autorestart": "never"}}
    daemon.start([CONSOLE, DICE, crashy])
    daemon.say("!crash")
    daemon.wait_state("crashy", "STOPPED")
    routed = daemon.status("crashy")["events"]["routed"]
    daemon.say("hello?")
    assert daemon.ask("!roll 1d2") in ("🎲 [1] = 1", "🎲 [2] = 2")
    assert daemon.status("crashy")["events"]["routed"] == routed


def test_overlong_chat_line_is_dropped_and_logged(daemon):
    cfg = daemon.config(DEFAULT, chat={"max_line": 64})
    daemon.start(config=cfg)
    daemon.say("!roll " + "1" * 100)
    daemon.wait_log(r"chat line of 106 bytes from console:console is over chat.max_line \(64\); dropped")
    # A command was meant for the bot: its user hears why nothing came.
    assert daemon.reply() == "your line was too long (106 bytes, at most 64): not read"
    assert daemon.ask("!flip") in ("🪙 heads", "🪙 tails")
    # A chat line is not an event: counted apart, so events reconcile.
    st = daemon.status("console")
    assert st["chat_lines_dropped"] == 1
    assert st["events"]["routed"] == 0 and st["events"]["dropped"] == 0


def test_plugin_stderr_is_captured_with_its_name(daemon):
    crasher = {"name": "crasher", "exec": [tplugin("crasher")],
               "config": {"exit_code": 3, "on_command": True}}
    daemon.start([CONSOLE, crasher])
    pid = daemon.status("crasher")["pid"]
    daemon.say("!crash")
    daemon.wait_log(r"crasher\[%d\] stderr: .*exit.*3" % pid)


def test_sigterm_stops_every_plugin_and_exits_zero(daemon):
    stubborn = {"name": "stubborn", "exec": [tplugin("hang")],
                "config": {"hang_after": 0, "ignore_term": True},
                "restart": {"stop_timeout": 0.3, "hang_timeout": 60}}
    daemon.start(DEFAULT + [stubborn])
    pids = [daemon.status(p["name"])["pid"] for p in DEFAULT + [stubborn]]
    assert daemon.stop() == 0
    log = daemon.read_log()
    assert "plugin stubborn: still running 0.3 s after SIGTERM; sending SIGKILL" in log
    assert "supervisor stopped: every plugin has exited" in log
    wait_for(lambda: not any(os.path.exists("/proc/%d" % p) for p in pids),
             what="no plugin process left")


def test_config_error_names_file_line_and_path(tmp_path):
    cfg = tmp_path / "bad.json"
    cfg.write_text('{\n  "plugins": [\n    {"name": "x", "exec": ["dice-roller"], "colour": 1}\n  ]\n}\n')
    r = subprocess.run([SUPERVISOR, "-c", str(cfg)], capture_output=True, text=True)
    assert r.returncode == 2
    assert re.search(r"bad\.json:3:\d+: plugins\[0\]\.colour: unknown key", r.stderr), r.stderr


def test_config_missing_executable_is_refused(tmp_path):
    cfg = tmp_path / "c.json"
    cfg.write_text(json.dumps({"plugins": [{"name": "ghost", "exec": ["no-such-plugin"]}]}))
    r = subprocess.run([SUPERVISOR, "-c", str(cfg)], capture_output=True, text=True)
    assert r.returncode == 2
    assert "plugins[0].exec[0]" in r.stderr and "no-such-plugin" in r.stderr
    # -n checks all a start checks, the executables included.
    r = subprocess.run([SUPERVISOR, "-n", "-c", str(cfg)], capture_output=True, text=True)
    assert (r.returncode, r.stdout) == (2, "")
    assert r.stderr.startswith('supervisor: %s:1:41: plugins[0].exec[0]: cannot find executable '
                               '"no-such-plugin" (tried: ' % cfg), r.stderr


def test_check_mode_accepts_the_default_config():
    r = subprocess.run([SUPERVISOR, "-n"], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert "configuration OK (4 plugins)" in r.stdout
