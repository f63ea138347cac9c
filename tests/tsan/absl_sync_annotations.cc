// ThreadSanitizer builds only (RUSTNET_SANITIZE=thread): tells TSan about
// Abseil's Mutex and Notification.
//
// Debian's libabsl is not built with TSan, so absl::Mutex's lock and unlock
// (futex-based, not pthread) happen where TSan cannot see them, and every
// access guarded by one looks like a race. These definitions take the place
// of Abseil's out-of-line Mutex/Notification members for the program they
// are linked into (and, through the dynamic symbol table, for the libraries
// it loads: gRPC's mutexes too). Each calls the real member, found with
// dlsym(RTLD_NEXT), between the annotations Abseil itself makes when built
// with TSan (absl/synchronization/mutex.cc's ABSL_TSAN_MUTEX_*). Waits that
// release the mutex inside (Await, LockWhen, CondVar::Wait) are modelled as
// an unlock before and a lock after.
//
// Thread-safety: as Abseil's; the real functions are looked up once, at
// first use (a function-local static: thread-safe initialisation).
#include <dlfcn.h>
#include <sanitizer/tsan_interface.h>

#include <cstdio>
#include <cstdlib>

#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"

namespace {

template <typename F>
F Real(const char* mangled) {
  void* f = dlsym(RTLD_NEXT, mangled);
  if (f == nullptr) {
    std::fprintf(stderr, "tests/tsan: %s not found in Abseil (%s); update the names\n", mangled,
                 dlerror());
    std::abort();
  }
  return reinterpret_cast<F>(f);
}

// Only calls from this program's own code are annotated: gRPC's are left
// as TSan saw them without this file (its objects are made and handed
// between threads by code TSan cannot see, so annotating its mutexes alone
// only produces reports about gRPC's internals). Nor are Abseil's calls to
// its own members: AwaitWithTimeout calls AwaitWithDeadline through the
// dynamic symbol table, which comes here again, as a tail call that leaves
// the program's return address; the thread's depth of wrapped calls tells.
extern "C" const char __executable_start;  // Linker-defined: the program's text.
extern "C" const char etext;
thread_local int depth = 0;

class Annotate {
 public:
  explicit Annotate(const void* return_address)
      : on_(depth++ == 0 && static_cast<const char*>(return_address) >= &__executable_start &&
            static_cast<const char*>(return_address) < &etext) {}
  ~Annotate() { --depth; }
  Annotate(const Annotate&) = delete;
  Annotate& operator=(const Annotate&) = delete;
  explicit operator bool() const { return on_; }

 private:
  const bool on_;
};

// Abseil's inline namespace on Debian 12 is absl::debian3 (mangled "7debian3").
#define RN_ABSL "_ZN4absl7debian3"
#define RN_ABSL_CONST "_ZNK4absl7debian3"

using Mutex = absl::Mutex;
using Condition = absl::Condition;

void Locked(Mutex* mu, unsigned flags) {
  __tsan_mutex_post_lock(mu, flags, 0);
}

void PostTryLock(Mutex* mu, unsigned flags, bool got) {
  __tsan_mutex_post_lock(mu, got ? flags : flags | __tsan_mutex_try_lock_failed, 0);
}

// For the waits that unlock and relock inside: the whole wait is the
// "unlock" (TSan ignores what happens between pre and post: the condition
// evaluations Abseil makes holding the lock it still thinks released), and
// a lock follows.
void BeforeWait(Mutex* mu) { __tsan_mutex_pre_unlock(mu, 0); }
void AfterWait(Mutex* mu) {
  __tsan_mutex_post_unlock(mu, 0);
  __tsan_mutex_pre_lock(mu, 0);
  __tsan_mutex_post_lock(mu, 0, 0);
}

}  // namespace

namespace absl {
ABSL_NAMESPACE_BEGIN

// The inline constructor already tells TSan (ABSL_TSAN_MUTEX_CREATE).
Mutex::~Mutex() {
  const Annotate ours(__builtin_return_address(0));
  static auto real = Real<void (*)(Mutex*)>(RN_ABSL "5MutexD2Ev");
  if (ours) __tsan_mutex_destroy(this, 0);
  real(this);
}

void Mutex::Lock() {
  const Annotate ours(__builtin_return_address(0));
  static auto real = Real<void (*)(Mutex*)>(RN_ABSL "5Mutex4LockEv");
  if (ours) __tsan_mutex_pre_lock(this, 0);
  real(this);
  if (ours) Locked(this, 0);
}

void Mutex::ReaderLock() {
  const Annotate ours(__builtin_return_address(0));
  static auto real = Real<void (*)(Mutex*)>(RN_ABSL "5Mutex10ReaderLockEv");
  if (ours) __tsan_mutex_pre_lock(this, __tsan_mutex_read_lock);
  real(this);
  if (ours) Locked(this, __tsan_mutex_read_lock);
}

bool Mutex::TryLock() {
  const Annotate ours(__builtin_return_address(0));
  static auto real = Real<bool (*)(Mutex*)>(RN_ABSL "5Mutex7TryLockEv");
  if (ours) __tsan_mutex_pre_lock(this, __tsan_mutex_try_lock);
  const bool got = real(this);
  if (ours) PostTryLock(this, __tsan_mutex_try_lock, got);
  return got;
}

bool Mutex::ReaderTryLock() {
  const Annotate ours(__builtin_return_address(0));
  static auto real = Real<bool (*)(Mutex*)>(RN_ABSL "5Mutex13ReaderTryLockEv");
  if (ours) __tsan_mutex_pre_lock(this, __tsan_mutex_try_read_lock);
  const bool got = real(this);
  if (ours) PostTryLock(this, __tsan_mutex_try_read_lock, got);
  return got;
}

void Mutex::Unlock() {
  const Annotate ours(__builtin_return_address(0));
  static auto real = Real<void (*)(Mutex*)>(RN_ABSL "5Mutex6UnlockEv");
  if (ours) __tsan_mutex_pre_unlock(this, 0);
  real(this);
  if (ours) __tsan_mutex_post_unlock(this, 0);
}

void Mutex::ReaderUnlock() {
  const Annotate ours(__builtin_return_address(0));
  static auto real = Real<void (*)(Mutex*)>(RN_ABSL "5Mutex12ReaderUnlockEv");
  if (ours) __tsan_mutex_pre_unlock(this, __tsan_mutex_read_lock);
  real(this);
  if (ours) __tsan_mutex_post_unlock(this, __tsan_mutex_read_lock);
}

void Mutex::LockWhen(const Condition& cond) {
  const Annotate ours(__builtin_return_address(0));
  static auto real =
      Real<void (*)(Mutex*, const Condition&)>(RN_ABSL "5Mutex8LockWhenERKNS0_9ConditionE");
  if (ours) __tsan_mutex_pre_lock(this, 0);
  real(this, cond);
  if (ours) Locked(this, 0);
}

// The *WithTimeout/*WithDeadline lock functions hold the lock on return
// whether or not the condition became true.
bool Mutex::LockWhenWithTimeout(const Condition& cond, absl::Duration timeout) {
  const Annotate ours(__builtin_return_address(0));
  static auto real = Real<bool (*)(Mutex*, const Condition&, absl::Duration)>(
      RN_ABSL "5Mutex19LockWhenWithTimeoutERKNS0_9ConditionENS0_8DurationE");
  if (ours) __tsan_mutex_pre_lock(this, 0);
  const bool met = real(this, cond, timeout);
  if (ours) Locked(this, 0);
  return met;
}

bool Mutex::LockWhenWithDeadline(const Condition& cond, absl::Time deadline) {
  const Annotate ours(__builtin_return_address(0));
  static auto real = Real<bool (*)(Mutex*, const Condition&, absl::Time)>(
      RN_ABSL "5Mutex20LockWhenWithDeadlineERKNS0_9ConditionENS0_4TimeE");
  if (ours) __tsan_mutex_pre_lock(this, 0);
  const bool met = real(this, cond, deadline);
  if (ours) Locked(this, 0);
  return met;
}

void Mutex::ReaderLockWhen(const Condition& cond) {
  const Annotate ours(__builtin_return_address(0));
  static auto real = Real<void (*)(Mutex*, const Condition&)>(
      RN_ABSL "5Mutex14ReaderLockWhenERKNS0_9ConditionE");
  if (ours) __tsan_mutex_pre_lock(this, __tsan_mutex_read_lock);
  real(this, cond);
  if (ours) Locked(this, __tsan_mutex_read_lock);
}

bool Mutex::ReaderLockWhenWithTimeout(const Condition& cond, absl::Duration timeout) {
  const Annotate ours(__builtin_return_address(0));
  static auto real = Real<bool (*)(Mutex*, const Condition&, absl::Duration)>(
      RN_ABSL "5Mutex25ReaderLockWhenWithTimeoutERKNS0_9ConditionENS0_8DurationE");
  if (ours) __tsan_mutex_pre_lock(this, __tsan_mutex_read_lock);
  const bool met = real(this, cond, timeout);
  if (ours) Locked(this, __tsan_mutex_read_lock);
  return met;
}

bool Mutex::ReaderLockWhenWithDeadline(const Condition& cond, absl::Time deadline) {
  const Annotate ours(__builtin_return_address(0));
  static auto real = Real<bool (*)(Mutex*, const Condition&, absl::Time)>(
      RN_ABSL "5Mutex26ReaderLockWhenWithDeadlineERKNS0_9ConditionENS0_4TimeE");
  if (ours) __tsan_mutex_pre_lock(this, __tsan_mutex_read_lock);
  const bool met = real(this, cond, deadline);
  if (ours) Locked(this, __tsan_mutex_read_lock);
  return met;
}

// Await* and CondVar::Wait*: called holding the lock (as a writer: Abseil's
// CondVar and Await also allow a reader; nothing here does that), release
// it while waiting, and hold it again on return.
void Mutex::Await(const Condition& cond) {
  const Annotate ours(__builtin_return_address(0));
  static auto real =
      Real<void (*)(Mutex*, const Condition&)>(RN_ABSL "5Mutex5AwaitERKNS0_9ConditionE");
  if (ours) BeforeWait(this);
  real(this, cond);
  if (ours) AfterWait(this);
}

bool Mutex::AwaitWithTimeout(const Condition& cond, absl::Duration timeout) {
  const Annotate ours(__builtin_return_address(0));
  static auto real = Real<bool (*)(Mutex*, const Condition&, absl::Duration)>(
      RN_ABSL "5Mutex16AwaitWithTimeoutERKNS0_9ConditionENS0_8DurationE");
  if (ours) BeforeWait(this);
  const bool met = real(this, cond, timeout);
  if (ours) AfterWait(this);
  return met;
}

bool Mutex::AwaitWithDeadline(const Condition& cond, absl::Time deadline) {
  const Annotate ours(__builtin_return_address(0));
  static auto real = Real<bool (*)(Mutex*, const Condition&, absl::Time)>(
      RN_ABSL "5Mutex17AwaitWithDeadlineERKNS0_9ConditionENS0_4TimeE");
  if (ours) BeforeWait(this);
  const bool met = real(this, cond, deadline);
  if (ours) AfterWait(this);
  return met;
}

void CondVar::Wait(Mutex* mu) {
  const Annotate ours(__builtin_return_address(0));
  static auto real = Real<void (*)(CondVar*, Mutex*)>(RN_ABSL "7CondVar4WaitEPNS0_5MutexE");
  if (ours) BeforeWait(mu);
  real(this, mu);
  if (ours) AfterWait(mu);
}

bool CondVar::WaitWithTimeout(Mutex* mu, absl::Duration timeout) {
  const Annotate ours(__builtin_return_address(0));
  static auto real = Real<bool (*)(CondVar*, Mutex*, absl::Duration)>(
      RN_ABSL "7CondVar15WaitWithTimeoutEPNS0_5MutexENS0_8DurationE");
  if (ours) BeforeWait(mu);
  const bool timed_out = real(this, mu, timeout);
  if (ours) AfterWait(mu);
  return timed_out;
}

bool CondVar::WaitWithDeadline(Mutex* mu, absl::Time deadline) {
  const Annotate ours(__builtin_return_address(0));
  static auto real = Real<bool (*)(CondVar*, Mutex*, absl::Time)>(
      RN_ABSL "7CondVar16WaitWithDeadlineEPNS0_5MutexENS0_4TimeE");
  if (ours) BeforeWait(mu);
  const bool timed_out = real(this, mu, deadline);
  if (ours) AfterWait(mu);
  return timed_out;
}

void Notification::Notify() {
  const Annotate ours(__builtin_return_address(0));
  static auto real = Real<void (*)(Notification*)>(RN_ABSL "12Notification6NotifyEv");
  if (ours) __tsan_release(this);
  real(this);
}

void Notification::WaitForNotification() const {
  const Annotate ours(__builtin_return_address(0));
  static auto real =
      Real<void (*)(const Notification*)>(RN_ABSL_CONST "12Notification19WaitForNotificationEv");
  real(this);
  if (ours) __tsan_acquire(const_cast<Notification*>(this));
}

bool Notification::WaitForNotificationWithDeadline(absl::Time deadline) const {
  const Annotate ours(__builtin_return_address(0));
  static auto real = Real<bool (*)(const Notification*, absl::Time)>(
      RN_ABSL_CONST "12Notification31WaitForNotificationWithDeadlineENS0_4TimeE");
  const bool notified = real(this, deadline);
  if (ours && notified) __tsan_acquire(const_cast<Notification*>(this));
  return notified;
}

bool Notification::WaitForNotificationWithTimeout(absl::Duration timeout) const {
  const Annotate ours(__builtin_return_address(0));
  static auto real = Real<bool (*)(const Notification*, absl::Duration)>(
      RN_ABSL_CONST "12Notification30WaitForNotificationWithTimeoutENS0_8DurationE");
  const bool notified = real(this, timeout);
  if (ours && notified) __tsan_acquire(const_cast<Notification*>(this));
  return notified;
}

ABSL_NAMESPACE_END
}  // namespace absl
