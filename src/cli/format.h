// Shared text/JSON renderings of loader results for the cmd_*.cpp files.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "common/registry.h"
#include "loader/patcher.h"

namespace hotpatch::cli {

std::string plural(size_t n, const char* word);  // "1 function", "2 functions"
std::string stop_summary(const StopReport& r);    // "1 function, 1 attempt, paused 143 us (12 threads, longest thread 4242)"
nlohmann::json stop_json(const StopReport& r);
nlohmann::json patch_json(const PatchRecord& p);
std::string iso_time(uint64_t unix_seconds);

}  // namespace hotpatch::cli
