"""make install, as an operator installs the daemon on a server: into a
DESTDIR with PREFIX=/usr, then the daemon the installed unit's ExecStart
names, with the installed config and plugins, and the installed
supervisorctl talking to it. Also: systemd-analyze verify of the unit, the
man pages (mandoc lint, man -l), bash completion, and make install's refusal
to overwrite what is not ours.

The installed config puts the control socket in /run/bot-supervisor, the
unit's RuntimeDirectory=. The test plays systemd there without touching the
machine's /run: the daemon and supervisorctl run in a private mount
namespace (unshare) where a temporary directory is mounted over /run.
"""
import json
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import time

import pytest

from conftest import BUILD, ROOT, SANITIZED, SLOW, SUPERVISOR, SUPERVISORCTL, Daemon, DICE, \
    wait_for

PROJECT = "bot-supervisor"
MAN_PAGES = ["supervisor.8", "supervisorctl.1", "bot-supervisor.json.5",
             "bot-supervisor-protocol.7"]


def make(*args, check=True):
    """make in the source tree for this test run's build, apart from any
    calling make (its jobserver and goals are not ours)."""
    env = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL")}
    build = ["BUILD=" + os.path.relpath(BUILD, ROOT)]
    if SANITIZED:
        build += ["SANITIZE=1", "OPT=-O1"]
    r = subprocess.run(["make", "-C", ROOT, "--no-print-directory", *build, *args],
                       capture_output=True, text=True, env=env, timeout=300)
    if check:
        assert r.returncode == 0, (r.stdout, r.stderr)
    return r


def install(destdir, prefix="/usr"):
    return make("install", "DESTDIR=" + str(destdir), "PREFIX=" + prefix)


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """One make install DESTDIR=... PREFIX=/usr for the tests of this file."""
    d = tmp_path_factory.mktemp("destdir")
    install(d)
    return str(d)


def files_below(d):
    out = set()
    for top, _, files in os.walk(d):
        for f in files:
            out.add(os.path.relpath(os.path.join(top, f), d))
    return out


def unit_of(destdir):
    with open(os.path.join(destdir, "usr/lib/systemd/system", PROJECT + ".service")) as f:
        return f.read()


def unit_value(unit, key):
    m = re.search(r"^%s=(.*)$" % re.escape(key), unit, re.M)
    assert m, "no %s= in the unit" % key
    return m.group(1)


def staged(destdir, path):
    """An installed absolute path as staged under DESTDIR."""
    return os.path.join(destdir, path.lstrip("/"))


def namespace_works():
    r = subprocess.run(["unshare", "--mount", "--propagation", "private", "true"],
                       capture_output=True)
    return r.returncode == 0


def in_namespace(run_dir, argv):
    """argv in a private mount namespace with run_dir mounted over /run and
    run_dir/../var-lib over /var/lib (where StateDirectory= is)."""
    var_lib = os.path.join(os.path.dirname(run_dir), "var-lib")
    os.makedirs(var_lib, exist_ok=True)
    return ["unshare", "--mount", "--propagation", "private", "sh", "-c",
            'mount --bind "$0" /run && mount --bind "$1" /var/lib && shift && exec "$@"',
            run_dir, var_lib, *argv]


def test_install_puts_every_file_in_its_place(installed):
    got = files_below(installed)
    want = {
        "usr/bin/supervisor", "usr/bin/supervisorctl",
        "usr/lib/systemd/system/bot-supervisor.service",
        "usr/share/bash-completion/completions/supervisorctl",
        "usr/share/man/man1/supervisorctl.1", "usr/share/man/man5/bot-supervisor.json.5",
        "usr/share/man/man7/bot-supervisor-protocol.7", "usr/share/man/man8/supervisor.8",
        "usr/share/doc/bot-supervisor/README.md",
        "usr/share/doc/bot-supervisor/examples/bot.json",
        "etc/bot-supervisor/bot.json",
    }
    want |= {"usr/lib/bot-supervisor/plugins/" + p
             for p in ("console", "dice-roller", "8ball", "pick", "irc")}
    want |= {"usr/share/doc/bot-supervisor/docs/" + f
             for f in os.listdir(os.path.join(ROOT, "docs"))}
    assert got == want, (got - want, want - got)
    # Nothing of Debian's supervisor package's names.
    assert not any(re.search(r"(^|/)supervisor(\.service|/|d)", f) for f in got), got
    for f in ("usr/bin/supervisor", "usr/bin/supervisorctl",
              "usr/lib/bot-supervisor/plugins/pick"):
        assert os.stat(os.path.join(installed, f)).st_mode & 0o777 == 0o755
    assert os.stat(os.path.join(installed, "etc/bot-supervisor/bot.json")).st_mode & 0o777 == 0o644
    # Our binaries say who they are, without a daemon.
    r = subprocess.run([os.path.join(installed, "usr/bin/supervisorctl"), "--version"],
                       capture_output=True, text=True)
    assert r.stdout == "supervisorctl (bot-supervisor) 0.1.0\n"
    r = subprocess.run([os.path.join(installed, "usr/bin/supervisor"), "--version"],
                       capture_output=True, text=True)
    assert r.stdout == "supervisor (bot-supervisor) 0.1.0 (protocol 1)\n"


def test_the_installed_unit_runs_the_installed_daemon(installed, tmp_path):
    """make install DESTDIR=... PREFIX=/usr; the daemon the unit's ExecStart
    names starts with the installed config and plugins, tells systemd it
    is ready, and the installed supervisorctl talks to it."""
    if not namespace_works():
        pytest.skip("needs unshare --mount (root) to give the daemon its own /run")
    unit = unit_of(installed)
    assert unit_value(unit, "Type") == "notify"
    assert unit_value(unit, "RuntimeDirectory") == PROJECT
    argv = shlex.split(unit_value(unit, "ExecStart"))
    assert argv == ["/usr/bin/supervisor", "-c", "/etc/bot-supervisor/bot.json"]
    # Every absolute path of the command line, as staged.
    argv = [staged(installed, a) if a.startswith("/") else a for a in argv]
    config = argv[2]
    with open(config) as f:
        socket_path = json.load(f)["socket"]
    assert socket_path == "/run/bot-supervisor/supervisor.sock"

    # Play systemd: /run with the RuntimeDirectory, a notification socket,
    # the watchdog the unit asks for.
    run_dir = tmp_path / "run"
    (run_dir / PROJECT).mkdir(parents=True)
    os.chmod(run_dir / PROJECT, 0o755)
    notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    notify.bind(str(tmp_path / "notify"))
    notify.settimeout(20 * SLOW)
    watchdog_usec = int(unit_value(unit, "WatchdogSec").rstrip("s")) * 1000000
    env = dict(os.environ, NOTIFY_SOCKET=str(tmp_path / "notify"),
               WATCHDOG_USEC=str(watchdog_usec))
    for k in ("SUPERVISOR_CONFIG", "SUPERVISOR_SOCKET"):
        env.pop(k, None)
    log_path = tmp_path / "journal"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(in_namespace(str(run_dir), argv), stdin=subprocess.DEVNULL,
                                stdout=log, stderr=log, env=env, cwd="/")
    try:
        ready = None
        while ready is None:
            msg = notify.recv(4096).decode()
            if "READY=1" in msg.split("\n"):
                ready = msg
        # The installed config: three plugins up, the IRC connector waits
        # for its settings.
        assert "STATUS=3/4 plugins running; irc STOPPED" in ready.split("\n"), ready

        ctl = staged(installed, "/usr/bin/supervisorctl")

        def installed_ctl(*args, extra_env=None):
            e = dict(env, **(extra_env or {}))
            return subprocess.run(in_namespace(str(run_dir), [ctl, *args]),
                                  capture_output=True, text=True, env=e, timeout=20 * SLOW)

        # supervisorctl -c the installed config finds the socket in /run.
        r = installed_ctl("-c", config, "--json", "status")
        assert r.returncode == 1, r.stderr      # irc is not RUNNING
        states = {p["name"]: p["state"] for p in json.loads(r.stdout)["plugins"]}
        assert states == {"irc": "STOPPED", "dice-roller": "RUNNING", "8ball": "RUNNING",
                          "pick": "RUNNING"}
        # ... and so does $SUPERVISOR_CONFIG, as the daemon reads it.
        r = installed_ctl("version", extra_env={"SUPERVISOR_CONFIG": config})
        assert r.returncode == 0, r.stderr
        assert r.stdout == "supervisor 0.1.0, protocol 1 (supervisorctl 0.1.0)\n"
        # The plugins are the installed ones.
        status = json.loads(installed_ctl("-c", config, "--json", "status",
                                          "dice-roller").stdout)
        plugin_dir = staged(installed, "/usr/lib/bot-supervisor/plugins")
        assert os.readlink("/proc/%d/exe" % status["pid"]) == os.path.join(
            plugin_dir, "dice-roller")
        pick = json.loads(installed_ctl("-c", config, "--json", "status", "pick").stdout)
        with open("/proc/%d/cmdline" % pick["pid"], "rb") as f:
            assert os.path.join(plugin_dir, "pick").encode() in f.read().split(b"\0")
        # The socket is where the unit's RuntimeDirectory= is.
        assert os.path.exists(run_dir / PROJECT / "supervisor.sock")
        r = installed_ctl("-c", config, "restart", "8ball")
        assert r.returncode == 0, r.stderr
        # SIGTERM, as systemctl stop sends it (KillMode=mixed: the daemon alone).
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(30 * SLOW) == 0
        while "STOPPING=1" not in notify.recv(4096).decode().split("\n"):
            pass
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        notify.close()
    journal = log_path.read_text()
    assert "Sanitizer" not in journal and "runtime error:" not in journal, journal
    assert not os.path.exists(run_dir / PROJECT / "supervisor.sock")
    # History was saved at shutdown where the unit's StateDirectory= is.
    state_dir = tmp_path / "var-lib" / PROJECT
    assert os.stat(state_dir).st_mode & 0o777 == 0o700
    assert {"dice-roller.state", "8ball.state", "pick.state", "irc.state"} <= set(
        os.listdir(state_dir))
    for pid in (status["pid"], pick["pid"]):
        assert not os.path.exists("/proc/%d" % pid) or \
            open("/proc/%d/stat" % pid).read().split()[2] == "Z"


def test_systemd_analyze_verify_accepts_the_unit(installed, tmp_path):
    if shutil.which("systemd-analyze") is None:
        pytest.fail("systemd-analyze missing: scripts/install-deps installs systemd")
    unit = unit_of(installed)
    # verify checks that ExecStart's program exists and that every
    # Documentation=man: page is found: both as staged.
    unit = unit.replace("ExecStart=/usr/bin/", "ExecStart=%s/usr/bin/" % installed)
    path = tmp_path / (PROJECT + ".service")
    path.write_text(unit)
    env = dict(os.environ, MANPATH=os.path.join(installed, "usr/share/man"))
    r = subprocess.run(["systemd-analyze", "verify", str(path)], capture_output=True,
                       text=True, env=env, timeout=60)
    assert r.returncode == 0 and r.stdout == "" and r.stderr == "", (r.stdout, r.stderr)
    # A unit verify would complain about, to know it is listening.
    bad = tmp_path / "bad" / (PROJECT + ".service")
    bad.parent.mkdir()
    bad.write_text(unit.replace("KillMode=mixed", "KillMode=mixd"))
    r = subprocess.run(["systemd-analyze", "verify", str(bad)], capture_output=True,
                       text=True, env=env, timeout=60)
    assert "kill mode" in r.stderr and "mixd" in r.stderr, r.stderr
    for key, value in [("Type", "notify"), ("NotifyAccess", "main"), ("KillMode", "mixed"),
                       ("ExecReload", "/bin/kill -HUP $MAINPID"), ("DynamicUser", "yes"),
                       ("RuntimeDirectory", PROJECT), ("StateDirectory", PROJECT),
                       ("ConfigurationDirectory", PROJECT), ("ProtectSystem", "strict"),
                       ("NoNewPrivileges", "yes")]:
        assert unit_value(unit, key) == value


def test_man_pages_lint_clean_and_render(installed):
    pages = [os.path.join(ROOT, "man", p) for p in MAN_PAGES]
    r = subprocess.run(["mandoc", "-T", "lint", "-W", "warning", *pages], capture_output=True,
                       text=True)
    assert r.returncode == 0 and r.stdout == "" and r.stderr == "", (r.stdout, r.stderr)
    for page in MAN_PAGES:
        name, section = page.rsplit(".", 1)
        r = subprocess.run(["man", "-l", os.path.join(installed, "usr/share/man",
                                                      "man" + section, page)],
                           capture_output=True, text=True, env=dict(os.environ, MANWIDTH="80",
                                                                    MANPAGER="cat", PAGER="cat"))
        assert r.returncode == 0, r.stderr
        assert "\nNAME\n     %s \u2014 " % name in r.stdout, r.stdout[:300]
        assert "\nSEE ALSO\n" in r.stdout
    # The README links them.
    with open(os.path.join(ROOT, "README.md")) as f:
        readme = f.read()
    for page in MAN_PAGES:
        assert "(man/%s)" % page in readme, page


COMPLETE = r'''
source /usr/share/bash-completion/bash_completion
__load_completion supervisorctl || { echo "not loaded"; exit 1; }
complete -p supervisorctl
comp() {
	COMP_WORDS=("$@")
	COMP_CWORD=$(( ${#COMP_WORDS[@]} - 1 ))
	COMP_LINE="${COMP_WORDS[*]}"
	COMP_POINT=${#COMP_LINE}
	COMPREPLY=()
	$(complete -p supervisorctl | sed 's/.*-F \([^ ]*\) .*/\1/')
	echo "${COMPREPLY[*]}"
}
'''


def complete(installed, *cases, extra_env=None):
    """What bash completion offers for each command line (a list of words,
    the last being the one completed), with the installed completion."""
    ctl = os.path.join(installed, "usr/bin/supervisorctl")
    script = COMPLETE + "".join(
        "comp %s\n" % " ".join(shlex.quote(w) for w in [ctl, *case]) for case in cases)
    env = dict(os.environ, XDG_DATA_DIRS=os.path.join(installed, "usr/share"),
               BASH_COMPLETION_USER_DIR=os.devnull, **(extra_env or {}))
    r = subprocess.run(["bash", "--norc", "-c", script], capture_output=True, text=True,
                       env=env, timeout=60)
    assert r.returncode == 0, (r.stdout, r.stderr)
    lines = r.stdout.split("\n")
    assert lines[0] == "complete -F _bot_supervisorctl supervisorctl", lines
    return lines[1:1 + len(cases)]


def test_bash_completion_of_verbs_plugins_and_windows(installed, daemon):
    daemon.start([DICE, {"name": "dice-2", "exec": ["dice-roller"], "autostart": False}])
    got = complete(installed,
                   ["st"],                         # verbs
                   [""],
                   ["-s", daemon.sock, "metrics", "dice"],   # plugin names, asked of the daemon
                   ["-s", daemon.sock, "metrics", "dice-roller", ""],  # windows
                   ["watch", ""],                  # topics
                   ["signal", "dice-roller", "U"],  # signals
                   ["tail", "-"],                  # options of a verb
                   ["metrics", "dice"],            # no daemon on the default socket: nothing
                   ["-s", daemon.sock, "restart", "dice-roller", ""],  # several names, or all
                   ["watch", "--sa"],              # watch --samples
                   )
    assert got[0] == "status start stop"
    verbs = got[1].split()
    r = subprocess.run([SUPERVISORCTL, "--help"], capture_output=True, text=True)
    assert verbs == re.findall(r"^  ([a-z]+)", r.stdout.split("verbs:")[1], re.M)
    assert "watch" in verbs and "subscribe" not in verbs
    assert got[2] == "dice-roller dice-2"
    assert got[3] == "30s 1m 5m 15m 1h 6h 24h 7d 30d"
    assert got[4] == "state crash sample log alert"
    assert got[5] == "USR1 USR2"
    assert set(got[6].split()) >= {"-f", "--follow", "--json", "-s", "-c"}
    assert got[7] == ""
    assert got[8] == "all dice-roller dice-2"
    assert got[9] == "--samples"
    # $SUPERVISOR_SOCKET is honoured as supervisorctl honours it.
    assert complete(installed, ["crashes", ""],
                    extra_env={"SUPERVISOR_SOCKET": daemon.sock}) == ["dice-roller dice-2"]


def test_install_refuses_to_overwrite_what_is_not_ours(tmp_path):
    # Debian's supervisorctl (supervisord's) where ours would go.
    bindir = tmp_path / "usr" / "bin"
    bindir.mkdir(parents=True)
    theirs = bindir / "supervisorctl"
    theirs.write_text("#!/bin/sh\necho 4.2.5\n")
    theirs.chmod(0o755)
    unitdir = tmp_path / "usr/lib/systemd/system"
    unitdir.mkdir(parents=True)
    (unitdir / "bot-supervisor.service").write_text("[Service]\nExecStart=/bin/true\n")
    r = make("install", "DESTDIR=%s" % tmp_path, "PREFIX=/usr", check=False)
    assert r.returncode != 0
    assert ("install: %s is not bot-supervisor's: `%s --version` says \"4.2.5\", not "
            "\"supervisorctl (bot-supervisor) ...\"; refusing to overwrite it"
            % (theirs, theirs)) in r.stderr
    assert ("install: %s/bot-supervisor.service is not bot-supervisor's: it does not name "
            "bot-supervisor; refusing to overwrite it" % unitdir) in r.stderr
    assert "install: nothing was installed" in r.stderr
    # Nothing was written: theirs as it was, nothing of ours anywhere.
    assert theirs.read_text() == "#!/bin/sh\necho 4.2.5\n"
    assert files_below(tmp_path) == {"usr/bin/supervisorctl",
                                     "usr/lib/systemd/system/bot-supervisor.service"}
    # uninstall leaves them too.
    r = make("uninstall", "DESTDIR=%s" % tmp_path, "PREFIX=/usr")
    assert "is not bot-supervisor's" in r.stderr and "left as it is" in r.stderr
    assert theirs.read_text() == "#!/bin/sh\necho 4.2.5\n"


def test_install_keeps_the_operators_config_and_uninstall_leaves_it(tmp_path):
    conf = tmp_path / "etc/bot-supervisor/bot.json"
    conf.parent.mkdir(parents=True)
    conf.write_text('{"plugins": []}\n')
    r = install(tmp_path, prefix="/opt/bot")
    assert "kept the existing %s" % conf in r.stdout
    assert conf.read_text() == '{"plugins": []}\n'
    # A second install over the first is fine: every file is ours.
    install(tmp_path, prefix="/opt/bot")
    # The unit runs the binary of its prefix.
    unit = (tmp_path / "opt/bot/lib/systemd/system/bot-supervisor.service").read_text()
    assert unit_value(unit, "ExecStart") == "/opt/bot/bin/supervisor -c /etc/bot-supervisor/bot.json"
    # An operator's own plugin in the plugin directory survives uninstall.
    own = tmp_path / "opt/bot/lib/bot-supervisor/plugins/mine"
    own.write_text("#!/bin/sh\n")
    r = make("uninstall", "DESTDIR=%s" % tmp_path, "PREFIX=/opt/bot")
    assert files_below(tmp_path) == {"etc/bot-supervisor/bot.json",
                                     "opt/bot/lib/bot-supervisor/plugins/mine"}
    assert "holds plugins that were not installed by make install" in r.stderr
    assert "Kept %s/etc/bot-supervisor/ (your config)" % tmp_path in r.stdout


def test_the_installed_daemon_finds_its_plugins_and_says_which_config(installed, tmp_path):
    daemon = os.path.join(installed, "usr/bin/supervisor")
    env = {k: v for k, v in os.environ.items() if k != "SUPERVISOR_CONFIG"}
    if os.path.exists("/etc/bot-supervisor/bot.json"):
        pytest.skip("this machine has a /etc/bot-supervisor/bot.json")
    # No -c, no $SUPERVISOR_CONFIG, no system config: the built-in default,
    # with the installed plugins (it names the console, dice-roller, ...).
    r = subprocess.run([daemon, "-n"], capture_output=True, text=True, env=env, cwd=str(tmp_path))
    assert r.returncode == 0, r.stderr
    assert r.stdout == ("supervisor: checked the built-in default config (no -c, "
                        "$SUPERVISOR_CONFIG unset, no /etc/bot-supervisor/bot.json)\n"
                        "(built-in default): configuration OK (4 plugins)\n")
    # $SUPERVISOR_CONFIG comes first.
    config = os.path.join(installed, "etc/bot-supervisor/bot.json")
    r = subprocess.run([daemon, "-n"], capture_output=True, text=True,
                       env=dict(env, SUPERVISOR_CONFIG=config))
    assert r.returncode == 0, r.stderr
    assert r.stdout == ("supervisor: checked %s (from $SUPERVISOR_CONFIG)\n"
                        "%s: configuration OK (4 plugins)\n" % (config, config))
    # A missing one is an error, not a silent fallback.
    r = subprocess.run([daemon, "-n"], capture_output=True, text=True,
                       env=dict(env, SUPERVISOR_CONFIG=str(tmp_path / "nope.json")))
    assert r.returncode == 2
    assert r.stderr == "supervisor: %s: cannot open: No such file or directory\n" % (
        tmp_path / "nope.json")
    # -c wins over everything, and then -n says nothing more.
    r = subprocess.run([daemon, "-n", "-c", config], capture_output=True, text=True,
                       env=dict(env, SUPERVISOR_CONFIG=str(tmp_path / "nope.json")))
    assert r.stdout == "%s: configuration OK (4 plugins)\n" % config
    # The build in the source tree never reads the system config.
    r = subprocess.run([SUPERVISOR, "-n"], capture_output=True, text=True, env=env,
                       cwd=str(tmp_path))
    assert r.stdout.startswith("supervisor: checked the built-in default config (no -c, "
                               "$SUPERVISOR_CONFIG unset; a build in the source tree reads "
                               "no /etc/bot-supervisor/bot.json)\n")
