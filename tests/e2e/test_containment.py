"""Nothing a plugin starts outlives it: a descendant that left the plugin's
process group (setsid, a double fork) is gone after the plugin's own exit,
after `stop`, and after the daemon's SIGTERM, in both containment modes (one
cgroup per plugin where the daemon has a cgroup v2 subtree, the subreaper
otherwise; SUPERVISOR_CONTAINMENT chooses). And a plugin that cannot be
exec'd (missing #! interpreter, corrupt ELF) is a failed spawn that says why,
not a crashing program."""
import json
import os
import re
import signal
import subprocess

import pytest

from conftest import DICE, SUPERVISOR, pid_alive, wait_for

# A daemon starting anywhere on the machine ends what a killed daemon's
# plugins left in its cgroup subtree: these tests kill daemons and look at
# what is left, so no other test's daemon may start meanwhile.
pytestmark = pytest.mark.serial

NEVER = {"autorestart": "never", "ready_timeout": 60, "stop_timeout": 0.2}


def cgroup2_usable():
    """Whether this machine lets root make a cgroup v2 child of its own."""
    mnt = None
    with open("/proc/self/mountinfo") as f:
        for line in f:
            pre, _, post = line.partition(" - ")
            if post.startswith("cgroup2 "):
                mnt = pre.split()[4]
                break
    if mnt is None:
        return False
    with open("/proc/self/cgroup") as f:
        rel = [l[3:].strip() for l in f if l.startswith("0::")]
    if not rel:
        return False
    probe = os.path.join(mnt + (rel[0] if rel[0] != "/" else ""),
                         "i11-probe.%d" % os.getpid())
    try:
        os.mkdir(probe)
    except OSError:
        return False
    ok = os.path.exists(os.path.join(probe, "cgroup.kill"))
    os.rmdir(probe)
    return ok


MODES = [pytest.param("cgroup", marks=pytest.mark.skipif(
             not cgroup2_usable(), reason="no cgroup v2 subtree here")),
         "subreaper"]


def leaver(name, pidfile, main, double_fork=False):
    """A shell plugin that starts `sleep 3601` in a new session, writes its pid
    to pidfile, then runs main (its own life)."""
    inner = "echo $$ > %s; exec sleep 3601" % pidfile
    start = "setsid sh -c '%s' &" % inner
    if double_fork:
        start = "( %s ) &" % start
    # The pidfile's directory is granted, as an operator would grant it.
    return {"name": name, "exec": ["/bin/sh", "-c", "%s %s" % (start, main)],
            "restart": NEVER, "sandbox": {"write": [os.path.dirname(pidfile)]}}


def read_pid(path):
    def get():
        try:
            with open(path) as f:
                return int(f.read().strip() or 0)
        except FileNotFoundError:
            return 0
    return wait_for(get, what="the descendant's pid in %s" % path)


def start(daemon, monkeypatch, mode, plugins):
    monkeypatch.setenv("SUPERVISOR_CONTAINMENT", mode)
    daemon.start(plugins, wait_running=False)
    assert daemon.result("system")["containment"] == mode
    daemon.wait_log(r"containment: %s" % mode)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("double_fork", [False, True])
def test_descendant_dies_with_its_plugins_exit(daemon, monkeypatch, tmp_path,
                                               mode, double_fork):
    pidfile = str(tmp_path / "leaver.pid")
    start(daemon, monkeypatch, mode,
          [leaver("leaver", pidfile, "sleep 0.5", double_fork)])
    pid = read_pid(pidfile)
    daemon.wait_state("leaver", "STOPPED")
    wait_for(lambda: not pid_alive(pid), what="pid %d gone after the exit" % pid)
    daemon.wait_log(r"plugin leaver: killed \d+ leftover process(es)? "
                    r"\(pids [^)]*\b%d\b" % pid)
    if mode == "cgroup":
        # Its cgroup goes once empty; the daemon's own subtree stays.
        base = daemon.wait_log(r"one cgroup per plugin under (\S+)").group(1)
        wait_for(lambda: not os.path.exists(os.path.join(base, "leaver")),
                 what="the plugin's cgroup removed")
        assert os.path.isdir(base)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("double_fork", [False, True])
def test_descendant_dies_with_stop(daemon, monkeypatch, tmp_path, mode,
                                   double_fork):
    pidfile = str(tmp_path / "leaver.pid")
    start(daemon, monkeypatch, mode,
          [leaver("leaver", pidfile, "exec sleep 3600", double_fork)])
    pid = read_pid(pidfile)
    assert pid_alive(pid)
    r = daemon.ctl("stop", "leaver")
    assert r.returncode == 0, r.stderr
    daemon.wait_state("leaver", "STOPPED")
    wait_for(lambda: not pid_alive(pid), what="pid %d gone after stop" % pid)


@pytest.mark.parametrize("mode", MODES)
def test_descendant_dies_with_the_daemon(daemon, monkeypatch, tmp_path, mode):
    pidfile = str(tmp_path / "leaver.pid")
    start(daemon, monkeypatch, mode,
          [leaver("leaver", pidfile, "exec sleep 3600", double_fork=True)])
    pid = read_pid(pidfile)
    cgroup_base = None
    if mode == "cgroup":
        cgroup_base = daemon.wait_log(r"one cgroup per plugin under (\S+)").group(1)
        assert os.path.isdir(os.path.join(cgroup_base, "leaver"))
    assert daemon.stop() == 0
    # Gone by the time the daemon has exited, not some time later.
    assert not pid_alive(pid), "pid %d outlived the daemon" % pid
    log = daemon.read_log()
    assert "every plugin has exited" in log
    if cgroup_base:
        assert not os.path.exists(cgroup_base), "%s left behind" % cgroup_base


@pytest.mark.skipif(not cgroup2_usable(), reason="no cgroup v2 subtree here")
def test_leftovers_of_a_killed_daemon_go_with_the_next_start(daemon, monkeypatch, tmp_path):
    """kill -9 of the daemon: its plugins die with it (PDEATHSIG), what they
    detached does not; the next daemon in the same cgroup kills that and
    removes the subtree the killed one left."""
    pidfile = str(tmp_path / "leaver.pid")
    start(daemon, monkeypatch, "cgroup",
          [leaver("leaver", pidfile, "exec sleep 3600", double_fork=True)])
    pid = read_pid(pidfile)
    base = daemon.wait_log(r"one cgroup per plugin under (\S+)").group(1)
    old = daemon.proc.pid
    daemon.proc.kill()
    daemon.proc.wait()
    try:
        assert pid_alive(pid) and os.path.isdir(base)
        daemon.log_path = os.path.join(daemon.dir, "second.log")
        daemon.start([DICE])
        daemon.wait_log(r"containment: removed %s, left by daemon pid %d \(killed with "
                        r"what its plugins had started\)" % (re.escape(base), old))
        wait_for(lambda: not pid_alive(pid), what="pid %d killed by the next daemon" % pid)
        assert not os.path.exists(base)
    finally:
        if pid_alive(pid):
            os.kill(pid, signal.SIGKILL)


@pytest.mark.parametrize("mode", MODES)
def test_live_plugins_helper_survives_another_plugins_exit(daemon, monkeypatch,
                                                           tmp_path, mode):
    """Only what the exited plugin started goes: a running plugin's own
    detached helper, reparented to the daemon too, stays."""
    keep = str(tmp_path / "keeper.pid")
    gone = str(tmp_path / "leaver.pid")
    start(daemon, monkeypatch, mode,
          [leaver("keeper", keep, "exec sleep 3600", double_fork=True),
           leaver("leaver", gone, "sleep 0.8", double_fork=True)])
    kept, left = read_pid(keep), read_pid(gone)
    daemon.wait_state("leaver", "STOPPED")
    wait_for(lambda: not pid_alive(left), what="the leaver's descendant gone")
    assert pid_alive(kept), "the keeper's helper was killed with the leaver"
    assert daemon.state("keeper") == "STARTING"


def test_cgroup_mode_reports_the_whole_trees_cpu(daemon, monkeypatch, tmp_path):
    if not cgroup2_usable():
        pytest.skip("no cgroup v2 subtree here")
    burn = {"name": "burner", "restart": NEVER, "exec": [
        "/bin/sh", "-c", "setsid sh -c 'i=0; while [ $i -lt 200000 ]; do "
        "i=$((i+1)); done; exec sleep 3601' & exec sleep 3600"]}
    start(daemon, monkeypatch, "cgroup", [burn])
    st = wait_for(lambda: (lambda s: s if (s.get("tree_cpu_seconds") or 0) > 0.05
                           else None)(daemon.status("burner")), timeout=20,
                  what="the tree's CPU seconds to count the setsid child")
    assert "tree_memory_mb" in st
    r = daemon.ctl("system")
    assert "containment:" in r.stdout and "cgroup" in r.stdout, r.stdout


def test_subreaper_mode_has_no_tree_figures(daemon, monkeypatch):
    start(daemon, monkeypatch, "subreaper",
          [{"name": "idle", "exec": ["/bin/sh", "-c", "exec sleep 3600"],
            "restart": NEVER}])
    st = daemon.status("idle")
    assert st["tree_cpu_seconds"] is None and st["tree_memory_mb"] is None
    r = daemon.ctl("system")
    assert "containment:" in r.stdout and "subreaper" in r.stdout, r.stdout


def test_bad_containment_setting_is_refused(tmp_path):
    cfg = tmp_path / "c.json"
    cfg.write_text(json.dumps({"socket": str(tmp_path / "s.sock"), "plugins": []}))
    env = dict(os.environ, SUPERVISOR_CONTAINMENT="cgroups")
    r = subprocess.run([SUPERVISOR, "-c", str(cfg)], env=env, capture_output=True,
                       text=True, timeout=10)
    assert r.returncode != 0
    assert "SUPERVISOR_CONTAINMENT=cgroups: expected auto, cgroup or subreaper" \
        in r.stderr, r.stderr


# Exec failures: a spawn that failed, with the reason the exec gave.

def executable(path, data):
    with open(path, "wb") as f:
        f.write(data)
    os.chmod(path, 0o755)
    return str(path)


def spawn_crashes(daemon, name):
    return [c for c in daemon.result("crashes", plugin=name)["crashes"]
            if c["reason"] == "spawn"]


GOOD_SCRIPT = b"#!/bin/sh\nexit 0\n"


def test_check_config_refuses_what_exec_would(tmp_path):
    """supervisor -n (and every load) reads a plugin's first bytes: a missing
    #! interpreter or an ELF file this machine cannot run is a config error."""
    for name, data, why in (
            ("interp", b"#!/nonexistent/python3 -u\nprint('hi')\n",
             "its #! interpreter /nonexistent/python3: no such file"),
            ("elf", b"\x7fELF" + bytes(range(256)) * 4,
             "not an executable this machine runs (its ELF header)")):
        bot = executable(tmp_path / name, data)
        cfg = tmp_path / (name + ".json")
        cfg.write_text(json.dumps({"socket": str(tmp_path / "sock"),
                                   "plugins": [{"name": "bot", "exec": [bot]}]}))
        r = subprocess.run([SUPERVISOR, "-n", "-c", str(cfg)], capture_output=True,
                           text=True, timeout=10)
        assert r.returncode == 2, (r.stdout, r.stderr)
        assert "cannot find executable" in r.stderr and why in r.stderr, r.stderr


def test_missing_interpreter_is_a_spawn_failure_naming_it(daemon, tmp_path):
    # Good when the config was checked; broken by the time it starts.
    bot = executable(tmp_path / "bot", GOOD_SCRIPT)
    daemon.start([{"name": "bot", "exec": [bot], "autostart": False,
                   "restart": {"autorestart": "never"}}], wait_running=False)
    executable(tmp_path / "bot", b"#!/nonexistent/python3 -u\nprint('hi')\n")
    want = "exec %s: No such file or directory (interpreter /nonexistent/python3)" % bot
    r = daemon.request({"cmd": "start", "plugin": "bot"})
    assert not r["ok"], r
    assert r["error"]["code"] == "start-failed", r
    assert want in r["error"]["message"], r
    crashes = spawn_crashes(daemon, "bot")
    assert len(crashes) == 1, daemon.result("crashes", plugin="bot")
    assert crashes[0]["detail"] == want
    assert daemon.state("bot") == "STOPPED"
    # supervisorctl says the same, and exits non-zero.
    c = daemon.ctl("start", "bot")
    assert c.returncode != 0 and want in c.stderr, (c.stdout, c.stderr)
    # One record per attempt: the failed child is not counted a second time.
    wait_for(lambda: len(spawn_crashes(daemon, "bot")) == 2)
    assert len(daemon.result("crashes", plugin="bot")["crashes"]) == 2


def test_corrupt_elf_is_a_spawn_failure(daemon, tmp_path):
    bot = executable(tmp_path / "bot", GOOD_SCRIPT)
    daemon.start([{"name": "bot", "exec": [bot], "autostart": False,
                   "restart": {"autorestart": "never"}}], wait_running=False)
    executable(tmp_path / "bot", b"\x7fELF" + bytes(range(256)) * 4)
    r = daemon.request({"cmd": "start", "plugin": "bot"})
    assert not r["ok"] and r["error"]["code"] == "start-failed", r
    daemon.wait_state("bot", "STOPPED")
    crashes = daemon.result("crashes", plugin="bot")["crashes"]
    assert [c["reason"] for c in crashes] == ["spawn"], crashes
    assert crashes[0]["detail"] == "exec %s: Exec format error" % bot
    assert crashes[0]["exit_code"] is None
