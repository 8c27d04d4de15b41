// Shadow variables (<hotpatch/shadow.h>): blocks of memory attached to existing
// objects by (object address, id), for patches that need new per-object state.
//
// The table is a fixed array of buckets, each a singly linked chain of nodes.
// Readers (get) take no lock: every node carries a sequence number that is odd while
// the node is free or being changed, and node memory is type-stable (never unmapped,
// reused only as a node), so a reader may meet a node that is being recycled but
// always notices. A miss is confirmed by the bucket's own sequence number. Writers
// take the bucket's lock with every signal blocked, so a signal handler on the same
// thread cannot deadlock on it, and nothing here calls malloc: memory is mmap'ed in
// chunks and kept on free lists.
//
// Ownership is by declared id (docs/creator.md#shadow-variables): the Loader tells
// the runtime which ids each patch declares (claim) before any code of the patch can
// run, and on revert drops the patch's claims (release), which frees every shadow
// of an id no applied patch claims any more.
#pragma once

#include <hotpatch/shadow.h>

#include <atomic>
#include <cstddef>
#include <cstdint>

extern "C" {
// Called by the Loader through remote calls (not in the public header).
// 0, or -ENOSPC (too many claims) / -EINVAL (bad patch id). Claiming twice is a no-op.
int hotpatch_shadow_claim(const char* patch_id, const uint64_t* ids, size_t count);
// Drops every claim of `patch_id` and frees the shadows of the ids nobody claims
// any more. Returns how many shadows were freed.
size_t hotpatch_shadow_release(const char* patch_id);

// Read by `hotpatch list` through /proc/PID/mem (no remote call): what exists now.
struct hotpatch_shadow_stats {
  uint64_t live;    // shadows attached
  uint64_t bytes;   // their sizes, summed
  uint64_t claims;  // (patch, id) claims held
};
}

namespace hotpatch::runtime {

class ShadowTable {
 public:
  static ShadowTable& instance();

  enum class Mode { New, GetOrNew };
  // nullptr with errno set (see <hotpatch/shadow.h>).
  void* alloc(const void* obj, uint64_t id, size_t size, Mode mode, hotpatch_shadow_ctor ctor, void* ctor_data);
  void* get(const void* obj, uint64_t id) const;
  void free(const void* obj, uint64_t id, hotpatch_shadow_dtor dtor);
  size_t free_all(uint64_t id, hotpatch_shadow_dtor dtor);
  size_t count(uint64_t id) const;

  int claim(const char* patch_id, const uint64_t* ids, size_t count);
  size_t release(const char* patch_id);
  bool claimed(uint64_t id) const;

  static constexpr size_t kBuckets = size_t{1} << 16;
  static constexpr size_t kMaxClaims = 256;
  static constexpr size_t kMaxPatchId = 64;
  static constexpr size_t kMaxSize = size_t{1} << 30;

  struct Node;
  struct Bucket;

 private:
  Bucket* buckets(bool create) const;
  Node* unlink_matching(Bucket& b, const void* obj, uint64_t id, bool any_obj, Node** freed);

  struct Claim {
    std::atomic<uint64_t> id{0};
    std::atomic<uint32_t> used{0};
    char patch[kMaxPatchId + 1] = {};
  };
  mutable std::atomic<Bucket*> buckets_{nullptr};
  Claim claims_[kMaxClaims];
  std::atomic<uint32_t> claims_lock_{0};
};

}  // namespace hotpatch::runtime
