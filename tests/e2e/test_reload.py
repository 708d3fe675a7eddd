"""Reload: the config file read again and applied, nothing collected lost."""
import json
import signal

from conftest import CONSOLE, DICE, EIGHTBALL, PICK, tplugin, wait_for


def write(daemon, cfg):
    with open(daemon.config_path, "w") as f:
        json.dump(cfg, f)


def test_reload_adds_removes_and_restarts_changed_plugins(daemon):
    echo = {"name": "echo", "exec": [tplugin("echo")], "config": {"version": "1"}}
    cfg = daemon.config([CONSOLE, DICE, EIGHTBALL, echo], metrics={"poll_interval": 0.2})
    daemon.start(config=cfg)
    for _ in range(3):
        daemon.ask("!roll")
    dice_pid = daemon.status("dice-roller")["pid"]
    echo_pid = daemon.status("echo")["pid"]
    wait_for(lambda: len(daemon.result("history", plugin="echo")["samples"]) >= 2,
             what="echo samples")

    echo2 = dict(echo, config={"version": "2"})
    cfg2 = daemon.config([CONSOLE, DICE, echo2, PICK], metrics={"poll_interval": 0.2},
                         chat={"prefix": "?"})
    write(daemon, cfg2)
    r = daemon.result("reload")
    assert r == {"added": ["pick"], "removed": ["8ball"], "changed": ["echo"],
                 "unchanged": 2, "not_applied": []}
    daemon.wait_state("pick", "RUNNING")
    st = daemon.wait_state("echo", "RUNNING")
    assert st["pid"] != echo_pid and st["version"] == "2"
    # Its history survived the restart that applied the new config.
    assert daemon.result("history", plugin="echo")["samples"][0]["pid"] == echo_pid
    # Unchanged plugins kept running, with their counters.
    st = daemon.status("dice-roller")
    assert st["pid"] == dice_pid and st["events"]["routed"] == 3
    # 8ball is gone once stopped; the new prefix applies at once.
    wait_for(lambda: daemon.request({"cmd": "status", "plugin": "8ball"})["ok"] is False,
             what="8ball removed")
    assert daemon.ask("?pick a, b") in ("👉 a", "👉 b")
    daemon.say("!roll")
    daemon.no_reply()
    daemon.wait_log(r"reload: 1 added, 1 removed, 1 changed, 2 unchanged")


def test_reload_with_a_bad_config_changes_nothing(daemon):
    daemon.start([CONSOLE, DICE])
    pid = daemon.status("dice-roller")["pid"]
    with open(daemon.config_path, "w") as f:
        f.write('{"plugins": [{"name": "dice-roller", "exec": ["dice-roller"], "oops": 1}]}')
    r = daemon.request({"cmd": "reload"})
    assert r["ok"] is False and r["error"]["code"] == "config-error"
    assert "plugins[0].oops: unknown key" in r["error"]["message"]
    assert daemon.status("dice-roller")["pid"] == pid
    assert daemon.ask("!roll 1d2") in ("🎲 [1] = 1", "🎲 [2] = 2")


def test_sighup_reloads_and_reports_what_needs_a_restart(daemon):
    cfg = daemon.config([CONSOLE, DICE])
    daemon.start(config=cfg)
    cfg2 = daemon.config([CONSOLE, DICE], metrics={"poll_interval": 1})
    write(daemon, cfg2)
    daemon.proc.send_signal(signal.SIGHUP)
    daemon.wait_log(r"SIGHUP: reloading .*config\.json")
    daemon.wait_log(r"reload: 0 added, 0 removed, 0 changed, 2 unchanged; socket and "
                    r"metrics settings need a daemon restart")
    assert daemon.result("system")["poll_interval"] == 5
    r = daemon.ctl("reload", check=0)
    assert "not applied (restart the daemon): metrics.poll_interval" in r.stdout
