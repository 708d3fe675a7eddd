"""Hot upgrade (docs/lifecycle.md, Upgrade): a new process beside the old,
command ownership moved on its ready, the old one drained; a failed new
version leaves the old one serving; reload with "reload": "upgrade"; watch.

The plugin under test is tests/plugins/versioned.py: every reply is
"VERSION:ARGS", so each reply tells which process answered it.
"""
import json
import os
import threading
import time

from conftest import (CONSOLE, SLOW, TEST_PLUGINS, Subscriber, pid_alive,
                      plugin, wait_for)
from httpclient import free_port, get

FAST_STOP = {"stop_timeout": 2, "ready_timeout": 3}


def versioned(tmp_path, version="1", name="ver", **extra):
    """The versioned plugin, its version (and mode) read from a file."""
    vf = os.path.join(str(tmp_path), name + ".version")
    with open(vf, "w") as f:
        f.write(version + "\n")
    return plugin(name, "versioned", {"version_file": vf},
                  restart=dict(FAST_STOP), **extra), vf


def loadgen(tmp_path, out, **config):
    cfg = {"out": out, "rate": 2000, "seconds": 3}
    cfg.update(config)
    # It writes its results into the test's directory: granted, as an
    # operator grants a plugin a directory it writes to.
    return {"name": "load", "role": "connector",
            "exec": [os.path.join(TEST_PLUGINS, "loadgen.py")], "config": cfg,
            "sandbox": {"write": [str(tmp_path)]}}


def write_version(path, text):
    with open(path + ".tmp", "w") as f:
        f.write(text + "\n")
    os.rename(path + ".tmp", path)


def test_upgrade_under_load_loses_no_command_and_switches_once(daemon, tmp_path):
    ver, vf = versioned(tmp_path)
    out = os.path.join(str(tmp_path), "load.json")
    start = os.path.join(str(tmp_path), "go")
    daemon.start([ver, loadgen(tmp_path, out, start_file=start)])
    old = daemon.status("ver")
    assert old["version"] == "1"
    write_version(vf, "2")
    open(start, "w").close()
    time.sleep(1.0)          # a second of load before the upgrade
    r = daemon.ctl("upgrade", "ver", check=0)
    assert "upgraded: version 1 -> 2" in r.stdout, r.stdout
    wait_for(lambda: os.path.exists(out), 15 * SLOW, what="load results")
    with open(out) as f:
        res = json.load(f)
    sent = res["sent"]
    assert sent == 6000
    by_seq = {}
    for seq, text, _, _ in res["replies"]:
        by_seq.setdefault(seq, []).append(text)
    missing = [s for s in range(sent) if s not in by_seq]
    twice = [s for s, t in by_seq.items() if len(t) != 1]
    assert not missing, "no reply to %d commands, first %s" % (len(missing), missing[:5])
    assert not twice, "more than one reply to %s" % twice[:5]
    versions = [by_seq[s][0].split(":", 1)[0] for s in range(sent)]
    # One cut: every command before it answered by 1, every one after by 2.
    cut = versions.index("2")
    assert 0 < cut < sent
    assert set(versions[:cut]) == {"1"} and set(versions[cut:]) == {"2"}, \
        "replies of both versions interleave around %d" % cut
    st = daemon.status("ver")
    assert st["state"] == "RUNNING" and st["version"] == "2"
    assert st["pid"] != old["pid"]
    assert st["upgrade"]["result"] == "done"
    assert st["upgrade"]["old_pid"] == old["pid"]
    # One series: every event routed counted once, under the one name.
    assert st["events"]["routed"] == sent
    assert st["events"]["replies"] == sent
    assert st["events"]["dropped"] == 0
    assert st["crashes"] == 0
    wait_for(lambda: not pid_alive(old["pid"]), 10 * SLOW, what="old pid to exit")
    assert st["upgrade"]["old_pids"] in ([], [old["pid"]])


def keep_asking(daemon, stop, answers):
    """Ask !ver every 50 ms through the console until stop is set."""
    i = 0
    while not stop.is_set():
        answers.append(daemon.ask("!ver a%d" % i, timeout=3))
        i += 1
        time.sleep(0.05)


def failed_upgrade(daemon, tmp_path, version_text, ready_timeout=None,
                   others=()):
    ver, vf = versioned(tmp_path)
    if ready_timeout:
        ver["restart"]["ready_timeout"] = ready_timeout
    daemon.start([CONSOLE, ver, *others])
    old = daemon.status("ver")
    write_version(vf, version_text)
    stop, answers = threading.Event(), []
    t = threading.Thread(target=keep_asking, args=(daemon, stop, answers))
    t.start()
    try:
        r = daemon.ctl("upgrade", "ver")
    finally:
        time.sleep(0.3)
        stop.set()
        t.join()
    assert r.returncode == 1, (r.stdout, r.stderr)
    # The old version answered every question, before, during and after.
    assert len(answers) >= 3
    assert all(a.startswith("1:a") for a in answers), answers
    st = daemon.status("ver")
    assert st["state"] == "RUNNING" and st["pid"] == old["pid"]
    assert st["version"] == "1"
    assert st["upgrade"]["result"] == "failed"
    assert daemon.ask("!ver after") == "1:after"
    crashes = daemon.result("crashes", plugin="ver")["crashes"]
    assert len(crashes) == 1 and crashes[0]["detail"].startswith("upgrade failed")
    assert crashes[0]["pid"] != old["pid"]
    return r, st, crashes[0]


def test_upgrade_to_a_crashing_version_keeps_the_old_serving(daemon, tmp_path):
    r, st, crash = failed_upgrade(daemon, tmp_path, "2 crash")
    assert "upgrade failed: exit" in r.stdout, r.stdout
    assert "version 2: cannot load its data" in r.stdout
    assert crash["reason"] == "exit" and crash["exit_code"] == 3
    assert "version 2: giving up" in crash["stderr"][-1]
    assert st["breaker"] == "closed" and st["restarts"] == 0


def test_upgrade_to_a_version_that_never_sends_ready(daemon, tmp_path):
    r, st, crash = failed_upgrade(daemon, tmp_path, "2 noready", ready_timeout=1)
    assert "upgrade failed: ready-timeout, no ready within 1 s" in r.stdout, r.stdout
    assert crash["reason"] == "ready-timeout"


def test_upgrade_claiming_another_plugins_command_is_refused(daemon, tmp_path):
    other = plugin("owner", "echo", {"commands": ["echo"]})
    r, st, crash = failed_upgrade(daemon, tmp_path, "2 normal ver,echo",
                                  others=[other])
    assert 'command "echo" is already owned by plugin owner' in r.stdout, r.stdout
    assert crash["reason"] == "protocol"
    assert daemon.status("owner")["commands"] == ["echo"]
    assert st["commands"] == ["ver"]


def test_upgrade_moves_commands_and_announces_on_the_state_topic(daemon, tmp_path):
    ver, vf = versioned(tmp_path)
    daemon.start(config=daemon.config([CONSOLE, ver],
                                      chat={"unknown_command": "reply"}))
    sub = Subscriber(daemon.sock, ["state"])
    write_version(vf, "2 normal ver2")
    r = daemon.request({"cmd": "upgrade", "plugin": "ver"})
    assert r["ok"] and r["result"]["state"] == "UPGRADING", r
    assert r["result"]["upgrade"]["new_pid"] != r["result"]["pid"]
    up = sub.wait(lambda e: e.get("to") == "UPGRADING", what="UPGRADING")
    assert "new pid" in up["reason"]
    done = sub.wait(lambda e: e.get("from") == "UPGRADING", what="switch")
    assert done["to"] == "RUNNING" and "upgraded: version 1 -> 2" in done["reason"]
    sub.close()
    # The dropped command is released, the new one claimed.
    assert daemon.ask("!ver2 x") == "2:x"
    assert "unknown command" in daemon.ask("!ver x")
    assert daemon.status("ver")["commands"] == ["ver2"]
    # Upgrading a plugin that is not running is refused with a reason.
    daemon.result("stop", plugin="ver")
    daemon.wait_state("ver", "STOPPED")
    r = daemon.ctl("upgrade", "ver", check=1)
    assert "STOPPED" in r.stderr


def test_admin_upgrade_says_how_it_ended(daemon, tmp_path):
    ver, vf = versioned(tmp_path)
    cfg = daemon.config([CONSOLE, ver], chat={"admins": ["console:*"],
                                              "admin_rate": 0})
    daemon.start(config=cfg)
    write_version(vf, "3")
    assert "upgrading, new pid" in daemon.ask("!admin upgrade ver")
    line = daemon.reply()
    assert line.startswith("upgraded ver: version 1 -> 3"), (line, daemon.stdout_lines)
    write_version(vf, "4 crash")
    daemon.ask("!admin upgrade ver")
    line = daemon.reply()
    assert line.startswith("upgrade of ver failed: exit"), line
    assert daemon.ask("!ver z") == "3:z"


def test_reload_upgrades_a_plugin_that_opts_in(daemon, tmp_path):
    ver = plugin("ver", "versioned", {"version": "1"}, restart=dict(FAST_STOP),
                 reload="upgrade")
    plain = plugin("plain", "versioned", {"version": "1", "commands": ["other"]},
                   restart=dict(FAST_STOP))
    cfg = daemon.config([CONSOLE, ver, plain])
    daemon.start(config=cfg)
    before = {n: daemon.status(n)["pid"] for n in ("ver", "plain")}
    sub = Subscriber(daemon.sock, ["state"])
    ver["config"]["version"] = "2"
    plain["config"]["version"] = "2"
    with open(daemon.config_path, "w") as f:
        json.dump(cfg, f)
    daemon.result("reload")
    seen = []
    sub.wait(lambda e: seen.append((e["plugin"], e["to"])) or
             (("ver", "RUNNING") in seen and ("plain", "RUNNING") in seen),
             what="both running again")
    sub.close()
    assert ("ver", "UPGRADING") in seen and ("ver", "STOPPING") not in seen
    assert ("plain", "STOPPING") in seen and ("plain", "UPGRADING") not in seen
    assert daemon.ask("!ver r") == "2:r"
    assert daemon.status("ver")["pid"] != before["ver"]


def watched(tmp_path, version):
    """A wrapper script the watch tests rewrite: it runs versioned.main."""
    path = os.path.join(str(tmp_path), "bot.py")
    return path, ("#!/usr/bin/python3\nimport sys\nsys.path.insert(0, %r)\n"
                  "import versioned\nversioned.main(%r)\n" % (TEST_PLUGINS, version))


def upgrades(daemon):
    u = daemon.status("ver")["upgrade"]
    return 0 if u is None else u["upgrades"] + u["failures"]


def test_watch_upgrades_once_per_rebuild(daemon, tmp_path):
    path, text = watched(tmp_path, "1")
    with open(path, "w") as f:
        f.write(text)
    os.chmod(path, 0o755)
    # The script imports the test plugin beside it, as an operator grants it.
    ver = {"name": "ver", "exec": [path], "watch": True,
           "restart": dict(FAST_STOP), "sandbox": {"read": [TEST_PLUGINS]}}
    daemon.start([CONSOLE, ver])
    assert daemon.ask("!ver a") == "1:a"
    # A compiler's way: a temp name, then a rename over it.
    _, text = watched(tmp_path, "2")
    with open(path + ".new", "w") as f:
        f.write(text)
    os.chmod(path + ".new", 0o755)
    os.rename(path + ".new", path)
    wait_for(lambda: daemon.status("ver")["version"] == "2", 10 * SLOW,
             what="version 2 by watch")
    # An editor's way: in place, in several chunks with pauses.
    _, text = watched(tmp_path, "3")
    with open(path, "w") as f:
        for i in range(0, len(text), 16):
            f.write(text[i:i + 16])
            f.flush()
            time.sleep(0.05)
    wait_for(lambda: daemon.status("ver")["version"] == "3", 10 * SLOW,
             what="version 3 by watch")
    # Settled: exactly one upgrade per rebuild, none failed.
    time.sleep(1.5 * SLOW)
    u = daemon.status("ver")["upgrade"]
    assert (u["upgrades"], u["failures"]) == (2, 0), u
    assert daemon.ask("!ver b") == "3:b"
    log = daemon.read_log()
    assert log.count("watch: ") >= 2


def test_watch_waits_until_the_file_is_executable(daemon, tmp_path):
    path, text = watched(tmp_path, "1")
    with open(path, "w") as f:
        f.write(text)
    os.chmod(path, 0o755)
    data = os.path.join(str(tmp_path), "data.txt")
    open(data, "w").close()
    ver = {"name": "ver", "exec": [path], "watch": [data, path],
           "restart": dict(FAST_STOP), "sandbox": {"read": [TEST_PLUGINS]}}
    daemon.start([CONSOLE, ver])
    _, text = watched(tmp_path, "2")
    with open(path + ".new", "w") as f:
        f.write(text)
    os.rename(path + ".new", path)          # not executable yet
    daemon.wait_log(r"watch: .*bot\.py.* not executable", 5 * SLOW)
    assert daemon.status("ver")["version"] == "1"
    os.chmod(path, 0o755)
    wait_for(lambda: daemon.status("ver")["version"] == "2", 10 * SLOW,
             what="version 2 once executable")
    # A listed data file counts too.
    with open(data, "w") as f:
        f.write("x")
    wait_for(lambda: upgrades(daemon) == 2, 10 * SLOW, what="upgrade by data file")


def test_samples_say_which_version_ran_when(daemon, tmp_path):
    ver, vf = versioned(tmp_path)
    port = free_port()
    cfg = daemon.config([ver], metrics={"poll_interval": 0.2,
                                        "history_duration": 60},
                        http={"listen": "127.0.0.1:%d" % port})
    daemon.start(config=cfg)
    old = daemon.status("ver")["pid"]
    wait_for(lambda: len(daemon.result("history", plugin="ver")["samples"]) >= 2,
             5 * SLOW, what="samples of version 1")
    write_version(vf, "2")
    daemon.ctl("upgrade", "ver", check=0)
    new = daemon.status("ver")["pid"]

    def samples():
        return daemon.result("history", plugin="ver")["samples"]
    wait_for(lambda: any(s["pid"] == new for s in samples()), 5 * SLOW,
             what="a sample of the new process")
    seen = {(s["pid"], s["version"]) for s in samples() if s["pid"]}
    assert (old, "1") in seen and (new, "2") in seen, seen
    assert seen <= {(old, "1"), (new, "2")}, seen
    # One series: the ring and the counters go on under the one name.
    m = daemon.result("metrics", plugin="ver")
    assert m["current"]["version"] == "2"
    assert m["status"]["starts"] == 2
    # Prometheus: the upgrade counted, UPGRADING one of the states.
    status, _, body = get(port, "/metrics")
    text = body.decode()
    assert status == 200
    assert 'supervisor_plugin_upgrades_total{plugin="ver",role="plugin",result="done"} 1' in text, text
    assert 'supervisor_plugin_state{plugin="ver",role="plugin",state="UPGRADING"} 0' in text


def test_status_shows_both_pids_while_upgrading(daemon, tmp_path):
    ver, vf = versioned(tmp_path)
    ver["restart"]["ready_timeout"] = 2
    daemon.start([CONSOLE, ver])
    old = daemon.status("ver")["pid"]
    write_version(vf, "2 noready")
    r = daemon.result("upgrade", plugin="ver")
    new = r["upgrade"]["new_pid"]
    assert new and new != old and pid_alive(new)
    st = daemon.status("ver")
    assert st["state"] == "UPGRADING" and st["pid"] == old
    assert st["upgrade"]["new_pid"] == new and st["upgrade"]["result"] == "running"
    # Still serving: supervisorctl status exits 0 and says both pids.
    r = daemon.ctl("status", "ver", check=0)
    assert "UPGRADING" in r.stdout
    assert "running: new pid %d beside pid %d" % (new, old) in r.stdout, r.stdout
    assert daemon.ask("!ver q") == "1:q"
    # A second upgrade asked meanwhile is refused by the verb.
    r = daemon.request({"cmd": "upgrade", "plugin": "ver"})
    assert r["error"]["code"] == "invalid-state", r
    daemon.wait_state("ver", "RUNNING", timeout=5)
    r = daemon.ctl("status", "ver", check=0)
    assert "failed: ready-timeout, upgrade failed: no ready within 2 s" not in r.stdout
    assert "failed: ready-timeout, no ready within 2 s (0 done, 1 failed)" in r.stdout, r.stdout
    wait_for(lambda: not pid_alive(new), 5 * SLOW, what="the new pid gone")


def test_stop_cancels_an_upgrade_and_a_second_one_waits_its_turn(daemon, tmp_path):
    ver, vf = versioned(tmp_path, reload="upgrade")
    ver["config"]["ready_delay"] = 1
    cfg = daemon.config([CONSOLE, ver])
    daemon.start(config=cfg)
    old = daemon.status("ver")["pid"]

    def reload_with(x, version):
        write_version(vf, version)
        ver["config"]["x"] = x
        with open(daemon.config_path, "w") as f:
            json.dump(cfg, f)
        daemon.result("reload")
    # A change while an upgrade runs: the next upgrade follows this one.
    reload_with(1, "2")
    assert daemon.state("ver") == "UPGRADING"
    wait_for(lambda: daemon.status("ver")["upgrade"]["new_pid"] is not None and
             pid_alive(daemon.status("ver")["upgrade"]["new_pid"]), 5 * SLOW,
             what="the new process")
    time.sleep(0.3)          # the new one has read version 2 at its hello
    reload_with(2, "3")
    daemon.wait_log(r"will upgrade again once this upgrade ends", 5 * SLOW)
    wait_for(lambda: daemon.status("ver")["version"] == "3", 15 * SLOW,
             what="version 3 after version 2")
    u = daemon.status("ver")["upgrade"]
    assert (u["upgrades"], u["failures"], u["from_version"]) == (2, 0, "2"), u
    assert "upgraded: version 1 -> 2" in daemon.read_log()
    assert not pid_alive(old) or wait_for(lambda: not pid_alive(old), 5 * SLOW)
    # A stop during an upgrade cancels it: the new one is killed, no crash.
    reload_with(3, "4")
    new = wait_for(lambda: daemon.status("ver")["upgrade"]["new_pid"], 5 * SLOW,
                   what="new pid")
    assert daemon.state("ver") == "UPGRADING"
    daemon.result("stop", plugin="ver")
    daemon.wait_state("ver", "STOPPED", timeout=10)
    u = daemon.status("ver")["upgrade"]
    assert u["result"] == "cancelled" and "stop" in u["detail"], u
    wait_for(lambda: not pid_alive(new), 5 * SLOW, what="the new process killed")
    assert daemon.result("crashes", plugin="ver")["crashes"] == []
