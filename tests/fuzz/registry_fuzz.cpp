// libFuzzer target for the registry decoder: the bytes come from inside the target
// (any process the user points hotpatch at, possibly hostile or corrupt) and are
// parsed by a CLI that often runs as root. Any bytes must decode or be refused,
// never crash, hang or read out of bounds (built with ASan and UBSan). A decoded
// registry must survive encode -> decode unchanged, and the lookups the CLI makes
// on it must work.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <vector>

#include "common/registry.h"

using namespace hotpatch;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::optional<Registry> decoded = decode_registry(data, size);
  if (!decoded) return 0;
  for (const PatchRecord& p : decoded->patches) {
    if (decoded->find(p.id) == nullptr) std::abort();
    for (const RedirectRecord& r : p.redirects) (void)decoded->top_patch_for(r.target);
  }
  // The encoding is canonical: what we write is what we read back, and writing that
  // again gives the same bytes.
  std::vector<uint8_t> encoded = encode_registry(*decoded);
  std::optional<Registry> again = decode_registry(encoded.data(), encoded.size());
  if (!again || again->patches.size() != decoded->patches.size()) std::abort();
  if (encode_registry(*again) != encoded) std::abort();
  return 0;
}
