#include "common/registry.h"

#include <cstddef>
#include <cstring>

#include "common/registry_layout.h"

static_assert(offsetof(hotpatch_registry_area, data) == HOTPATCH_REGISTRY_HEADER_SIZE);

namespace hotpatch {

const PatchRecord* Registry::find(const std::string& id) const {
  for (const auto& p : patches)
    if (p.id == id) return &p;
  return nullptr;
}

const PatchRecord* Registry::top_patch_for(uint64_t target) const {
  for (auto it = patches.rbegin(); it != patches.rend(); ++it)
    for (const auto& r : it->redirects)
      if (r.target == target) return &*it;
  return nullptr;
}

namespace {

class Writer {
 public:
  void u8(uint8_t v) { out_.push_back(v); }
  void u32(uint32_t v) { raw(&v, 4); }
  void u64(uint64_t v) { raw(&v, 8); }
  void bytes(const std::vector<uint8_t>& b) {
    u32(static_cast<uint32_t>(b.size()));
    raw(b.data(), b.size());
  }
  void str(const std::string& s) {
    u32(static_cast<uint32_t>(s.size()));
    raw(s.data(), s.size());
  }
  void block(const MemoryBlock& b) {
    u64(b.start);
    u64(b.length);
  }
  std::vector<uint8_t> take() { return std::move(out_); }

 private:
  void raw(const void* p, size_t n) {
    auto* b = static_cast<const uint8_t*>(p);
    out_.insert(out_.end(), b, b + n);
  }
  std::vector<uint8_t> out_;
};

// Every read checks bounds; a malformed registry decodes to nullopt, never a crash.
class Reader {
 public:
  Reader(const uint8_t* data, size_t size) : p_(data), end_(data + size) {}
  bool ok() const { return ok_; }
  bool at_end() const { return p_ == end_; }
  uint32_t u32() { uint32_t v = 0; raw(&v, 4); return v; }
  uint64_t u64() { uint64_t v = 0; raw(&v, 8); return v; }
  std::vector<uint8_t> bytes() {
    uint32_t n = u32();
    if (!fits(n)) return {};
    std::vector<uint8_t> b(p_, p_ + n);
    p_ += n;
    return b;
  }
  std::string str() {
    uint32_t n = u32();
    if (!fits(n)) return {};
    std::string s(reinterpret_cast<const char*>(p_), n);
    p_ += n;
    return s;
  }
  MemoryBlock block() {
    MemoryBlock b;
    b.start = u64();
    b.length = u64();
    return b;
  }
  // A count of items each at least `min_item_size` bytes long.
  uint32_t count(size_t min_item_size) {
    uint32_t n = u32();
    if (ok_ && static_cast<size_t>(end_ - p_) / min_item_size < n) ok_ = false;
    return ok_ ? n : 0;
  }

 private:
  bool fits(size_t n) {
    if (!ok_ || static_cast<size_t>(end_ - p_) < n) ok_ = false;
    return ok_;
  }
  void raw(void* out, size_t n) {
    if (fits(n)) {
      std::memcpy(out, p_, n);
      p_ += n;
    }
  }
  const uint8_t* p_;
  const uint8_t* end_;
  bool ok_ = true;
};

// "HGR3": PatchRecord::state (kill-safe journal) and ::unwind_tables. "HGR4" adds
// each patch's revert callbacks and shadow flag after its redirects; HGR3 is still
// read (a runtime loaded by an earlier hotpatch of the same layout). Older
// encodings only ever lived in runtimes of registry layout 1, which this hotpatch
// refuses by the header's layout version before decoding anything.
constexpr uint32_t kEncodingTag3 = 0x33524748;  // "HGR3"
constexpr uint32_t kEncodingTag = 0x34524748;   // "HGR4"

}  // namespace

std::vector<uint8_t> encode_registry(const Registry& registry) {
  Writer w;
  w.u32(kEncodingTag);
  w.u32(static_cast<uint32_t>(registry.patches.size()));
  for (const auto& p : registry.patches) {
    w.str(p.id);
    w.str(p.description);
    w.str(p.path);
    w.u64(p.applied_unix);
    w.u64(p.handle);
    w.u32(static_cast<uint32_t>(p.state));
    w.block(p.code);
    w.u32(static_cast<uint32_t>(p.unwind_tables.size()));
    for (uint64_t t : p.unwind_tables) w.u64(t);
    w.u32(static_cast<uint32_t>(p.stubs.size()));
    for (const auto& s : p.stubs) w.block(s);
    w.u32(static_cast<uint32_t>(p.redirects.size()));
    for (const auto& r : p.redirects) {
      w.str(r.symbol);
      w.str(r.replacement_name);
      w.u64(r.target);
      w.u64(r.target_size);
      w.u64(r.patch_site);
      w.u64(r.replacement);
      w.u64(r.replacement_size);
      w.u64(r.stub);
      w.u64(r.preserved);
      w.bytes(r.saved);
      w.bytes(r.written);
    }
    w.u64(p.pre_revert);
    w.u64(p.post_revert);
    w.u32(p.shadow_ids ? 1 : 0);
  }
  return w.take();
}

std::optional<Registry> decode_registry(const uint8_t* data, size_t size) {
  Registry registry;
  if (size == 0) return registry;  // a fresh runtime: nothing applied yet
  Reader r(data, size);
  const uint32_t tag = r.u32();
  if (tag != kEncodingTag && tag != kEncodingTag3) return std::nullopt;
  uint32_t npatches = r.count(4 * 5 + 8 * 4);
  for (uint32_t i = 0; i < npatches && r.ok(); ++i) {
    PatchRecord p;
    p.id = r.str();
    p.description = r.str();
    p.path = r.str();
    p.applied_unix = r.u64();
    p.handle = r.u64();
    uint32_t state = r.u32();
    if (state > static_cast<uint32_t>(PatchState::Reverting)) return std::nullopt;
    p.state = static_cast<PatchState>(state);
    p.code = r.block();
    uint32_t ntables = r.count(8);
    for (uint32_t t = 0; t < ntables && r.ok(); ++t) p.unwind_tables.push_back(r.u64());
    uint32_t nstubs = r.count(16);
    for (uint32_t s = 0; s < nstubs && r.ok(); ++s) p.stubs.push_back(r.block());
    uint32_t nredirects = r.count(4 * 4 + 8 * 7);
    for (uint32_t k = 0; k < nredirects && r.ok(); ++k) {
      RedirectRecord rec;
      rec.symbol = r.str();
      rec.replacement_name = r.str();
      rec.target = r.u64();
      rec.target_size = r.u64();
      rec.patch_site = r.u64();
      rec.replacement = r.u64();
      rec.replacement_size = r.u64();
      rec.stub = r.u64();
      rec.preserved = r.u64();
      rec.saved = r.bytes();
      rec.written = r.bytes();
      p.redirects.push_back(std::move(rec));
    }
    if (tag == kEncodingTag) {
      p.pre_revert = r.u64();
      p.post_revert = r.u64();
      uint32_t flags = r.u32();
      if (flags > 1) return std::nullopt;
      p.shadow_ids = flags & 1;
    }
    registry.patches.push_back(std::move(p));
  }
  if (!r.ok() || !r.at_end()) return std::nullopt;
  return registry;
}

}  // namespace hotpatch
