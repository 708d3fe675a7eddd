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
    # shutdown is no chat verb: nobody in chat could start the daemon again.
    assert daemon.ask("!admin shutdown") == 'unknown admin verb "shutdown"; try !admin help'
    assert daemon.proc.poll() is None


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


def proc_status(pid):
    with open("/proc/%d/status" % pid) as f:
        return dict(line.rstrip("\n").split(":\t", 1) for line in f if ":\t" in line)


def test_plugin_directory_user_group_umask_nice(daemon):
    import tempfile
    work = tempfile.mkdtemp(prefix="habits-dir-")
    try:
        os.chmod(work, 0o755)
        dice = dict(DICE, directory=work, user="nobody", group="nogroup", umask="027", nice=5)
        daemon.start([CONSOLE, dice])
        pid = daemon.status("dice-roller")["pid"]
        st = proc_status(pid)
        assert st["Uid"].split() == ["65534"] * 4
        assert st["Gid"].split() == ["65534"] * 4
        assert st["Groups"].split() == ["65534"]
        assert st["Umask"] == "0027"
        assert os.readlink("/proc/%d/cwd" % pid) == work
        with open("/proc/%d/stat" % pid) as f:
            assert int(f.read().rsplit(")", 1)[1].split()[16]) == 5
        # It still works as a plugin, and the console (no identity) is root.
        assert re.fullmatch(r"🎲 .*", daemon.ask("!roll 1d6"))
        assert proc_status(daemon.status("console")["pid"])["Uid"].split()[0] == "0"
    finally:
        os.rmdir(work)


def check_config(tmp_path, plugin_extra, as_nobody=False):
    import tempfile
    d = tempfile.mkdtemp(prefix="habits-cfg-")
    os.chmod(d, 0o755)
    path = os.path.join(d, "c.json")
    with open(path, "w") as f:
        json.dump({"socket": os.path.join(d, "s.sock"),
                   "plugins": [dict(DICE, **plugin_extra)]}, f)
    os.chmod(path, 0o644)
    cmd = [SUPERVISOR, "-n", "-c", path]
    if as_nobody:
        cmd = ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups"] + cmd
    try:
        return subprocess.run(cmd, capture_output=True, text=True)
    finally:
        os.unlink(path)
        os.rmdir(d)


def test_plugin_identity_errors(tmp_path):
    r = check_config(tmp_path, {"user": "no-such-user"})
    assert r.returncode == 2
    assert 'plugins[0].user: no user named "no-such-user" on this machine' in r.stderr
    r = check_config(tmp_path, {"group": "no-such-group"})
    assert 'plugins[0].group: no group named "no-such-group" on this machine' in r.stderr
    r = check_config(tmp_path, {"directory": "/nonexistent/x"})
    assert 'plugins[0].directory: "/nonexistent/x" (/nonexistent/x): No such file or directory' \
        in r.stderr
    r = check_config(tmp_path, {"directory": "/etc/passwd"})
    assert "plugins[0].directory: \"/etc/passwd\" (/etc/passwd): not a directory" in r.stderr
    r = check_config(tmp_path, {"umask": "089"})
    assert 'plugins[0].umask: must be octal digits as a string, like "022"' in r.stderr
    r = check_config(tmp_path, {"umask": 18})
    assert "plugins[0].umask: must be octal digits" in r.stderr
    r = check_config(tmp_path, {"nice": 20})
    assert "plugins[0].nice: must be an integer between -20 and 19" in r.stderr
    r = check_config(tmp_path, {"user": "a:b"})
    assert "plugins[0].user: must be a name without spaces" in r.stderr
    # Not root: switching user is refused, its own user is fine.
    r = check_config(tmp_path, {"user": "root"}, as_nobody=True)
    assert r.returncode == 2, r.stdout
    assert ("plugins[0].user: the daemon runs as uid 65534, not root: it cannot run a "
            'plugin as user "root"') in r.stderr
    r = check_config(tmp_path, {"group": "root"}, as_nobody=True)
    assert "plugins[0].group: the daemon runs as gid 65534, not root" in r.stderr
    r = check_config(tmp_path, {"user": "nobody", "group": "nogroup"}, as_nobody=True)
    assert r.returncode == 0, r.stderr


FAST = {"poll_interval": 0.1, "history_duration": 30}


def test_watch_default_is_state_and_crash_samples_on_request(daemon):
    from test_control import watch
    import signal
    daemon.start(config=daemon.config([DICE], metrics=FAST))
    p, out, errs = watch(daemon)
    p2, out2, errs2 = watch(daemon, "--samples")
    try:
        assert errs.wait(lambda x: True) == \
            "watching state, crash, alert events on %s (interrupt to stop)" % daemon.sock
        assert errs2.wait(lambda x: True) == \
            "watching state, crash, sample, alert events on %s (interrupt to stop)" % daemon.sock
        # --samples: a sample line per plugin per tick (0.1 s here).
        out2.wait(lambda x: " sample " in x, what="a sample line")
        daemon.result("restart", plugin="dice-roller")
        out.wait(lambda x: "STARTING -> RUNNING" in x, what="STARTING -> RUNNING")
        out2.wait(lambda x: "STARTING -> RUNNING" in x, what="STARTING -> RUNNING")
        # Several ticks passed: the plain watch printed state lines only.
        assert out.all and not any(" sample " in x for x in out.all), out.all
        for proc in (p, p2):
            proc.send_signal(signal.SIGINT)
            assert proc.wait(5 * SLOW) == 0
        r = daemon.ctl("status", "--samples", check=2)
        assert "--samples is for watch only" in r.stderr
    finally:
        for proc in (p, p2):
            if proc.poll() is None:
                proc.kill()
                proc.wait()


def test_output_wording(daemon):
    daemon.start(config=daemon.config([CONSOLE, DICE], metrics={"poll_interval": 30}))
    # tail with nothing kept says so.
    r = daemon.ctl("tail", "dice-roller", check=0)
    assert r.stdout == "(no output from dice-roller kept yet)\n"
    # Counts read as English: 1 unknown command, 1 start, 1 event.
    daemon.say("!nosuchcommand")
    wait_for(lambda: daemon.result("system")["unknown_commands"] == 1, what="1 unknown command")
    r = daemon.ctl("system", check=0)
    assert re.search(r"^events:\s+0 routed, 1 chat line, 1 unknown command$", r.stdout, re.M), \
        r.stdout
    # Before the first CPU delta (poll_interval 30 s): n/a, never "-%".
    assert re.search(r"^daemon cpu:\s+n/a \(no sample yet\)$", r.stdout, re.M), r.stdout
    r = daemon.ctl("status", check=0)
    assert re.search(r"^system: up .*, 2 plugins \(2 running, 0 crashed\), 0 events, plugins "
                     r"[\d.]+ MB, daemon pid \d+ cpu n/a mem [\d.]+ MB$", r.stdout, re.M), r.stdout
    assert "-%" not in r.stdout
    r = daemon.ctl("status", "dice-roller", check=0)
    assert re.search(r"^restarts:\s+0 \(1 start\)$", r.stdout, re.M), r.stdout
    assert re.search(r"^events:\s+0 routed, 0 replies, 0 dropped, 0 protocol errors$",
                     r.stdout, re.M), r.stdout
    assert daemon.ask("!roll 1d6").startswith("🎲")
    r = daemon.ctl("status", "dice-roller", check=0)
    assert re.search(r"^events:\s+1 routed, 1 reply, 0 dropped", r.stdout, re.M), r.stdout


def test_admin_audit_log_has_the_whole_command(daemon):
    daemon.start(config=daemon.config([CONSOLE, DICE], chat=ADMINS))
    line = daemon.ask("!admin metrics dice-roller 5m")
    assert line.startswith("dice-roller RUNNING"), line
    daemon.wait_log(r'admin: console:console runs "metrics dice-roller 5m"$|'
                    r'admin: console:console runs "metrics dice-roller 5m"\n')
    # A refused one is logged as typed, too.
    daemon.ask("!admin metrics dice-roller 5m extra")
    daemon.wait_log(r'admin: console:console: refused "metrics dice-roller 5m extra": '
                    r'too many arguments')


BOT = [CONSOLE, DICE, EIGHTBALL, PICK]


def test_help_lists_every_command_and_admin_for_admins(daemon):
    daemon.start(config=daemon.config(BOT, chat=dict(ADMINS, unknown_command="reply")))
    # Admins are offered !admin too.
    assert daemon.ask("!admn") == "unknown command !admn — did you mean !admin?"
    assert daemon.ask("!help") == \
        "commands: !8ball !admin !flip !help !pick !roll (!help COMMAND: how to use one)"
    # Usage lines the plugins declared in ready: C SDK and Python alike.
    assert daemon.ask("!help roll") == \
        "!roll [NdM[+K]] — roll N dice of M sides (1d6 if not given; at most 20d1000, " \
        "+/-100), e.g. !roll 2d6+1"
    assert daemon.ask("!help !flip") == "!flip — toss a coin: heads or tails"
    assert daemon.ask("!help 8ball") == \
        "!8ball QUESTION — ask a yes-or-no question, get the magic 8-ball's answer"
    assert daemon.ask("!help pick") == \
        '!pick A, B[, C ...] — pick one of the options (commas or "or" between them)'
    assert daemon.ask("!help help") == "!help [COMMAND] — list the commands, or show how to use one"
    assert daemon.ask("!help admin") == \
        "!admin VERB [ARGS] — run a supervisor verb (!admin help lists them)"
    assert daemon.ask("!help rol") == "no command !rol — did you mean !roll?"
    assert daemon.ask("!help zzzzzz") == "no command !zzzzzz; !help lists them"


def test_help_hides_admin_from_others(daemon):
    daemon.start(config=daemon.config(BOT, chat={"admins": ["irc:*"]}))
    assert daemon.ask("!help") == \
        "commands: !8ball !flip !help !pick !roll (!help COMMAND: how to use one)"
    assert daemon.ask("!help admin") == "!admin is for the bot's admins"


def test_unknown_command_did_you_mean(daemon):
    daemon.start(config=daemon.config(BOT, chat={"unknown_command": "reply"}))
    assert daemon.ask("!rol 2d6") == "unknown command !rol — did you mean !roll?"
    assert daemon.ask("!8bal will it?") == "unknown command !8bal — did you mean !8ball?"
    assert daemon.ask("!pikc a, b") == "unknown command !pikc — did you mean !pick?"
    assert daemon.ask("!hlep") == "unknown command !hlep — did you mean !help?"
    # Nothing close: the old answer. !admin is suggested to admins only.
    assert daemon.ask("!weather") == "unknown command !weather; try !help"
    assert daemon.ask("!admn") == "unknown command !admn; try !help"
    assert daemon.result("system")["unknown_commands"] == 6


def test_overlong_command_line_answered_once_per_user(daemon):
    daemon.start(config=daemon.config(BOT, chat={"max_line": 64}))
    daemon.say("!pick " + "a, " * 40)
    assert daemon.reply() == "your line was too long (126 bytes, at most 64): not read"
    # Again at once: rate-limited per user (30 s), only logged and counted.
    daemon.say("!pick " + "b, " * 40)
    daemon.say("just a long plain line " + "x" * 80)
    assert daemon.ask("!flip") in ("🪙 heads", "🪙 tails")
    assert daemon.status("console")["chat_lines_dropped"] == 3


def test_usage_in_ready_is_checked(daemon):
    from conftest import plugin
    bad = plugin("bad", "echo", config={"commands": ["hi"], "usage": ["a", "b"]},
                 restart={"autorestart": "never"})
    good = plugin("good", "echo", config={"commands": ["hi2"], "usage": ["WORDS \x01— echo"]})
    daemon.start([CONSOLE, DICE, bad, good], wait_running=False)
    daemon.wait_log(r"ready usage has 2 entries for 1 commands: one per command")
    daemon.wait_state("good", "RUNNING")
    # A control character in a usage line becomes a space.
    assert daemon.ask("!help hi2") == "!hi2 WORDS  — echo"


def pty_read_until(fd, pattern, timeout, seen):
    """Read the pty master into seen (a list) until pattern matches."""
    import select
    rx = re.compile(pattern)
    deadline = __import__("time").monotonic() + timeout * SLOW
    while not rx.search("".join(seen)):
        left = deadline - __import__("time").monotonic()
        if left <= 0:
            raise AssertionError("no /%s/ on the terminal; got:\n%s" % (pattern, "".join(seen)))
        r, _, _ = select.select([fd], [], [], left)
        if r:
            try:
                data = os.read(fd, 65536)
            except OSError:
                data = b""
            if not data:
                raise AssertionError("terminal closed before /%s/; got:\n%s"
                                     % (pattern, "".join(seen)))
            seen.append(data.decode("utf-8", "replace"))


def test_ctrl_d_on_a_terminal_stops_make_run(tmp_path):
    """make run in a terminal: one line on how to stop and where things are;
    Ctrl-D ends the session and the daemon exits 0 with its plugins."""
    import pty
    import time
    from conftest import ROOT
    sock = str(tmp_path / "s.sock")
    cfg = tmp_path / "c.json"
    cfg.write_text(json.dumps({"socket": sock, "plugins": [CONSOLE, DICE]}))
    master, slave = pty.openpty()
    env = dict(os.environ, SUPERVISOR_CONFIG=str(cfg))
    proc = subprocess.Popen(["make", "-s", "--no-print-directory", "run"], cwd=ROOT,
                            stdin=slave, stdout=slave, stderr=slave, env=env,
                            start_new_session=True)
    os.close(slave)
    seen = []
    try:
        pty_read_until(master, r"Ctrl-D or Ctrl-C stops it; socket: run/supervisor\.sock "
                       r"\(supervisorctl -c config/default\.json status\); "
                       r"dashboard: http://127\.0\.0\.1:8421/", 120, seen)
        wait_for(lambda: ctl("-s", sock, "status", "dice-roller").returncode == 0,
                 timeout=10, what="dice-roller RUNNING")
        pids = [json.loads(ctl("-s", sock, "status", n, "--json").stdout)["pid"]
                for n in ("console", "dice-roller")]
        os.write(master, b"!flip\n")
        pty_read_until(master, r"🪙 (heads|tails)", 10, seen)
        os.write(master, b"\x04")  # Ctrl-D at the start of a line
        assert proc.wait(20 * SLOW) == 0, "".join(seen)
        # What it wrote before it exited: the pty ends with EIO once read.
        pty_read_until(master, r"supervisor: exiting|stopped every plugin|"
                       r"end of input on the console: stopping 2 plugins[^\n]*\n(.|\n)*$",
                       5, seen)
        text = "".join(seen)
        assert "end of input on the terminal: stopping the daemon" in text
        assert "end of input on the console: stopping 2 plugins" in text
        assert not any(pid_alive(p) for p in pids)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, 9)
            proc.wait()
        os.close(master)


def test_end_of_a_pipe_keeps_the_daemon_running(daemon):
    daemon.start([CONSOLE, DICE])
    daemon.proc.stdin.close()
    daemon.wait_log(r"console\[\d+\] .*end of input$|end of input\n")
    assert daemon.proc.poll() is None
    assert daemon.state("dice-roller") == "RUNNING"
    assert "stopping the daemon" not in daemon.read_log()


def test_shutdown_message_only_from_the_terminal_console(daemon):
    from test_bad_plugins import garbage
    daemon.start([CONSOLE, DICE, garbage("stop-daemon", on_command=True)])
    daemon.say("!go")
    daemon.wait_log(r"plugin garbage: protocol error, message dropped: shutdown from a plugin "
                    r"that does not have the terminal")
    assert daemon.status("garbage")["events"]["protocol_errors"] == 1
    assert daemon.proc.poll() is None
    assert daemon.ask("!flip") in ("🪙 heads", "🪙 tails")


def test_plugin_directory_gone_is_a_spawn_failure(daemon, tmp_path):
    work = tmp_path / "work"
    work.mkdir()
    dice = dict(DICE, directory=str(work), restart={"autorestart": "never"})
    daemon.start([CONSOLE, dice])
    assert os.readlink("/proc/%d/cwd" % daemon.status("dice-roller")["pid"]) == str(work)
    work.rmdir()
    r = daemon.request({"cmd": "restart", "plugin": "dice-roller"})
    if r["ok"]:  # the stop comes first: the spawn fails once it has exited
        wait_for(lambda: daemon.result("crashes", plugin="dice-roller")["crashes"],
                 what="the failed spawn's crash record")
        detail = daemon.result("crashes", plugin="dice-roller")["crashes"][-1]["detail"]
    else:
        detail = r["error"]["message"]
    assert re.search(r"exec \S+/dice-roller: taking its directory, nice value, group or user: "
                     r"No such file or directory", detail), detail


def test_chat_stop_of_many_stays_chat_sized(daemon):
    from conftest import plugin
    many = [plugin("d%02d" % i, "echo", config={"commands": ["c%02d" % i]}) for i in range(14)]
    daemon.start(config=daemon.config([CONSOLE] + many, chat=ADMINS))
    # (stop all would stop the console too, before it could print this.)
    daemon.say("!admin stop " + " ".join("d%02d" % i for i in range(14)))
    lines = [daemon.reply() for _ in range(12)]
    assert lines[:10] == ["d%02d: stop asked, now STOPPING" % i for i in range(10)], lines
    assert lines[10] == "… and 4 more"
    assert lines[11] == "stop: 14 done, 0 skipped, 0 failed"
    daemon.no_reply(0.3)
