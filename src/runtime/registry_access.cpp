#include "runtime/registry_access.h"

#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>

#include "common/registry_layout.h"

extern "C" struct hotpatch_registry_area hotpatch_registry;  // runtime.cpp

namespace hotpatch::runtime {

namespace {
constexpr int kLockWaitMs = 3000;
}

std::optional<RegistryTransaction> RegistryTransaction::begin(std::string& error) {
  const uint32_t tid = static_cast<uint32_t>(::syscall(SYS_gettid));
  for (int waited = 0;; ++waited) {
    uint32_t expected = 0;
    if (__atomic_compare_exchange_n(&hotpatch_registry.lock, &expected, tid, false, __ATOMIC_ACQUIRE, __ATOMIC_RELAXED))
      break;
    // A holder that is no thread of ours any more (it died holding it, or we are the
    // child of a fork made while another thread held it) never gives it back: take
    // it over, unless someone else just did.
    if (expected != 0 && ::syscall(SYS_tgkill, ::getpid(), expected, 0) != 0 && errno == ESRCH &&
        __atomic_compare_exchange_n(&hotpatch_registry.lock, &expected, tid, false, __ATOMIC_ACQUIRE, __ATOMIC_RELAXED))
      break;
    if (waited >= kLockWaitMs) {
      error = "the patch registry stays locked by thread " + std::to_string(expected) + "; try again";
      return std::nullopt;
    }
    timespec ms{0, 1000 * 1000};
    nanosleep(&ms, nullptr);
  }
  RegistryTransaction t;
  t.held_ = true;
  static const char zero[8] = {};
  if (std::memcmp(hotpatch_registry.magic, zero, 8) == 0) return t;  // nothing recorded yet
  if (std::memcmp(hotpatch_registry.magic, HOTPATCH_REGISTRY_MAGIC, 8) != 0 ||
      hotpatch_registry.layout_version != HOTPATCH_REGISTRY_LAYOUT_VERSION ||
      hotpatch_registry.used > HOTPATCH_REGISTRY_HALF ||
      (hotpatch_registry.offset != 0 && hotpatch_registry.offset != HOTPATCH_REGISTRY_HALF)) {
    error = "the patch registry is corrupt or of another layout version";
    return std::nullopt;  // t's destructor releases the lock
  }
  auto decoded = decode_registry(hotpatch_registry.data + hotpatch_registry.offset, hotpatch_registry.used);
  if (!decoded) {
    error = "the patch registry is corrupt";
    return std::nullopt;
  }
  t.registry = std::move(*decoded);
  t.generation_ = hotpatch_registry.generation;
  return t;
}

bool RegistryTransaction::commit(std::string& error) {
  std::vector<uint8_t> data = encode_registry(registry);
  if (data.size() > HOTPATCH_REGISTRY_HALF) {
    error = "the patch registry is full";
    return false;
  }
  // The other half, as the loader does (registry_layout.h): a loader reading the
  // registry meanwhile is excluded by the lock, but one layout for both writers.
  const bool fresh = std::memcmp(hotpatch_registry.magic, HOTPATCH_REGISTRY_MAGIC, 8) != 0;
  const uint64_t offset = (fresh || hotpatch_registry.offset != 0) ? 0 : HOTPATCH_REGISTRY_HALF;
  std::memcpy(hotpatch_registry.data + offset, data.data(), data.size());
  hotpatch_registry.offset = offset;
  hotpatch_registry.used = data.size();
  hotpatch_registry.capacity = HOTPATCH_REGISTRY_CAPACITY;
  hotpatch_registry.layout_version = HOTPATCH_REGISTRY_LAYOUT_VERSION;
  std::memcpy(hotpatch_registry.magic, HOTPATCH_REGISTRY_MAGIC, 8);
  hotpatch_registry.generation = ++generation_;
  return true;
}

RegistryTransaction::~RegistryTransaction() {
  if (held_) __atomic_store_n(&hotpatch_registry.lock, 0u, __ATOMIC_RELEASE);
}

}  // namespace hotpatch::runtime
