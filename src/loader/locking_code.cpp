#include "loader/locking_code.h"

#include <elf.h>

#include <algorithm>
#include <set>

#include <fmt/format.h>

#include "arch/arch.h"
#include "loader/address_space.h"
#include "loader/process.h"
#include "loader/target_objects.h"
#include "loader/thread.h"

namespace hotpatch {

namespace {

// The allocation interface whose definition in an object makes it the allocator.
constexpr const char* kAllocationFunctions[] = {
    "malloc", "free", "calloc", "realloc", "reallocarray", "posix_memalign", "aligned_alloc", "memalign",
    "valloc", "pvalloc", "malloc_usable_size",
};
// C++ operator new / new[] / delete / delete[], all overloads (Itanium mangling).
bool is_operator_new_or_delete(const std::string& name) {
  return name.rfind("_Znw", 0) == 0 || name.rfind("_Zna", 0) == 0 || name.rfind("_Zdl", 0) == 0 ||
         name.rfind("_Zda", 0) == 0;
}
constexpr size_t kMaxFunctions = 50000;
constexpr size_t kMaxStackScan = 8 << 20;

bool is_function(const ElfSymbol& s) {
  return (s.type == STT_FUNC || s.type == STT_GNU_IFUNC) && s.section_index != 0 && s.size > 0;
}

std::vector<RemoteRange> merged(std::vector<RemoteRange> ranges) {
  std::sort(ranges.begin(), ranges.end(), [](const RemoteRange& a, const RemoteRange& b) { return a.start < b.start; });
  std::vector<RemoteRange> out;
  for (const auto& r : ranges) {
    if (!out.empty() && r.start <= out.back().end) out.back().end = std::max(out.back().end, r.end);
    else out.push_back(r);
  }
  return out;
}

// The functions of `object` reachable from its allocation functions by direct calls
// and jumps; nullopt when some of that code cannot be read or decoded.
std::optional<std::vector<RemoteRange>> allocator_closure(const TargetObjects& objects, const LoadedObject& object) {
  const ElfImage& image = objects.image(object);
  std::vector<uint64_t> work;
  for (const ElfSymbol& s : image.symbols()) {
    if (!is_function(s)) continue;
    bool entry = is_operator_new_or_delete(s.name);
    for (const char* name : kAllocationFunctions) entry = entry || s.name == name;
    if (entry) work.push_back(s.value);
  }
  std::set<uint64_t> seen;
  std::vector<RemoteRange> ranges;
  while (!work.empty()) {
    uint64_t at = work.back();
    work.pop_back();
    const ElfSymbol* f = image.function_containing(at);
    if (!f) continue;  // a PLT stub: into another object (libc's memset, ...)
    if (!seen.insert(f->value).second) continue;
    if (seen.size() > kMaxFunctions) return std::nullopt;
    auto bytes = image.read_vaddr(f->value, f->size);
    if (!bytes) return std::nullopt;
    auto targets = arch::direct_branch_targets(*bytes, f->value);
    if (!targets) return std::nullopt;
    ranges.push_back({RemoteAddr(f->value + object.bias), RemoteAddr(f->value + f->size + object.bias)});
    for (uint64_t t : *targets)
      if (t < f->value || t >= f->value + f->size) work.push_back(t);
  }
  return ranges;
}

}  // namespace

LockingCode LockingCode::find(const TargetObjects& objects) {
  LockingCode code;
  // Every object but libc that exports a malloc: the dynamic linker binds malloc to
  // the first in its lookup order (the program, LD_PRELOAD libraries, then the
  // needed ones); counting them all needs no guess at that order, and an extra one
  // only makes a thread look busy, never the reverse.
  const LoadedObject* libc = objects.find_object("libc.so.6");
  for (const LoadedObject& object : objects.objects()) {
    if (&object == libc) continue;
    bool exports_malloc = false;
    try {
      for (const ElfSymbol* s : objects.image(object).find_symbols("malloc"))
        exports_malloc = exports_malloc || (s->dynamic && s->bind != STB_LOCAL && is_function(*s));
    } catch (const std::exception&) {
      continue;  // an object we cannot read (the vdso, a deleted file) is not an allocator
    }
    if (!exports_malloc) continue;
    std::optional<std::vector<RemoteRange>> ranges;
    if (object.is_main) ranges = allocator_closure(objects, object);
    if (!ranges || ranges->empty()) ranges = object.executable_ranges;  // the whole object
    if (code.allocator_.empty()) code.allocator_ = object.path;
    code.parts_.push_back({fmt::format("the allocator ({})", object.path), merged(std::move(*ranges))});
  }
  if (const LoadedObject* unwinder = objects.find_object("libgcc_s.so.1"))
    code.parts_.push_back({fmt::format("the unwinder ({})", unwinder->path), merged(unwinder->executable_ranges)});
  return code;
}

std::vector<std::string> LockingCode::describe() const {
  std::vector<std::string> out;
  for (const Part& p : parts_) {
    uint64_t bytes = 0;
    for (const auto& r : p.ranges) bytes += r.size();
    out.push_back(fmt::format("{}: {} range{}, {} bytes", p.what, p.ranges.size(), p.ranges.size() == 1 ? "" : "s", bytes));
  }
  return out;
}

const LockingCode::Part* LockingCode::part_containing(RemoteAddr addr) const {
  for (const Part& p : parts_) {
    auto it = std::upper_bound(p.ranges.begin(), p.ranges.end(), addr,
                               [](RemoteAddr a, const RemoteRange& r) { return a < r.start; });
    if (it != p.ranges.begin() && std::prev(it)->contains(addr)) return &p;
  }
  return nullptr;
}

std::string LockingCode::code_at(RemoteAddr addr) const {
  const Part* p = part_containing(addr);
  return p ? p->what : std::string();
}

std::string LockingCode::inside(const Process& process, const Thread& thread, const AddressSpace& space) const {
  if (parts_.empty()) return "";
  const arch::Registers& regs = thread.registers();
  if (const Part* p = part_containing(regs.pc())) return fmt::format("it is running {}", p->what);
  const RemoteAddr sp = regs.sp();
  const Mapping* stack = space.find(sp);
  if (!stack) return fmt::format("its stack pointer {} is in no mapping we know", sp);
  const size_t len = std::min<uint64_t>(stack->range.end - sp, kMaxStackScan) & ~size_t{7};
  std::vector<uint64_t> words(len / 8);
  const size_t got = process.read_partial(sp, words.data(), len) / 8;
  for (size_t i = 0; i < got; ++i)
    if (const Part* p = part_containing(RemoteAddr(words[i])))
      return fmt::format("its stack holds {} (at {}), in {}: it may hold one of its locks", RemoteAddr(words[i]),
                         sp + static_cast<int64_t>(8 * i), p->what);
  return "";
}

}  // namespace hotpatch
