#!/usr/bin/python3
"""versioned: a test plugin that says its version in every reply, for upgrades.

Each reply to "!ver ARGS" is "VERSION:ARGS", so a test can tell which process
answered an event. The version, and how this start behaves, come from (first
found wins):

    main(version)   a wrapper script's argument (the watch tests rewrite a
                    wrapper that calls versioned.main("2"))
    version_file    config: a file read at start: "VERSION [MODE [WORDS]]"
    version         config: the version string
    otherwise       "1"

MODE is normal (the default), crash (writes two stderr lines and exits 3
before ready) or noready (never sends ready). WORDS, comma-separated, are the
command words to claim instead of the config's "commands" (default: ver).
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import testplugin  # noqa: E402


def main(version=None):
    plugin = testplugin.Plugin("versioned", commands=["ver"])
    state = {"version": version, "mode": "normal", "words": None}

    def on_hello(p):
        v, mode, words = state["version"], "normal", None
        path = p.config.get("version_file")
        if v is None and path:
            with open(path) as f:
                parts = f.read().split()
            if parts:
                v = parts[0]
            if len(parts) > 1:
                mode = parts[1]
            if len(parts) > 2:
                words = parts[2].split(",")
        if v is None:
            v = str(p.config.get("version", "1"))
        p.config["version"] = v
        if words is not None:
            p.config["commands"] = words
        elif "commands" not in p.config:
            p.config["commands"] = ["ver"]
        state["version"] = v
        if mode == "crash":
            p.err("version %s: cannot load its data" % v)
            p.err("version %s: giving up" % v)
            sys.exit(3)
        if mode == "noready":
            p.err("version %s: not sending ready" % v)
            return False
        return True

    def ver(p, ev):
        p.reply(ev, "%s:%s" % (state["version"], ev.get("args", "")))

    plugin.on_hello(on_hello)
    for w in ("ver", "ver2", "echo", "other"):
        plugin.command(w, ver)
    plugin.run()


if __name__ == "__main__":
    main()
