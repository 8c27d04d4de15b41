// libFuzzer target for the patch-file and ELF readers (issue 5, hostile input):
// any bytes must either parse or be refused with hotpatch::Error, never crash,
// hang or read out of bounds (built with ASan and UBSan).
#include <cstddef>
#include <cstdint>
#include <vector>

#include "common/error.h"
#include "elf/elf_image.h"
#include "elf/patch_file.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    hotpatch::ElfImage image = hotpatch::ElfImage::from_bytes(std::vector<uint8_t>(data, data + size), "fuzz.so");
    (void)image.symbols();
    (void)image.build_id();
    (void)image.dynamic_relocations();
    hotpatch::PatchFile patch = hotpatch::parse_patch(image, "/fuzz.so");
    (void)patch;
  } catch (const hotpatch::Error&) {
    // Refused: the expected outcome for almost every input.
  }
  return 0;
}
