// An address in the target process. A distinct type so that a local pointer and a
// target address can never be mixed up, and so arithmetic on addresses is explicit.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include <fmt/format.h>

namespace hotpatch {

class RemoteAddr {
 public:
  constexpr RemoteAddr() = default;
  constexpr explicit RemoteAddr(uint64_t value) : value_(value) {}

  constexpr uint64_t value() const { return value_; }
  constexpr bool is_null() const { return value_ == 0; }

  constexpr RemoteAddr operator+(int64_t delta) const { return RemoteAddr(value_ + delta); }
  constexpr RemoteAddr operator-(int64_t delta) const { return RemoteAddr(value_ - delta); }
  constexpr int64_t operator-(RemoteAddr other) const { return static_cast<int64_t>(value_ - other.value_); }
  constexpr auto operator<=>(const RemoteAddr&) const = default;

  std::string str() const { return fmt::format("{:#x}", value_); }

 private:
  uint64_t value_ = 0;
};

// A half-open range [start, end) of target addresses.
struct RemoteRange {
  RemoteAddr start;
  RemoteAddr end;

  constexpr bool contains(RemoteAddr a) const { return a >= start && a < end; }
  constexpr uint64_t size() const { return end - start; }
  constexpr bool empty() const { return end <= start; }
};

}  // namespace hotpatch

template <>
struct fmt::formatter<hotpatch::RemoteAddr> : fmt::formatter<std::string> {
  auto format(hotpatch::RemoteAddr a, format_context& ctx) const {
    return fmt::formatter<std::string>::format(a.str(), ctx);
  }
};
