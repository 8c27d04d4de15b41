// UnwindTable: the entries of an .eh_frame section (DWARF call frame information as
// GCC and ld write it: CIEs and FDEs with 32-bit lengths). The creator copies the
// FDEs of the functions it carries into a patch; the loader counts them and checks
// the zero terminator before registering a near-linked patch's table with the
// target's unwinder (C++ exceptions, backtraces, pthread_cancel through patches).
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace hotpatch {

struct FrameEntry {
  uint64_t offset = 0;  // of the entry's length field, in the section
  uint64_t size = 0;    // whole entry, length field included
  bool is_cie = false;
  uint64_t cie_offset = 0;  // FDE: offset of the CIE it uses
};

struct UnwindTable {
  std::vector<FrameEntry> entries;
  bool terminated = false;  // a zero length follows the last entry, inside the section
  size_t fde_count() const;
};

// Parses `data` up to its end or a zero terminator. Throws Error(BadPatchFile)
// naming `where` for a malformed section or a 64-bit entry (GCC never writes one).
UnwindTable parse_unwind_table(std::span<const uint8_t> data, const std::string& where);

}  // namespace hotpatch
