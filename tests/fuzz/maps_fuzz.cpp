// libFuzzer target for the /proc/PID/maps parser: the text describes the target's
// address space and its file names, which the target chooses (a file named with
// spaces, newlines or " (deleted)", a mapping at any address). Any text must parse,
// never crash, hang or read out of bounds (built with ASan and UBSan); the parsed
// mappings must be sorted, and the queries the loader makes must keep their
// promises: find() returns a mapping holding the address, free_range_near() a range
// that overlaps no mapping, within reach.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "common/error.h"
#include "loader/address_space.h"

using namespace hotpatch;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  AddressSpace space = AddressSpace::parse(text);
  const auto& maps = space.mappings();
  for (size_t i = 1; i < maps.size(); ++i)
    if (maps[i].range.start < maps[i - 1].range.start) std::abort();
  uint64_t probe = 0x7f0000000000;
  for (const Mapping& m : maps) {
    for (RemoteAddr a : {m.range.start, m.range.end, m.range.start + 1}) {
      const Mapping* found = space.find(a);
      if (found && !found->range.contains(a)) std::abort();
    }
    (void)m.is_file();
    probe ^= m.range.start.value();
  }
  for (uint64_t near : {uint64_t{0x555555554000}, probe & 0x7ffffffff000, uint64_t{0x10000}}) {
    for (uint64_t length : {uint64_t{4096}, uint64_t{3 * 4096}, uint64_t{1} << 20}) {
      const int64_t reach = (int64_t{1} << 31) - 1;
      auto where = space.free_range_near(RemoteAddr(near), length, reach);
      if (!where) continue;
      const uint64_t s = where->value(), e = s + length;
      if (s % 4096 != 0) std::abort();
      for (const Mapping& m : maps)
        if (m.range.start.value() < e && s < m.range.end.value() && m.range.end.value() > m.range.start.value())
          std::abort();
      const uint64_t lo = near > static_cast<uint64_t>(reach) ? near - reach : 0;
      if (s < lo || e > near + reach) std::abort();
    }
  }
  return 0;
}
