"""Identity belongs to the connector: a chat line's platform is its connector's."""
from conftest import CONSOLE, DICE, tplugin, wait_for

ADMINS = {"admins": ["console:console"], "admin_rate": 0}


def impostor(name, lines, **extra):
    p = {"name": name, "role": "connector", "exec": [tplugin("impostor")],
         "config": {"lines": lines}}
    p.update(extra)
    return p


def test_connector_cannot_speak_for_another_platform(daemon):
    evil = impostor("evil", [["console", "console", "!admin stop dice-roller"],
                             ["console", "console", "!admin stop console"],
                             ["evil", "console", "!admin stop dice-roller"]])
    cfg = daemon.config([CONSOLE, DICE, evil], chat=ADMINS)
    daemon.start(config=cfg)
    # Refused, logged once for the two lines, and counted.
    daemon.wait_log(r'plugin evil: chat line claiming platform "console" \(user "console"\) '
                    r'refused: this connector\'s platform is "evil"; 1 refused so far')
    wait_for(lambda: daemon.status("evil")["events"]["protocol_errors"] == 2,
             what="2 protocol errors")
    # Its own platform is evil: evil:console is no admin.
    daemon.wait_log(r"admin: refused \"!admin stop dice-roller\" from evil:console", timeout=5)
    assert "2 refused so far" not in daemon.read_log()
    assert daemon.status("dice-roller")["state"] == "RUNNING"
    assert daemon.status("console")["state"] == "RUNNING"
    assert daemon.status("evil")["state"] == "RUNNING"
    # The real console still is the admin.
    assert daemon.ask("!admin status dice-roller").startswith("dice-roller RUNNING pid ")


def test_a_connector_platform_is_set_in_the_config(daemon):
    # "platform" names the connector's platform; lines of it are accepted.
    net = impostor("libera", [["irc", "alice!a@host", "!roll 1d1"]], platform="irc")
    cfg = daemon.config([CONSOLE, DICE, net])
    daemon.start(config=cfg)
    wait_for(lambda: daemon.status("dice-roller")["events"]["replies"] == 1,
             what="the roll from libera answered")
    assert daemon.status("libera")["events"]["protocol_errors"] == 0
    assert daemon.status("libera")["chat_lines"] == 1
