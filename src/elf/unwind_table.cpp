#include "elf/unwind_table.h"

#include <cstring>

#include <fmt/format.h>

#include "common/error.h"

namespace hotpatch {

size_t UnwindTable::fde_count() const {
  size_t n = 0;
  for (const auto& e : entries) n += e.is_cie ? 0 : 1;
  return n;
}

UnwindTable parse_unwind_table(std::span<const uint8_t> data, const std::string& where) {
  UnwindTable table;
  uint64_t at = 0;
  auto u32_at = [&](uint64_t offset) {
    uint32_t v;
    std::memcpy(&v, data.data() + offset, 4);
    return v;
  };
  auto malformed = [&](const std::string& why) {
    return Error(ErrorKind::BadPatchFile, fmt::format("{}: .eh_frame entry at {:#x} {}", where, at, why));
  };
  while (at + 4 <= data.size()) {
    uint32_t length = u32_at(at);
    if (length == 0) {
      table.terminated = true;
      break;
    }
    if (length == 0xffffffffu) throw malformed("has a 64-bit length; not supported");
    if (length < 4 || length > data.size() - at - 4) throw malformed("runs past the end of the section");
    FrameEntry e;
    e.offset = at;
    e.size = uint64_t{length} + 4;
    uint32_t id = u32_at(at + 4);
    e.is_cie = id == 0;
    if (!e.is_cie) {
      // The CIE pointer counts back from the pointer field itself.
      if (id > at + 4) throw malformed("points to a CIE before the section");
      e.cie_offset = at + 4 - id;
    }
    table.entries.push_back(e);
    at += e.size;
  }
  return table;
}

}  // namespace hotpatch
