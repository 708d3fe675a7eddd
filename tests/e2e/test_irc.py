"""The IRC connector end to end, against a real IRC server.

Each test starts Debian's ngircd on 127.0.0.1 at a free port, with a config
generated in its temp dir, and the daemon with the irc connector
(build/plugins/irc) and a few plugins. A test IRC client written here with
plain sockets joins the channel first (so it is the channel operator), then
talks to the bot as a person would and checks what comes back, byte for
byte: replies in the channel and in private, long replies split under the
512-byte line limit, replies with CR/LF that must not become commands, nick
collisions, KICK, output pacing, admin identities, and reconnection after
the server is killed and started again.

ngircd lets a client's commands through at about 3 a second (it delays the
rest, it does not drop them), so the bot's own pace is tested below that.
"""
import os
import queue
import re
import socket
import subprocess
import threading
import time

import pytest

from conftest import DICE, EIGHTBALL, SLOW, TEST_PLUGINS, tplugin, wait_for

NGIRCD = "/usr/sbin/ngircd"
CHANNEL = "#test"
DICE_REPLY = re.compile(r"🎲 \[(\d+), (\d+)\] = (\d+)")

pytestmark = pytest.mark.skipif(
    not os.access(NGIRCD, os.X_OK),
    reason="ngircd is not installed (scripts/install-deps installs it)")

NGIRCD_CONF = """\
[Global]
Name = irc.test
Info = supervisor end-to-end test
AdminInfo1 = supervisor tests
AdminInfo2 = 127.0.0.1
AdminEMail = root@localhost
Listen = 127.0.0.1
Ports = {port}
MotdPhrase = supervisor e2e test server

[Limits]
MaxConnectionsIP = 0
MaxJoins = 0
PingTimeout = 120
PongTimeout = 20

[Options]
PAM = no
DNS = no
Ident = no
"""

# A test plugin for replies no chat line can produce: the daemon turns
# control characters in chat text into spaces, and an IRC line cannot carry
# 1500 bytes, so these replies are made here.
IRCBITS = """\
#!/usr/bin/python3
import sys
sys.path.insert(0, {plugins!r})
import testplugin

plugin = testplugin.Plugin("ircbits", commands=["long", "crlf"])


def long_text(kind, n):
    if kind == "utf8":
        return ("\\u00e9\\U0001f3b2" * n)[:n]
    return "".join(chr(ord("a") + i % 26) for i in range(n))


def cmd_long(p, ev):
    kind, _, n = ev.get("args", "").partition(" ")
    p.reply(ev, long_text(kind, int(n or 1500)))


def cmd_crlf(p, ev):
    p.reply(ev, "first\\r\\nQUIT :injected\\rPRIVMSG {channel} :second\\n"
                "\\x01ACTION dances\\x01\\nJOIN #elsewhere\\r\\n\\r\\nlast")


plugin.command("long", cmd_long)
plugin.command("crlf", cmd_crlf)
plugin.run()
"""


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Ngircd:
    """One ngircd in the foreground, on 127.0.0.1 only."""

    def __init__(self, tmp_path):
        self.dir = str(tmp_path / "ngircd")
        os.makedirs(self.dir, exist_ok=True)
        self.port = free_port()
        self.conf = os.path.join(self.dir, "ngircd.conf")
        with open(self.conf, "w") as f:
            f.write(NGIRCD_CONF.format(port=self.port))
        self.log_path = os.path.join(self.dir, "ngircd.log")
        self.proc = None

    def start(self):
        # As root, ngircd switches to "nobody" itself (ServerUID).
        self.log = open(self.log_path, "ab")
        self.proc = subprocess.Popen([NGIRCD, "-n", "-f", self.conf],
                                     stdin=subprocess.DEVNULL,
                                     stdout=self.log, stderr=subprocess.STDOUT)
        wait_for(lambda: self.proc.poll() is not None or self.listening(),
                 what="ngircd to listen on port %d" % self.port)
        assert self.proc.poll() is None, "ngircd exited:\n" + self.read_log()
        return self

    def listening(self):
        return "Now listening on [127.0.0.1]:%d" % self.port in self.read_log()

    def kill(self):
        self.proc.kill()
        self.proc.wait()
        self.log.close()
        # The next start must see its own "listening" line, not this one.
        os.rename(self.log_path, self.log_path + ".%d" % self.proc.pid)

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
            self.log.close()

    def read_log(self):
        try:
            with open(self.log_path, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except FileNotFoundError:
            return ""


@pytest.fixture
def ircd(tmp_path):
    s = Ngircd(tmp_path).start()
    yield s
    s.stop()


class Msg:
    """One IRC line as the test client received it."""

    def __init__(self, raw, when):
        self.raw = raw              # bytes, without CR LF
        self.time = when
        line = raw.decode("utf-8", "replace")
        self.prefix = None
        if line.startswith("@"):
            line = line.split(" ", 1)[1] if " " in line else ""
        if line.startswith(":"):
            self.prefix, _, line = line[1:].partition(" ")
        line, _, trailing = line.partition(" :")
        words = line.split()
        self.command = words[0].upper() if words else ""
        self.params = words[1:] + ([trailing] if _ else [])
        self.nick = (self.prefix or "").split("!")[0]

    def __repr__(self):
        return "Msg(%r)" % self.raw


class IrcClient:
    """A person on IRC: plain sockets, PINGs answered, lines queued."""

    def __init__(self, port, nick, user="tester"):
        self.nick = nick
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=5 * SLOW)
        self.sock.settimeout(None)
        self.q = queue.Queue()
        self.eof = threading.Event()
        threading.Thread(target=self._reader, daemon=True).start()
        self.send("NICK " + nick)
        self.send("USER %s 0 * :e2e test client" % user)

    def send(self, line):
        self.sock.sendall(line.encode() + b"\r\n")

    def _reader(self):
        buf = b""
        while True:
            try:
                data = self.sock.recv(65536)
            except OSError:
                break
            if not data:
                break
            buf += data
            while b"\n" in buf:
                raw, buf = buf.split(b"\n", 1)
                m = Msg(raw.rstrip(b"\r"), time.monotonic())
                if m.command == "PING":
                    self.send("PONG :" + (m.params[-1] if m.params else ""))
                    continue
                self.q.put(m)
        self.eof.set()

    def expect(self, pred, timeout=5.0, what="a message"):
        """The next message for which pred is true; the others are skipped."""
        deadline = time.monotonic() + timeout * SLOW
        skipped = []
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError("no %s within %.1fs; skipped: %r"
                                     % (what, timeout * SLOW, skipped[-20:]))
            try:
                m = self.q.get(timeout=left)
            except queue.Empty:
                continue
            if pred(m):
                return m
            skipped.append(m)

    def nothing(self, pred, within=0.5):
        """No message for which pred is true arrives within this time."""
        try:
            m = self.expect(pred, within / SLOW, "")
        except AssertionError:
            return
        raise AssertionError("unexpected: %r" % m)

    def register(self):
        self.expect(lambda m: m.command == "001", what="001 (welcome)")
        return self

    def join(self, channel=CHANNEL):
        self.send("JOIN " + channel)
        self.expect(lambda m: m.command == "JOIN" and m.nick == self.nick,
                    what="our JOIN")
        return self

    def say(self, target, text):
        self.send("PRIVMSG %s :%s" % (target, text))

    def from_bot(self, bot, target=CHANNEL, timeout=5.0):
        """The bot's next PRIVMSG to target (a channel, or our nick)."""
        return self.expect(lambda m: m.command == "PRIVMSG" and m.nick == bot
                           and m.params[0] == target, timeout,
                           "PRIVMSG %s from %s" % (target, bot))

    def ask(self, bot, text, target=CHANNEL):
        self.say(target if target.startswith("#") else bot, text)
        return self.from_bot(bot, target if target.startswith("#") else self.nick)

    def wait_bot_joined(self, bot, timeout=5.0):
        """The bot is in the channel: its JOIN, or its nick in NAMES."""
        def joined(m):
            if m.command == "JOIN" and m.nick == bot:
                return True
            return m.command == "353" and bot in [
                n.lstrip("~&@%+") for n in m.params[-1].split()]
        self.send("NAMES " + CHANNEL)
        return self.expect(joined, timeout, "%s in %s" % (bot, CHANNEL))

    def close(self):
        try:
            self.send("QUIT :done")
        except OSError:
            pass
        self.sock.close()


@pytest.fixture
def clients():
    made = []

    def make(port, nick, **kw):
        c = IrcClient(port, nick, **kw)
        made.append(c)
        return c
    yield make
    for c in made:
        c.close()


def irc_plugin(port, **config):
    cfg = {"server": "127.0.0.1", "port": port, "nick": "bot",
           "channels": [CHANNEL], "rate": 10, "burst": 10,
           "rejoin_delay": 0.5,
           "reconnect": {"initial": 0.2, "multiplier": 2, "max": 1,
                         "max_failures": 100, "window": 60, "cooldown": 5}}
    cfg.update(config)
    return {"name": "irc", "role": "connector", "exec": ["irc"], "config": cfg}


def ircbits(tmp_path):
    path = str(tmp_path / "ircbits.py")
    with open(path, "w") as f:
        f.write(IRCBITS.format(plugins=TEST_PLUGINS, channel=CHANNEL))
    os.chmod(path, 0o755)
    # It imports testplugin from the tree: granted, as an operator would.
    return {"name": "ircbits", "exec": [path], "sandbox": {"read": [TEST_PLUGINS]}}


ECHO = {"name": "echo", "exec": [tplugin("echo")]}


def start_bot(daemon, ircd, client, plugins=(), bot="bot", chat=None, **config):
    """Start the daemon with the irc connector; wait until the bot joined."""
    cfg = daemon.config([irc_plugin(ircd.port, **config), DICE, EIGHTBALL,
                         *plugins])
    if chat is not None:
        cfg["chat"] = chat
    daemon.start(config=cfg)
    client.wait_bot_joined(bot)
    return cfg


def join_tester(clients, ircd, nick="tester"):
    return clients(ircd.port, nick).register().join()


def test_roll_in_channel_and_8ball_in_private(ircd, daemon, clients):
    c = join_tester(clients, ircd)
    start_bot(daemon, ircd, c)

    m = c.ask("bot", "!roll 2d6")
    a, b, total = map(int, DICE_REPLY.fullmatch(m.params[1]).groups())
    assert 1 <= a <= 6 and 1 <= b <= 6 and a + b == total
    # The bot's prefix is what the server shows: nick!~user@host.
    assert m.prefix == "bot!~bot@127.0.0.1"

    # A private line is answered privately: PRIVMSG to our nick.
    c.say("bot", "!8ball will the tests pass?")
    m = c.from_bot("bot", target="tester")
    assert m.params[1].startswith("🎱 ")

    # Colour codes do not hide a command; NOTICEs are never answered.
    assert DICE_REPLY.fullmatch(c.ask("bot", "\x0304!roll\x03 2d6").params[1])
    c.send("NOTICE %s :!roll 2d6" % CHANNEL)
    c.nothing(lambda m: m.nick == "bot" and m.command in ("PRIVMSG", "NOTICE"))

    # CTCP VERSION gets a NOTICE; other CTCP nothing.
    c.say("bot", "\x01VERSION\x01")
    m = c.expect(lambda m: m.command == "NOTICE" and m.nick == "bot")
    assert m.params == ["tester", "\x01VERSION supervisor irc connector 1.0.0\x01"]
    c.say(CHANNEL, "\x01ACTION !roll 2d6\x01")
    c.nothing(lambda m: m.nick == "bot")

    # The daemon counts the connector like any plugin.
    st = daemon.status("irc")
    assert st["state"] == "RUNNING" and st["role"] == "connector"
    assert st["chat_lines"] == 3
    assert daemon.status("dice-roller")["events"]["routed"] == 2


def test_long_reply_split_at_the_line_limit(ircd, daemon, clients, tmp_path):
    c = join_tester(clients, ircd)
    start_bot(daemon, ircd, c, plugins=[ircbits(tmp_path)])
    want = "".join(chr(ord("a") + i % 26) for i in range(1500))
    c.say(CHANNEL, "!long ascii 1500")
    got = [c.from_bot("bot") for _ in range(4)]
    for m in got:
        assert len(m.raw) + 2 <= 512, (len(m.raw), m.raw[:80])
    # ":bot!~bot@127.0.0.1 PRIVMSG #test :" + 475 = 510: full lines.
    assert [len(m.raw) + 2 for m in got] == [512, 512, 512, 512 - 400]
    assert "".join(m.params[1] for m in got) == want

    # Multibyte UTF-8 is never cut inside a character (600 characters are
    # 1800 bytes, under the protocol's 2048 for a reply).
    want = ("\u00e9\U0001f3b2" * 300)
    c.say(CHANNEL, "!long utf8 600")
    text = ""
    while len(text) < len(want):
        m = c.from_bot("bot")
        assert len(m.raw) + 2 <= 512
        text += m.raw.split(b" :", 1)[1].decode("utf-8", "strict")
    assert text == want


def test_reply_with_cr_lf_cannot_inject_commands(ircd, daemon, clients, tmp_path):
    c = join_tester(clients, ircd)
    start_bot(daemon, ircd, c, plugins=[ircbits(tmp_path)])
    c.say(CHANNEL, "!crlf")
    lines = [c.from_bot("bot").params[1] for _ in range(6)]
    # Each line of the reply is text in a PRIVMSG of its own; \x01 is gone.
    assert lines == ["first", "QUIT :injected", "PRIVMSG #test :second",
                     "ACTION dances", "JOIN #elsewhere", "last"]
    # Nothing became a command: the bot is still here, in no other channel.
    c.nothing(lambda m: m.nick == "bot" and m.command != "PRIVMSG")
    assert DICE_REPLY.fullmatch(c.ask("bot", "!roll 2d6").params[1])
    c.send("WHOIS bot")
    m = c.expect(lambda m: m.command == "319", what="WHOIS channels")
    assert m.params[-1].split() == [CHANNEL]
    assert daemon.status("irc")["restarts"] == 0


@pytest.mark.parametrize("alt_nicks,second", [(["botalt"], "botalt"), ([], "bot_")])
def test_nick_collision_uses_another_nick_and_regains(ircd, daemon, clients,
                                                      alt_nicks, second):
    # Someone has the bot's nick already.
    c = clients(ircd.port, "bot").register().join()
    start_bot(daemon, ircd, c, bot=second, alt_nicks=alt_nicks)
    daemon.wait_log(r"irc: warning: nick bot is not available \(433 .*\): trying %s" % second)
    assert DICE_REPLY.fullmatch(c.ask(second, "!roll 2d6").params[1])

    # The nick is free again: the bot, which saw it go, takes it back at
    # once (not at its next regain_interval, a minute by default).
    c.send("NICK tester")
    c.nick = "tester"
    m = c.expect(lambda m: m.command == "NICK" and m.nick == second,
                 what="the bot's NICK")
    assert m.params == ["bot"]
    assert DICE_REPLY.fullmatch(c.ask("bot", "!roll 2d6").params[1])


def test_kick_rejoins_after_the_delay(ircd, daemon, clients):
    c = join_tester(clients, ircd)     # joined first: channel operator
    start_bot(daemon, ircd, c, rejoin_delay=0.5)
    c.send("KICK %s bot :out" % CHANNEL)
    kicked = c.expect(lambda m: m.command == "KICK", what="the KICK")
    back = c.expect(lambda m: m.command == "JOIN" and m.nick == "bot",
                    what="the bot's JOIN")
    assert back.time - kicked.time >= 0.45
    daemon.wait_log(r"irc: warning: kicked from #test by tester: out; "
                    r"rejoining in 0\.5 s")
    assert DICE_REPLY.fullmatch(c.ask("bot", "!roll 2d6").params[1])


def test_output_is_paced(ircd, daemon, clients):
    rate, burst, n = 1.0, 2, 8
    c = join_tester(clients, ircd)
    start_bot(daemon, ircd, c, plugins=[ECHO], rate=rate, burst=burst)
    for i in range(n):
        c.say(CHANNEL, "!echo p%d" % i)
    got = [c.from_bot("bot", timeout=15) for _ in range(n)]
    assert [m.params[1] for m in got] == ["p%d" % i for i in range(n)]
    times = [m.time for m in got]
    # In any window of t seconds at most burst + rate × t lines (with 0.25 s
    # for the trip through the server and the test's own scheduling).
    for i in range(n):
        for j in range(i + 1, n):
            assert j - i + 1 <= burst + rate * (times[j] - times[i] + 0.25), \
                ["%.3f" % (t - times[0]) for t in times]
    # And the bucket really holds lines back: 6 past the burst take 6 s.
    assert times[-1] - times[0] >= (n - burst) / rate - 0.3


def test_admin_identity_is_irc_nick_user_host(ircd, daemon, clients):
    c = join_tester(clients, ircd)
    start_bot(daemon, ircd, c, chat={"admins": ["irc:tester!*@*"]})
    m = c.ask("bot", "!admin status")
    assert m.params[1].startswith("up "), m.params[1]
    # The others lines of the answer follow, one PRIVMSG each.
    names = {c.from_bot("bot").params[1].split()[0] for _ in range(3)}
    assert names == {"irc", "dice-roller", "8ball"}


def test_admin_refused_without_a_matching_pattern(ircd, daemon, clients):
    c = join_tester(clients, ircd)
    start_bot(daemon, ircd, c, chat={"admins": ["irc:alice!*@*", "console:console"]})
    m = c.ask("bot", "!admin status")
    assert m.params[1] == "not allowed: !admin is for the bot's admins"
    daemon.wait_log(r"admin: refused \"!admin status\" from "
                    r"irc:tester!~tester@127\.0\.0\.1")


def test_reconnects_after_the_server_is_killed(ircd, daemon, clients):
    c = join_tester(clients, ircd)
    start_bot(daemon, ircd, c)
    assert DICE_REPLY.fullmatch(c.ask("bot", "!roll 2d6").params[1])
    before = daemon.status("irc")

    ircd.kill()
    daemon.wait_log(r"irc: warning: lost connection to 127\.0\.0\.1:%d: the server "
                    r"closed the connection; attempt 2 in 0\.\d s "
                    r"\(breaker closed\)" % ircd.port)
    # Attempts go on, each logged with its number and delay, backing off.
    daemon.wait_log(r"irc: warning: cannot connect to 127\.0\.0\.1:%d: connect: "
                    r"Connection refused; attempt 4 in [01]\.\d s"
                    % ircd.port, timeout=8)
    assert "irc: connecting to 127.0.0.1:%d (attempt 3)" % ircd.port in \
        daemon.read_log()
    # Meanwhile the daemon sees the connector RUNNING, the same process.
    st = daemon.status("irc")
    assert st["state"] == "RUNNING" and st["pid"] == before["pid"]
    assert st["crashes"] == 0

    ircd.start()
    c2 = join_tester(clients, ircd)
    c2.wait_bot_joined("bot", timeout=8)
    assert DICE_REPLY.fullmatch(c2.ask("bot", "!roll 2d6").params[1])
    assert daemon.read_log().count("irc: registered on 127.0.0.1:%d as bot"
                                   % ircd.port) == 2
    st = daemon.status("irc")
    assert st["pid"] == before["pid"] and st["restarts"] == before["restarts"]
