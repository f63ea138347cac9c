/* The record the socket-tracking BPF programs (socket_trace.bpf.c) put on
 * their ring buffer, shared by the BPF object and its one reader,
 * daemon/process/bpf_source.cc — nothing else knows this layout.
 *
 * Plain C with fixed-width fields so that clang -target bpf and GCC lay it
 * out the same (checked by a static_assert on both sides).
 */
#ifndef RUSTNET_DAEMON_PROCESS_BPF_SOCKET_EVENT_H_
#define RUSTNET_DAEMON_PROCESS_BPF_SOCKET_EVENT_H_

#define RN_COMM_LEN 16
#define RN_LINEAGE 4

/* What the socket did. */
enum rn_event_kind {
  RN_EV_CONNECT = 1, /* Own 4-tuple known (a TCP state change, or close). */
  RN_EV_BIND = 2,    /* Bound to a local address/port (post_bind). */
  RN_EV_SEND = 3,    /* Unconnected UDP sendmsg to daddr:dport. */
  RN_EV_RECV = 4,    /* UDP recvmsg of a datagram from daddr:dport. */
  RN_EV_CLOSE = 5,   /* Released (cookie only); not emitted at present. */
};

struct rn_sock_event {
  __u64 cookie;        /* Socket cookie. */
  __u64 netns_cookie;  /* 0 when the hook cannot tell. */
  __u64 cgroup_id;
  __u64 ktime_ns;      /* CLOCK_MONOTONIC of the event. */
  __u32 tgid;          /* Process id (0: unknown, e.g. a softirq). */
  __u32 pid;           /* Thread id. */
  __u32 uid;
  __u32 netns_ino;     /* The socket's network namespace inode. */
  __u32 ppid[RN_LINEAGE]; /* Parent, grandparent, ...; 0 past the top. */
  __u8 saddr[16];      /* Local address (IPv4 in the first 4 bytes). */
  __u8 daddr[16];      /* Remote address. */
  __u16 sport;         /* Local port, host order. */
  __u16 dport;         /* Remote port, host order. */
  __u8 kind;           /* enum rn_event_kind */
  __u8 family;         /* AF_INET / AF_INET6 */
  __u8 protocol;       /* IPPROTO_TCP / IPPROTO_UDP */
  __u8 pad;
  char comm[RN_COMM_LEN];
};

#define RN_SOCK_EVENT_SIZE 120

#endif /* RUSTNET_DAEMON_PROCESS_BPF_SOCKET_EVENT_H_ */
