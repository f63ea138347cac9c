// SPDX-License-Identifier: GPL-2.0
/* Socket tracking for process attribution: who owns a socket, caught at
 * the moment it acts, so that a connection that lives a millisecond is
 * attributed too. Only hooks that need neither kprobes, fentry nor a
 * mounted tracefs:
 *   - cgroup socket hooks on the cgroup v2 root (every process): the owner
 *     (process context) at sock_create / connect / post_bind / sendmsg /
 *     recvmsg, remembered per socket cookie;
 *   - inet_sock_set_state (a BTF tracepoint, or the raw tracepoint where
 *     tp_btf is not available): the 4-tuple once the kernel has chosen the
 *     source port, joined to the remembered owner by cookie.
 * Every program is optional: user space (bpf_source.cc) turns off what
 * does not load or attach. All cgroup hooks return 1: they only watch.
 */
#include "vmlinux.h"

#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "socket_event.h"

_Static_assert(sizeof(struct rn_sock_event) == RN_SOCK_EVENT_SIZE, "layout");

#define AF_INET 2
#define AF_INET6 10
#define IPPROTO_TCP 6
#define IPPROTO_UDP 17
#define SOCK_STREAM 1
#define SOCK_DGRAM 2

char LICENSE[] SEC("license") = "GPL";

/* Who acted on a socket, remembered until it is released. */
struct owner {
  __u64 cgroup_id;
  __u64 netns_cookie;
  __u32 tgid, pid, uid, netns_ino;
  __u32 ppid[RN_LINEAGE];
  char comm[RN_COMM_LEN];
  __u32 last_peer;  /* Hash of the last UDP peer reported (send/recv). */
  __u8 emitted;     /* The 4-tuple went out already. */
  __u8 pad[3];
};

struct {
  __uint(type, BPF_MAP_TYPE_LRU_HASH);
  __uint(max_entries, 65536);
  __type(key, __u64);  /* socket cookie */
  __type(value, struct owner);
} owners SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_RINGBUF);
  __uint(max_entries, 4 << 20);
} events SEC(".maps");

/* [0]: events lost (ring buffer full). */
struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, __u64);
} lost SEC(".maps");

static __always_inline void count_lost(void) {
  __u32 zero = 0;
  __u64* n = bpf_map_lookup_elem(&lost, &zero);
  if (n) *n += 1;
}

/* The current task as the owner (process context only). */
static __always_inline void fill_owner(struct owner* o, __u64 netns_cookie) {
  __u64 id = bpf_get_current_pid_tgid();
  o->tgid = id >> 32;
  o->pid = (__u32)id;
  o->uid = (__u32)bpf_get_current_uid_gid();
  o->cgroup_id = bpf_get_current_cgroup_id();
  o->netns_cookie = netns_cookie;
  bpf_get_current_comm(o->comm, sizeof(o->comm));
  struct task_struct* t = (struct task_struct*)bpf_get_current_task();
  o->netns_ino = BPF_CORE_READ(t, nsproxy, net_ns, ns.inum);
  struct task_struct* p = BPF_CORE_READ(t, real_parent);
#pragma unroll
  for (int i = 0; i < RN_LINEAGE; i++) {
    __u32 ppid = p ? BPF_CORE_READ(p, tgid) : 0;
    o->ppid[i] = ppid;
    if (ppid <= 1) break;
    p = BPF_CORE_READ(p, real_parent);
  }
}

/* Remembers the current task as `cookie`'s owner; returns the entry. */
static __always_inline struct owner* remember(__u64 cookie, __u64 netns_cookie) {
  struct owner o = {};
  fill_owner(&o, netns_cookie);
  struct owner* old = bpf_map_lookup_elem(&owners, &cookie);
  if (old) {
    o.emitted = old->emitted;
    o.last_peer = old->last_peer;
  }
  bpf_map_update_elem(&owners, &cookie, &o, BPF_ANY);
  return bpf_map_lookup_elem(&owners, &cookie);
}

static __always_inline struct rn_sock_event* reserve(const struct owner* o, __u64 cookie,
                                                      __u8 kind) {
  struct rn_sock_event* e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
  if (!e) {
    count_lost();
    return 0;
  }
  __builtin_memset(e, 0, sizeof(*e));
  e->cookie = cookie;
  e->kind = kind;
  e->ktime_ns = bpf_ktime_get_ns();
  if (o) {
    e->netns_cookie = o->netns_cookie;
    e->cgroup_id = o->cgroup_id;
    e->tgid = o->tgid;
    e->pid = o->pid;
    e->uid = o->uid;
    e->netns_ino = o->netns_ino;
#pragma unroll
    for (int i = 0; i < RN_LINEAGE; i++) e->ppid[i] = o->ppid[i];
    __builtin_memcpy(e->comm, o->comm, sizeof(e->comm));
  }
  return e;
}

static __always_inline __u8 proto_of(__u32 type, __u32 protocol) {
  if (protocol == IPPROTO_TCP || protocol == IPPROTO_UDP) return protocol;
  return type == SOCK_STREAM ? IPPROTO_TCP : type == SOCK_DGRAM ? IPPROTO_UDP : 0;
}

/* ---- cgroup socket hooks: the owner, in process context ---- */

SEC("cgroup/sock_create")
int rn_sock_create(struct bpf_sock* sk) {
  if (sk->family != AF_INET && sk->family != AF_INET6) return 1;
  __u8 proto = proto_of(sk->type, sk->protocol);
  if (!proto) return 1;
  remember(bpf_get_socket_cookie(sk), bpf_get_netns_cookie(sk));
  return 1;
}

static __always_inline void on_connect(struct bpf_sock_addr* ctx) {
  remember(bpf_get_socket_cookie(ctx), bpf_get_netns_cookie(ctx));
}

SEC("cgroup/connect4")
int rn_connect4(struct bpf_sock_addr* ctx) {
  on_connect(ctx);
  return 1;
}

SEC("cgroup/connect6")
int rn_connect6(struct bpf_sock_addr* ctx) {
  on_connect(ctx);
  return 1;
}

static __always_inline void on_bind(struct bpf_sock* sk, int v6) {
  __u8 proto = proto_of(sk->type, sk->protocol);
  if (!proto) return;
  __u64 cookie = bpf_get_socket_cookie(sk);
  struct owner* o = remember(cookie, bpf_get_netns_cookie(sk));
  struct rn_sock_event* e = reserve(o, cookie, RN_EV_BIND);
  if (!e) return;
  e->protocol = proto;
  e->family = v6 ? AF_INET6 : AF_INET;
  e->sport = (__u16)sk->src_port;
  if (v6) {
    __u32 a[4] = {sk->src_ip6[0], sk->src_ip6[1], sk->src_ip6[2], sk->src_ip6[3]};
    __builtin_memcpy(e->saddr, a, 16);
  } else {
    __u32 a = sk->src_ip4;
    __builtin_memcpy(e->saddr, &a, 4);
  }
  bpf_ringbuf_submit(e, 0);
}

SEC("cgroup/post_bind4")
int rn_post_bind4(struct bpf_sock* sk) {
  on_bind(sk, 0);
  return 1;
}

SEC("cgroup/post_bind6")
int rn_post_bind6(struct bpf_sock* sk) {
  on_bind(sk, 1);
  return 1;
}

/* A datagram to or from `ctx`'s user address: reported once per peer in a
 * row (a sender to one peer costs one event, not one per datagram). */
static __always_inline void on_datagram(struct bpf_sock_addr* ctx, int v6, __u8 kind) {
  struct bpf_sock* sk = ctx->sk;
  if (!sk) return;
  __u64 cookie = bpf_get_socket_cookie(ctx);
  __u32 peer_port = bpf_ntohs((__u16)ctx->user_port);
  __u32 h = peer_port * 2654435761u ^ kind;
  __u32 a6[4] = {};
  if (v6) {
    a6[0] = ctx->user_ip6[0];
    a6[1] = ctx->user_ip6[1];
    a6[2] = ctx->user_ip6[2];
    a6[3] = ctx->user_ip6[3];
    h ^= a6[0] ^ a6[1] * 31 ^ a6[2] * 131 ^ a6[3] * 1031;
  } else {
    a6[0] = ctx->user_ip4;
    h ^= a6[0];
  }
  struct owner* o = bpf_map_lookup_elem(&owners, &cookie);
  if (o && o->last_peer == h) return;
  o = remember(cookie, bpf_get_netns_cookie(ctx));
  if (o) o->last_peer = h;
  struct rn_sock_event* e = reserve(o, cookie, kind);
  if (!e) return;
  e->protocol = IPPROTO_UDP;
  e->family = v6 ? AF_INET6 : AF_INET;
  e->sport = (__u16)sk->src_port;
  e->dport = (__u16)peer_port;
  __builtin_memcpy(e->daddr, a6, v6 ? 16 : 4);
  if (v6) {
    __u32 s[4] = {sk->src_ip6[0], sk->src_ip6[1], sk->src_ip6[2], sk->src_ip6[3]};
    __builtin_memcpy(e->saddr, s, 16);
  } else {
    __u32 s = sk->src_ip4;
    __builtin_memcpy(e->saddr, &s, 4);
  }
  bpf_ringbuf_submit(e, 0);
}

SEC("cgroup/sendmsg4")
int rn_sendmsg4(struct bpf_sock_addr* ctx) {
  on_datagram(ctx, 0, RN_EV_SEND);
  return 1;
}

SEC("cgroup/sendmsg6")
int rn_sendmsg6(struct bpf_sock_addr* ctx) {
  on_datagram(ctx, 1, RN_EV_SEND);
  return 1;
}

SEC("cgroup/recvmsg4")
int rn_recvmsg4(struct bpf_sock_addr* ctx) {
  on_datagram(ctx, 0, RN_EV_RECV);
  return 1;
}

SEC("cgroup/recvmsg6")
int rn_recvmsg6(struct bpf_sock_addr* ctx) {
  on_datagram(ctx, 1, RN_EV_RECV);
  return 1;
}

/* Close: a socket whose 4-tuple never went out (a connected UDP socket, a
 * TCP connect that the state hook missed) reports it now; then the owner
 * is forgotten. */
SEC("cgroup/sock_release")
int rn_sock_release(struct bpf_sock* sk) {
  if (sk->family != AF_INET && sk->family != AF_INET6) return 1;
  __u64 cookie = bpf_get_socket_cookie(sk);
  struct owner* o = bpf_map_lookup_elem(&owners, &cookie);
  if (!o) return 1;
  /* This hook may not read its own src_* fields (only post_bind may); the
   * context is the kernel's struct sock, read through CO-RE instead. */
  struct sock* ks = (struct sock*)sk;
  __u16 sport = BPF_CORE_READ(ks, __sk_common.skc_num);
  __u16 dport = bpf_ntohs(BPF_CORE_READ(ks, __sk_common.skc_dport));
  __u8 proto = proto_of(sk->type, sk->protocol);
  if (!o->emitted && dport != 0 && sport != 0 && proto) {
    struct rn_sock_event* e = reserve(o, cookie, RN_EV_CONNECT);
    if (e) {
      e->protocol = proto;
      e->family = sk->family;
      e->sport = sport;
      e->dport = dport;
      if (sk->family == AF_INET6) {
        BPF_CORE_READ_INTO(&e->saddr, ks, __sk_common.skc_v6_rcv_saddr.in6_u.u6_addr8);
        BPF_CORE_READ_INTO(&e->daddr, ks, __sk_common.skc_v6_daddr.in6_u.u6_addr8);
      } else {
        BPF_CORE_READ_INTO((__u32*)e->saddr, ks, __sk_common.skc_rcv_saddr);
        BPF_CORE_READ_INTO((__u32*)e->daddr, ks, __sk_common.skc_daddr);
      }
      bpf_ringbuf_submit(e, 0);
    }
  }
  /* No RN_EV_CLOSE record: the join does not need one (a record stays
   * until it expires, as its packets may still be queued), and it would
   * double the ring buffer's traffic in a burst. */
  bpf_map_delete_elem(&owners, &cookie);
  return 1;
}

/* ---- the TCP state change: the 4-tuple, any context ---- */

#define TCP_ESTABLISHED 1
#define TCP_SYN_SENT 2
#define TCP_CLOSE 7

static __always_inline void on_state(struct sock* sk, int oldstate, int newstate) {
  if (BPF_CORE_READ(sk, sk_protocol) != IPPROTO_TCP) return;
  /* The client's own socket gets its port in SYN_SENT; it is known at the
   * next change (established, or closed on a refused connect). */
  if (oldstate != TCP_SYN_SENT) return;
  /* The cookie the cgroup hook generated (0: no hook saw the socket). */
  __u64 cookie = BPF_CORE_READ(sk, __sk_common.skc_cookie.counter);
  if (!cookie) return;
  struct owner* o = bpf_map_lookup_elem(&owners, &cookie);
  if (!o || o->emitted) return;
  /* inet_sport, not skc_num: a refused connect has given its port back
   * (skc_num 0) by the time it reports TCP_CLOSE. */
  __u16 sport = bpf_ntohs(BPF_CORE_READ((struct inet_sock*)sk, inet_sport));
  __u16 dport = bpf_ntohs(BPF_CORE_READ(sk, __sk_common.skc_dport));
  if (!sport || !dport) return;
  struct rn_sock_event* e = reserve(o, cookie, RN_EV_CONNECT);
  if (!e) return;
  o->emitted = 1;
  __u16 family = BPF_CORE_READ(sk, __sk_common.skc_family);
  e->protocol = IPPROTO_TCP;
  e->family = (__u8)family;
  e->sport = sport;
  e->dport = dport;
  if (family == AF_INET6) {
    BPF_CORE_READ_INTO(&e->saddr, sk, __sk_common.skc_v6_rcv_saddr.in6_u.u6_addr8);
    BPF_CORE_READ_INTO(&e->daddr, sk, __sk_common.skc_v6_daddr.in6_u.u6_addr8);
  } else {
    BPF_CORE_READ_INTO((__u32*)e->saddr, sk, __sk_common.skc_rcv_saddr);
    BPF_CORE_READ_INTO((__u32*)e->daddr, sk, __sk_common.skc_daddr);
  }
  bpf_ringbuf_submit(e, 0);
}

SEC("tp_btf/inet_sock_set_state")
int BPF_PROG(rn_state_btf, struct sock* sk, int oldstate, int newstate) {
  on_state(sk, oldstate, newstate);
  return 0;
}

/* The same where BTF tracepoints cannot load: user space loads one of the
 * two. */
SEC("raw_tp/inet_sock_set_state")
int BPF_PROG(rn_state_raw, struct sock* sk, int oldstate, int newstate) {
  on_state(sk, oldstate, newstate);
  return 0;
}
