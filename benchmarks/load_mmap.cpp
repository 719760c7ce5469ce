// mmap: the file mapped PROT_READ, private or shared, with the fadvise,
// MAP_POPULATE, madvise, lazy advice, mlock, copy and reclaim of the strategy,
// in that (syscall) order.
#include <sys/mman.h>
#include <sys/resource.h>

#include <fmt/format.h>

#include <algorithm>
#include <stdexcept>
#include <system_error>
#include <utility>
#include <vector>

#include "benchmarks/loaders.h"
#include "benchmarks/tensor_plan.h"
#include "common/mm_flags.h"
#include "common/size.h"
#include "common/unique_fd.h"

namespace faultline::detail {
namespace {

constexpr std::uint64_t kHugeAlign = 2ull << 20;

int fadvise_flag(FadviseHint h) {
  switch (h) {
    case FadviseHint::kNormal:
      return POSIX_FADV_NORMAL;
    case FadviseHint::kSequential:
      return POSIX_FADV_SEQUENTIAL;
    case FadviseHint::kRandom:
      return POSIX_FADV_RANDOM;
    case FadviseHint::kWillneed:
      return POSIX_FADV_WILLNEED;
    case FadviseHint::kNoreuse:
      return POSIX_FADV_NOREUSE;
  }
  return POSIX_FADV_NORMAL;
}

int madvise_flag(MadviseHint h) {
  switch (h) {
    case MadviseHint::kNormal:
      return MADV_NORMAL;
    case MadviseHint::kSequential:
      return MADV_SEQUENTIAL;
    case MadviseHint::kRandom:
      return MADV_RANDOM;
    case MadviseHint::kWillneed:
      return MADV_WILLNEED;
    case MadviseHint::kDontneed:
      return MADV_DONTNEED;
    case MadviseHint::kHugepage:
      return MADV_HUGEPAGE;
    case MadviseHint::kPopulateRead:
      return MADV_POPULATE_READ;
  }
  return MADV_NORMAL;
}

// A file mapping whose start is 2 MiB aligned, so MADV_HUGEPAGE can map PMDs:
// reserve size + 2 MiB, map the file MAP_FIXED at the aligned address inside,
// and give back the slack on both sides.
void* map_aligned(std::uint64_t size, int flags, int fd, const std::string& path) {
  std::uint64_t span = size + kHugeAlign;
  void* reserve =
      ::mmap(nullptr, span, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (reserve == MAP_FAILED) throw sys_error("mmap (reserve)", path);
  auto base = reinterpret_cast<std::uintptr_t>(reserve);
  std::uintptr_t aligned = (base + kHugeAlign - 1) & ~(kHugeAlign - 1);
  void* addr = ::mmap(reinterpret_cast<void*>(aligned), size, PROT_READ, flags | MAP_FIXED, fd, 0);
  if (addr == MAP_FAILED) {
    int err = errno;
    ::munmap(reserve, span);
    throw sys_error("mmap", path, err);
  }
  std::uint64_t mapped_end = aligned + ((size + 4095) & ~std::uint64_t(4095));
  if (aligned > base) ::munmap(reserve, aligned - base);
  if (base + span > mapped_end)
    ::munmap(reinterpret_cast<void*>(mapped_end), base + span - mapped_end);
  return addr;
}

// mlock=soft (llama.cpp --mlock): lock the mapping step by step as tensors
// load; on the first failure warn (as llama_mlock::raw_lock does), unlock
// what was locked and go on unlocked.
void mlock_stepwise(Mapping& m, const std::string& path) {
  constexpr std::uint64_t kStep = 64ull << 20;
  std::uint64_t locked = 0;
  while (locked < m.size()) {
    std::uint64_t len = std::min<std::uint64_t>(kStep, m.size() - locked);
    if (::mlock(m.data() + locked, len) != 0) {
      int err = errno;
      if (locked) ::munlock(m.data(), locked);
      m.add_warning(
          fmt::format("{}: mlock failed after {} of {} ({}); RLIMIT_MEMLOCK is {}: try ulimit -l; "
                      "continuing unlocked (mlock=soft, as llama.cpp does)",
                      path, format_size(locked), format_size(m.size()), std::strerror(err),
                      memlock_limit_text()));
      return;
    }
    locked += len;
  }
  m.set_locked(true);
}

using Ranges = std::vector<std::pair<std::uint64_t, std::uint64_t>>;

// lazy: the page-aligned ranges of the tensors above the threshold, sorted
// (llama_model_loader::lazy_read::add keeps tensors of more than 4 GiB).
Ranges lazy_ranges(const ModelLayout& layout, std::uint64_t threshold, std::uint64_t size) {
  Ranges out;
  for (const auto& t : layout.tensors) {
    if (t.bytes <= threshold) continue;
    std::uint64_t beg = t.offset & ~std::uint64_t(4095);
    std::uint64_t end = std::min(size, (t.offset + t.bytes + 4095) & ~std::uint64_t(4095));
    if (!out.empty() && beg <= out.back().second)
      out.back().second = std::max(out.back().second, end);
    else
      out.emplace_back(beg, end);
  }
  return out;
}

// [0, size) without `ranges` (sorted, disjoint), as llama_mmap's
// ranges_complement gives the prefetch ranges.
Ranges complement(const Ranges& ranges, std::uint64_t size) {
  Ranges out;
  std::uint64_t pos = 0;
  for (auto [b, e] : ranges) {
    if (b > pos) out.emplace_back(pos, b);
    pos = std::max(pos, e);
  }
  if (pos < size) out.emplace_back(pos, size);
  return out;
}

void advise_range(void* addr, std::uint64_t beg, std::uint64_t end, int advice, const char* name,
                  const std::string& path) {
  std::uint64_t b = beg & ~std::uint64_t(4095);
  if (end <= b) return;
  if (::madvise(static_cast<char*>(addr) + b, end - b, advice) != 0) {
    int err = errno;
    throw std::system_error(err, std::generic_category(),
                            fmt::format("madvise({}, {}) of [{}, {})", path, name, b, end));
  }
}

}  // namespace

std::string memlock_limit_text() {
  struct rlimit rl {};
  if (::getrlimit(RLIMIT_MEMLOCK, &rl) != 0) return "unknown";
  if (rl.rlim_cur == RLIM_INFINITY) return "unlimited";
  return format_size(rl.rlim_cur);
}

Mapping load_mmap(const std::string& path, const Strategy& s, const ModelLayout* layout) {
  ModelLayout own;
  if (!layout && (s.lazy || s.copy)) {
    own = load_layout(path);
    layout = &own;
  }
  UniqueFd fd = open_or_throw(path, O_RDONLY);
  std::uint64_t size = file_size_of(fd.get(), path);
  Ranges lazy = s.lazy ? lazy_ranges(*layout, *s.lazy, size) : Ranges{};
  if (s.fadvise) {
    int rc = ::posix_fadvise(fd.get(), 0, 0, fadvise_flag(*s.fadvise));
    if (rc != 0) throw sys_error("posix_fadvise", path, rc);
  }
  // llama_mmap: "MAP_POPULATE would fault in the lazy ranges too".
  int flags = (s.sharing == MapSharing::kShared ? MAP_SHARED : MAP_PRIVATE) |
              (s.populate && lazy.empty() ? MAP_POPULATE : 0);
  void* addr = nullptr;
  if (s.advise == MadviseHint::kHugepage) {
    addr = map_aligned(size, flags, fd.get(), path);
  } else {
    addr = ::mmap(nullptr, size, PROT_READ, flags, fd.get(), 0);
    if (addr == MAP_FAILED) throw sys_error("mmap", path);
  }
  Mapping m = Mapping::from_mmap(addr, size);
  if (s.advise && !lazy.empty()) {
    for (auto [b, e] : complement(lazy, size))
      advise_range(addr, b, e, madvise_flag(*s.advise), to_string(*s.advise), path);
  } else if (s.advise) {
    if (::madvise(addr, size, madvise_flag(*s.advise)) != 0) {
      int err = errno;
      throw std::system_error(err, std::generic_category(),
                              fmt::format("madvise({}, advise={})", path, to_string(*s.advise)));
    }
  }
  for (auto [b, e] : lazy) advise_range(addr, b, e, MADV_RANDOM, "random (lazy)", path);
  if (s.mlock) {
    if (*s.mlock == MlockMode::kSoft) {
      mlock_stepwise(m, path);
    } else if (::mlock(addr, size) != 0) {
      int err = errno;
      throw std::runtime_error(
          fmt::format("{}: mlock of {} failed ({}): RLIMIT_MEMLOCK is {}; raise it (ulimit -l, or "
                      "LimitMEMLOCK= in systemd) or run as root",
                      path, format_size(size), std::strerror(err), memlock_limit_text()));
    } else {
      m.set_locked(true);
    }
  }
  if (s.copy) copy_tensors(m, s, *layout, path);
  return m;
}

}  // namespace faultline::detail
