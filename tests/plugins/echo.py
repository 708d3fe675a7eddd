#!/usr/bin/python3
"""echo: a well-behaved test plugin.

Commands:
    echo    reply with the args
    say     no reply: an unsolicited say of the args to the event's platform
            and channel
    slow    reply with the args after slow_seconds (pings are answered
            meanwhile)
Config:
    chat          true: also receive every plain chat line and reply
                  "heard: <text>"
    slow_seconds  delay of "slow" (default 1)
    commands      the command words to claim instead (e.g. ["roll"] to test
                  duplicate ownership); words other than say and slow echo
    version       the version in ready (default "1.0.0")
    ready_delay   seconds between hello and ready
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import testplugin  # noqa: E402

plugin = testplugin.Plugin("echo", commands=["echo", "say", "slow"])


def cmd_echo(p, ev):
    p.reply(ev, ev.get("args", ""))


def cmd_say(p, ev):
    p.say(ev.get("platform", ""), ev.get("channel", ""), ev.get("args", ""))


def cmd_slow(p, ev):
    delay = float(p.config.get("slow_seconds", 1))
    p.call_later(delay, lambda p: p.reply(ev, ev.get("args", "")))


def on_chat(p, ev):
    p.reply(ev, "heard: " + ev.get("text", ""))


plugin.command("echo", cmd_echo)
plugin.command("say", cmd_say)
plugin.command("slow", cmd_slow)
plugin.on_chat(on_chat)
plugin.run()
