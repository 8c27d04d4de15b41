// libFuzzer target for what the trust code reads from files an attacker may
// control (docs/security.md): the signature trailer at the end of a patch or
// library, key files and the policy file. Any bytes must be classified (unsigned,
// malformed, present; parsed or refused with a reason) without crashing, hanging
// or reading out of bounds (built with ASan and UBSan). The first byte picks the
// parser so that one corpus serves all of them.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "trust/policy.h"
#include "trust/signature.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace hotpatch::trust;
  if (size == 0) return 0;
  const uint8_t which = data[0];
  const uint8_t* rest = data + 1;
  const size_t n = size - 1;
  const std::string_view text(reinterpret_cast<const char*>(rest), n);
  switch (which % 4) {
    case 0:
    case 1: {
      Trailer t = parse_trailer(rest, n);
      if (t.state == Trailer::State::Present) {
        if (t.signed_length + kTrailerSize != n) __builtin_trap();  // parse_trailer's promise
        (void)signature_valid(rest, n, t);
        (void)key_id(t.public_key);
      } else if (t.state == Trailer::State::Malformed && t.error.empty()) {
        __builtin_trap();  // a malformed trailer always says why
      }
      if (content_length(rest, n) > n) __builtin_trap();
      break;
    }
    case 2: {
      Policy p;
      std::string error;
      if (!parse_policy(text, "/fuzz/policy", p, error) && error.rfind("/fuzz/policy", 0) != 0) __builtin_trap();
      break;
    }
    case 3: {
      PublicKey pk;
      std::array<uint8_t, kSecretKeySize> sk;
      std::string error;
      (void)parse_public_key(text, pk, error);
      (void)parse_secret_key(text, sk, error);
      break;
    }
  }
  return 0;
}
