"""The IRC connector over TLS, against a real ngircd (GnuTLS).

Each test makes its own test CA and server certificates with openssl in its
temp dir, starts ngircd on 127.0.0.1 with a plain port (for the test's own
IRC client) and a TLS port (for the bot), and checks what an operator sees:
the bot joins over TLS and answers; a certificate for another name, an
expired one and one from an unknown CA are each refused with a log line
naming the failed check and the name, and retried with backoff, the bot
never joining; tls_verify false connects and warns at every connect.
"""
import os
import re
import subprocess

import pytest

from conftest import DICE, EIGHTBALL, wait_for
from test_irc import CHANNEL, DICE_REPLY, NGIRCD, NGIRCD_CONF, Ngircd, free_port
from test_irc import clients  # noqa: F401 (a fixture)

pytestmark = pytest.mark.skipif(
    not os.access(NGIRCD, os.X_OK),
    reason="ngircd is not installed (scripts/install-deps installs it)")

SERVER_NAME = "irc.test"


def openssl(*args, cwd):
    subprocess.run(["openssl", *args], cwd=cwd, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


class CertAuthority:
    """A certificate authority for one test, made with openssl."""

    def __init__(self, dir, name="ca"):
        self.dir = dir
        os.makedirs(dir, exist_ok=True)
        self.key = os.path.join(dir, name + ".key")
        self.pem = os.path.join(dir, name + ".pem")
        openssl("req", "-x509", "-newkey", "ec", "-pkeyopt",
                "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", self.key,
                "-out", self.pem, "-days", "2", "-subj",
                "/CN=supervisor test CA %s" % name, cwd=dir)

    def issue(self, name, cn, dns=None, days=2, client=False):
        """A certificate and key signed by this CA; days -1: expired."""
        key = os.path.join(self.dir, name + ".key")
        csr = os.path.join(self.dir, name + ".csr")
        pem = os.path.join(self.dir, name + ".pem")
        ext = os.path.join(self.dir, name + ".ext")
        openssl("req", "-newkey", "ec", "-pkeyopt",
                "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", key,
                "-out", csr, "-subj", "/CN=" + cn, cwd=self.dir)
        with open(ext, "w") as f:
            if client:
                f.write("extendedKeyUsage=clientAuth\n")
            else:
                f.write("subjectAltName=DNS:%s\n" % (dns or cn))
                f.write("extendedKeyUsage=serverAuth\n")
        openssl("x509", "-req", "-in", csr, "-CA", self.pem, "-CAkey",
                self.key, "-CAcreateserial", "-out", pem, "-days", str(days),
                "-extfile", ext, cwd=self.dir)
        return pem, key


def fingerprint(pem):
    """The SHA-256 fingerprint of a certificate, lower-case hex."""
    out = subprocess.run(["openssl", "x509", "-in", pem, "-noout",
                          "-fingerprint", "-sha256"], check=True,
                         capture_output=True, text=True).stdout
    return out.split("=", 1)[1].strip().replace(":", "").lower()


class TlsNgircd(Ngircd):
    """ngircd with a plain port for the test's client and a TLS port."""

    def __init__(self, tmp_path, cert, key):
        super().__init__(tmp_path)
        self.tls_port = free_port()
        with open(self.conf, "w") as f:
            f.write(NGIRCD_CONF.format(port=self.port))
            f.write("\n[SSL]\nCertFile = %s\nKeyFile = %s\nPorts = %d\n"
                    % (cert, key, self.tls_port))

    def listening(self):
        log = self.read_log()
        return all("Now listening on [127.0.0.1]:%d" % p in log
                   for p in (self.port, self.tls_port))


def tls_plugin(port, **config):
    cfg = {"server": "127.0.0.1", "port": port, "tls": True, "nick": "bot",
           "tls_server_name": SERVER_NAME, "channels": [CHANNEL],
           "rate": 10, "burst": 10,
           "reconnect": {"initial": 0.2, "multiplier": 2, "max": 1,
                         "max_failures": 100, "window": 60, "cooldown": 5}}
    cfg.update(config)
    return {"name": "irc", "role": "connector", "exec": ["irc"], "config": cfg}


@pytest.fixture
def ca(tmp_path):
    return CertAuthority(str(tmp_path / "pki"))


@pytest.fixture
def servers():
    made = []

    def make(s):
        made.append(s)
        return s.start()
    yield make
    for s in made:
        s.stop()


def test_joins_over_tls_and_answers(tmp_path, ca, servers, daemon, clients):
    cert, key = ca.issue("server", SERVER_NAME)
    ircd = servers(TlsNgircd(tmp_path, cert, key))
    c = clients(ircd.port, "tester").register().join()
    daemon.start(config=daemon.config([
        tls_plugin(ircd.tls_port, tls_ca_file=ca.pem), DICE, EIGHTBALL]))
    c.wait_bot_joined("bot")
    m = c.ask("bot", "!roll 2d6")
    assert DICE_REPLY.fullmatch(m.params[1])
    log = daemon.read_log()
    assert re.search(r"irc: TLS to 127\.0\.0\.1:%d: TLSv1\.[23], \S+, "
                     r"certificate checked" % ircd.tls_port, log), log[-2000:]
    assert "irc: server 127.0.0.1:%d (TLS)" % ircd.tls_port in log
    # The server sees a TLS client: ngircd says so in WHOIS (275).
    c.send("WHOIS bot")
    m = c.expect(lambda m: m.command in ("275", "671"), what="WHOIS: secure")
    assert "secure" in m.params[-1]
    assert "warning" not in "\n".join(l for l in log.splitlines()
                                      if "irc: " in l)


BAD = {
    # A certificate for another name, from the trusted CA.
    "wrong-name": (dict(cn="other.test"),
                   r"TLS certificate check failed for irc\.test: the "
                   r"certificate is not for that name \(/CN=other\.test: "
                   r"hostname mismatch\)"),
    # The right name, expired yesterday.
    "expired": (dict(cn=SERVER_NAME, days=-1),
                r"TLS certificate check failed for irc\.test: certificate "
                r"has expired \(depth 0: /CN=irc\.test\)"),
    # The right name, from a CA the bot does not trust.
    "unknown-ca": (dict(cn=SERVER_NAME, other_ca=True),
                   r"TLS certificate check failed for irc\.test: unable to "
                   r"get local issuer certificate \(depth 0: /CN=irc\.test\)"),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_certificate_is_refused_and_retried(case, tmp_path, ca, servers,
                                                daemon, clients):
    spec, why = BAD[case]
    spec = dict(spec)
    issuer = CertAuthority(str(tmp_path / "other-pki"), "other") \
        if spec.pop("other_ca", False) else ca
    cert, key = issuer.issue("server", **spec)
    ircd = servers(TlsNgircd(tmp_path, cert, key))
    c = clients(ircd.port, "tester").register().join()
    daemon.start(config=daemon.config([
        tls_plugin(ircd.tls_port, tls_ca_file=ca.pem), DICE]))
    pre = r"irc: warning: cannot connect to 127\.0\.0\.1:%d: " % ircd.tls_port
    daemon.wait_log(pre + why + r"; attempt 2 in 0\.\d s \(breaker closed\)")
    # Each failure is a failed attempt for the backoff: it goes on, slower.
    daemon.wait_log(pre + why + r"; attempt 4 in [01]\.\d s", timeout=8)
    # The bot never got in: not in the channel, no line it could answer.
    c.send("NAMES " + CHANNEL)
    m = c.expect(lambda m: m.command == "353", what="NAMES")
    assert "bot" not in [n.lstrip("@+") for n in m.params[-1].split()]
    assert "registered on" not in daemon.read_log()
    st = daemon.status("irc")
    assert st["state"] == "RUNNING" and st["crashes"] == 0


def test_tls_verify_false_connects_and_warns(tmp_path, ca, servers, daemon,
                                             clients):
    cert, key = ca.issue("server", "other.test", days=-1)
    ircd = servers(TlsNgircd(tmp_path, cert, key))
    c = clients(ircd.port, "tester").register().join()
    daemon.start(config=daemon.config([
        tls_plugin(ircd.tls_port, tls_verify=False), DICE]))
    c.wait_bot_joined("bot")
    assert DICE_REPLY.fullmatch(c.ask("bot", "!roll 2d6").params[1])
    daemon.wait_log(r"irc: warning: tls_verify is false: the certificate of "
                    r"127\.0\.0\.1:%d is not checked" % ircd.tls_port)
    assert "certificate NOT checked" in daemon.read_log()

    # At every connect, not once: the server goes and comes back.
    ircd.kill()
    ircd.start()
    c2 = clients(ircd.port, "tester2").register().join()
    c2.wait_bot_joined("bot", timeout=8)
    wait_for(lambda: daemon.read_log().count("tls_verify is false") >= 2,
             what="the warning at the second connect")


def test_plain_server_on_the_tls_port_is_a_clear_failure(tmp_path, servers,
                                                         daemon):
    # TLS to a port that speaks plain IRC: ngircd waits for a line that
    # never comes (or answers with one that is no TLS record). Either way
    # the attempt fails within the connect timeout, saying so.
    ircd = servers(Ngircd(tmp_path))
    daemon.start(config=daemon.config([tls_plugin(ircd.port,
                                                  connect_timeout=1)]))
    daemon.wait_log(r"irc: warning: cannot connect to 127\.0\.0\.1:%d: TLS "
                    r"handshake(: no answer within 1\.0 s| failed: [^;]+); "
                    r"attempt 2" % ircd.port)


def test_tls_is_the_default_without_a_port(daemon):
    # No port, no tls: TLS on 6697. (Nothing needs to listen there.)
    daemon.start(config=daemon.config([{
        "name": "irc", "role": "connector", "exec": ["irc"],
        "config": {"server": "127.0.0.1", "nick": "bot",
                   "reconnect": {"initial": 30}}}]))
    daemon.wait_log(r"irc: server 127\.0\.0\.1:6697 \(TLS\), nick bot")


def test_tls_false_or_another_port_is_plain(daemon):
    daemon.start(config=daemon.config([
        {"name": "irc", "role": "connector", "exec": ["irc"],
         "config": {"server": "127.0.0.1", "nick": "bot", "tls": False,
                    "reconnect": {"initial": 30}}},
        {"name": "irc2", "role": "connector", "exec": ["irc"],
         "config": {"server": "127.0.0.1", "port": 6668, "nick": "bot2",
                    "platform": "irc2", "reconnect": {"initial": 30}}}]))
    daemon.wait_log(r"irc: server 127\.0\.0\.1:6667 \(plain TCP\), nick bot,")
    daemon.wait_log(r"irc: server 127\.0\.0\.1:6668 \(plain TCP\), nick bot2,")


@pytest.mark.parametrize("case", ["ca-missing", "ca-not-pem", "cert-missing",
                                  "key-mismatch"])
def test_unusable_tls_files_fail_the_attempt(case, tmp_path, ca, servers,
                                             daemon):
    # The files are read at each connection (a renewed certificate is
    # used at the next one): a bad one fails that attempt, with its name.
    cert, key = ca.issue("server", SERVER_NAME)
    ircd = servers(TlsNgircd(tmp_path, cert, key))
    client_cert, client_key = ca.issue("client", "bot", client=True)
    other_cert, other_key = ca.issue("other", "other", client=True)
    missing = str(tmp_path / "missing.pem")
    not_pem = str(tmp_path / "not.pem")
    with open(not_pem, "w") as f:
        f.write("not a certificate\n")
    config, why = {
        "ca-missing": ({"tls_ca_file": missing},
                       r"cannot use tls_ca_file %s: No such file or "
                       r"directory" % re.escape(missing)),
        "ca-not-pem": ({"tls_ca_file": not_pem},
                       r"cannot use tls_ca_file %s: [^;]+" % re.escape(not_pem)),
        "cert-missing": ({"tls_ca_file": ca.pem, "tls_cert_file": missing},
                         r"cannot use tls_cert_file %s: No such file or "
                         r"directory" % re.escape(missing)),
        "key-mismatch": ({"tls_ca_file": ca.pem, "tls_cert_file": client_cert,
                          "tls_key_file": other_key},
                         r"the key in %s does not match the certificate in "
                         r"tls_cert_file %s" % (re.escape(other_key),
                                                re.escape(client_cert))),
    }[case]
    daemon.start(config=daemon.config([tls_plugin(ircd.tls_port, **config)]))
    pre = r"irc: warning: cannot connect to 127\.0\.0\.1:%d: " % ircd.tls_port
    daemon.wait_log(pre + why + r"; attempt 2 in")
    daemon.wait_log(pre + why + r"; attempt 3 in", timeout=8)
    assert daemon.status("irc")["crashes"] == 0


@pytest.mark.parametrize("config,why", [
    ({"tls_server_name": "bad name"},
     r"config \"tls_server_name\": \"bad name\" is not a host name or address"),
    ({"tls_key_file": "/etc/ssl/private/x.key"},
     r"config: \"tls_key_file\" needs \"tls_cert_file\""),
    ({"sasl_mechanism": "SCRAM-SHA-256", "sasl_password": "x"},
     r"config \"sasl_mechanism\": \"SCRAM-SHA-256\" is neither PLAIN nor "
     r"EXTERNAL"),
    ({"sasl_mechanism": "EXTERNAL"},
     r"config: SASL EXTERNAL needs tls and \"tls_cert_file\""),
    ({"sasl_mechanism": "PLAIN"},
     r"config: SASL PLAIN needs \"sasl_password\" or \"sasl_password_file\""),
    ({"sasl_password": "x", "sasl_password_file": "/etc/hostname"},
     r"config: give \"sasl_password\" or \"sasl_password_file\", not both"),
    ({"sasl_password": "x" * 511},
     r"config \"sasl_password\": 1 to 510 bytes"),
])
def test_bad_tls_or_sasl_config_stops_the_connector(daemon, config, why):
    cfg = {"server": "127.0.0.1", "port": free_port(), "tls": True,
           "nick": "bot"}
    cfg.update(config)
    daemon.start(config=daemon.config([{
        "name": "irc", "role": "connector", "exec": ["irc"],
        "restart": {"max_crashes": 1, "crash_window": 60}, "config": cfg}]),
        wait_running=False)
    daemon.wait_log(r"irc: fatal: " + why)
    assert "xxxxxxxx" not in daemon.read_log()
