#include "loader/register_use.h"

#include "elf/elf_image.h"
#include "loader/target_objects.h"

namespace hotpatch {

namespace {

arch::CodeSource code_of(const ElfImage& image) {
  arch::CodeSource code;
  code.read = [&image](uint64_t addr, size_t len, std::vector<uint8_t>& out) {
    auto bytes = image.read_vaddr(addr, len);
    if (!bytes) return false;
    out = std::move(*bytes);
    return true;
  };
  code.function_size_at = [&image](uint64_t addr) -> std::optional<uint64_t> {
    const ElfSymbol* f = image.function_containing(addr);
    if (!f || f->value != addr || f->size == 0) return std::nullopt;
    return f->size;
  };
  return code;
}

struct FunctionInImage {
  const ElfImage* image = nullptr;
  uint64_t vaddr = 0;
  uint64_t size = 0;
};

std::optional<FunctionInImage> function_at(const TargetObjects& objects, RemoteAddr entry) {
  const LoadedObject* object = objects.object_containing(entry);
  if (!object) return std::nullopt;
  const ElfImage& image = objects.image(*object);
  uint64_t vaddr = entry.value() - static_cast<uint64_t>(object->bias);
  const ElfSymbol* f = image.function_containing(vaddr);
  if (!f || f->value != vaddr || f->size == 0) return std::nullopt;
  return FunctionInImage{&image, vaddr, f->size};
}

}  // namespace

arch::RegisterSet registers_to_preserve(const ElfImage& old_image, uint64_t old_vaddr, uint64_t old_size,
                                        const ElfImage& new_image, uint64_t new_vaddr, uint64_t new_size) {
  const arch::RegisterSet all = arch::RegisterSet::all_call_clobbered();
  arch::RegisterSet old_clobbers = arch::clobbered_registers(old_vaddr, old_size, code_of(old_image));
  if (old_clobbers == all) return {};
  arch::RegisterSet new_clobbers =
      new_size ? arch::clobbered_registers(new_vaddr, new_size, code_of(new_image)) : all;
  return new_clobbers.without(old_clobbers);
}

arch::RegisterSet registers_to_preserve(const TargetObjects& objects, RemoteAddr old_function, RemoteAddr new_function) {
  auto old_fn = function_at(objects, old_function);
  if (!old_fn) return {};
  auto new_fn = function_at(objects, new_function);
  if (!new_fn) return arch::RegisterSet::all_call_clobbered().without(
                   arch::clobbered_registers(old_fn->vaddr, old_fn->size, code_of(*old_fn->image)));
  return registers_to_preserve(*old_fn->image, old_fn->vaddr, old_fn->size, *new_fn->image, new_fn->vaddr, new_fn->size);
}

}  // namespace hotpatch
