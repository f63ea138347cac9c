"""Issue 19 part B dissectors on real traffic, with tshark as the oracle.

tests/fixtures/dpi-breadth/ holds captures of real Debian clients and servers
on ports that are not their protocol's usual one (made by
tests/fixtures/make_dpi_breadth_b_fixtures.sh, which says how to regenerate
them): mosquitto_pub -> mosquitto (MQTT on 18830), snmpget -> snmpd (SNMP v2c
on 1161), and ngtcp2's gtlsclient -v v2draft -> gtlsserver (QUIC v2 draft
0x709a50c4 on 4434). Each is replayed with `rustnetd --read FILE --dump json
--dump-expired`; tshark, told the protocol of the port with -d, decodes the
same file, and the fields must agree:

  MQTT  version (tshark's protocol level 4 = "3.1.1"), client id, first topic.
  SNMP  version (tshark's 1 = "2c") and PDU type (tshark's snmp.data 0 =
        get-request, 2 = response); the community string the client sent
        must appear nowhere in rustnetd's output.
  QUIC  the version tshark reads (0x709a50c4 = "v2-draft"), and the SNI the
        script's client sent (quic.dpi.test), which needs the v2 draft's
        Initial keys.
  QUIC after a Retry (tests/fixtures/make_dpi_quic_fixtures.sh: gtlsserver
        -V on 4435 with v1 and 4436 with the v2 draft): tshark shows the
        Retry and the client's next Initial under another DCID with a token;
        with the client's first Initial cut out of the capture (editcap),
        rustnetd still reads the SNI: from the post-Retry Initial, keys
        derived from the DCID that packet carries.

Prints one line per check and "N passed, M failed"; exits 1 on any failure,
including a missing tshark or capture (no silent skip).
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile

RUSTNETD = os.environ.get("RUSTNETD", "")
SOURCE_DIR = os.environ.get("SOURCE_DIR", os.path.dirname(os.path.dirname(
    os.path.dirname(os.path.abspath(__file__)))))
DIR = os.path.join(SOURCE_DIR, "tests", "fixtures", "dpi-breadth")
COMMUNITY = "fixture-community"  # What make_dpi_breadth_b_fixtures.sh's snmpget sent.

passed = failed = 0


def check(ok, what):
    global passed, failed
    if ok:
        passed += 1
        print("ok:   " + what)
    else:
        failed += 1
        print("FAIL: " + what)


def ours(capture, logs):
    p = subprocess.run([RUSTNETD, "--read", os.path.join(DIR, capture), "--dump", "json",
                        "--dump-expired", "--log-dir", logs],
                       capture_output=True, text=True, timeout=60)
    if p.returncode != 0:
        raise RuntimeError("rustnetd exited %d: %s" % (p.returncode, p.stderr.strip()))
    return p.stdout, [json.loads(line) for line in p.stdout.splitlines()]


def tshark(capture, decode_as, display, fields):
    args = ["tshark", "-r", os.path.join(DIR, capture), "-d", decode_as, "-Y", display,
            "-T", "fields"]
    for f in fields:
        args += ["-e", f]
    p = subprocess.run(args, capture_output=True, text=True, timeout=60)
    if p.returncode != 0:
        raise RuntimeError("tshark exited %d: %s" % (p.returncode, p.stderr.strip()))
    rows = [line.split("\t") for line in p.stdout.splitlines()]
    # The first non-empty value of each field, in packet order.
    return [next((r[i] for r in rows if i < len(r) and r[i]), "") for i in range(len(fields))]


def tshark_rows(capture, decode_as, display, fields):
    """Every packet's fields (tshark -T fields), in packet order."""
    args = ["tshark", "-r", os.path.join(DIR, capture), "-d", decode_as, "-Y", display,
            "-T", "fields"]
    for f in fields:
        args += ["-e", f]
    p = subprocess.run(args, capture_output=True, text=True, timeout=60)
    if p.returncode != 0:
        raise RuntimeError("tshark exited %d: %s" % (p.returncode, p.stderr.strip()))
    return [line.split("\t") for line in p.stdout.splitlines()]


def app_of(conns, port):
    for c in conns:
        if c.get("remote", {}).get("port") == port or c.get("local", {}).get("port") == port:
            return c.get("app", {})
    return {}


def main():
    if not RUSTNETD:
        print("FAIL: RUSTNETD must be set")
        return 1
    if not shutil.which("tshark"):
        print("FAIL: tshark is missing; run: sudo scripts/setup.sh test")
        return 1
    with tempfile.TemporaryDirectory() as logs:
        _, conns = ours("mqtt_18830.pcap", logs)
        level, client_id, topic = tshark("mqtt_18830.pcap", "tcp.port==18830,mqtt", "mqtt",
                                         ["mqtt.ver", "mqtt.clientid", "mqtt.topic"])
        app = app_of(conns, 18830)
        mqtt = app.get("mqtt", {})
        check(app.get("protocol") == "APP_PROTOCOL_MQTT", "mqtt: protocol on port 18830")
        check(mqtt.get("version") == {"3": "3.1", "4": "3.1.1", "5": "5.0"}.get(level),
              "mqtt: version %r (tshark level %s)" % (mqtt.get("version"), level))
        check(client_id and mqtt.get("clientId") == client_id,
              "mqtt: client id %r (tshark %r)" % (mqtt.get("clientId"), client_id))
        check(topic and mqtt.get("topic") == topic,
              "mqtt: topic %r (tshark %r)" % (mqtt.get("topic"), topic))

        text, conns = ours("snmp_1161.pcap", logs)
        version, data = tshark("snmp_1161.pcap", "udp.port==1161,snmp", "snmp",
                               ["snmp.version", "snmp.data"])
        app = app_of(conns, 1161)
        snmp = app.get("snmp", {})
        check(app.get("protocol") == "APP_PROTOCOL_SNMP", "snmp: protocol on port 1161")
        check(snmp.get("version") == {"0": "1", "1": "2c", "3": "3"}.get(version),
              "snmp: version %r (tshark %s)" % (snmp.get("version"), version))
        check(snmp.get("pduType") == {"0": "get-request", "1": "get-next-request",
                                      "2": "response", "3": "set-request"}.get(data),
              "snmp: PDU %r (tshark snmp.data %s)" % (snmp.get("pduType"), data))
        check(COMMUNITY not in text, "snmp: the community string is not in the output")

        _, conns = ours("quic_v2draft.pcap", logs)
        (version,) = tshark("quic_v2draft.pcap", "udp.port==4434,quic", "quic", ["quic.version"])
        app = app_of(conns, 4434)
        quic = app.get("quic", {})
        check(version == "0x709a50c4", "quic: tshark reads the v2 draft version (%s)" % version)
        check(app.get("protocol") == "APP_PROTOCOL_QUIC" and quic.get("version") == "v2-draft",
              "quic: version %r" % quic.get("version"))
        check(quic.get("tls", {}).get("sni") == "quic.dpi.test",
              "quic: SNI from the v2 draft Initial %r" % quic.get("tls", {}).get("sni"))
        check(quic.get("tls", {}).get("alpn") == ["h3"], "quic: ALPN h3")

        rows = tshark_rows("quic_retry_v1.pcap", "udp.port==4435,quic", "quic",
                           ["quic.long.packet_type", "quic.dcid", "quic.token_length"])
        check(len(rows) >= 3 and rows[1][0] == "3", "quic retry: tshark sees the Retry second")
        check(len(rows) >= 3 and rows[0][0] == rows[2][0] == "0" and rows[0][1] != rows[2][1] and
              rows[2][2] not in ("", "0"),
              "quic retry: the next Initial has another DCID and a token (%s)" % rows[:3])
        for capture, port, version in (("quic_retry_v1.pcap", 4435, "v1"),
                                       ("quic_retry_v2draft.pcap", 4436, "v2-draft")):
            for cut in (False, True):
                name = capture
                if cut:
                    name = os.path.join(logs, "cut-" + capture)
                    subprocess.run(["editcap", os.path.join(DIR, capture), name, "1"], check=True,
                                   capture_output=True, timeout=60)
                _, conns = ours(name, logs)
                quic = app_of(conns, port).get("quic", {})
                what = "%s%s" % (capture, " without the first Initial" if cut else "")
                check(quic.get("version") == version and
                      quic.get("tls", {}).get("sni") == "quic.dpi.test",
                      "quic retry: %s: version %r, SNI %r" % (
                          what, quic.get("version"), quic.get("tls", {}).get("sni")))
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
