"""SASL login of the IRC connector against a real IRCd with services.

Each test runs Debian's InspIRCd 3 linked to Atheme (atheme-services) on
127.0.0.1, on free ports, from configs written in its temp dir (no DNS or
ident lookups: the connect class resolves no host names and no ident
module is loaded), with a TLS port whose certificate comes from a test CA
made per test. A test IRC client registers the bot's account with NickServ
(REGISTER, and CERT ADD for a client certificate), then the daemon starts
the connector, which must log in before it joins: PLAIN with the password
from a file (903, then JOIN; the account shows in WHOIS), a wrong password
(904: the bot never joins, backs off and tries again), and EXTERNAL with a
client certificate whose fingerprint is registered.
"""
import os
import re
import resource
import signal
import subprocess

import pytest

from conftest import DICE, SANITIZED, wait_for
from test_irc import CHANNEL, DICE_REPLY, free_port
from test_irc import clients  # noqa: F401 (a fixture)
from test_irc_tls import SERVER_NAME, ca, fingerprint  # noqa: F401 (ca: a fixture)

INSPIRCD = "/usr/sbin/inspircd"
ATHEME = "/usr/bin/atheme-services"
PASSWORD = "correct-horse-battery-staple"

# InspIRCd + Atheme are heavy real servers: these run in the normal build
# only (the IRC connector's TLS tests against ngircd run in both).
pytestmark = [
    pytest.mark.skipif(SANITIZED, reason="InspIRCd + Atheme tests run in the normal build only"),
    pytest.mark.skipif(
        not (os.access(INSPIRCD, os.X_OK) and os.access(ATHEME, os.X_OK)),
        reason="inspircd and atheme-services are not installed "
               "(scripts/install-deps installs them)")]

INSPIRCD_CONF = """\
<config format="xml">
<server name="irc.test" description="supervisor e2e test" network="TestNet" id="0AA">
<admin name="tests" nick="tests" email="root@localhost">
<bind address="127.0.0.1" port="{port}" type="clients">
<bind address="127.0.0.1" port="{tls_port}" type="clients" ssl="test">
<bind address="127.0.0.1" port="{link_port}" type="servers">
<power diepass="{link_pass}" restartpass="{link_pass}">
<connect name="main" allow="*" timeout="60" pingfreq="120" hardsendq="1M"
         softsendq="1M" recvq="8192" localmax="1000" globalmax="1000"
         limit="1000" resolvehostnames="no" useident="no">
<dns server="127.0.0.1" timeout="1">
<pid file="{dir}/inspircd.pid">
<log method="file" type="* -USERINPUT -USEROUTPUT" level="default" target="{dir}/inspircd.log">
<module name="ssl_gnutls">
<sslprofile name="test" provider="gnutls" certfile="{cert}" keyfile="{key}"
            requestclientcert="yes" hash="sha256">
<module name="sslinfo">
<module name="cap">
<module name="sasl">
<module name="services_account">
<module name="spanningtree">
<sasl target="services.test" requiressl="no">
<link name="services.test" ipaddr="127.0.0.1" port="{link_port}"
      allowmask="127.0.0.1" sendpass="{link_pass}" recvpass="{link_pass}">
<uline server="services.test" silent="yes">
"""

ATHEME_CONF = """\
loadmodule "modules/protocol/inspircd";
loadmodule "modules/backend/opensex";
loadmodule "modules/crypto/pbkdf2v2";
loadmodule "modules/nickserv/main";
loadmodule "modules/nickserv/register";
loadmodule "modules/nickserv/identify";
loadmodule "modules/nickserv/cert";
loadmodule "modules/saslserv/main";
loadmodule "modules/saslserv/plain";
loadmodule "modules/saslserv/external";
serverinfo {{
	name = "services.test";
	desc = "supervisor e2e test services";
	numeric = "00A";
	recontime = 1;
	netname = "TestNet";
	hidehostsuffix = "users.test";
	adminname = "tests";
	adminemail = "root@localhost";
	registeremail = "root@localhost";
	mta = "/bin/false";
	loglevel = {{ error; info; admin; network; register; }};
	maxlogins = 5;
	maxusers = 5;
	mdlimit = 30;
	emaillimit = 10;
	emailtime = 300;
	auth = none;
	casemapping = rfc1459;
}};
uplink "irc.test" {{
	host = "127.0.0.1";
	password = "{link_pass}";
	port = {link_port};
}};
nickserv {{
	nick = "NickServ";
	user = "NickServ";
	host = "services.test";
	real = "Nickname Services";
	maxnicks = 5;
	expire = 30;
}};
saslserv {{
	nick = "SaslServ";
	user = "SaslServ";
	host = "services.test";
	real = "SASL Authentication Agent";
}};
general {{
	commit_interval = 5;
	flood_msgs = 0;
	flood_time = 10;
	ratelimit_uses = 1000;
	ratelimit_period = 60;
	kline_time = 7;
	clone_time = 0;
	default_clone_allowed = 1000;
	default_clone_warn = 1000;
	uplink_sendq_limit = 1048576;
	language = "en";
	immune_level = immune;
}};
"""


def no_core():
    # InspIRCd may dump core as it exits on SIGTERM: none in the temp dir.
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


class Network:
    """InspIRCd 3 with Atheme linked, on 127.0.0.1 only."""

    def __init__(self, tmp_path, ca):
        self.dir = str(tmp_path / "ircd")
        os.makedirs(self.dir, exist_ok=True)
        self.port, self.tls_port, self.link_port = (free_port(), free_port(),
                                                    free_port())
        cert, key = ca.issue("ircd", SERVER_NAME)
        with open(os.path.join(self.dir, "inspircd.conf"), "w") as f:
            f.write(INSPIRCD_CONF.format(
                port=self.port, tls_port=self.tls_port,
                link_port=self.link_port, link_pass="link-pw", dir=self.dir,
                cert=cert, key=key))
        self.atheme_dir = os.path.join(self.dir, "atheme")
        os.makedirs(self.atheme_dir, exist_ok=True)
        with open(os.path.join(self.atheme_dir, "atheme.conf"), "w") as f:
            f.write(ATHEME_CONF.format(link_port=self.link_port,
                                       link_pass="link-pw"))
        self.procs = []

    def read(self, name):
        try:
            with open(os.path.join(self.dir, name), "rb") as f:
                return f.read().decode("utf-8", "replace")
        except FileNotFoundError:
            return ""

    def spawn(self, argv, out):
        f = open(os.path.join(self.dir, out), "wb")
        p = subprocess.Popen(argv, cwd=self.dir, stdin=subprocess.DEVNULL,
                             stdout=f, stderr=subprocess.STDOUT,
                             preexec_fn=no_core)
        f.close()
        self.procs.append(p)
        return p

    def start(self):
        ircd = self.spawn([INSPIRCD, "--nofork", "--runasroot", "--config="
                           + os.path.join(self.dir, "inspircd.conf")],
                          "inspircd.out")
        wait_for(lambda: ircd.poll() is not None or
                 "is now running" in self.read("inspircd.out"),
                 timeout=10, what="inspircd to start")
        assert ircd.poll() is None, "inspircd exited:\n" + \
            self.read("inspircd.out") + self.read("inspircd.log")
        services = self.spawn(
            [ATHEME, "-n", "-c", os.path.join(self.atheme_dir, "atheme.conf"),
             "-l", os.path.join(self.atheme_dir, "atheme.log"),
             "-p", os.path.join(self.atheme_dir, "atheme.pid"),
             "-D", self.atheme_dir], "atheme.out")
        wait_for(lambda: services.poll() is not None or
                 "finished synching with uplink" in self.read("atheme.out"),
                 timeout=10, what="atheme to link to inspircd")
        assert services.poll() is None, "atheme exited:\n" + \
            self.read("atheme.out")
        return self

    def stop(self):
        for p in reversed(self.procs):
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
                try:
                    p.wait(10)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()


@pytest.fixture
def network(tmp_path, ca):
    n = Network(tmp_path, ca)
    yield n.start()
    n.stop()


def from_nickserv(c, what, timeout=10):
    return c.expect(lambda m: m.command == "NOTICE" and m.nick == "NickServ",
                    timeout, what)


def register_account(clients, network, account, fingerprint=None,
                     password=PASSWORD):
    """NickServ REGISTER the account (and CERT ADD a fingerprint)."""
    c = clients(network.port, account).register()
    c.say("NickServ", "REGISTER %s %s@example.org" % (password, account))
    m = from_nickserv(c, "NickServ's answer to REGISTER")
    assert "registered" in m.params[-1], m.params[-1]
    if fingerprint is not None:
        c.say("NickServ", "CERT ADD " + fingerprint)
        m = from_nickserv(c, "NickServ's answer to CERT ADD")
        assert fingerprint in m.params[-1], m.params[-1]
    c.send("QUIT :registered")
    c.eof.wait(5)


def password_file(tmp_path, secret, mode=0o600):
    path = str(tmp_path / "sasl-password")
    with open(path, "w") as f:
        f.write(secret + "\n")
    os.chmod(path, mode)
    return path


def bot(network, ca, **config):
    cfg = {"server": "127.0.0.1", "port": network.tls_port, "tls": True,
           "tls_server_name": SERVER_NAME, "tls_ca_file": ca.pem,
           "nick": "dicebot", "channels": [CHANNEL], "rate": 10, "burst": 10,
           "reconnect": {"initial": 0.3, "multiplier": 2, "max": 1,
                         "max_failures": 100, "window": 60, "cooldown": 5}}
    cfg.update(config)
    return {"name": "irc", "role": "connector", "exec": ["irc"], "config": cfg}


def whois_account(c, nick):
    """The account WHOIS shows for nick (330), or None."""
    c.send("WHOIS " + nick)
    account = None
    while True:
        m = c.expect(lambda m: m.command in ("330", "318"), what="WHOIS")
        if m.command == "318":
            return account
        account = m.params[2]


def not_in_channel(c, nick):
    c.send("NAMES " + CHANNEL)
    m = c.expect(lambda m: m.command == "353", what="NAMES")
    return nick not in [n.lstrip("~&@%+") for n in m.params[-1].split()]


def test_plain_logs_in_before_joining(tmp_path, ca, network, daemon, clients):
    register_account(clients, network, "dicebot")
    c = clients(network.port, "tester").register().join()
    daemon.start(config=daemon.config([
        bot(network, ca, sasl_user="dicebot",
            sasl_password_file=password_file(tmp_path, PASSWORD)), DICE]))
    c.wait_bot_joined("dicebot", timeout=10)
    assert DICE_REPLY.fullmatch(c.ask("dicebot", "!roll 2d6").params[1])
    assert whois_account(c, "dicebot") == "dicebot"

    log = daemon.read_log()
    assert re.search(r"irc: capabilities: (.* )?sasl( |$)", log, re.M)
    login = log.index("irc: SASL login as dicebot succeeded (903 ")
    assert log.index("irc: logged in as dicebot") < login
    # Logged in first, registered and joined after.
    assert login < log.index("irc: registered on") < log.index("irc: joined #test")
    assert PASSWORD not in log
    assert "can be read by every user" not in log


def test_long_login_goes_in_400_byte_chunks(tmp_path, ca, network, daemon,
                                            clients):
    # A 30-byte account twice, two NULs and a 240-byte password are 302
    # bytes, 404 in base64: a full 400-byte chunk and a short one (IRCv3
    # sasl-3.1). Atheme takes passwords only up to about 250 bytes, so the
    # length is in the account name. (A message of exactly 400 bytes is
    # sent as the chunk and "+", as the spec says and the unit test checks;
    # Atheme 7.2.12 answers that with a failure, so it is not tried here.)
    plen = 240
    account = "dicebot-chunked-login-account0"
    password = "".join(chr(ord("a") + i % 26) for i in range(plen))
    register_account(clients, network, account, password=password)
    c = clients(network.port, "tester").register().join()
    daemon.start(config=daemon.config([
        bot(network, ca, sasl_user=account,
            sasl_password_file=password_file(tmp_path, password)), DICE]))
    c.wait_bot_joined("dicebot", timeout=10)
    assert whois_account(c, "dicebot") == account
    assert password not in daemon.read_log()


def test_wrong_password_fails_and_never_joins(tmp_path, ca, network, daemon,
                                              clients):
    register_account(clients, network, "dicebot")
    c = clients(network.port, "tester").register().join()
    daemon.start(config=daemon.config([
        bot(network, ca, sasl_password="not the password"), DICE]))
    fail = (r"irc: warning: cannot connect to 127\.0\.0\.1:%d: SASL login as "
            r"dicebot failed: 904 SASL authentication failed; attempt %d in "
            r"[01]\.\d s \(breaker closed\)")
    daemon.wait_log(fail % (network.tls_port, 2), timeout=10)
    # It backs off and tries again, failing the same way: no unidentified bot.
    daemon.wait_log(fail % (network.tls_port, 3), timeout=10)
    assert not_in_channel(c, "dicebot")
    log = daemon.read_log()
    assert "registered on" not in log and "joined" not in log
    assert "not the password" not in log
    assert daemon.status("irc")["crashes"] == 0


def test_failed_login_not_required_joins_without_account(tmp_path, ca, network,
                                                        daemon, clients):
    register_account(clients, network, "dicebot")
    c = clients(network.port, "tester").register().join()
    daemon.start(config=daemon.config([
        bot(network, ca, sasl_password="not the password",
            sasl_required=False), DICE]))
    c.wait_bot_joined("dicebot", timeout=10)
    daemon.wait_log(r"irc: warning: SASL login as dicebot failed: 904 SASL "
                    r"authentication failed; going on without logging in")
    assert whois_account(c, "dicebot") is None


def test_external_with_registered_certificate(tmp_path, ca, network, daemon,
                                              clients):
    cert, key = ca.issue("dicebot", "dicebot", client=True)
    fp = fingerprint(cert)
    register_account(clients, network, "dicebot", fingerprint=fp)
    c = clients(network.port, "tester").register().join()
    daemon.start(config=daemon.config([
        bot(network, ca, sasl_mechanism="EXTERNAL", tls_cert_file=cert,
            tls_key_file=key), DICE]))
    c.wait_bot_joined("dicebot", timeout=10)
    assert whois_account(c, "dicebot") == "dicebot"
    log = daemon.read_log()
    assert "irc: client certificate %s, SHA-256 fingerprint %s" % (cert, fp) in log
    assert "irc: SASL login as the certificate's account succeeded (903 " in log
    assert DICE_REPLY.fullmatch(c.ask("dicebot", "!roll 2d6").params[1])


def test_external_with_unknown_certificate_fails(tmp_path, ca, network, daemon,
                                                 clients):
    register_account(clients, network, "dicebot")
    cert, key = ca.issue("dicebot", "dicebot", client=True)
    c = clients(network.port, "tester").register().join()
    daemon.start(config=daemon.config([
        bot(network, ca, sasl_mechanism="EXTERNAL", tls_cert_file=cert,
            tls_key_file=key), DICE]))
    daemon.wait_log(r"irc: warning: cannot connect to 127\.0\.0\.1:%d: SASL "
                    r"login as the certificate's account failed: 904 "
                    % network.tls_port, timeout=10)
    assert not_in_channel(c, "dicebot")


def test_password_file_checks(tmp_path, daemon):
    # Readable by everyone: used, with a warning naming the file and mode.
    path = password_file(tmp_path, PASSWORD, mode=0o644)
    daemon.start(config=daemon.config([{
        "name": "irc", "role": "connector", "exec": ["irc"],
        "config": {"server": "127.0.0.1", "port": free_port(), "nick": "bot",
                   "sasl_password_file": path,
                   "reconnect": {"initial": 30}}}]))
    daemon.wait_log(r"irc: warning: config \"sasl_password_file\": %s can be "
                    r"read by every user \(mode 0644\): chmod 600 it"
                    % re.escape(path))
    daemon.wait_log(r"irc: warning: config: SASL PLAIN without TLS")
    assert PASSWORD not in daemon.read_log()


@pytest.mark.parametrize("content,why", [
    (None, "No such file or directory"),
    ("", "empty"),
    ("two\nlines\n", "more than one line, or a NUL byte"),
    ("x" * 5000, "larger than 4096 bytes: not a password file"),
    ("x" * 600, "the password is too long"),
])
def test_bad_password_file_stops_the_connector(tmp_path, daemon, content, why):
    path = str(tmp_path / "secret")
    if content is not None:
        with open(path, "w") as f:
            f.write(content)
        os.chmod(path, 0o600)
    daemon.start(config=daemon.config([{
        "name": "irc", "role": "connector", "exec": ["irc"],
        "restart": {"max_crashes": 1, "crash_window": 60},
        "config": {"server": "127.0.0.1", "port": free_port(), "tls": False,
                   "nick": "bot", "sasl_password_file": path}}]),
        wait_running=False)
    daemon.wait_log(r"irc: fatal: config \"sasl_password_file\": %s: %s"
                    % (re.escape(path), re.escape(why)))
    assert "xxxxxxxx" not in daemon.read_log()


def test_server_without_sasl(tmp_path, daemon, clients):
    # ngircd knows CAP (multi-prefix) but has no SASL.
    from test_irc import Ngircd
    ircd = Ngircd(tmp_path).start()
    try:
        c = clients(ircd.port, "tester").register().join()
        plugin = {"name": "irc", "role": "connector", "exec": ["irc"],
                  "config": {"server": "127.0.0.1", "port": ircd.port,
                             "nick": "bot", "channels": [CHANNEL],
                             "sasl_password": PASSWORD,
                             "reconnect": {"initial": 0.3, "max": 1}}}
        daemon.start(config=daemon.config([plugin]))
        daemon.wait_log(r"irc: warning: cannot connect to 127\.0\.0\.1:%d: "
                        r"SASL login as bot impossible: the server does not "
                        r"offer SASL; attempt 2" % ircd.port)
        assert not_in_channel(c, "bot")
        assert daemon.stop() == 0
        daemon.log.close()

        # Not required: a warning, the capabilities it has, and in.
        plugin["config"]["sasl_required"] = False
        daemon.start(config=daemon.config([plugin]))
        c.wait_bot_joined("bot")
        log = daemon.read_log()
        assert "irc: warning: SASL login as bot impossible: the server does " \
               "not offer SASL; going on without logging in" in log
        assert "irc: capabilities: multi-prefix" in log
        assert PASSWORD not in log
    finally:
        ircd.stop()
