// The strategy spec: one string names a load strategy everywhere (CLI,
// results, reports). parse_strategy() and to_string() are the only parser and
// printer, and they round-trip exactly: to_string(parse_strategy(s)) == s for
// every canonical s, and parse_strategy(to_string(x)) == x for every x.
//
// Grammar (DESIGN.md):
//   read[:chunk=SIZE]                 chunked read() into one heap buffer
//   read:tensors[=stdio][,mlock[=hard|soft]]
//                                     each tensor of the model's layout its own lseek()+read()
//                                     into a file-sized heap buffer, in llama.cpp's order
//                                     (llama_model_loader::load_all_data, no-mmap);
//                                     =stdio: the syscalls glibc's fseek+fread make of it
//                                     (lseek to the 4 KiB block, read() of the bytes before
//                                     the tensor, read() of its whole blocks, a 4 KiB read()
//                                     for its tail); mlock: then mlock() the pages of the
//                                     tensors llama.cpp keeps in host buffers (not the
//                                     repacked ones), as --load-mode mlock does
//   pread[:threads=N][,chunk=SIZE]    N threads pread() disjoint ranges
//   direct[:tensors|:qd=N[,chunk=SIZE]][,fallback=buffered]
//                                     tensors: per tensor lseek()+read() of its 4 KiB-aligned
//                                     span through O_DIRECT into a posix_memalign'ed bounce
//                                     buffer, copied out (llama_file::read_aligned_chunk);
//                                     fallback=buffered then reads as read:tensors=stdio
//                                     O_DIRECT into aligned buffers, io_uring QD N;
//                                     fallback=buffered: when the file system refuses
//                                     O_DIRECT, warn and read() buffered instead of failing
//   uring[:qd=N][,chunk=SIZE]         buffered io_uring reads, QD N
//   mmap:private|shared[,populate][,fadvise=F][,advise=A][,lazy[=SIZE]][,mlock[=hard|soft]]
//        [,copy[=all|repack]][,reclaim]
//       A = normal|sequential|random|willneed|dontneed|hugepage|populate_read
//       F = normal|sequential|random|willneed|noreuse
//       mlock (= mlock=hard): one mlock() of the whole mapping; failure fails the load
//       mlock=soft: mlock() step by step; the first failure warns, unlocks what was
//                   locked and the load goes on unlocked (llama.cpp --mlock)
//       lazy[=SIZE]: tensors larger than SIZE (default 4G, llama.cpp's auto threshold)
//                   get MADV_RANDOM; when one does, MAP_POPULATE is dropped and
//                   advise= covers only the other tensors (llama.cpp --tensor-read-lazy)
//       copy[=all]: after mapping, copy every tensor into one anonymous buffer
//                   (safetensors load_file, PyTorch); copy=repack: only the tensors
//                   llama.cpp's CPU backend repacks on this host's CPU (repack_selected())
//       reclaim:    after the copy, MADV_DONTNEED the whole pages of each copied
//                   tensor's source (llama.cpp --reclaim-mmap-source); needs copy, not mlock
//   llama.cpp[:no-mmap|:mlock|:numa|:direct|...]   presets and aliases, see presets()
//
// A preset is only a name for its expansion: parse_strategy(name) equals
// parse_strategy(expansion) but for `preset`, and no loader looks at the name.
//
// Canonical form: keys in the order above (for mmap that is the order of the
// syscalls: fadvise, mmap, madvise, mlock), and only the keys that were set
// (a default is never printed). Keys may be given in any order; sizes print
// in their shortest form ("1M"); mlock=hard prints as mlock. A list of specs
// ("read,mmap:shared,populate") splits where a new method or preset name begins:
// parse_strategy_list().
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
enum class MlockMode { kHard, kSoft };
enum class DirectFallback { kBuffered };
enum class CopyMode { kAll, kRepack };
enum class TensorReads { kExact, kStdio };

// lazy's default threshold: llama_model_loader::lazy_read::add (auto mode)
// lazily reads only tensors of more than 4 GiB.
inline constexpr std::uint64_t kLazyDefaultBytes = 4ull << 30;

struct Strategy {
  LoadMethod method = LoadMethod::kRead;
  // read/pread/direct/uring
  std::optional<std::uint64_t> chunk;      // bytes per request; nullopt = default_chunk()
  std::optional<int> threads;              // pread
  std::optional<int> qd;                   // direct, uring
  std::optional<DirectFallback> fallback;  // direct: what to do when O_DIRECT is refused
  std::optional<TensorReads> tensors;      // read: per tensor lseek()+read() (read:tensors)
  // mmap
  MapSharing sharing = MapSharing::kPrivate;
  bool populate = false;           // MAP_POPULATE
  std::optional<MlockMode> mlock;  // mmap: mlock() the mapping after madvise; read:tensors: the
                                   // host tensors' pages after reading (nullopt: no mlock)
  std::optional<MadviseHint> advise;
  std::optional<FadviseHint> fadvise;
  std::optional<std::uint64_t> lazy;  // tensors above this many bytes get MADV_RANDOM
  std::optional<CopyMode> copy;       // copy tensors into anonymous memory after mapping
  bool reclaim = false;               // MADV_DONTNEED the source of copied tensors
  // Set when the spec was a preset name ("llama.cpp:numa"): printed instead of
  // the expanded fields. Only a name: every behaviour is in the fields above.
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

// True when the load reads or maps every byte before the pattern runs: read,
// pread, direct and uring (into a heap buffer), and mmap with populate,
// advise=populate_read or a hard mlock (without lazy or reclaim, which leave
// pages for the pattern to fault in). An access pattern then touches pages
// that are already there: patterns beyond none and forward measure the same
// load again. (A soft mlock may fail and leave the mapping unpopulated.)
bool loads_everything_up_front(const Strategy& s);

struct Preset {
  std::string name;  // "llama.cpp:numa"
  std::string
      expansion;  // the spec it stands for, e.g. "mmap:shared,fadvise=sequential,advise=random"
  std::string description;  // syscalls and where in llama.cpp's source they live
  std::string summary;      // one line: what it stands for
  std::string validated;    // against which real build it was checked, or "source only"
};
const std::vector<Preset>& presets();  // presets.cpp

// True for a preset whose expansion an earlier preset already has (llama.cpp's
// --load-mode names): it parses and prints, but is not registered twice.
bool is_alias(const Preset& p);

// "name = expansion — summary", one line per preset, for --help footers.
std::string preset_help();

// Comma-separated specs; an item that is only a key (populate, mlock,
// advise=..., chunk=...) continues the spec before it.
std::vector<Strategy> parse_strategy_list(std::string_view list);

// Every canonical strategy faultline-bench registers by default.
std::vector<std::string> default_strategy_specs();

}  // namespace faultline
