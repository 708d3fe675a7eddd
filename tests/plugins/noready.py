#!/usr/bin/python3
"""noready: a test plugin that reads hello and never sends ready.

It keeps reading its socket and answers nothing (not even pings), so the
daemon's ready_timeout must fire. Config:

    ignore_shutdown  true: ignore the shutdown message too (stopping it then
                     takes SIGTERM); by default it exits 0 on shutdown
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import testplugin  # noqa: E402

plugin = testplugin.Plugin("noready", commands=[])


def on_hello(p):
    p.err("hello received; not sending ready")
    return False


def on_shutdown(p):
    if p.config.get("ignore_shutdown"):
        p.err("shutdown received, ignored")
        return
    p.err("shutdown received, exiting 0")
    sys.exit(0)


plugin.on_hello(on_hello)
plugin.on_shutdown(on_shutdown)
plugin.answer_pings = False
plugin.run()
