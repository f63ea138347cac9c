"""Kubernetes pod attribution, live, with a fake node's metadata.

No kubelet runs: the test makes what one leaves on a node. A fake root
(RUSTNETD_K8S_ROOT) holds containerd's bundle config.json for one pod's
container and, for a second pod, only the kubelet's pod directory
(etc-hosts, a service-account volume's namespace file, containers/NAME).
Real cgroup v2 children are made with the kubelet's names (systemd driver
for the first pod, cgroupfs driver for the second) under a directory of
the test's own on the cgroup2 mount (it may be /sys/fs/cgroup/unified), and
a client process is moved into each before it connects to a server in a
network namespace of the test's own, where rustnetd captures loopback.

Checked through the API:
- the first client's connection carries kubernetes {pod, namespace,
  container, podUid} from containerd's annotations; the second's from the
  kubelet's pod directory; the server (no pod) carries none;
- ListConnections' pod:, namespace:, ns:, container: (name and id) filter
  them, and a pod: of another pod does not;
- GetStats counts the lookups;
- a client in pod 1's cgroup that connects and exits at once, gone before
  rustnetd could read its /proc (rustnetd is stopped, SIGSTOP, from before
  it connects until it was reaped): its connection still carries the pod,
  namespace and container — from its eBPF record's cgroup id resolved on
  the cgroup v2 hierarchy — and `exited`; GetStats counts the resolution.
The cgroups are removed at the end.

Needs root. Environment (set by CTest): RUSTNETD.
"""
import errno
import json
import os
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import api_test  # noqa: E402  (Checker, Daemon, wait_serving, import_grpc, stop_and_delete)

MONITOR = api_test.MONITOR
NS = "rnk8s-%d" % os.getpid()
PORT = 8484
# Pod 1: containerd, systemd cgroup driver, besteffort.
UID1 = "5f0c3a2e-8b1d-4c7e-9a21-0d3e4f5a6b7c"
CID1 = "3b" * 32
POD1, NS1, CONTAINER1 = "web-7d4b9c-xk2lp", "shop", "nginx"
# Pod 2: cgroupfs driver, burstable; only the kubelet's pod directory.
UID2 = "a1b2c3d4-e5f6-4a5b-8c9d-0e1f2a3b4c5d"
CID2 = "c4" * 32
POD2, NS2, CONTAINER2 = "cache-0", "data", "redis"

SERVER = r"""
import socket, sys, threading
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1])))
s.listen(16)
print("ready", flush=True)
held = []
while True:
    c, _ = s.accept()
    held.append(c)
    c.sendall(b"hello\n")
"""

# Prints its pid, waits for "go" (the test has moved it into the pod's
# cgroup), connects, prints its local port, and holds the connection.
CLIENT = r"""
import os, socket, sys, time
print(os.getpid(), flush=True)
if sys.stdin.readline().strip() != "go":
    sys.exit(1)
c = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=5)
c.sendall(b"hi\n")
c.recv(16)
print(c.getsockname()[1], flush=True)
time.sleep(60)
"""


# As CLIENT, but exits as soon as it has connected and sent.
EXITING_CLIENT = r"""
import os, socket, sys
print(os.getpid(), flush=True)
if sys.stdin.readline().strip() != "go":
    sys.exit(1)
c = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=5)
c.sendall(b"hi\n")
print(c.getsockname()[1], flush=True)
os._exit(0)
"""


def cgroup2_mount():
    """The cgroup v2 mount point ("" if none)."""
    with open("/proc/self/mountinfo") as f:
        for line in f:
            left, _, right = line.partition(" - ")
            if right.split()[:1] == ["cgroup2"]:
                return left.split()[4]
    return ""


def readline(proc, timeout=10):
    ready, _, _ = select.select([proc.stdout], [], [], timeout)
    return proc.stdout.readline().strip() if ready else ""


def write(root, rel, text):
    path = os.path.join(root, rel)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(text)


def make_node(root):
    """The fake node's files: containerd's bundle for pod 1, the kubelet's
    pod directory for pod 2, and a garbage bundle for nothing in particular."""
    config = {
        "ociVersion": "1.1.0",
        "process": {"args": ["nginx", "-g", "daemon off;"], "env": ["PATH=/usr/bin"]},
        "annotations": {
            "io.kubernetes.cri.container-type": "container",
            "io.kubernetes.cri.sandbox-name": POD1,
            "io.kubernetes.cri.sandbox-namespace": NS1,
            "io.kubernetes.cri.sandbox-uid": UID1,
            "io.kubernetes.cri.container-name": CONTAINER1,
            "io.kubernetes.cri.image-name": "docker.io/library/nginx:1.25",
        },
    }
    write(root, "run/containerd/io.containerd.runtime.v2.task/k8s.io/%s/config.json" % CID1,
          json.dumps(config))
    pod_dir = "var/lib/kubelet/pods/%s" % UID2
    write(root, pod_dir + "/etc-hosts",
          "# Kubernetes-managed hosts file.\n127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost "
          "ip6-loopback\nfe00::0\tip6-localnet\n10.244.3.9\t%s\n" % POD2)
    write(root, pod_dir + "/volumes/kubernetes.io~projected/kube-api-access-9xq2z/namespace", NS2)
    os.makedirs(os.path.join(root, pod_dir, "containers", CONTAINER2), exist_ok=True)


def all_conns(r, flt):
    return r.call(MONITOR + "/ListConnections", {"filter": flt, "limit": 500},
                  timeout=10).get("connections", [])


def side_of(conn, port):
    """The ProcessInfo of the end whose port is `port`, and the other end's."""
    if conn.get("local", {}).get("port") == port:
        return conn.get("process") or {}, conn.get("remoteProcess") or {}
    return conn.get("remoteProcess") or {}, conn.get("process") or {}


def main():
    c = api_test.Checker()
    if os.geteuid() != 0:
        c.check("running as root (network namespace, cgroups); run the tests with sudo", False)
        return c.finish()
    grpc_reflect = api_test.import_grpc(c)
    if grpc_reflect is None:
        return c.finish()
    mount = cgroup2_mount()
    if not mount:
        c.check("a cgroup v2 hierarchy is mounted (/proc/self/mountinfo)", False)
        return c.finish()
    work = tempfile.mkdtemp(prefix="rnk8s.")
    os.chmod(work, 0o755)
    node = os.path.join(work, "node")
    base = os.path.join(mount, "rn-k8s-test-%d" % os.getpid())
    cg1 = os.path.join(base, "kubepods.slice", "kubepods-besteffort.slice",
                       "kubepods-besteffort-pod%s.slice" % UID1.replace("-", "_"),
                       "cri-containerd-%s.scope" % CID1)
    cg2 = os.path.join(base, "kubepods", "burstable", "pod" + UID2, CID2)
    procs = []
    d = None
    stopped = [False]  # rustnetd is SIGSTOPped (continued in `finally`).
    try:
        make_node(node)
        for cg in (cg1, cg2):
            os.makedirs(cg)
        subprocess.run(["ip", "netns", "add", NS], check=True, timeout=10)
        subprocess.run(["ip", "netns", "exec", NS, "ip", "link", "set", "lo", "up"], check=True,
                       timeout=10)
        sock = os.path.join(work, "rustnetd.sock")
        d = api_test.Daemon(work, ["-i", "lo", "--socket", sock, "--log-dir",
                                   os.path.join(work, "logs")],
                            netns=NS, env_extra={"RUSTNETD_K8S_ROOT": node})
        target = "unix:" + sock
        c.check("rustnetd answers", api_test.wait_serving(grpc_reflect, d, target),
                d.stderr()[-2000:])
        r = grpc_reflect.Reflector(target)

        server = subprocess.Popen(["ip", "netns", "exec", NS, "/usr/bin/python3", "-c", SERVER,
                                   str(PORT)], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                  stdin=subprocess.DEVNULL, text=True)
        procs.append(server)
        c.check("the server listens", readline(server) == "ready")

        ports = {}
        pids = {}
        for name, cg in (("pod1", cg1), ("pod2", cg2)):
            cl = subprocess.Popen(["ip", "netns", "exec", NS, "/usr/bin/python3", "-c", CLIENT,
                                   str(PORT)], stdout=subprocess.PIPE, stdin=subprocess.PIPE,
                                  stderr=subprocess.DEVNULL, text=True)
            procs.append(cl)
            pid = int(readline(cl) or 0)
            with open(os.path.join(cg, "cgroup.procs"), "w") as f:
                f.write(str(pid))
            with open("/proc/%d/cgroup" % pid) as f:
                in_cg = any(line.rstrip("\n").endswith(cg[len(mount):]) for line in f)
            c.check("%s: the client (pid %d) is in its cgroup %s" % (name, pid, cg[len(mount):]),
                    in_cg)
            cl.stdin.write("go\n")
            cl.stdin.flush()
            port = int(readline(cl) or 0)
            c.check("%s: the client connected (port %d)" % (name, port), port > 0)
            ports[name], pids[name] = port, pid

        def found(port, want_pod):
            for x in all_conns(r, "port:%d" % port):
                mine, _ = side_of(x, port)
                if mine.get("kubernetes", {}).get("pod") == want_pod:
                    return x
            return None

        deadline = time.monotonic() + 10
        conn1 = conn2 = None
        while time.monotonic() < deadline and not (conn1 and conn2):
            conn1 = conn1 or found(ports["pod1"], POD1)
            conn2 = conn2 or found(ports["pod2"], POD2)
            if not (conn1 and conn2):
                time.sleep(0.2)

        mine1, server1 = side_of(conn1 or {}, ports["pod1"])
        k1 = mine1.get("kubernetes", {})
        c.check("pod 1 (containerd bundle): pid, pod, namespace, container, UID",
                mine1.get("pid") == pids["pod1"] and k1 == {
                    "pod": POD1, "namespace": NS1, "container": CONTAINER1, "podUid": UID1},
                conn1 or all_conns(r, "port:%d" % ports["pod1"]))
        c.check("  its runtime is containerd, its container id the cgroup's",
                mine1.get("containerRuntime") == "containerd"
                and mine1.get("containerId") == CID1, mine1)
        c.check("  the server, in no pod, carries no kubernetes",
                server1.get("pid") == server.pid and "kubernetes" not in server1, server1)
        mine2, _ = side_of(conn2 or {}, ports["pod2"])
        k2 = mine2.get("kubernetes", {})
        c.check("pod 2 (cgroupfs; the kubelet's pod directory): pod, namespace, container, UID",
                mine2.get("pid") == pids["pod2"] and k2 == {
                    "pod": POD2, "namespace": NS2, "container": CONTAINER2, "podUid": UID2},
                conn2 or all_conns(r, "port:%d" % ports["pod2"]))

        def ids(flt):
            return {x.get("id") for x in all_conns(r, flt)}
        id1 = (conn1 or {}).get("id")
        id2 = (conn2 or {}).get("id")
        for flt, want, not_want in (
                ("pod:%s" % POD1, id1, id2),
                ("pod:%s" % POD2, id2, id1),
                ("namespace:%s" % NS1, id1, id2),
                ("ns:%s" % NS2, id2, id1),
                ("container:%s" % CONTAINER1, id1, id2),
                ("container:%s" % CID2[:12], id2, id1),
                ("pod:/^web-[0-9a-f]+-/", id1, id2)):
            got = ids(flt)
            c.check("filter %s: finds its connection, not the other pod's" % flt,
                    want is not None and want in got and not_want not in got, got)
        c.check("filter pod:nonexistent finds nothing", not ids("pod:nonexistent"))
        c.check("filter -pod:%s keeps pod 2's connection" % POD1,
                id2 in ids("-pod:%s port:%d" % (POD1, PORT)) and id1 not in ids("-pod:%s" % POD1))

        st = r.call(MONITOR + "/GetStats", {}, timeout=5).get("attribution", {})
        c.check("GetStats: both pods' metadata found",
                int(st.get("kubernetesFound", 0)) >= 2 and not int(st.get("kubernetesBadFiles", 0)),
                st)

        # A client gone before rustnetd reads its /proc: only its eBPF record
        # is left. rustnetd is stopped meanwhile (its capture and the BPF
        # ring buffer keep what happens), so it cannot win the race.
        if st.get("source") != "ebpf":
            c.check("eBPF attribution is active (needed for the exited client): %s"
                    % st.get("ebpfStatus"), False)
            return c.finish()
        cl = subprocess.Popen(["ip", "netns", "exec", NS, "/usr/bin/python3", "-c",
                               EXITING_CLIENT, str(PORT)], stdout=subprocess.PIPE,
                              stdin=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        procs.append(cl)
        pid = int(readline(cl) or 0)
        with open(os.path.join(cg1, "cgroup.procs"), "w") as f:
            f.write(str(pid))
        os.kill(d.pid, signal.SIGSTOP)
        stopped[0] = True
        cl.stdin.write("go\n")
        cl.stdin.flush()
        port = int(readline(cl) or 0)
        cl.wait(timeout=10)
        c.check("the exiting client (pid %d) connected (port %d), exited and was reaped"
                % (pid, port), port > 0 and not os.path.exists("/proc/%d" % pid))
        os.kill(d.pid, signal.SIGCONT)
        stopped[0] = False
        conn3 = None
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not conn3:
            conn3 = found(port, POD1)
            if not conn3:
                time.sleep(0.2)
        mine3, _ = side_of(conn3 or {}, port)
        c.check("the exited client: pid, exited, pod, namespace, container, UID from its "
                "cgroup id", mine3.get("pid") == pid and mine3.get("exited") is True
                and mine3.get("kubernetes", {}) == {"pod": POD1, "namespace": NS1,
                                                     "container": CONTAINER1, "podUid": UID1},
                conn3 or all_conns(r, "port:%d" % port))
        c.check("  its container id is the cgroup's",
                mine3.get("containerId") == CID1 and mine3.get("containerRuntime") == "containerd",
                mine3)
        st = r.call(MONITOR + "/GetStats", {}, timeout=5).get("attribution", {})
        c.check("GetStats: a cgroup id resolved by a walk of the hierarchy",
                int(st.get("cgroupIdsResolved", 0)) >= 1 and int(st.get("cgroupWalks", 0)) >= 1
                and not int(st.get("cgroupWalksTruncated", 0)), st)
    finally:
        if d is not None and stopped[0]:
            os.kill(d.pid, signal.SIGCONT)
        if d is not None and d.running():
            d.stop()
        api_test.stop_and_delete(procs, [NS])
        # Innermost first; a cgroup is removable once its processes are gone
        # (EBUSY until then: the killed clients are being reaped).
        if os.path.isdir(base):
            for path, _, _ in os.walk(base, topdown=False):
                for _ in range(100):
                    try:
                        os.rmdir(path)
                        break
                    except OSError as e:
                        if e.errno != errno.EBUSY:
                            break
                        time.sleep(0.05)
        c.check("the test's cgroups are removed", not os.path.exists(base))
        shutil.rmtree(work, ignore_errors=True)
    return c.finish()


if __name__ == "__main__":
    sys.exit(main())
