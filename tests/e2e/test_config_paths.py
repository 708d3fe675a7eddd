"""Files the daemon meets at its paths: what is at the socket path, and a
config path that is not a regular file.

Nothing at a path the daemon uses is destroyed unless the daemon left it
there (a stale socket); a FIFO or other special file as the config is refused
without blocking the daemon, supervisor -n or supervisorctl.
"""
import json
import os
import re
import signal
import socket
import stat
import subprocess
import time

import pytest

from conftest import DICE, SLOW, SUPERVISOR, ctl


def write_config(path, cfg):
    with open(path, "w") as f:
        json.dump(cfg, f)


def run(args, cwd, timeout=10):
    """The daemon in the foreground; it must end by itself within timeout."""
    return subprocess.run([SUPERVISOR, *args], capture_output=True, text=True, cwd=cwd,
                          stdin=subprocess.DEVNULL, timeout=timeout * SLOW)


def refused_line(r):
    """The one line a refused start or check prints, exit status 2."""
    assert r.returncode == 2, (r.returncode, r.stdout, r.stderr)
    lines = r.stderr.splitlines()
    assert len(lines) == 1 and r.stdout == "", (r.stdout, r.stderr)
    return lines[0]


def stale_socket(path):
    """A socket file nobody listens on, as a daemon killed -9 leaves it."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.bind(path)
    s.close()


# --- what is at the socket path ----------------------------------------------

def test_the_config_file_as_socket_path_is_refused_and_left_intact(tmp_path):
    conf = tmp_path / "conf.json"
    text = json.dumps({"socket": "conf.json", "plugins": [DICE]})
    conf.write_text(text)
    want = ('supervisor: conf.json:1:12: socket: socket path "%s" is a regular file, not a '
            'socket: refusing to replace it' % conf)
    # supervisor -n says so ...
    assert refused_line(run(["-n", "-c", "conf.json"], tmp_path)) == want
    # ... and the daemon refuses to start, with the same line.
    assert refused_line(run(["-c", "conf.json"], tmp_path)) == want
    assert conf.read_text() == text
    assert stat.S_ISREG(os.lstat(conf).st_mode)
    # supervisorctl -c reads the socket from the file and says the same.
    r = ctl("-c", str(conf), "status")
    assert r.returncode != 0 and r.stdout == ""
    assert r.stderr.strip() == want.replace("supervisor: conf.json",
                                            "supervisorctl: %s" % conf, 1)
    assert conf.read_text() == text


@pytest.mark.parametrize("kind", ["directory", "FIFO", "symbolic link"])
def test_anything_but_a_socket_at_the_socket_path_is_a_config_error(tmp_path, kind):
    run_dir = tmp_path / "run"
    run_dir.mkdir(mode=0o700)
    sock = run_dir / "supervisor.sock"
    target = tmp_path / "precious.txt"
    target.write_text("keep me")
    if kind == "directory":
        sock.mkdir()
    elif kind == "FIFO":
        os.mkfifo(sock)
    else:
        sock.symlink_to(target)
    write_config(tmp_path / "config.json", {"socket": str(sock), "plugins": []})
    a = {"directory": "a directory", "FIFO": "a FIFO", "symbolic link": "a symbolic link"}[kind]
    want = re.escape('socket path "%s" is %s, not a socket: refusing to replace it'
                     % (sock, a))
    for args in (["-n", "-c", "config.json"], ["-c", "config.json"]):
        line = refused_line(run(args, tmp_path))
        assert re.fullmatch(r"supervisor: config\.json:1:\d+: socket: " + want, line), line
    assert os.lstat(sock).st_mode & 0o170000 == {
        "directory": stat.S_IFDIR, "FIFO": stat.S_IFIFO, "symbolic link": stat.S_IFLNK}[kind]
    assert target.read_text() == "keep me"


def test_a_stale_socket_is_replaced(daemon):
    os.makedirs(os.path.dirname(daemon.sock), mode=0o700)
    stale_socket(daemon.sock)
    daemon.start([DICE])
    assert stat.S_ISSOCK(os.lstat(daemon.sock).st_mode)
    daemon.wait_log(r"control: removed the stale socket %s \(nobody answered on it\)"
                    % re.escape(daemon.sock))
    assert daemon.ctl("status", check=0)


def test_a_live_socket_is_another_daemon(daemon):
    daemon.start([DICE])
    r = run(["-c", daemon.config_path], daemon.dir)
    assert r.returncode == 1
    assert r.stderr.strip() == "supervisor: another supervisor is running on %s" % daemon.sock
    assert daemon.result("version")["version"] == "0.1.0"


def test_a_file_put_at_the_socket_path_is_not_removed_at_exit(daemon):
    daemon.start([DICE])
    os.unlink(daemon.sock)
    with open(daemon.sock, "w") as f:
        f.write("not yours")
    assert daemon.stop() == 0
    with open(daemon.sock) as f:
        assert f.read() == "not yours"
    assert re.search(r"control: %s is no longer the daemon's socket; left as it is"
                     % re.escape(daemon.sock), daemon.read_log())


def test_a_socket_directory_others_may_write_is_warned_about(tmp_path, daemon):
    # World-writable without the sticky bit: anyone can swap the socket.
    shared = tmp_path / "shared"
    shared.mkdir()
    os.chmod(shared, 0o777)
    daemon.sock = str(shared / "supervisor.sock")
    daemon.start([DICE])
    daemon.wait_log(r"warning: control socket directory %s is writable by every user \(mode "
                    r"0777, no sticky bit\): anyone can replace the socket with their own and "
                    r"answer supervisorctl; use a directory only uid %d can write"
                    % (re.escape(str(shared)), os.geteuid()))
    # supervisor -n says it too, and still passes the file.
    r = run(["-n", "-c", daemon.config_path], daemon.dir)
    assert r.returncode == 0, r.stderr
    assert "control socket directory %s is writable by every user" % shared in r.stderr
    assert r.stdout.endswith("configuration OK (1 plugins)\n")


def test_the_daemons_own_socket_directory_draws_no_warning(daemon):
    daemon.start([DICE])
    assert stat.S_IMODE(os.stat(os.path.dirname(daemon.sock)).st_mode) == 0o700
    assert "control socket directory" not in daemon.read_log()


def test_reload_keeps_the_socket(daemon):
    cfg = daemon.config([DICE])
    daemon.start(config=cfg)
    # A new socket path naming the config itself: refused like at start.
    write_config(daemon.config_path, dict(cfg, socket="config.json"))
    r = daemon.request({"cmd": "reload"})
    assert r["ok"] is False and r["error"]["code"] == "config-error"
    assert "is a regular file, not a socket: refusing to replace it" in r["error"]["message"]
    with open(daemon.config_path) as f:
        assert json.load(f)["socket"] == "config.json"
    # Another path: not applied, the daemon stays where it is.
    other = os.path.join(daemon.dir, "other.sock")
    write_config(daemon.config_path, dict(cfg, socket=other))
    assert daemon.result("reload")["not_applied"] == ["socket"]
    assert not os.path.exists(other)
    assert daemon.result("version")["version"] == "0.1.0"


# --- a config that is not a regular file -------------------------------------

def test_check_of_a_fifo_config_returns_at_once(tmp_path):
    fifo = tmp_path / "conf.json"
    os.mkfifo(fifo)
    t = time.monotonic()
    line = refused_line(run(["-n", "-c", str(fifo)], tmp_path, timeout=5))
    assert line == "supervisor: %s: not a regular file (a FIFO)" % fifo
    assert refused_line(run(["-c", str(fifo)], tmp_path, timeout=5)) == line
    assert time.monotonic() - t < 4 * SLOW


def test_supervisorctl_with_a_fifo_config_returns_at_once(tmp_path):
    fifo = tmp_path / "conf.json"
    os.mkfifo(fifo)
    r = ctl("-c", str(fifo), "status", timeout=5)
    assert r.returncode != 0 and r.stdout == ""
    assert r.stderr.strip() == "supervisorctl: %s: not a regular file (a FIFO)" % fifo


def test_reload_of_a_config_replaced_by_a_fifo_is_refused_and_the_daemon_carries_on(daemon):
    daemon.start([DICE])
    pid = daemon.status("dice-roller")["pid"]
    os.unlink(daemon.config_path)
    os.mkfifo(daemon.config_path)
    want = "%s: not a regular file (a FIFO)" % daemon.config_path
    # SIGHUP: refused in the log, the loop not blocked.
    daemon.proc.send_signal(signal.SIGHUP)
    daemon.wait_log(r"reload refused, nothing changed: %s" % re.escape(want))
    # reload over the socket: a config-error reply, at once.
    t = time.monotonic()
    r = daemon.request({"cmd": "reload"}, timeout=3)
    assert r == {"ok": False, "error": {"code": "config-error", "message": want}}
    r = daemon.ctl("reload")
    assert r.returncode != 0 and want in r.stderr
    assert time.monotonic() - t < 3 * SLOW
    st = daemon.status("dice-roller")
    assert st["state"] == "RUNNING" and st["pid"] == pid
    assert daemon.ctl("status", check=0)
    # And SIGTERM still stops it (the fixture's teardown checks exit 0).
