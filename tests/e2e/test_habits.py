"""Operator habits (issue 18): all and name lists, shutdown, -c finds the
socket, output wording, and what a chat user hears."""
import json
import os
import re
import subprocess

from conftest import (CONSOLE, DICE, EIGHTBALL, PICK, SLOW, SUPERVISOR,
                      ctl, pid_alive, wait_for)

ADMINS = {"admins": ["console:console"], "admin_rate": 0}


def test_restart_all_and_name_lists(daemon):
    daemon.start([CONSOLE, DICE, EIGHTBALL])
    pids = {n: daemon.status(n)["pid"] for n in ("dice-roller", "8ball", "console")}
    r = daemon.ctl("restart", "dice-roller", "8ball", check=0)
    assert re.search(r"^dice-roller: restart asked, now (STOPPING|STARTING)$", r.stdout, re.M)
    assert re.search(r"^8ball: restart asked, now (STOPPING|STARTING)$", r.stdout, re.M)
    assert "restart: 2 done, 0 skipped, 0 failed" in r.stdout
    for n in ("dice-roller", "8ball"):
        st = daemon.wait_state(n, "RUNNING")
        assert st["pid"] != pids[n]
    assert daemon.status("console")["pid"] == pids["console"]

    # stop all: everything stops, already-stopped plugins are skipped.
    daemon.ctl("stop", "8ball", check=0)
    daemon.wait_state("8ball", "STOPPED")
    r = daemon.ctl("stop", "all", check=0)
    assert "8ball: skipped: 8ball is already STOPPED" in r.stdout
    assert "stop: 2 done, 1 skipped, 0 failed" in r.stdout
    for n in ("dice-roller", "8ball", "console"):
        daemon.wait_state(n, "STOPPED")
    r = daemon.ctl("start", "all", check=0)
    assert "start: 3 done, 0 skipped, 0 failed" in r.stdout
    for n in ("dice-roller", "8ball", "console"):
        daemon.wait_state(n, "RUNNING")

    # An unknown name in a list refuses the whole request; nothing is done.
    pid = daemon.status("dice-roller")["pid"]
    r = daemon.ctl("restart", "dice-roller", "nope", check=1)
    assert 'no plugin named "nope"; nothing was done' in r.stderr
    assert daemon.status("dice-roller")["pid"] == pid
    # A failure for one plugin of a list is reported for it, exit 1.
    r = daemon.ctl("start", "dice-roller", "8ball", check=1)
    assert "dice-roller: FAILED: dice-roller is already RUNNING" in r.stdout
    # JSON: each plugin's outcome.
    res = daemon.result("stop", plugin=["8ball", "8ball"])
    assert res["done"] == 1 and res["plugins"][0]["plugin"] == "8ball"
    assert res["plugins"][0]["result"] == "done"
    bad = daemon.request({"cmd": "stop", "plugin": []})
    assert bad["error"]["code"] == "bad-argument"
    bad = daemon.request({"cmd": "stop", "plugin": [1]})
    assert bad["error"]["code"] == "bad-argument"


def test_admin_restart_list_in_chat(daemon):
    daemon.start(config=daemon.config([CONSOLE, DICE, EIGHTBALL], chat=ADMINS))
    pid = daemon.status("8ball")["pid"]
    daemon.say("!admin restart dice-roller 8ball")
    lines = [daemon.reply() for _ in range(3)]
    assert any(re.fullmatch(r"dice-roller: restart asked, now (STOPPING|STARTING)", l) for l in lines)
    assert "restart: 2 done, 0 skipped, 0 failed" in lines
    st = daemon.wait_state("8ball", "RUNNING")
    assert st["pid"] != pid
    daemon.wait_log(r'admin: console:console runs "restart dice-roller 8ball"')


def test_plugin_named_all_is_refused(tmp_path):
    cfg = tmp_path / "c.json"
    cfg.write_text(json.dumps({"plugins": [{"name": "all", "exec": ["dice-roller"]}]}))
    r = subprocess.run([SUPERVISOR, "-n", "-c", str(cfg)], capture_output=True, text=True)
    assert r.returncode == 2
    assert 'plugins[0].name: plugin name "all" is reserved' in r.stderr


def test_shutdown_verb(daemon):
    daemon.start([CONSOLE, DICE])
    pids = [daemon.status(n)["pid"] for n in ("console", "dice-roller")]
    r = daemon.ctl("shutdown", check=0)
    assert "stopping" in r.stdout
    assert daemon.proc.wait(10 * SLOW) == 0
    assert not any(pid_alive(p) for p in pids)
    assert "shutdown asked by the control socket" in daemon.read_log()
    # Not an !admin verb: nobody in chat could start the daemon again.


def test_ctl_c_default_config_finds_the_make_run_daemon(tmp_path):
    """make run starts the built-in config/default.json; supervisorctl -c
    config/default.json reaches it: base_dir ".." resolves the file's paths
    against the source tree, where the built-in copy resolves them."""
    from test_control import BuiltinDaemon
    from conftest import ROOT
    os.mkdir(tmp_path / "config")
    with open(os.path.join(ROOT, "config", "default.json")) as f:
        (tmp_path / "config" / "default.json").write_text(f.read())
    d = BuiltinDaemon(tmp_path)
    try:
        d.start_builtin()
        r = ctl("-c", "config/default.json", "status", cwd=str(tmp_path))
        assert r.returncode == 0, r.stderr
        assert re.search(r"^dice-roller\s+RUNNING", r.stdout, re.M), r.stdout
        # From elsewhere, with an absolute path, too.
        r = ctl("-c", str(tmp_path / "config" / "default.json"), "version")
        assert r.returncode == 0, r.stderr
    finally:
        if d.proc is not None:
            d.close()


def test_base_dir_must_exist(tmp_path):
    cfg = tmp_path / "c.json"
    cfg.write_text(json.dumps({"base_dir": "nowhere", "plugins": []}))
    r = subprocess.run([SUPERVISOR, "-n", "-c", str(cfg)], capture_output=True, text=True)
    assert r.returncode == 2
    assert re.search(r"c\.json:1:\d+: base_dir: cannot resolve directory \"nowhere\" \(in /.*\): "
                     r"No such file or directory", r.stderr), r.stderr
    r = ctl("-c", str(cfg), "status")
    assert r.returncode != 0 and "base_dir: cannot resolve directory" in r.stderr
