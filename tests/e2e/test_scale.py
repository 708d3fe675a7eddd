"""Scale: status as rows (what supervisorctl's table asks for) carries the
same values as the objects; many plugins start, are sampled and stop."""
import os
import signal

from conftest import CONSOLE, DICE, pid_alive, plugin, wait_for

TABLE = ["name", "state", "pid", "uptime_human", "cpu_percent", "memory_mb",
         "events.routed", "restarts", "crashes"]


def flatten(row, columns):
    """An object row's values in the order of columns ("events.X" inside events)."""
    out = []
    for c in columns:
        if c.startswith("events."):
            out.append(row["events"][c[7:]])
        else:
            out.append(row.get(c))
    return out


def test_status_rows_match_objects(daemon):
    daemon.start([CONSOLE, DICE, plugin("echo", "echo", autostart=False)])
    assert daemon.ask("!roll 1d2") in ("🎲 [1] = 1", "🎲 [2] = 2")
    fields = TABLE + ["events.dropped_by_reason", "commands", "chat_lines"]
    objs = daemon.result("status", fields=fields)
    rows = daemon.result("status", fields=fields, rows=True)
    assert rows["columns"] == ["name", "state", "uptime_human", "restarts", "crashes",
                               "pid", "commands", "cpu_percent", "memory_mb",
                               "events.routed", "events.dropped_by_reason", "chat_lines"]
    assert "plugins" not in rows and rows["system"]["total_plugins"] == 3
    assert len(rows["rows"]) == 3
    by_name = {r[0]: r for r in rows["rows"]}
    for o in objs["plugins"]:
        r = by_name[o["name"]]
        want = flatten(o, rows["columns"])
        # Uptime may tick between the two requests; all else is the same.
        i = rows["columns"].index("uptime_human")
        r, want = r[:i] + r[i + 1:], want[:i] + want[i + 1:]
        assert r == want, (o["name"], r, want)
    assert by_name["dice-roller"][rows["columns"].index("events.routed")] == 1
    assert by_name["echo"][1] == "STOPPED" and by_name["echo"][5] is None
    # chat_lines: a connector's count; null in a plugin's row, not left out.
    assert by_name["console"][-1] >= 1 and by_name["dice-roller"][-1] is None
    # Every field, as rows: one value per column.
    full = daemon.result("status", rows=True)
    assert all(len(r) == len(full["columns"]) for r in full["rows"])


def test_status_rows_must_be_a_boolean(daemon):
    daemon.start([DICE])
    r = daemon.request({"cmd": "status", "rows": "yes"})
    assert not r["ok"] and r["error"]["code"] == "bad-argument", r
    assert r["error"]["message"] == "rows must be true or false"
    # One plugin's status stays an object.
    st = daemon.result("status", plugin="dice-roller", rows=True)
    assert st["name"] == "dice-roller" and st["state"] == "RUNNING"


def test_status_table_from_rows(daemon):
    daemon.start([DICE, plugin("echo", "echo", autostart=False)])
    r = daemon.ctl("status", check=1)    # echo is not RUNNING: exit 1
    lines = r.stdout.splitlines()
    assert lines[0].split() == ["NAME", "STATE", "PID", "UPTIME", "CPU%", "MEM(MB)",
                                "EVENTS", "RESTARTS", "CRASHES"]
    rows = {l.split()[0]: l.split() for l in lines[1:-1]}
    pid = daemon.status("dice-roller")["pid"]
    assert rows["dice-roller"][1:3] == ["RUNNING", str(pid)]
    assert rows["echo"][1:4] == ["STOPPED", "-", "-"]
    assert lines[-1].startswith("system: up ")
    # Columns line up under the header.
    at = lines[0].index("STATE")
    assert all(l[at:at + 7] in ("RUNNING", "STOPPED") for l in lines[1:-1]), lines


def parent_and_comm(pid):
    with open("/proc/%d/stat" % pid) as f:
        text = f.read()
    comm = text[text.index("(") + 1:text.rindex(")")]
    return int(text.rsplit(")", 1)[1].split()[1]), comm


def daemon_children(pid):
    """(pid, comm) of every process whose parent is pid."""
    out = set()
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                ppid, comm = parent_and_comm(int(entry))
            except (OSError, ValueError):
                continue
            if ppid == pid:
                out.add((int(entry), comm))
    return out


def test_many_plugins_through_the_spawn_helper(daemon):
    # 64 plugins or more: a spawn helper clones them, each the daemon's child.
    n = 64
    plugins = [plugin("p%d" % i, "echo", {"commands": []}) for i in range(n)]
    daemon.start(plugins, config=daemon.config(plugins, metrics={"poll_interval": 0.2}))
    rows = wait_for(lambda: (lambda r: all(x[1] == "RUNNING" and x[3] is not None
                                           for x in r["rows"]) and r)(
        daemon.result("status", fields=["name", "state", "pid", "memory_mb"], rows=True)),
        timeout=60, what="%d plugins running and sampled" % n)
    assert len(rows["rows"]) == n
    # Sampled through the kept-open /proc files: a Python plugin's RSS. (One
    # restarted under a loaded machine may be caught mid-start: allow two.)
    odd = [r for r in rows["rows"] if not 2 < r[3] < 500]
    assert len(odd) <= 2, odd
    kids = daemon_children(daemon.proc.pid)
    helpers = [p for p, comm in kids if comm == "supervisor-spaw"]
    assert len(helpers) == 1, kids
    assert {r[2] for r in rows["rows"]} == {p for p, _ in kids} - set(helpers)
    # The environment a plugin gets, built by the daemon.
    with open("/proc/%d/environ" % rows["rows"][5][2], "rb") as f:
        env = f.read().split(b"\0")
    assert b"SUPERVISOR_PLUGIN=p5" in env and b"SUPERVISOR_FD=3" in env
    # A plugin killed is restarted through the helper, still the daemon's child.
    victim = rows["rows"][7][2]
    os.kill(victim, signal.SIGKILL)
    st = wait_for(lambda: (lambda s: s["state"] == "RUNNING" and s["pid"] != victim and s)(
        daemon.status("p7")), timeout=10, what="p7 restarted")
    assert parent_and_comm(st["pid"])[0] == daemon.proc.pid
    # At exit the helper goes too.
    assert daemon.stop() == 0
    assert not pid_alive(helpers[0])


def test_helper_gone_the_daemon_spawns_itself(daemon):
    n = 64
    plugins = [plugin("p%d" % i, "echo", {"commands": []}) for i in range(n)]
    daemon.start(plugins)
    helper = [p for p, comm in daemon_children(daemon.proc.pid) if comm == "supervisor-spaw"]
    assert len(helper) == 1
    os.kill(helper[0], signal.SIGKILL)
    victim = daemon.status("p3")["pid"]
    os.kill(victim, signal.SIGKILL)
    st = wait_for(lambda: (lambda s: s["state"] == "RUNNING" and s["pid"] != victim and s)(
        daemon.status("p3")), timeout=10, what="p3 restarted without the helper")
    assert parent_and_comm(st["pid"])[0] == daemon.proc.pid
    # Reaped as the helper, or found gone at the next spawn: said once.
    daemon.wait_log(r"spawn helper: .*; the daemon spawns plugins itself from now on")


def proc_fields(pid):
    with open("/proc/%d/status" % pid) as f:
        return dict(line.rstrip("\n").split(":\t", 1) for line in f if ":\t" in line)


def test_identity_and_sandbox_through_the_spawn_helper(daemon, tmp_path):
    """Through the helper a plugin gets what the daemon prepared for it at that
    spawn: its user, group, umask, directory and nice value, its data directory,
    and its sandbox (no_new_privs, the seccomp filter, the Landlock ruleset, no
    capabilities), or none when its config turns the sandbox off."""
    from conftest import BUILD
    work = str(tmp_path / "work")
    os.mkdir(work)
    os.chmod(str(tmp_path), 0o755)
    os.chmod(work, 0o755)
    hostile = {"name": "hostile", "exec": [os.path.join(BUILD, "tests", "plugins", "hostile")],
               "config": {"config_file": os.path.join(daemon.dir, "config.json")}}
    dice = dict(DICE, user="nobody", group="nogroup", umask="027", nice=3, directory=work)
    free = plugin("free", "echo", {"commands": []}, sandbox={"enabled": False})
    rooted = plugin("rooted", "echo", {"commands": []}, sandbox={"root": True})
    plugins = [CONSOLE, hostile, dice, free, rooted] + [
        plugin("p%d" % i, "echo", {"commands": []}) for i in range(61)]
    daemon.start(plugins)
    kids = daemon_children(daemon.proc.pid)
    assert len([p for p, comm in kids if comm == "supervisor-spaw"]) == 1, kids
    # dice-roller: as nobody, in its directory, with its umask and nice value.
    pid = daemon.status("dice-roller")["pid"]
    st = proc_fields(pid)
    assert st["Uid"].split() == ["65534"] * 4 and st["Gid"].split() == ["65534"] * 4
    assert st["Umask"] == "0027"
    assert os.readlink("/proc/%d/cwd" % pid) == work
    with open("/proc/%d/stat" % pid) as f:
        assert int(f.read().rsplit(")", 1)[1].split()[16]) == 3
    assert st["NoNewPrivs"] == "1" and st["Seccomp"] == "2"
    # p9: root's uid without a capability, filtered, its data directory named.
    pid = daemon.status("p9")["pid"]
    st = proc_fields(pid)
    assert st["Uid"].split()[0] == "0"
    assert int(st["CapBnd"], 16) == 0 and int(st["CapEff"], 16) == 0
    assert st["NoNewPrivs"] == "1" and st["Seccomp"] == "2"
    with open("/proc/%d/environ" % pid, "rb") as f:
        env = f.read().split(b"\0")
    assert ("SUPERVISOR_DATA_DIR=%s/state/plugins/p9" % daemon.dir).encode() in env
    # The sandbox off: nothing applied.
    st = proc_fields(daemon.status("free")["pid"])
    assert st["NoNewPrivs"] == "0" and st["Seccomp"] == "0"
    if os.geteuid() == 0:
        # The helper's bounding set is empty, so every child of its has
        # nothing to drop; a plugin that keeps root's capabilities (no
        # sandbox, or "root": true) gets them all the same, and is still
        # the daemon's child.
        helper = [p for p, comm in kids if comm == "supervisor-spaw"][0]
        assert int(proc_fields(helper)["CapBnd"], 16) == 0
        for name in ("free", "rooted"):
            pid = daemon.status(name)["pid"]
            st = proc_fields(pid)
            assert int(st["CapBnd"], 16) != 0 and int(st["CapEff"], 16) != 0, (name, st)
            assert parent_and_comm(pid)[0] == daemon.proc.pid
        assert proc_fields(daemon.status("rooted")["pid"])["Seccomp"] == "2"
    # Landlock through the helper: the config file is out of reach, its data dir not.
    assert daemon.ask("!escape config", timeout=10) == "config: EACCES"
    assert daemon.ask("!escape data", timeout=10) == "data: ok"


def test_a_burst_of_spawns_keeps_every_guarantee(daemon, tmp_path):
    """At daemon start the spawns are pipelined (the next plugin prepared while
    the helper clones one): a failed exec amid the burst is still
    that plugin's spawn failure with its reason, each plugin around it is the
    daemon's child in its own process group with only fds 0-3, and the burst
    leaves the daemon holding none of the system paths it opened for it."""
    # An ELF header the config check accepts, and nothing after it.
    trunc = str(tmp_path / "trunc")
    with open(os.path.realpath("/proc/self/exe"), "rb") as src, open(trunc, "wb") as dst:
        dst.write(src.read(64))
    os.chmod(trunc, 0o755)
    bad = {"name": "bad", "exec": [trunc], "restart": {"autorestart": "never"}}
    plugins = [plugin("p%d" % i, "echo", {"commands": []}) for i in range(35)] + [bad] + [
        plugin("p%d" % i, "echo", {"commands": []}) for i in range(35, 69)]
    nice = os.getpriority(os.PRIO_PROCESS, 0)
    daemon.start(plugins, wait_running=False)
    for i in range(69):
        daemon.wait_state("p%d" % i, "RUNNING", timeout=60)
    want = "exec %s: Exec format error" % trunc
    crashes = wait_for(lambda: daemon.result("crashes", plugin="bad")["crashes"],
                       what="bad's crash record:\n" + daemon.read_log()[-3000:])
    assert [c["reason"] for c in crashes] == ["spawn"], crashes
    assert crashes[0]["detail"] == want, crashes
    assert daemon.state("bad") == "STOPPED"
    for name in ("p0", "p34", "p35", "p68"):
        pid = daemon.status(name)["pid"]
        assert parent_and_comm(pid)[0] == daemon.proc.pid
        assert os.getpgid(pid) == pid
        fds = sorted(int(f) for f in os.listdir("/proc/%d/fd" % pid))
        assert fds == [0, 1, 2, 3], (name, fds)
        assert os.readlink("/proc/%d/fd/3" % pid).startswith("socket:")
        # The helper's raised priority is not the plugin's: it runs at ours.
        assert os.getpriority(os.PRIO_PROCESS, pid) == nice, name
    # Nor, once the burst is over, the daemon's.
    assert os.getpriority(os.PRIO_PROCESS, daemon.proc.pid) == nice
    held = []
    for f in os.listdir("/proc/%d/fd" % daemon.proc.pid):
        try:
            held.append(os.readlink("/proc/%d/fd/%s" % (daemon.proc.pid, f)))
        except OSError:
            pass
    system = {"/usr", "/etc/ld.so.cache", "/etc/passwd", "/sys/devices/system/cpu"}
    assert not system & set(held), sorted(system & set(held))


def test_start_all_is_a_burst_through_the_helper(daemon):
    """`start all` of many stopped plugins spawns them as one burst: each ends
    RUNNING, the daemon's child in its own process group; a running one is
    skipped and keeps its process."""
    n = 66
    plugins = [plugin("p%d" % i, "echo", {"commands": []}, autostart=(i == 3))
               for i in range(n)]
    daemon.start(plugins, wait_running=False)
    daemon.wait_state("p3", "RUNNING")
    kept = daemon.status("p3")["pid"]
    r = daemon.result("start", plugin="all")
    assert (r["done"], r["skipped"], r["failed"]) == (n - 1, 1, 0), r
    for i in range(n):
        daemon.wait_state("p%d" % i, "RUNNING", timeout=60)
    assert daemon.status("p3")["pid"] == kept
    for name in ("p0", "p4", "p65"):
        pid = daemon.status(name)["pid"]
        assert parent_and_comm(pid)[0] == daemon.proc.pid and os.getpgid(pid) == pid
        assert os.getpriority(os.PRIO_PROCESS, pid) == os.getpriority(os.PRIO_PROCESS, 0)
