#include "loader/address_space.h"

#include <algorithm>
#include <cerrno>
#include <cinttypes>
#include <cstdio>
#include <fstream>
#include <sstream>

#include "common/error.h"

namespace hotpatch {

namespace {
// vm.mmap_min_addr is 64 KiB on Debian: nothing can be mapped below it.
constexpr uint64_t kLowestMappable = 0x10000;
// The top of the user half of the x86_64/aarch64 48-bit address space.
constexpr uint64_t kUserSpaceEnd = 0x7ffffffff000;
constexpr uint64_t kPage = 4096;
}  // namespace

AddressSpace AddressSpace::read(pid_t pid, const std::string& path) {
  std::ifstream in(path);
  if (!in) {
    if (errno == ENOENT || errno == ESRCH) throw Error(ErrorKind::Target, fmt::format("process {}: exited", pid));
    throw Error(ErrorKind::Target, errno_message(fmt::format("process {}: cannot read {}", pid, path), errno));
  }
  std::stringstream ss;
  ss << in.rdbuf();
  return parse(ss.str());
}

AddressSpace AddressSpace::parse(const std::string& text) {
  AddressSpace as;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    uint64_t start, end, offset, inode;
    char perms[5] = {};
    char dev[32] = {};
    int path_pos = 0;
    if (std::sscanf(line.c_str(), "%" SCNx64 "-%" SCNx64 " %4s %" SCNx64 " %31s %" SCNu64 " %n", &start, &end, perms,
                    &offset, dev, &inode, &path_pos) < 6)
      continue;
    if (end <= start) continue;  // the kernel never writes one; a line that does is not a mapping
    Mapping m;
    m.range = {RemoteAddr(start), RemoteAddr(end)};
    m.readable = perms[0] == 'r';
    m.writable = perms[1] == 'w';
    m.executable = perms[2] == 'x';
    m.shared = perms[3] == 's';
    m.offset = offset;
    m.device = dev;
    m.inode = inode;
    if (path_pos > 0 && static_cast<size_t>(path_pos) <= line.size()) m.path = line.substr(path_pos);
    as.mappings_.push_back(std::move(m));
  }
  std::sort(as.mappings_.begin(), as.mappings_.end(),
            [](const Mapping& a, const Mapping& b) { return a.range.start < b.range.start; });
  return as;
}

const Mapping* AddressSpace::find(RemoteAddr addr) const {
  auto it = std::upper_bound(mappings_.begin(), mappings_.end(), addr,
                             [](RemoteAddr a, const Mapping& m) { return a < m.range.start; });
  if (it == mappings_.begin()) return nullptr;
  --it;
  return it->range.contains(addr) ? &*it : nullptr;
}

std::optional<RemoteAddr> AddressSpace::free_range_near(RemoteAddr near, uint64_t length, int64_t reach) const {
  // Reachable window: every byte of [cand, cand+length) within `reach` of `near`.
  uint64_t lo = near.value() > static_cast<uint64_t>(reach) ? near.value() - reach : 0;
  uint64_t hi = near.value() + reach;  // exclusive bound for cand+length
  lo = std::max(lo, kLowestMappable);
  hi = std::min(hi, kUserSpaceEnd);
  std::optional<RemoteAddr> best;
  uint64_t best_distance = UINT64_MAX;
  uint64_t gap_start = kLowestMappable;
  auto consider_gap = [&](uint64_t gs, uint64_t ge) {
    // Only gaps inside user space (a mapping may end at the top of the address
    // space, [vsyscall]; rounding past it would wrap around to 0).
    if (gs >= kUserSpaceEnd || ge <= gs) return;
    // Leave a guard page on either side so a stub never abuts someone's mapping.
    gs = (gs + kPage + kPage - 1) & ~(kPage - 1);
    ge = ge > kPage ? (ge - kPage) & ~(kPage - 1) : 0;
    gs = std::max(gs, (lo + kPage - 1) & ~(kPage - 1));
    ge = std::min(ge, hi & ~(kPage - 1));
    if (ge < gs || ge - gs < length) return;
    uint64_t target = near.value() & ~(kPage - 1);
    uint64_t cand = std::clamp(target, gs, ge - length);
    cand &= ~(kPage - 1);
    if (cand < gs) return;
    uint64_t distance = cand > near.value() ? cand - near.value() : near.value() - cand;
    if (distance < best_distance) {
      best_distance = distance;
      best = RemoteAddr(cand);
    }
  };
  // The gap above [heap] is where brk grows and the gap below [stack] is where the
  // main stack grows: a stub there would cap them, so those gaps are never used.
  const Mapping* previous = nullptr;
  for (const auto& m : mappings_) {
    bool grows_into = (previous && previous->path == "[heap]") || m.path == "[stack]";
    if (m.range.start.value() > gap_start && !grows_into) consider_gap(gap_start, m.range.start.value());
    gap_start = std::max(gap_start, m.range.end.value());
    previous = &m;
  }
  if (!(previous && previous->path == "[heap]")) consider_gap(gap_start, kUserSpaceEnd);
  return best;
}

}  // namespace hotpatch
