#include "benchmarks/strategy.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <array>
#include <charconv>
#include <stdexcept>

#include "common/size.h"
#include "common/split_list.h"

namespace faultline {
namespace {

constexpr std::uint64_t kMiB = 1ull << 20;

template <typename E, std::size_t N>
struct NameTable {
  std::array<std::pair<E, const char*>, N> entries;
  const char* name(E e) const {
    for (auto& [v, n] : entries)
      if (v == e) return n;
    return "?";
  }
  std::string all() const {
    std::string out;
    for (auto& [v, n] : entries) out += (out.empty() ? "" : "|") + std::string(n);
    return out;
  }
  bool find(std::string_view s, E& out) const {
    for (auto& [v, n] : entries)
      if (s == n) {
        out = v;
        return true;
      }
    return false;
  }
};

constexpr NameTable<LoadMethod, 5> kMethods{{{
    {LoadMethod::kRead, "read"},
    {LoadMethod::kPread, "pread"},
    {LoadMethod::kDirect, "direct"},
    {LoadMethod::kUring, "uring"},
    {LoadMethod::kMmap, "mmap"},
}}};

constexpr NameTable<MadviseHint, 7> kMadvise{{{
    {MadviseHint::kNormal, "normal"},
    {MadviseHint::kSequential, "sequential"},
    {MadviseHint::kRandom, "random"},
    {MadviseHint::kWillneed, "willneed"},
    {MadviseHint::kDontneed, "dontneed"},
    {MadviseHint::kHugepage, "hugepage"},
    {MadviseHint::kPopulateRead, "populate_read"},
}}};

constexpr NameTable<FadviseHint, 5> kFadvise{{{
    {FadviseHint::kNormal, "normal"},
    {FadviseHint::kSequential, "sequential"},
    {FadviseHint::kRandom, "random"},
    {FadviseHint::kWillneed, "willneed"},
    {FadviseHint::kNoreuse, "noreuse"},
}}};

constexpr NameTable<MlockMode, 2> kMlock{{{
    {MlockMode::kHard, "hard"},
    {MlockMode::kSoft, "soft"},
}}};

constexpr NameTable<DirectFallback, 1> kFallback{{{
    {DirectFallback::kBuffered, "buffered"},
}}};

constexpr NameTable<CopyMode, 2> kCopy{{{
    {CopyMode::kAll, "all"},
    {CopyMode::kRepack, "repack"},
}}};

// The keys each method accepts, in canonical order.
const char* valid_keys(LoadMethod m) {
  switch (m) {
    case LoadMethod::kRead:
      return "chunk=SIZE, or tensors[=stdio][,mlock[=hard|soft]]";
    case LoadMethod::kPread:
      return "threads=N, chunk=SIZE";
    case LoadMethod::kDirect:
      return "tensors or qd=N, chunk=SIZE; fallback=buffered";
    case LoadMethod::kUring:
      return "qd=N, chunk=SIZE";
    case LoadMethod::kMmap:
      return "private|shared (first), populate, fadvise=normal|sequential|random|willneed|noreuse, "
             "advise=normal|sequential|random|willneed|dontneed|hugepage|populate_read, "
             "lazy[=SIZE], mlock[=hard|soft], copy[=all|repack], reclaim";
  }
  return "";
}

[[noreturn]] void fail(std::string_view spec, const std::string& why) {
  throw std::invalid_argument(fmt::format("invalid strategy '{}': {}", spec, why));
}

int parse_positive_int(std::string_view spec, std::string_view key, std::string_view v) {
  int out = 0;
  auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), out);
  if (ec != std::errc() || p != v.data() + v.size() || out <= 0 || out > 4096)
    fail(spec, fmt::format("{}={} is not an integer in 1..4096", key, v));
  return out;
}

std::uint64_t parse_lazy(std::string_view spec, std::string_view v) {
  std::uint64_t bytes = 0;
  try {
    bytes = parse_size(v);
  } catch (const std::invalid_argument& e) {
    fail(spec, fmt::format("lazy={}: {}", v, e.what()));
  }
  if (bytes == 0 || bytes > (1ull << 50)) fail(spec, fmt::format("lazy={} must be 1..1P", v));
  return bytes;
}

std::uint64_t parse_chunk(std::string_view spec, std::string_view v) {
  std::uint64_t bytes = 0;
  try {
    bytes = parse_size(v);
  } catch (const std::invalid_argument& e) {
    fail(spec, fmt::format("chunk={}: {}", v, e.what()));
  }
  if (bytes < 4096 || bytes % 4096 != 0 || bytes > (1ull << 30))
    fail(spec, fmt::format("chunk={} must be a multiple of 4K between 4K and 1G", v));
  return bytes;
}

Strategy parse_plain(std::string_view spec) {
  Strategy s;
  auto colon = spec.find(':');
  std::string_view method = spec.substr(0, colon);
  if (!kMethods.find(method, s.method))
    fail(spec,
         fmt::format("unknown method '{}'; valid: {}, or a preset: {}", method, kMethods.all(), [] {
           std::string p;
           for (auto& pr : presets()) p += (p.empty() ? "" : ", ") + pr.name;
           return p;
         }()));
  if (colon == std::string_view::npos) {
    if (s.method == LoadMethod::kMmap)
      fail(spec, "mmap needs its sharing: mmap:private or mmap:shared");
    return s;
  }
  auto items = split_list(spec.substr(colon + 1));
  for (std::size_t i = 0; i < items.size(); ++i) {
    std::string_view item = items[i];
    if (item.empty()) fail(spec, "empty option (stray comma?)");
    auto eq = item.find('=');
    std::string_view key = item.substr(0, eq);
    std::string_view val = eq == std::string_view::npos ? std::string_view{} : item.substr(eq + 1);
    bool has_val = eq != std::string_view::npos;
    auto bad_key = [&] {
      fail(spec, fmt::format("unknown option '{}' for {}; valid: {}", item, method,
                             valid_keys(s.method)));
    };
    auto need_val = [&] {
      if (!has_val || val.empty()) fail(spec, fmt::format("option '{}' needs a value", key));
    };
    auto no_dup = [&](bool already) {
      if (already) fail(spec, fmt::format("option '{}' given twice", key));
    };
    if (s.method == LoadMethod::kMmap) {
      if (i == 0) {
        if (item == "private")
          s.sharing = MapSharing::kPrivate;
        else if (item == "shared")
          s.sharing = MapSharing::kShared;
        else
          fail(spec, fmt::format("mmap's first option must be private or shared, not '{}'", item));
        continue;
      }
      if (item == "private" || item == "shared") fail(spec, "sharing given twice");
      if (key == "populate" && !has_val) {
        no_dup(s.populate);
        s.populate = true;
      } else if (key == "mlock") {
        no_dup(s.mlock.has_value());
        MlockMode mode = MlockMode::kHard;
        if (has_val && !kMlock.find(val, mode))
          fail(spec, fmt::format("unknown mlock={}; valid: mlock, mlock={}", val, kMlock.all()));
        s.mlock = mode;
      } else if (key == "advise") {
        need_val();
        no_dup(s.advise.has_value());
        MadviseHint h;
        if (!kMadvise.find(val, h))
          fail(spec, fmt::format("unknown advise={}; valid: {}", val, kMadvise.all()));
        s.advise = h;
      } else if (key == "lazy") {
        no_dup(s.lazy.has_value());
        s.lazy = has_val ? parse_lazy(spec, val) : kLazyDefaultBytes;
      } else if (key == "copy") {
        no_dup(s.copy.has_value());
        CopyMode c = CopyMode::kAll;
        if (has_val && !kCopy.find(val, c))
          fail(spec, fmt::format("unknown copy={}; valid: copy, copy={}", val, kCopy.all()));
        s.copy = c;
      } else if (key == "reclaim" && !has_val) {
        no_dup(s.reclaim);
        s.reclaim = true;
      } else if (key == "fadvise") {
        need_val();
        no_dup(s.fadvise.has_value());
        FadviseHint h;
        if (!kFadvise.find(val, h))
          fail(spec, fmt::format("unknown fadvise={}; valid: {}", val, kFadvise.all()));
        s.fadvise = h;
      } else {
        bad_key();
      }
      continue;
    }
    if (key == "mlock" && s.method == LoadMethod::kRead) {
      no_dup(s.mlock.has_value());
      MlockMode mode = MlockMode::kHard;
      if (has_val && !kMlock.find(val, mode))
        fail(spec, fmt::format("unknown mlock={}; valid: mlock, mlock={}", val, kMlock.all()));
      s.mlock = mode;
    } else if (key == "tensors" && s.method == LoadMethod::kDirect) {
      no_dup(s.tensors.has_value());
      if (has_val) fail(spec, "direct's tensors takes no value");
      s.tensors = TensorReads::kExact;
    } else if (key == "tensors" && s.method == LoadMethod::kRead) {
      no_dup(s.tensors.has_value());
      if (has_val && val != "stdio")
        fail(spec, fmt::format("unknown tensors={}; valid: tensors, tensors=stdio", val));
      s.tensors = has_val ? TensorReads::kStdio : TensorReads::kExact;
    } else if (key == "chunk") {
      need_val();
      no_dup(s.chunk.has_value());
      s.chunk = parse_chunk(spec, val);
    } else if (key == "threads" && s.method == LoadMethod::kPread) {
      need_val();
      no_dup(s.threads.has_value());
      s.threads = parse_positive_int(spec, key, val);
    } else if (key == "qd" && (s.method == LoadMethod::kDirect || s.method == LoadMethod::kUring)) {
      need_val();
      no_dup(s.qd.has_value());
      s.qd = parse_positive_int(spec, key, val);
    } else if (key == "fallback" && s.method == LoadMethod::kDirect) {
      need_val();
      no_dup(s.fallback.has_value());
      DirectFallback f;
      if (!kFallback.find(val, f))
        fail(spec, fmt::format("unknown fallback={}; valid: {}", val, kFallback.all()));
      s.fallback = f;
    } else {
      bad_key();
    }
  }
  if (s.method == LoadMethod::kRead && s.mlock && !s.tensors)
    fail(spec, "mlock on read locks the tensors' host buffer: needs tensors");
  if (s.tensors && (s.chunk || s.qd))
    fail(spec, "tensors reads each tensor with one read(); chunk and qd do not apply");
  if (s.reclaim && !s.copy) fail(spec, "reclaim releases the source of copied tensors: needs copy");
  if (s.reclaim && s.mlock)
    fail(spec, "reclaim is skipped under mlock (llama.cpp --reclaim-mmap-source): drop one");
  return s;
}

std::string print_plain(const Strategy& s) {
  std::vector<std::string> opts;
  if (s.method == LoadMethod::kMmap) {
    opts.push_back(s.sharing == MapSharing::kShared ? "shared" : "private");
    if (s.populate) opts.push_back("populate");
    if (s.fadvise) opts.push_back(fmt::format("fadvise={}", to_string(*s.fadvise)));
    if (s.advise) opts.push_back(fmt::format("advise={}", to_string(*s.advise)));
    if (s.lazy == kLazyDefaultBytes) opts.push_back("lazy");
    if (s.lazy && *s.lazy != kLazyDefaultBytes)
      opts.push_back(fmt::format("lazy={}", format_size_exact(*s.lazy)));
    if (s.mlock == MlockMode::kHard) opts.push_back("mlock");
    if (s.mlock == MlockMode::kSoft) opts.push_back("mlock=soft");
    if (s.copy == CopyMode::kAll) opts.push_back("copy");
    if (s.copy == CopyMode::kRepack) opts.push_back("copy=repack");
    if (s.reclaim) opts.push_back("reclaim");
  } else {
    if (s.tensors == TensorReads::kExact) opts.push_back("tensors");
    if (s.tensors == TensorReads::kStdio) opts.push_back("tensors=stdio");
    if (s.threads) opts.push_back(fmt::format("threads={}", *s.threads));
    if (s.qd) opts.push_back(fmt::format("qd={}", *s.qd));
    if (s.chunk) opts.push_back(fmt::format("chunk={}", format_size_exact(*s.chunk)));
    if (s.fallback) opts.push_back(fmt::format("fallback={}", kFallback.name(*s.fallback)));
    if (s.mlock == MlockMode::kHard) opts.push_back("mlock");
    if (s.mlock == MlockMode::kSoft) opts.push_back("mlock=soft");
  }
  std::string out = kMethods.name(s.method);
  if (!opts.empty()) out += ":" + fmt::format("{}", fmt::join(opts, ","));
  return out;
}

}  // namespace

std::uint64_t Strategy::chunk_bytes() const {
  if (chunk) return *chunk;
  switch (method) {
    case LoadMethod::kRead:
    case LoadMethod::kPread:
      return 4 * kMiB;
    case LoadMethod::kDirect:
    case LoadMethod::kUring:
      return 1 * kMiB;
    case LoadMethod::kMmap:
      return 0;
  }
  return 4 * kMiB;
}

const char* to_string(MadviseHint h) {
  return kMadvise.name(h);
}
const char* to_string(FadviseHint h) {
  return kFadvise.name(h);
}

bool loads_everything_up_front(const Strategy& s) {
  if (s.method != LoadMethod::kMmap) return true;
  // lazy drops MAP_POPULATE when a tensor is large enough, which depends on the model;
  // reclaim unmaps the pages of copied tensors again, so a pattern faults them back in.
  if (s.reclaim) return false;
  if (s.lazy) return s.mlock == MlockMode::kHard;
  return s.populate || s.advise == MadviseHint::kPopulateRead || s.mlock == MlockMode::kHard;
}

Strategy parse_strategy(std::string_view spec) {
  if (spec.empty()) fail(spec, "empty spec");
  for (const auto& p : presets()) {
    if (spec == p.name) {
      Strategy s = parse_plain(p.expansion);
      s.preset = p.name;
      return s;
    }
  }
  if (spec.starts_with("llama.cpp")) {
    std::string names;
    for (auto& p : presets()) names += (names.empty() ? "" : ", ") + p.name;
    fail(spec, fmt::format("unknown preset; valid presets: {}", names));
  }
  return parse_plain(spec);
}

std::string to_string(const Strategy& s) {
  if (!s.preset.empty()) return s.preset;
  return print_plain(s);
}

std::vector<Strategy> parse_strategy_list(std::string_view list) {
  std::vector<std::string> specs;
  for (std::string_view item : split_list(list)) {
    auto head = item.substr(0, item.find_first_of(":="));
    LoadMethod m;
    bool starts_new = kMethods.find(head, m) || head.starts_with("llama.cpp");
    if (starts_new || specs.empty())
      specs.emplace_back(item);
    else
      specs.back() += "," + std::string(item);
  }
  std::vector<Strategy> out;
  for (const auto& s : specs) out.push_back(parse_strategy(s));
  return out;
}

}  // namespace faultline
