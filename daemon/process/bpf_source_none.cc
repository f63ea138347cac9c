// BpfSocketSource in a build without the BPF programs (no clang, bpftool,
// libbpf or kernel BTF on the build machine): never available.
#include "daemon/process/bpf_source.h"

namespace rustnet {

struct BpfSocketSource::Impl {};

bool BpfSocketSource::Built() { return false; }

BpfSocketSource::BpfSocketSource(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
BpfSocketSource::~BpfSocketSource() = default;

absl::StatusOr<std::unique_ptr<BpfSocketSource>> BpfSocketSource::Create(Options /*options*/) {
  return absl::UnimplementedError("this rustnetd was built without eBPF support");
}

int BpfSocketSource::Poll(int /*timeout_ms*/, const std::function<void(SocketEvent&&)>& /*sink*/) {
  return 0;
}

int BpfSocketSource::DupCgroupRoot() const { return -1; }

uint64_t BpfSocketSource::Lost() const { return 0; }

void BpfSocketSource::RunStats(uint64_t* run_ns, uint64_t* run_count) const {
  *run_ns = 0;
  *run_count = 0;
}

}  // namespace rustnet
