"""Mail, FTP and database dissectors on real traffic.

Replays the captures in tests/fixtures/dpi_breadth/ (made by
tests/fixtures/make_dpi_breadth_fixtures.sh, which runs by hand as root:
pyftpdlib with curl, aiosmtpd with swaks and STARTTLS, redis-server with
redis-cli, PostgreSQL with psql, all on ports that are not their usual ones)
with `rustnetd --read FILE --dump json --dump-expired` and checks the app
records: protocols recognised by content, the fields each keeps, FTP data
connections naming their control connection, STARTTLS followed by the TLS
fields of the same connection, and no secret (the FTP password) anywhere in
the output.

Prints one line per check and "N passed, M failed"; exits 1 on any failure,
including a missing capture (no silent skip). Environment (set by CTest):
RUSTNETD; SOURCE_DIR (or FIXTURES). Stdlib only.
"""
import os
import sys
import tempfile

sys.dont_write_bytecode = True  # No __pycache__ in the source tree.
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from api_test import RUSTNETD, Checker, dump_json, n64  # noqa: E402

SOURCE_DIR = os.environ.get("SOURCE_DIR", "")
FIXTURES = os.environ.get("FIXTURES", "")
if SOURCE_DIR:
    DIR = os.path.join(SOURCE_DIR, "tests", "fixtures", "dpi_breadth")
elif FIXTURES:
    DIR = os.path.join(FIXTURES, "dpi_breadth")
else:
    DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                       "fixtures", "dpi_breadth")

SECRET = "not-a-secret-fixture"  # The FTP password the capture carries.


def replay(c, work, name, extra=()):
    path = os.path.join(DIR, name)
    if not c.check("%s exists" % name, os.path.isfile(path), path):
        return []
    code, rows, stderr = dump_json(path, work, ["--dump-expired"] + list(extra))
    c.check("%s: rustnetd exits 0" % name, code == 0, stderr[-2000:])
    return rows


def by_app(rows, protocol):
    return [r for r in rows if r.get("app", {}).get("protocol") == "APP_PROTOCOL_" + protocol]


def main():
    c = Checker()
    if not c.check("RUSTNETD is an executable", RUSTNETD and os.access(RUSTNETD, os.X_OK),
                   RUSTNETD):
        return c.finish()
    with tempfile.TemporaryDirectory() as work:
        # FTP: two control connections (EPSV then PASV), one data connection each.
        # One worker: a data connection is linked when its first payload is
        # inspected after its control connection's PASV reply; with several
        # workers the two may be processed in either order (README).
        rows = replay(c, work, "ftp_2121.pcap", ["--threads", "1"])
        control = by_app(rows, "FTP")
        data = by_app(rows, "FTP_DATA")
        c.check("ftp: two control connections", len(control) == 2, [r.get("app") for r in rows])
        c.check("ftp: two data connections", len(data) == 2, [r.get("app") for r in rows])
        for r in control:
            app = r["app"]
            c.check("ftp: greeting",
                    app.get("mail", {}).get("greeting") == "pyftpdlib 1.5.7 ready.", app)
            c.check("ftp: user", app.get("ftp", {}).get("user") == "rustnet", app)
            c.check("ftp: label", app.get("label") == "FTP \u00b7 rustnet", app)
            c.check("ftp: on port 2121", r.get("remote", {}).get("port") == 2121, r)
        control_ids = sorted(int(r["id"]) for r in control)
        linked = sorted(n64(r, "app", "ftp", "controlConnectionId") for r in data)
        c.check("ftp: each data connection names its own control connection",
                linked == control_ids, (linked, control_ids))
        ports = sorted(r.get("remote", {}).get("port", 0) for r in data)
        endpoints = sorted(r["app"]["ftp"].get("dataEndpoint", "") for r in control)
        c.check("ftp: the control connections announced the data ports",
                endpoints == ["10.79.0.2:%d" % p for p in ports], (endpoints, ports))
        everything = "\n".join(str(r) for r in rows)
        c.check("ftp: the password appears nowhere", SECRET not in everything)

        # SMTP with STARTTLS: the TLS fields of the same connection.
        rows = replay(c, work, "smtp_starttls_2525.pcap")
        smtp = by_app(rows, "SMTP")
        c.check("smtp: one connection", len(smtp) == 1, [r.get("app") for r in rows])
        for r in smtp:
            app = r["app"]
            mail = app.get("mail", {})
            c.check("smtp: greeting", mail.get("greeting") == "mail.dpi.test Python SMTP 1.4.3",
                    mail)
            c.check("smtp: EHLO name", mail.get("clientDomain") == "client.dpi.test", mail)
            c.check("smtp: STARTTLS seen", mail.get("starttls") is True, mail)
            tls = app.get("tls", {})
            c.check("smtp: the TLS ClientHello after STARTTLS (JA4)",
                    tls.get("ja4", "").startswith("t13"), tls)
            c.check("smtp: the negotiated TLS version", tls.get("version") == "TLS 1.3", tls)
            c.check("smtp: label", app.get("label") == "SMTP+TLS \u00b7 client.dpi.test", app)

        # Redis: redis-cli SET, then GET.
        rows = replay(c, work, "redis_16379.pcap")
        redis = by_app(rows, "REDIS")
        commands = sorted(r["app"].get("database", {}).get("command", "") for r in redis)
        c.check("redis: two connections, SET and GET", commands == ["GET", "SET"],
                [r.get("app") for r in rows])
        c.check("redis: the stored value is not kept",
                "fixture" not in "\n".join(str(r.get("app")) for r in redis))

        # PostgreSQL: sslmode=disable (startup in the clear), then require (TLS).
        rows = replay(c, work, "postgresql_15432.pcap")
        pg = sorted(by_app(rows, "POSTGRESQL"), key=lambda r: int(r["id"]))
        c.check("postgresql: two connections", len(pg) == 2, [r.get("app") for r in rows])
        if len(pg) == 2:
            plain, tls = pg[0]["app"], pg[1]["app"]
            db = plain.get("database", {})
            c.check("postgresql: user and database in the clear",
                    db.get("user") == "rustnet" and db.get("database") == "shop", db)
            c.check("postgresql: no TLS asked in the clear",
                    not db.get("tlsRequested") and "tls" not in plain, plain)
            c.check("postgresql: SSLRequest then the TLS handshake",
                    tls.get("database", {}).get("tlsRequested") is True and
                    tls.get("tls", {}).get("version") == "TLS 1.3", tls)
    return c.finish()


if __name__ == "__main__":
    sys.exit(main())
