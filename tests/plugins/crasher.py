#!/usr/bin/python3
"""crasher: a test plugin that dies on request, by exit code or by signal.

Commands: crash (crash now if on_command is set, else say why not), echo
(reply with the args). Config (the "config" map of hello):

    exit_code     exit with this code when crashing (default 1)
    signal        instead, kill itself with this signal: "KILL", "SEGV",
                  "ABRT", "TERM", ... ("SIG" prefix optional) or a number
    after         crash this many seconds after ready (absent: never by itself)
    unless_file   ... unless this file exists when that time comes
    on_command    crash when the command "crash" arrives (default false)
    before_ready  crash on hello, before sending ready
    exit_when_asked  the code to exit with on shutdown (default 0)
    ignore_shutdown  true: ignore the shutdown message (stop falls to SIGTERM)
    commands, version, ready_delay: see testplugin.py

Before crashing it writes three recognizable lines to stderr, the last one
"crasher: about to exit with code N" or "crasher: about to kill myself with
SIGNAME", which the daemon keeps as the crash's last stderr lines.
"""
import os
import signal
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import testplugin  # noqa: E402

plugin = testplugin.Plugin("crasher", commands=["crash", "echo"])
started = time.monotonic()


def signal_number(value):
    if isinstance(value, int):
        return value
    name = str(value).upper()
    if not name.startswith("SIG"):
        name = "SIG" + name
    return int(getattr(signal, name))


def crash(p, why):
    cfg = p.config
    p.err("crashing now: %s" % why)
    p.err("uptime %.2f s, pid %d" % (time.monotonic() - started, os.getpid()))
    if cfg.get("signal") is not None:
        sig = signal_number(cfg["signal"])
        p.err("about to kill myself with %s" % signal.Signals(sig).name)
        sys.stderr.flush()
        # Python handles a few signals itself (SIGINT): make them fatal.
        if sig not in (signal.SIGKILL, signal.SIGSTOP):
            signal.signal(sig, signal.SIG_DFL)
        os.kill(os.getpid(), sig)
        time.sleep(5)
        p.err("still alive after %s" % signal.Signals(sig).name)
        os._exit(70)
    code = int(cfg.get("exit_code", 1))
    p.err("about to exit with code %d" % code)
    sys.stderr.flush()
    os._exit(code)


def on_hello(p):
    if p.config.get("before_ready"):
        crash(p, "before ready")
    return True


def on_ready(p):
    after = p.config.get("after")
    if after is None:
        return
    unless = p.config.get("unless_file")

    def fire(p):
        if unless and os.path.exists(unless):
            p.err("%s exists: not crashing" % unless)
            return
        crash(p, "%g s after ready" % float(after))
    p.call_later(float(after), fire)


def cmd_crash(p, ev):
    if p.config.get("on_command"):
        crash(p, "on command")
    p.reply(ev, "not crashing: on_command is not set")


def cmd_echo(p, ev):
    p.reply(ev, ev.get("args", ""))


def on_shutdown(p):
    if p.config.get("ignore_shutdown"):
        p.err("shutdown received, ignored")
        return
    code = int(p.config.get("exit_when_asked", 0))
    p.err("shutdown received, exiting %d" % code)
    sys.stderr.flush()
    os._exit(code)


plugin.on_hello(on_hello)
plugin.on_ready(on_ready)
plugin.command("crash", cmd_crash)
plugin.command("echo", cmd_echo)
plugin.on_shutdown(on_shutdown)
plugin.run()
