// The strategy presets: names for llama.cpp's load modes, each with the
// syscalls and source lines it stands for (strategy.h: a preset is only a name
// for its expansion).
#include <fmt/format.h>

#include <string>
#include <vector>

#include "benchmarks/strategy.h"

namespace faultline {

const std::vector<Preset>& presets() {
  // llama.cpp's load modes as src/llama-mmap.cpp and src/llama-model-loader.cpp
  // implement them on Linux (DESIGN.md, "llama.cpp's load modes"). The copy=repack
  // of the mmap presets copies what llama.cpp's CPU backend puts in an extra
  // buffer type on this host's CPU (repack_selected(): AMX, CPU_REPACK), which
  // load_all_data copies out of the mapping with ggml_backend_tensor_set; for an
  // F16 model that is every 2-D matmul weight on an AMX Xeon and nothing on an
  // AMD EPYC (node-llama-cpp 3.22.1 measured on both).
  static const std::string kNpm =
      "validated against node-llama-cpp 3.22.1 (prebuilt CPU libllama) on an AMX Xeon and an "
      "AMD EPYC (AVX-512, no AMX)";
  static const std::string kSource = "source only: the npm build has no such option";
  static const std::string kMmapSyscalls =
      "llama_mmap's constructor (src/llama-mmap.cpp): posix_fadvise(SEQUENTIAL); "
      "mmap(PROT_READ, MAP_SHARED|MAP_POPULATE); posix_madvise(WILLNEED) over the prefetch "
      "range; then llama_model_loader::load_all_data (src/llama-model-loader.cpp) points "
      "CPU_Mapped tensors into the mapping and copies the tensors of extra (repack/AMX) "
      "buffer types out of it into one anonymous buffer (copy=repack); the source stays "
      "mapped and resident (llama.cpp issue #16761)";
  static const std::string kDefault =
      "mmap:shared,populate,fadvise=sequential,advise=willneed,copy=repack";
  static const std::string kMlock =
      "mmap:shared,populate,fadvise=sequential,advise=willneed,mlock=soft,copy=repack";
  static const std::string kNoMmapText =
      "llama.cpp --no-mmap (--load-mode none): llama_model_loader::load_all_data "
      "(src/llama-model-loader.cpp) reads each tensor with llama_file::seek + read_raw "
      "(fseek + fread: lseek, then read() of the tensor) into its backend buffer; tensors "
      "of non-host (repack/AMX) buffers first, biggest first (std::stable_sort), then the "
      "rest in creation order; glibc turns fseek+fread into lseek to the 4 KiB block, a read() "
      "of the bytes before the tensor, one read() of its whole blocks and a 4 KiB read() for "
      "its tail (strace of node-llama-cpp): read:tensors=stdio, which starts each tensor with "
      "an empty buffer (glibc makes no call for a seek inside its buffer and fills a whole "
      "block when it is not empty: fewer read() calls over the same pages)";
  static const std::string kDirectText =
      "llama.cpp direct I/O (--load-mode dio): llama_file opens O_RDONLY|O_DIRECT, "
      "alignment = st_blksize, reads into posix_memalign'ed buffers (read_aligned_chunk) "
      "and falls back to buffered I/O with a warning when open(O_DIRECT) fails "
      "(src/llama-mmap.cpp); per tensor in the no-mmap order: lseek to its aligned start and "
      "one read() of its aligned span into a bounce buffer allocated for it "
      "(read_aligned_chunk), copied out (strace of node-llama-cpp's useDirectIo)";
  static const std::vector<Preset> kPresets = {
      {"llama.cpp", kDefault, "llama.cpp's default (--mmap, prefetch on): " + kMmapSyscalls,
       "llama.cpp's default load: shared mmap, prefetched, repacked weights copied out", kNpm},
      {"llama.cpp:no-mmap", "read:tensors=stdio", kNoMmapText,
       "llama.cpp --no-mmap: one read() per tensor into memory", kNpm},
      {"llama.cpp:mlock", kMlock,
       "llama.cpp --mlock: the default mmap, then llama_mlock::grow_to (src/llama-mmap.cpp) "
       "mlock()s the mapping step by step as tensors load; on failure it warns (suggesting "
       "ulimit -l) and loading goes on unlocked; repacked tensors are copied out as in the "
       "default",
       "llama.cpp --mlock: the default load, locked step by step; a failed lock warns",
       "source only: node-llama-cpp 3.22.1's useMlock is --load-mode mlock (no mmap: "
       "llama.cpp:load-mode=mlock)"},
      {"llama.cpp:numa", "mmap:shared,fadvise=sequential,advise=random,copy=repack",
       "llama.cpp --numa: llama_mmap with prefetch = 0 (no MAP_POPULATE, no WILLNEED) and "
       "posix_madvise(RANDOM) over the whole file (src/llama-mmap.cpp); repacked tensors "
       "copied out as in the default",
       "llama.cpp --numa: shared mmap, no prefetch, MADV_RANDOM",
       "source only: node-llama-cpp's numa option was not measured here"},
      {"llama.cpp:direct", "direct:tensors,fallback=buffered", kDirectText,
       "llama.cpp direct I/O: O_DIRECT reads, buffered where O_DIRECT is refused",
       "compared with node-llama-cpp 3.22.1's useDirectIo on its syscalls (one O_DIRECT read per "
       "tensor, strace), readahead and block I/O; not on RSS"},
      {"llama.cpp:reclaim",
       "mmap:shared,populate,fadvise=sequential,advise=willneed,copy=repack,reclaim",
       "llama.cpp --reclaim-mmap-source (PR #24156, in llama_model_loader::load_all_data, "
       "src/llama-model-loader.cpp): the default load, then "
       "madvise(MADV_DONTNEED) over the whole pages of each repacked tensor's source in the "
       "mapping (rounded inward), so the file pages leave the RSS; the mapping stays valid "
       "and re-faults if touched; skipped under --mlock",
       "llama.cpp --reclaim-mmap-source: default load, source of repacked weights dropped",
       kSource},
      {"llama.cpp:lazy", "mmap:shared,populate,fadvise=sequential,advise=willneed,lazy,copy=repack",
       "llama.cpp --tensor-read-lazy (PR #27794): tensors over 4 GiB "
       "(llama_model_loader::lazy_read::add, auto mode) are read on demand: llama_mmap "
       "drops MAP_POPULATE when there are lazy ranges, posix_madvise(WILLNEED) covers only "
       "the other ranges and the lazy ones get posix_madvise(RANDOM) (src/llama-mmap.cpp); "
       "only architectures that mark a tensor TENSOR_READ_LAZY have any, faultline applies "
       "the size rule to every tensor",
       "llama.cpp lazy tensors: tensors over 4 GiB MADV_RANDOM, the rest WILLNEED", kSource},
      // llama.cpp's --load-mode names (PR #20834): aliases of the presets above.
      {"llama.cpp:load-mode=auto", kDefault,
       "--load-mode auto (the default since PR #26081): mmap unless an integrated GPU makes "
       "it slower; on a CPU-only host it is --load-mode mmap, the default load: " +
           kMmapSyscalls,
       "= llama.cpp on a CPU-only host", kNpm},
      {"llama.cpp:load-mode=mmap", kDefault, "--load-mode mmap: " + kMmapSyscalls, "= llama.cpp",
       kNpm},
      {"llama.cpp:load-mode=none", "read:tensors=stdio", kNoMmapText, "= llama.cpp:no-mmap", kNpm},
      {"llama.cpp:load-mode=mlock", "read:tensors=stdio,mlock=soft",
       "--load-mode mlock (LLAMA_LOAD_MODE_MLOCK): no mmap; the tensors are read as "
       "--load-mode none does, then llama_mlock::grow_to locks each host buffer "
       "(src/llama-model.cpp; a failure warns and loading goes on): the repacked tensors' "
       "AMX buffer is not a host buffer and stays unlocked. node-llama-cpp's useMlock: "
       "VmLck 35 MiB of a 256 MiB model here, no mapping of the model",
       "--load-mode mlock: per-tensor reads, host buffers locked", kNpm},
      {"llama.cpp:load-mode=mmap+mlock", kMlock,
       "--load-mode mmap+mlock: the default mmap with llama_mlock::grow_to "
       "(src/llama-mmap.cpp), as llama.cpp:mlock",
       "= llama.cpp:mlock", "source only: not measured with node-llama-cpp"},
      {"llama.cpp:mmap+mlock", kMlock,
       "--load-mode mmap+mlock: the default mmap with llama_mlock::grow_to "
       "(src/llama-mmap.cpp), as llama.cpp:mlock",
       "= llama.cpp:mlock", "source only: not measured with node-llama-cpp"},
      {"llama.cpp:load-mode=dio", "direct:tensors,fallback=buffered", kDirectText,
       "= llama.cpp:direct",
       "compared with node-llama-cpp 3.22.1's useDirectIo on its syscalls (one O_DIRECT read per "
       "tensor, strace), readahead and block I/O; not on RSS"},
      {"llama.cpp:dio", "direct:tensors,fallback=buffered", kDirectText, "= llama.cpp:direct",
       "compared with node-llama-cpp 3.22.1's useDirectIo on its syscalls (one O_DIRECT read per "
       "tensor, strace), readahead and block I/O; not on RSS"},
  };
  return kPresets;
}

bool is_alias(const Preset& p) {
  for (const auto& q : presets()) {
    if (&q == &p) return false;
    if (q.expansion == p.expansion) return true;
  }
  return false;
}

std::string preset_help() {
  std::string out;
  for (const auto& p : presets())
    out += fmt::format("  {} = {} — {}\n", p.name, p.expansion, p.summary);
  return out;
}

std::vector<std::string> default_strategy_specs() {
  std::vector<std::string> specs = {
      "read",
      "pread:threads=4",
      "direct",
      "direct:qd=32",
      "uring:qd=8",
      "mmap:private",
      "mmap:shared",
      "mmap:private,populate",
      "mmap:shared,populate",
      "mmap:private,advise=sequential",
      "mmap:private,advise=random",
      "mmap:private,advise=willneed",
      "mmap:private,advise=hugepage",
      "mmap:private,advise=populate_read",
      "mmap:private,fadvise=sequential",
      "mmap:private,mlock",
  };
  for (const auto& p : presets())
    if (!is_alias(p)) specs.push_back(p.name);
  return specs;
}

}  // namespace faultline
