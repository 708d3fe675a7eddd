"""Durable history as an operator relies on it: samples, rollup tiers, crash
records and counters survive a daemon restart (SIGTERM or kill -9), a bad
state file is set aside and never fatal, a state directory the daemon cannot
write is logged once and retried, and forget removes what a plugin no longer
in the config left behind.

Every test samples every 0.2 s. save_interval is 60 s unless a test needs
periodic saves, so a save seen is the one a crash, a reload or the shutdown
made. A second daemon is started on the same config and state directory,
with its own log file.
"""
import json
import math
import os
import re
import resource
import signal
import stat
import struct
import subprocess
import threading
import time

import pytest

from conftest import (CONSOLE, DICE, EIGHTBALL, PICK, SLOW, SUPERVISOR, Daemon,
                      pid_alive, plugin, wait_for)

# Raw ring 10 s at 0.2 s; tiers of 1 s x 2 min and 10 s x 1 h.
FAST = {"poll_interval": 0.2, "history_duration": 10,
        "rollups": [{"resolution": 1, "duration": 120},
                    {"resolution": 10, "duration": 3600}]}
STAMP = r"\d{8}T\d{6}"
MAGIC = b"SVHIST\r\n"


def config(daemon, plugins, save_interval=60, metrics=None, **state):
    """A config with the fast metrics and a state object.

    The default save_interval of 60 s never comes round in a test: a save
    seen is one made by a crash, a reload or the shutdown.
    """
    return daemon.config(plugins, metrics=metrics or FAST,
                         state=dict(state, save_interval=save_interval))


def state_dir(daemon):
    return os.path.join(daemon.dir, "state")


def state_file(daemon, name):
    return os.path.join(state_dir(daemon), name + ".state")


def read(path):
    with open(path, "rb") as f:
        return f.read()


def write(path, data):
    with open(path, "wb") as f:
        f.write(data)


def write_config(daemon, cfg):
    with open(daemon.config_path, "w") as f:
        json.dump(cfg, f)


def saving(daemon):
    return daemon.result("system")["state"]


def wait_saved(daemon, after, timeout=5.0):
    """Wait for a save that ended after wall time `after`; its state."""
    def saved():
        st = saving(daemon)
        return st["last_save"] is not None and st["last_save"] > after and st
    return wait_for(saved, timeout, what="a save after %.1f" % after)


def samples(daemon, name):
    return daemon.result("history", plugin=name)["samples"]


def key(s):
    return (s["time"], s["pid"], s["rss_bytes"])


def ctl_json(daemon, *args):
    r = daemon.ctl(*args, "--json", check=0)
    return json.loads(r.stdout)


def children(pid):
    """Pids whose parent is pid: its plugins, a saving process."""
    kids = set()
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % entry) as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except (FileNotFoundError, ProcessLookupError, IndexError):
            continue
        if int(fields[1]) == pid:
            kids.add(int(entry))
    return kids


def end_run(daemon):
    """Close what the fixture would for a daemon that has exited; its log."""
    daemon.proc.stdin.close()
    daemon.log.close()
    log = daemon.read_log()
    assert "Sanitizer" not in log and "runtime error:" not in log, log[-5000:]
    return log


def stop(daemon):
    """SIGTERM, exit 0; the log of that run."""
    assert daemon.stop() == 0, daemon.read_log()[-3000:]
    return end_run(daemon)


def kill_9(daemon):
    """kill -9 of the daemon. Its plugins and a saving child die with it
    (PR_SET_PDEATHSIG); the cgroup directories it had no chance to remove
    are removed here. The log of that run."""
    pid = daemon.proc.pid
    kids = children(pid)
    assert kids, "the daemon has no children to check"
    m = re.search(r"one cgroup per plugin under (\S+)", daemon.read_log())
    daemon.proc.kill()
    daemon.proc.wait()
    try:
        wait_for(lambda: not any(pid_alive(p) for p in kids),
                 what="the plugins of the killed daemon to die with it")
    finally:
        # Only if the check above failed: end what this test started.
        for p in kids:
            if pid_alive(p):
                os.kill(p, signal.SIGKILL)
        if m:
            base = m.group(1)

            def removed():
                for sub in os.listdir(base) if os.path.isdir(base) else ():
                    if os.path.isdir(os.path.join(base, sub)):
                        try:
                            os.rmdir(os.path.join(base, sub))
                        except OSError:
                            return False
                try:
                    os.rmdir(base)
                except FileNotFoundError:
                    pass
                except OSError:
                    return False
                return True
            wait_for(removed, what="the killed daemon's cgroup %s removed" % base)
    return end_run(daemon)


def start_again(daemon, cfg, run):
    """A new daemon on the same config and state directory, log apart."""
    daemon.log_path = os.path.join(daemon.dir, "supervisor.%d.log" % run)
    started = time.time()
    daemon.start(config=cfg)
    return started


# --- restarts ---------------------------------------------------------------

def test_kill_9_keeps_samples_crashes_and_counters_up_to_the_last_save(daemon):
    crasher = plugin("crasher", "crasher", {"on_command": True}, {"first_delay": 0})
    cfg = config(daemon, [CONSOLE, DICE, crasher])
    daemon.start(config=cfg)
    for _ in range(3):
        assert re.fullmatch(r"🎲 \[[1-6]\] = [1-6]", daemon.ask("!roll 1d6"))
    assert saving(daemon)["last_save"] is None
    daemon.say("!crash")
    crashes = wait_for(lambda: (lambda c: c["total"] == 1 and c)(
        daemon.result("crashes", plugin="crasher")), what="the crash recorded")
    crash = crashes["crashes"][0]
    daemon.wait_state("crasher", "RUNNING")
    # A crash is saved about a second later, not at the next save_interval.
    saved = wait_saved(daemon, crash["time"])
    assert saved["last_save"] < crash["time"] + 3 * SLOW
    assert saved["failing"] is False and saved["last_save_files"] == 3
    before = {n: daemon.status(n) for n in ("dice-roller", "crasher")}
    kept = [s for s in samples(daemon, "dice-roller")
            if s["time"] < saved["last_save"] - 0.3]
    assert len(kept) >= 3

    killed = time.time()
    kill_9(daemon)
    started = start_again(daemon, cfg, 2)
    daemon.wait_log(r"state: history of 3 of 3 plugins loaded from %s"
                    % re.escape(state_dir(daemon)))

    # The samples saved are back; nothing made up for the time it was down.
    m = ctl_json(daemon, "metrics", "dice-roller")
    assert m["history_since"] < started
    assert m["aggregates"]["sample_count"] >= len(kept)
    after = samples(daemon, "dice-roller")
    assert [key(s) for s in after[:len(kept)]] == [key(s) for s in kept]
    assert not [s for s in after if killed + 0.1 < s["time"] < started]
    # The crash, with its own time, pid and last lines.
    c = ctl_json(daemon, "crashes", "crasher")
    assert c["total"] == 1 and c["crashes"] == [crash]
    # Counters continue from where they were saved.
    dice, cr = daemon.status("dice-roller"), daemon.status("crasher")
    assert dice["events"]["routed"] == before["dice-roller"]["events"]["routed"] == 3
    assert dice["events"]["replies"] == 3
    assert cr["restarts"] == 1 and cr["crashes"] == 1
    assert cr["events"]["routed"] == 1
    assert cr["events"]["dropped_by_reason"]["died"] == 1
    assert cr["starts"] == before["crasher"]["starts"] + 1
    assert re.fullmatch(r"🎲 \[[1-6]\] = [1-6]", daemon.ask("!roll 1d6"))
    assert daemon.status("dice-roller")["events"]["routed"] == 4


def test_sigterm_then_start_loses_nothing(daemon):
    cfg = config(daemon, [CONSOLE, DICE])
    daemon.start(config=cfg)
    for _ in range(2):
        daemon.ask("!roll")
    wait_for(lambda: len(samples(daemon, "dice-roller")) >= 5, what="5 samples")
    before = samples(daemon, "dice-roller")
    status = daemon.status("dice-roller")
    tier = daemon.result("metrics", plugin="dice-roller", window="60s")
    assert tier["source"] == "rollup"
    log = stop(daemon)
    # No periodic save came round: this one is the shutdown's.
    assert re.search(r"state: saved the history of 2 plugins to %s \(\d+ bytes"
                     % re.escape(state_dir(daemon)), log), log[-2000:]

    started = start_again(daemon, cfg, 2)
    after = samples(daemon, "dice-roller")
    # The old run's samples and the new one's: a new sample has another pid,
    # so it never matches one of before (times are given to 0.1 s: the new
    # run's first can read as older than `started`).
    old = after
    # Every sample of before the ring still retains (a slow stop, under
    # ASan, may push the oldest out of the 10 s ring) is there, unchanged.
    kept = [s for s in before if s["time"] >= old[0]["time"]]
    assert len(kept) >= 5, (before[0], old[0])
    want = [key(s) for s in kept]
    assert [k for k in map(key, old) if k in set(want)] == want, (want, list(map(key, old)))
    st = daemon.status("dice-roller")
    assert st["events"] == status["events"] and st["events"]["routed"] == 2
    assert st["history_since"] <= before[0]["time"]
    assert st["starts"] == 2 and st["restarts"] == 0 and st["crashes"] == 0
    again = daemon.result("metrics", plugin="dice-roller", window="60s")
    assert again["aggregates"]["sample_count"] >= tier["aggregates"]["sample_count"]
    assert again["aggregates"]["events"] == 2


def test_a_changed_ring_shape_is_converted_and_history_reaches_as_far_back(daemon):
    # Tiers of 1 s x 2 s and 2 s x 60 s, then the operator changes
    # poll_interval and the tiers to 1 s x 4 s and 4 s x 60 s.
    before = {"poll_interval": 0.2, "history_duration": 1,
              "rollups": [{"resolution": 1, "duration": 2}, {"resolution": 2, "duration": 60}]}
    cfg = config(daemon, [DICE], metrics=before)
    daemon.start(config=cfg)
    # Longer than the 1 s tier's 2 s and a 4 s bucket after it.
    since = wait_for(lambda: (lambda m: time.time() - m["history_since"] > 7.5 and m)(
        daemon.result("metrics", plugin="dice-roller")), timeout=20,
        what="7.5 s of history")["history_since"]
    stop(daemon)

    cfg["metrics"] = {"poll_interval": 0.5, "history_duration": 2,
                      "rollups": [{"resolution": 1, "duration": 4},
                                  {"resolution": 4, "duration": 60}]}
    start_again(daemon, cfg, 2)
    daemon.wait_log(r"plugin dice-roller: saved raw history was 5 x 0\.2 s, now 4 x 0\.5 s: "
                    r"kept the newest 4 of 5 samples")
    daemon.wait_log(r"plugin dice-roller: saved 1 s x 2 tier converted to 1 s x 4")
    # The 4 s tier is made from the saved tier that reaches furthest back.
    daemon.wait_log(r"plugin dice-roller: saved 2 s x 30 tier converted to 4 s x 15")
    m = daemon.result("metrics", plugin="dice-roller", window="60s")
    assert m["history_since"] <= since and m["resolution_seconds"] == 4
    assert m["aggregates"]["time_span_seconds"] > 7


def test_sigterm_during_a_save_exits_as_soon_as_the_save_ends(daemon):
    # A FIFO where the saving process makes its temporary file holds that
    # process in open() until the test opens the other end: a save in
    # flight when SIGTERM comes, for as long as the test likes.
    daemon.start(config=config(daemon, [DICE], save_interval=1))
    plugins = {daemon.status("dice-roller")["pid"]}
    fifo = os.path.join(state_dir(daemon), ".dice-roller.state.tmp")
    os.mkfifo(fifo, 0o600)
    saver = wait_for(lambda: children(daemon.proc.pid) - plugins, timeout=3,
                     what="a saving process")
    daemon.proc.send_signal(signal.SIGTERM)
    daemon.wait_log(r"plugin dice-roller: STOPPING -> STOPPED")
    assert daemon.proc.poll() is None and all(pid_alive(p) for p in saver)
    fd = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
    try:
        released = time.monotonic()
        # Its own final save done, the daemon exits: it waits for no timer
        # (the one for processes left behind runs 5 s).
        assert daemon.proc.wait(10) == 0
        assert time.monotonic() - released < min(2 * SLOW, 4)
    finally:
        os.close(fd)
    log = end_run(daemon)
    assert "still alive" not in log, log[-2000:]
    assert re.search(r"state: saved the history of 1 plugins", log), log[-2000:]
    assert not os.path.exists(fifo)
    assert read(state_file(daemon, "dice-roller")).startswith(MAGIC)


# --- files the daemon cannot trust ------------------------------------------

def first_run(daemon, plugins):
    """Run once and stop, leaving a state file per plugin; the config."""
    cfg = config(daemon, plugins)
    daemon.start(config=cfg)
    daemon.ask("!roll")
    wait_for(lambda: len(samples(daemon, "dice-roller")) >= 3, what="samples")
    stop(daemon)
    for p in plugins:
        assert read(state_file(daemon, p["name"])).startswith(MAGIC)
    return cfg


def aside(daemon, name, kind):
    """The one file a plugin's state file was set aside as."""
    rx = re.compile(r"%s\.%s-%s$" % (re.escape(name), kind, STAMP))
    found = [f for f in os.listdir(state_dir(daemon)) if rx.match(f)]
    assert len(found) == 1, os.listdir(state_dir(daemon))
    return os.path.join(state_dir(daemon), found[0])


def test_a_corrupt_or_truncated_state_file_is_kept_aside_and_the_daemon_starts(daemon):
    cfg = first_run(daemon, [CONSOLE, DICE, EIGHTBALL, PICK])
    good = read(state_file(daemon, "dice-roller"))
    flipped = bytearray(good)
    flipped[len(good) // 2] ^= 0xFF
    write(state_file(daemon, "dice-roller"), flipped)
    eight = read(state_file(daemon, "8ball"))
    truncated = eight[:len(eight) // 2]
    write(state_file(daemon, "8ball"), truncated)
    # An operator's mistake: another plugin's file under this name.
    write(state_file(daemon, "pick"), good)

    cfg["state"]["save_interval"] = 1
    started = start_again(daemon, cfg, 2)
    d = re.escape(state_dir(daemon))
    daemon.wait_log(r"warning: plugin dice-roller: state file %s/dice-roller\.state is corrupt "
                    r"\(checksum mismatch: the data was changed after it was written\): kept "
                    r"aside as %s/dice-roller\.corrupt-%s; starting with empty history"
                    % (d, d, STAMP))
    daemon.wait_log(r"warning: plugin 8ball: state file %s/8ball\.state is corrupt \(truncated "
                    r"or padded: the header says %d bytes of data, the file has %d\): kept aside"
                    % (d, len(eight) - 32, len(truncated) - 32))
    daemon.wait_log(r'plugin pick: state file %s/pick\.state is corrupt \(it holds the history '
                    r'of "dice-roller"\): kept aside as %s/pick\.corrupt-%s' % (d, d, STAMP))
    daemon.wait_log(r"state: history of 1 of 4 plugins loaded")
    # The bad files are kept as they were, for a post-mortem.
    assert read(aside(daemon, "dice-roller", "corrupt")) == flipped
    assert read(aside(daemon, "8ball", "corrupt")) == truncated
    assert read(aside(daemon, "pick", "corrupt")) == good
    # The plugins run, from empty history; the one good file was loaded.
    assert re.fullmatch(r"🎲 \[[1-6]\] = [1-6]", daemon.ask("!roll 1d6"))
    st = daemon.status("dice-roller")
    assert st["events"]["routed"] == 1 and st["starts"] == 1
    assert st["history_since"] >= math.floor(started)
    assert all(s["time"] >= started - 0.05 for s in samples(daemon, "dice-roller"))
    assert daemon.status("console")["history_since"] < started
    # The next save writes fresh files under the real names.
    wait_saved(daemon, started + 0.5)
    for name in ("dice-roller", "8ball", "pick"):
        data = read(state_file(daemon, name))
        assert data.startswith(MAGIC) and data not in (flipped, truncated, good)
        assert struct.unpack_from("<IIQ", data, 8) == (1, 32, len(data) - 32)
        assert stat.S_IMODE(os.stat(state_file(daemon, name)).st_mode) == 0o600


def test_a_state_file_of_a_newer_format_is_kept_aside(daemon):
    cfg = first_run(daemon, [CONSOLE, DICE])
    data = bytearray(read(state_file(daemon, "dice-roller")))
    data[8:12] = struct.pack("<I", 99)
    write(state_file(daemon, "dice-roller"), data)
    started = start_again(daemon, cfg, 2)
    d = re.escape(state_dir(daemon))
    daemon.wait_log(r"warning: plugin dice-roller: state file %s/dice-roller\.state is newer "
                    r"\(format version 99, newer than this daemon's 1\): kept aside as "
                    r"%s/dice-roller\.newer-%s; starting with empty history" % (d, d, STAMP))
    # Untouched, so the newer daemon it came from can still read it.
    assert read(aside(daemon, "dice-roller", "newer")) == data
    assert not os.path.exists(state_file(daemon, "dice-roller"))
    assert daemon.status("dice-roller")["events"]["routed"] == 0
    assert daemon.status("console")["history_since"] < started
    daemon.wait_log(r"state: history of 1 of 2 plugins loaded")


# --- a state directory that cannot be written ------------------------------

class PipedDaemon(Daemon):
    """A daemon whose stderr reaches its log file through a pipe: a file
    size limit put on the daemon then stops its state files, not its log."""

    def start(self, config):
        self.config_path = os.path.join(self.dir, "config.json")
        with open(self.config_path, "w") as f:
            json.dump(config, f, indent=2)
        self.log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(
            [SUPERVISOR, "-c", self.config_path],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            cwd=self.dir)
        threading.Thread(target=self._reader, daemon=True).start()
        self.copier = threading.Thread(target=self._copy_log, daemon=True)
        self.copier.start()
        wait_for(lambda: self.connectable() or self.proc.poll() is not None,
                 what="control socket")
        assert self.proc.poll() is None, "daemon exited at start:\n" + self.read_log()
        for p in config["plugins"]:
            self.wait_state(p["name"], "RUNNING")
        return self

    def _copy_log(self):
        for line in self.proc.stderr:
            self.log.write(line)
            self.log.flush()

    def close(self):
        self.stop()
        self.copier.join(10)
        super().close()


@pytest.fixture
def piped(tmp_path):
    d = PipedDaemon(tmp_path)
    yield d
    if d.proc is not None:
        d.close()


def test_saving_fails_over_a_file_size_limit_is_logged_once_and_recovers(piped):
    # Root writes through chmod 0500; a file size limit fails for root too
    # (EFBIG), as a full disk would.
    daemon = piped
    daemon.start(config(daemon, [CONSOLE, DICE], save_interval=1))
    pid = daemon.proc.pid
    first = wait_saved(daemon, 0)
    assert first["failing"] is False and first["error"] is None
    path = state_file(daemon, "dice-roller")
    good, mtime = read(path), os.stat(path).st_mtime_ns

    soft, hard = resource.prlimit(pid, resource.RLIMIT_FSIZE)
    resource.prlimit(pid, resource.RLIMIT_FSIZE, (100, hard))
    try:
        st = wait_for(lambda: (lambda s: s["failing"] and s)(saving(daemon)),
                      what="state.failing")
        d = re.escape(state_dir(daemon))
        assert re.fullmatch(r"writing %s/console\.state: File too large \(and more files\)" % d,
                            st["error"]), st
        daemon.wait_log(r"warning: state: cannot save history: writing %s/console\.state: File "
                        r"too large \(and more files\); it stays in memory and the daemon tries "
                        r"again every 1 s" % d)
        # It keeps answering and keeps what it collects through more
        # failed saves (2.5 save intervals), and says so once.
        until = time.monotonic() + 2.5
        rolls = 0
        while time.monotonic() < until:
            assert re.fullmatch(r"🎲 \[[1-6]\] = [1-6]", daemon.ask("!roll 1d6"))
            rolls += 1
            assert saving(daemon)["failing"] is True
            time.sleep(0.1)
        assert daemon.read_log().count("cannot save history") == 1
        # What was on disk stays whole: nothing half-written under the name.
        assert read(path) == good and os.stat(path).st_mtime_ns == mtime
    finally:
        resource.prlimit(pid, resource.RLIMIT_FSIZE, (soft, hard))
    restored = time.time()
    st = wait_saved(daemon, restored)
    assert st["failing"] is False and st["error"] is None and st["last_save_files"] == 2
    daemon.wait_log(r"state: saving to %s works again; history is on disk"
                    % re.escape(state_dir(daemon)))
    assert read(path) != good and os.stat(path).st_mtime_ns > mtime
    assert not [f for f in os.listdir(state_dir(daemon)) if f.endswith(".tmp")]
    assert daemon.read_log().count("cannot save history") == 1
    assert daemon.status("dice-roller")["events"]["routed"] == rolls


# --- forget -----------------------------------------------------------------

def test_forget_removes_the_history_of_a_plugin_no_longer_configured(daemon):
    cfg = config(daemon, [CONSOLE, DICE, EIGHTBALL])
    daemon.start(config=cfg)
    assert daemon.ask("!8ball will it last?").startswith("🎱 ")
    r = daemon.ctl("forget", "8ball", check=1)
    assert r.stderr == ("supervisorctl: 8ball is in the config and its history is in use: "
                        "remove it from the config and reload first (in-config)\n")

    def reload_with(plugins):
        write_config(daemon, dict(cfg, plugins=plugins))
        t = time.time()
        daemon.ctl("reload", check=0)
        return t

    def gone(name):
        wait_for(lambda: not daemon.request({"cmd": "status", "plugin": name})["ok"],
                 what="%s gone" % name)

    # Removed: its file stays. No save_interval came round: the reload saved.
    path = state_file(daemon, "8ball")
    reload_with([CONSOLE, DICE])
    gone("8ball")
    wait_for(lambda: os.path.exists(path), what="the save of a reload")
    first = read(path)
    # Added back: its history is there again.
    t = reload_with([CONSOLE, DICE, EIGHTBALL])
    st = daemon.wait_state("8ball", "RUNNING")
    # history_since is given to 0.1 s, rounded to the nearest: up to 0.05 s on.
    assert st["events"]["routed"] == 1 and st["history_since"] < t + 0.05
    second = wait_for(lambda: (lambda b: b != first and b)(read(path)),
                      what="8ball.state saved by the reload that added it back")
    # Removed again, and once that reload's save is done, forgotten.
    reload_with([CONSOLE, DICE])
    gone("8ball")
    wait_for(lambda: read(path) != second, what="8ball.state saved by the reload")
    r = daemon.ctl("forget", "8ball", "--json", check=0)
    assert json.loads(r.stdout) == {"plugin": "8ball", "action": "forgotten"}
    assert not os.path.exists(state_file(daemon, "8ball"))
    daemon.wait_log(r"state: forgot the saved history of 8ball \(removed %s\)"
                    % re.escape(state_file(daemon, "8ball")))
    r = daemon.ctl("forget", "8ball", check=1)
    assert r.stderr == 'supervisorctl: no saved history for "8ball" in %s (not-found)\n' \
        % state_dir(daemon)
    # A name that is not a plugin's reaches no file.
    r = daemon.ctl("forget", "../state/dice-roller", check=1)
    assert r.stderr == ('supervisorctl: "../state/dice-roller" is not a plugin name '
                        '(bad-argument)\n')
    assert os.path.exists(state_file(daemon, "dice-roller"))
    for bad in ({"cmd": "forget"}, {"cmd": "forget", "name": 8}):
        assert daemon.request(bad) == {"ok": False, "error": {
            "code": "bad-argument",
            "message": "forget needs the name of a plugin that is no longer in the config"}}
    # Added after forget: a fresh start.
    reload_with([CONSOLE, DICE, EIGHTBALL])
    assert daemon.wait_state("8ball", "RUNNING")["events"]["routed"] == 0


def test_forget_at_once_after_the_reload_is_not_undone_by_that_reloads_save(daemon):
    # An operator's script: reload, then forget, without waiting. The save
    # the reload started still holds the removed plugin: it must not bring
    # the file back once it ends. Twelve more plugins make that save take
    # longer than 8ball's stop.
    more = [plugin("echo%d" % i, "echo", {"commands": ["echo%d" % i]}) for i in range(12)]
    cfg = config(daemon, [CONSOLE, DICE, EIGHTBALL] + more)
    daemon.start(config=cfg)
    stop(daemon)
    path = state_file(daemon, "8ball")
    assert os.path.exists(path)
    start_again(daemon, cfg, 2)
    write_config(daemon, dict(cfg, plugins=[CONSOLE, DICE]))
    daemon.result("reload")

    def forgotten():
        r = daemon.request({"cmd": "forget", "name": "8ball"})
        # Refused only while it is still stopping.
        assert r["ok"] or r["error"]["code"] == "in-config", r
        return r["ok"] and r["result"]
    assert wait_for(forgotten, what="forget 8ball") == {"plugin": "8ball",
                                                        "action": "forgotten"}
    # The reload's save is the only one (save_interval 60): once it is done,
    # the file is gone for good, and the shutdown's save does not write it.
    wait_saved(daemon, 0)
    assert not os.path.exists(path)
    stop(daemon)
    assert not os.path.exists(path)
    assert os.path.exists(state_file(daemon, "dice-roller"))


# --- config -----------------------------------------------------------------

def tiers(*pairs):
    return [{"resolution": r, "duration": d} for r, d in pairs]


BAD = [
    (tiers((2, 120), (5, 3600)), r"metrics\.rollups\[1\]\.resolution: 5 is not a larger "
     r"multiple of the previous tier's resolution \(2\)"),
    (tiers((2, 120), (2, 3600)), r"metrics\.rollups\[1\]\.resolution: 2 is not a larger "
     r"multiple of the previous tier's resolution \(2\)"),
    (tiers((2, 119)), r"metrics\.rollups\[0\]\.duration: 119 is not a whole number of "
     r"resolutions \(2\)"),
    (tiers((1, 20), (2, 40), (4, 80), (8, 160), (16, 320)),
     r"metrics\.rollups: at most 4 tiers, got 5"),
    ([60], r"metrics\.rollups\[0\]: must be an object, got 60"),
    ({"resolution": 60, "duration": 120}, r"metrics\.rollups: must be an array of "
     r"\{\"resolution\": S, \"duration\": S\} objects, finest first, got an object"),
    ([{"resolution": 60}], r"metrics\.rollups\[0\]: needs both \"resolution\" and "
     r"\"duration\""),
    (tiers(("1m", 120)), r"metrics\.rollups\[0\]\.resolution: must be a number between 1 "
     r"and \d+, got \"1m\""),
]


@pytest.mark.parametrize("rollups,message", BAD, ids=[
    "not-a-multiple", "not-larger", "duration-not-whole", "five-tiers", "not-an-object",
    "not-an-array", "no-duration", "resolution-a-string"])
def test_bad_rollups_are_refused_with_file_line_and_path(tmp_path, rollups, message):
    path = tmp_path / "c.json"
    path.write_text(json.dumps({"metrics": {"poll_interval": 0.2, "history_duration": 10,
                                            "rollups": rollups}, "plugins": [DICE]}, indent=2))
    r = subprocess.run([SUPERVISOR, "-n", "-c", str(path)], capture_output=True, text=True,
                       cwd=tmp_path)
    assert (r.returncode, r.stdout) == (2, ""), r
    assert re.fullmatch(r"supervisor: %s:\d+:\d+: %s\n" % (re.escape(str(path)), message),
                        r.stderr), r.stderr


def test_bad_rollups_and_state_settings_are_refused(tmp_path):
    cases = [
        ({"metrics": {"poll_interval": 2, "history_duration": 10,
                      "rollups": tiers((1, 120))}},
         r"metrics\.rollups\[0\]\.resolution: 1 is shorter than metrics\.poll_interval \(2\)"),
        ({"state": {"save_interval": 0.5}},
         r"state\.save_interval: must be a number between 1 and 86400, got 0\.5"),
        ({"state": {"dir": ""}}, r"state\.dir: must be a non-empty path without control "
         r"characters, got \"\""),
        ({"state": "off"}, r"state: must be an object, got \"off\""),
        ({"state": {"enabled": "no"}}, r"state\.enabled: must be true or false, got \"no\""),
    ]
    path = tmp_path / "c.json"
    for top, message in cases:
        path.write_text(json.dumps(dict(top, plugins=[DICE]), indent=2))
        r = subprocess.run([SUPERVISOR, "-n", "-c", str(path)], capture_output=True,
                           text=True, cwd=tmp_path)
        assert (r.returncode, r.stdout) == (2, ""), (top, r)
        assert re.fullmatch(r"supervisor: %s:\d+:\d+: %s\n" % (re.escape(str(path)), message),
                            r.stderr), r.stderr
    assert not os.path.exists(tmp_path / "state")


def test_state_disabled_writes_nothing(daemon):
    cfg = config(daemon, [CONSOLE, DICE], save_interval=1, enabled=False)
    daemon.start(config=cfg)
    daemon.ask("!roll")
    wait_for(lambda: len(samples(daemon, "dice-roller")) >= 8, what="1.5 s of samples")
    assert saving(daemon) == {"enabled": False}
    r = daemon.ctl("forget", "gone", check=1)
    assert "history is not saved (state.enabled is false)" in r.stderr
    log = stop(daemon)
    # Only the plugins' data directories (docs/sandbox.md), no state file.
    assert os.listdir(state_dir(daemon)) == ["plugins"], os.listdir(state_dir(daemon))
    assert sorted(os.listdir(os.path.join(state_dir(daemon), "plugins"))) == \
        ["console", "dice-roller"]
    assert "state:" not in log
    # And the next start has nothing to load.
    start_again(daemon, cfg, 2)
    assert daemon.status("dice-roller")["events"]["routed"] == 0


# --- windows over the tiers -------------------------------------------------

def test_long_windows_come_from_the_finest_tier_that_covers_them(daemon):
    fast = dict(FAST, history_duration=2)
    daemon.start(config=config(daemon, [DICE], metrics=fast))

    # Run until the raw ring (2 s) has let go of 2.5 s of samples that the
    # 1 s tier keeps.
    first = wait_for(lambda: samples(daemon, "dice-roller"), what="a sample")[0]["time"]
    wait_for(lambda: samples(daemon, "dice-roller")[0]["time"] >= first + 2.5, timeout=8,
             what="the raw ring to let go of 2.5 s")
    raw = daemon.result("metrics", plugin="dice-roller")
    assert raw["history_since"] <= first
    m = ctl_json(daemon, "metrics", "dice-roller", "60s")
    assert (m["source"], m["resolution_seconds"], m["covers_seconds"], m["p95"]) == \
        ("rollup", 1, 120, "estimated")
    agg = m["aggregates"]
    assert agg["sample_count"] >= raw["aggregates"]["sample_count"] + 10
    assert agg["time_span_seconds"] > 3
    assert agg["memory_mb"]["min"] <= agg["memory_mb"]["p95"] <= agg["memory_mb"]["max"]
    m = ctl_json(daemon, "metrics", "dice-roller", "24h")
    assert (m["source"], m["resolution_seconds"], m["covers_seconds"], m["p95"]) == \
        ("rollup", 10, 3600, "estimated")
    assert m["history_since"] == raw["history_since"]
    m = ctl_json(daemon, "metrics", "dice-roller", "1s")
    assert (m["source"], m["resolution_seconds"], m["covers_seconds"], m["p95"]) == \
        ("raw", 0.2, 2, "exact")
    assert 3 <= m["aggregates"]["sample_count"] <= 7
    r = daemon.ctl("metrics", "dice-roller", "100d", check=1)
    assert "up to 30 days" in r.stderr and "(bad-argument)" in r.stderr


# --- the directory and its files --------------------------------------------

def test_state_dir_is_created_0700_and_files_0600(daemon):
    cfg = config(daemon, [DICE], dir="hist/deep")
    daemon.start(config=cfg)
    d = os.path.join(daemon.dir, "hist", "deep")
    assert saving(daemon)["dir"] == d
    assert stat.S_IMODE(os.stat(d).st_mode) == 0o700
    stop(daemon)
    # Beside the plugins' data directories (docs/sandbox.md).
    assert sorted(os.listdir(d)) == ["dice-roller.state", "plugins"]
    assert stat.S_IMODE(os.stat(os.path.join(d, "dice-roller.state")).st_mode) == 0o600


def test_a_file_left_by_an_interrupted_save_is_removed_at_start(daemon):
    d = state_dir(daemon)
    os.mkdir(d, 0o700)
    write(os.path.join(d, ".dice-roller.state.tmp"), MAGIC + b"\0" * 10)
    # The operator's files in the directory are not the daemon's to remove.
    write(os.path.join(d, "notes.txt"), b"keep me")
    write(os.path.join(d, ".notes.tmp"), b"keep me too")
    daemon.start(config=config(daemon, [DICE]))
    daemon.wait_log(r"state: removed %s/\.dice-roller\.state\.tmp, left by an interrupted save"
                    % re.escape(d))
    assert sorted(os.listdir(d)) == [".notes.tmp", "notes.txt", "plugins"]
    stop(daemon)
    assert sorted(os.listdir(d)) == [".notes.tmp", "dice-roller.state", "notes.txt", "plugins"]


def test_a_second_daemon_refused_at_the_socket_leaves_the_state_directory_alone(daemon):
    daemon.start(config=config(daemon, [DICE]))
    # As if the running daemon's save were writing it now.
    tmp = os.path.join(state_dir(daemon), ".dice-roller.state.tmp")
    write(tmp, MAGIC)
    r = subprocess.run([SUPERVISOR, "-c", daemon.config_path], capture_output=True, text=True,
                       cwd=daemon.dir, stdin=subprocess.DEVNULL, timeout=10 * SLOW)
    assert (r.returncode, r.stderr) == (
        1, "supervisor: another supervisor is running on %s\n" % daemon.sock)
    assert read(tmp) == MAGIC
    os.unlink(tmp)
