#include "harness/syscall_flags.h"

#include <fcntl.h>
#include <sys/mman.h>

#include <utility>
#include <vector>

#include <fmt/format.h>

namespace faultline::harness {
namespace {

using Names = std::vector<std::pair<std::uint64_t, const char*>>;

std::string bits(std::uint64_t v, const Names& names, std::string out = "") {
  for (const auto& [bit, name] : names)
    if (bit && (v & bit) == bit) {
      out += (out.empty() ? "" : "|") + std::string(name);
      v &= ~bit;
    }
  if (v) out += (out.empty() ? "" : "|") + fmt::format("{:#x}", v);
  return out.empty() ? "0" : out;
}

const char* value_name(std::uint64_t v, const Names& names) {
  for (const auto& [value, name] : names)
    if (value == v) return name;
  return nullptr;
}

const Names kMadvise = {{MADV_NORMAL, "MADV_NORMAL"},
                        {MADV_RANDOM, "MADV_RANDOM"},
                        {MADV_SEQUENTIAL, "MADV_SEQUENTIAL"},
                        {MADV_WILLNEED, "MADV_WILLNEED"},
                        {MADV_DONTNEED, "MADV_DONTNEED"},
                        {8, "MADV_FREE"},
                        {9, "MADV_REMOVE"},
                        {10, "MADV_DONTFORK"},
                        {11, "MADV_DOFORK"},
                        {12, "MADV_MERGEABLE"},
                        {13, "MADV_UNMERGEABLE"},
                        {14, "MADV_HUGEPAGE"},
                        {15, "MADV_NOHUGEPAGE"},
                        {16, "MADV_DONTDUMP"},
                        {17, "MADV_DODUMP"},
                        {20, "MADV_COLD"},
                        {21, "MADV_PAGEOUT"},
                        {MADV_POPULATE_READ, "MADV_POPULATE_READ"},
                        {MADV_POPULATE_WRITE, "MADV_POPULATE_WRITE"},
                        {25, "MADV_COLLAPSE"}};

const Names kFadvise = {
    {POSIX_FADV_NORMAL, "POSIX_FADV_NORMAL"},         {POSIX_FADV_RANDOM, "POSIX_FADV_RANDOM"},
    {POSIX_FADV_SEQUENTIAL, "POSIX_FADV_SEQUENTIAL"}, {POSIX_FADV_WILLNEED, "POSIX_FADV_WILLNEED"},
    {POSIX_FADV_DONTNEED, "POSIX_FADV_DONTNEED"},     {POSIX_FADV_NOREUSE, "POSIX_FADV_NOREUSE"}};

}  // namespace

std::string open_flags(std::uint64_t f) {
  const std::uint64_t mode = f & O_ACCMODE;
  std::string out = mode == O_WRONLY ? "O_WRONLY" : mode == O_RDWR ? "O_RDWR" : "O_RDONLY";
  // O_LARGEFILE: the kernel sets it on every 64-bit open; not printed.
  return bits(f & ~std::uint64_t(O_ACCMODE) & ~std::uint64_t(0100000),
              {{O_CREAT, "O_CREAT"},
               {O_EXCL, "O_EXCL"},
               {O_NOCTTY, "O_NOCTTY"},
               {O_TRUNC, "O_TRUNC"},
               {O_APPEND, "O_APPEND"},
               {O_NONBLOCK, "O_NONBLOCK"},
               {O_DSYNC, "O_DSYNC"},
               {O_DIRECT, "O_DIRECT"},
               {O_DIRECTORY, "O_DIRECTORY"},
               {O_NOFOLLOW, "O_NOFOLLOW"},
               {O_NOATIME, "O_NOATIME"},
               {O_CLOEXEC, "O_CLOEXEC"},
               {O_PATH, "O_PATH"}},
              out);
}

std::string mmap_prot(std::uint64_t p) {
  if (p == PROT_NONE) return "PROT_NONE";
  return bits(p, {{PROT_READ, "PROT_READ"}, {PROT_WRITE, "PROT_WRITE"}, {PROT_EXEC, "PROT_EXEC"}});
}

std::string mmap_flags(std::uint64_t f) {
  const std::uint64_t type = f & 0x0f;  // MAP_TYPE
  std::string out = type == MAP_SHARED    ? "MAP_SHARED"
                    : type == MAP_PRIVATE ? "MAP_PRIVATE"
                    : type == 0x03        ? "MAP_SHARED_VALIDATE"
                                          : fmt::format("{:#x}", type);
  return bits(f & ~0x0full,
              {{MAP_FIXED, "MAP_FIXED"},
               {MAP_ANONYMOUS, "MAP_ANONYMOUS"},
               {MAP_GROWSDOWN, "MAP_GROWSDOWN"},
               {MAP_DENYWRITE, "MAP_DENYWRITE"},
               {MAP_LOCKED, "MAP_LOCKED"},
               {MAP_NORESERVE, "MAP_NORESERVE"},
               {MAP_POPULATE, "MAP_POPULATE"},
               {MAP_NONBLOCK, "MAP_NONBLOCK"},
               {MAP_HUGETLB, "MAP_HUGETLB"},
               {0x100000, "MAP_FIXED_NOREPLACE"}},
              out);
}

std::string madvise_advice(std::uint64_t a) {
  const char* n = value_name(a, kMadvise);
  return n ? n : fmt::format("MADV_{}", a);
}

std::string fadvise_advice(std::uint64_t a) {
  const char* n = value_name(a, kFadvise);
  return n ? n : fmt::format("POSIX_FADV_{}", a);
}

std::string mlock2_flags(std::uint64_t f) {
  return bits(f, {{MLOCK_ONFAULT, "MLOCK_ONFAULT"}});
}

std::string madvise_key(std::uint64_t a) {
  switch (a) {
    case MADV_NORMAL:
      return "normal";
    case MADV_SEQUENTIAL:
      return "sequential";
    case MADV_RANDOM:
      return "random";
    case MADV_WILLNEED:
      return "willneed";
    case MADV_DONTNEED:
      return "dontneed";
    case 14:
      return "hugepage";
    case MADV_POPULATE_READ:
      return "populate_read";
    default:
      return "";
  }
}

std::string fadvise_key(std::uint64_t a) {
  switch (a) {
    case POSIX_FADV_NORMAL:
      return "normal";
    case POSIX_FADV_SEQUENTIAL:
      return "sequential";
    case POSIX_FADV_RANDOM:
      return "random";
    case POSIX_FADV_WILLNEED:
      return "willneed";
    case POSIX_FADV_NOREUSE:
      return "noreuse";
    default:
      return "";
  }
}

}  // namespace faultline::harness
