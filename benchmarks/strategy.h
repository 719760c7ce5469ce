// The strategy spec: one string names a load strategy everywhere (CLI,
// results, reports). parse_strategy() and to_string() are the only parser and
// printer, and they round-trip exactly: to_string(parse_strategy(s)) == s for
// every canonical s, and parse_strategy(to_string(x)) == x for every x.
//
// Grammar (DESIGN.md):
//   read[:chunk=SIZE]                 chunked read() into one heap buffer
//   pread[:threads=N][,chunk=SIZE]    N threads pread() disjoint ranges
//   direct[:qd=N][,chunk=SIZE]        O_DIRECT into aligned buffers, io_uring QD N
//   uring[:qd=N][,chunk=SIZE]         buffered io_uring reads, QD N
//   mmap:private|shared[,populate][,fadvise=F][,advise=A][,mlock]
//       A = normal|sequential|random|willneed|dontneed|hugepage|populate_read
//       F = normal|sequential|random|willneed|noreuse
//   llama.cpp[:no-mmap|:mlock|:numa|:direct]   presets, see presets()
//
// Canonical form: keys in the order above (for mmap that is the order of the
// syscalls: fadvise, mmap, madvise, mlock), and only the keys that were set
// (a default is never printed). Keys may be given in any order; sizes print
// in their shortest form ("1M"). A list of specs ("read,mmap:shared,populate")
// splits where a new method or preset name begins: parse_strategy_list().
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace faultline {

enum class LoadMethod { kRead, kPread, kDirect, kUring, kMmap };
enum class MapSharing { kPrivate, kShared };
enum class MadviseHint {
  kNormal,
  kSequential,
  kRandom,
  kWillneed,
  kDontneed,
  kHugepage,
  kPopulateRead
};
enum class FadviseHint { kNormal, kSequential, kRandom, kWillneed, kNoreuse };

struct Strategy {
  LoadMethod method = LoadMethod::kRead;
  // read/pread/direct/uring
  std::optional<std::uint64_t> chunk;  // bytes per request; nullopt = default_chunk()
  std::optional<int> threads;          // pread
  std::optional<int> qd;               // direct, uring
  // mmap
  MapSharing sharing = MapSharing::kPrivate;
  bool populate = false;  // MAP_POPULATE
  bool mlock = false;     // mlock() the whole mapping after mmap
  std::optional<MadviseHint> advise;
  std::optional<FadviseHint> fadvise;
  // Set when the spec was a preset name ("llama.cpp:numa"): printed instead of
  // the expanded fields, and it selects preset-specific behaviour (llama.cpp's
  // mlock goes on unlocked after ENOMEM; its direct mode falls back to buffered).
  std::string preset;

  std::uint64_t chunk_bytes() const;  // chunk or the method's default
  int thread_count() const { return threads.value_or(1); }
  int queue_depth() const { return qd.value_or(1); }

  bool operator==(const Strategy&) const = default;
};

// Throws std::invalid_argument with a message that names the spec, the bad
// key or value, and lists the valid ones.
Strategy parse_strategy(std::string_view spec);
std::string to_string(const Strategy& s);

const char* to_string(MadviseHint h);
const char* to_string(FadviseHint h);

struct Preset {
  std::string name;  // "llama.cpp:numa"
  std::string
      expansion;  // the spec it stands for, e.g. "mmap:shared,fadvise=sequential,advise=random"
  std::string description;  // syscalls and where in llama.cpp's source they live
};
const std::vector<Preset>& presets();

// Comma-separated specs; an item that is only a key (populate, mlock,
// advise=..., chunk=...) continues the spec before it.
std::vector<Strategy> parse_strategy_list(std::string_view list);

// Every canonical strategy faultline-bench registers by default.
std::vector<std::string> default_strategy_specs();

}  // namespace faultline
