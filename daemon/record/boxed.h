// Boxed<T>: a value of T allocated on first write, so a record that holds
// one of many alternatives pays for the one it uses.
//
// AppRecord has a facts struct per protocol family (HTTP, TLS, DNS, ...),
// and a connection's record fills one of them, rarely two. Inline, the
// empty ones made every published record 1,768 bytes before its strings,
// and DPI keeps one record per distinct content (every DNS name, every TLS
// server name): at a million connections those records were ~120 bytes per
// connection, a quarter of the daemon's memory (the memory benchmark,
// bench/run.sh). Boxed, an empty alternative is one null pointer.
//
// Reads never allocate: a const Boxed reads as an empty T when unset
// (`record.tls->sni` on a const record is "" then). Writes through a
// non-const Boxed allocate the T on first use. An unset Boxed equals one
// holding an empty T, hashes the same, and copying drops an empty T, so
// equal records stay interchangeable and a copy holds only what is set.
//
// Thread-safety: as T (a const Boxed may be read from any thread).
#ifndef RUSTNET_DAEMON_RECORD_BOXED_H_
#define RUSTNET_DAEMON_RECORD_BOXED_H_

#include <cstddef>
#include <memory>
#include <utility>

namespace rustnet {

template <typename T>
class Boxed {
 public:
  Boxed() = default;
  Boxed(const Boxed& other) : value_(Clone(other)) {}
  Boxed(Boxed&& other) noexcept = default;
  Boxed& operator=(const Boxed& other) {
    if (this == &other) return *this;
    if (!other.set()) {
      value_.reset();
    } else if (value_ != nullptr) {
      *value_ = *other.value_;  // Reuses this one's storage and capacity.
    } else {
      value_ = std::make_unique<T>(*other.value_);
    }
    return *this;
  }
  Boxed& operator=(Boxed&& other) noexcept = default;
  Boxed& operator=(const T& v) {
    mut() = v;
    return *this;
  }
  Boxed& operator=(T&& v) {
    mut() = std::move(v);
    return *this;
  }

  // The value, or an empty T when unset. Never allocates.
  const T& get() const { return value_ != nullptr ? *value_ : Empty(); }
  // The value for writing: allocated (empty) on first use.
  T& mut() {
    if (value_ == nullptr) value_ = std::make_unique<T>();
    return *value_;
  }
  const T* operator->() const { return &get(); }
  T* operator->() { return &mut(); }
  const T& operator*() const { return get(); }
  T& operator*() { return mut(); }
  // So a Boxed<T> passes where a T& or const T& is taken.
  operator const T&() const { return get(); }  // NOLINT(google-explicit-constructor)
  operator T&() { return mut(); }              // NOLINT(google-explicit-constructor)

  // Holds a value that differs from an empty T.
  bool set() const { return value_ != nullptr && !(*value_ == Empty()); }
  // Heap bytes of the box itself (not what T holds on the heap).
  size_t BoxBytes() const { return value_ != nullptr ? sizeof(T) : 0; }

  friend bool operator==(const Boxed& a, const Boxed& b) { return a.get() == b.get(); }
  template <typename H>
  friend H AbslHashValue(H h, const Boxed& b) {
    return H::combine(std::move(h), b.get());
  }

 private:
  static const T& Empty() {
    static const T kEmpty{};
    return kEmpty;
  }
  static std::unique_ptr<T> Clone(const Boxed& other) {
    return other.set() ? std::make_unique<T>(*other.value_) : nullptr;
  }

  std::unique_ptr<T> value_;
};

}  // namespace rustnet

#endif  // RUSTNET_DAEMON_RECORD_BOXED_H_
