// Inside the Tracer (libbpf builds only): the probe families, the maps they
// share, and loading a family with fallbacks.
//
// A family (a results/schema.json bpf_* family, or a helper part such as
// "syscalls") is one instance of one BPF object with only its programs set
// to autoload. Its mechanisms are tried in order (tp_btf, fentry, kprobe):
// a mechanism whose tracepoints or functions the kernel lacks, whose
// trampolines it refuses (a 2-instruction program attach-tested the way
// libbpf-tools' fentry_can_attach does), that fails to load or whose
// programs fail to attach is destroyed and the next one is tried; why each
// failed is kept for the availability reasons. Every instance gets the
// shared maps (maps.bpf.c) with bpf_map__reuse_fd before it loads.
#pragma once

#include <bpf/libbpf.h>
#include <linux/types.h>

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "bpf/trace_shared.h"

namespace faultline::bpf::detail {

// What every object's read-only globals get (common.bpf.h), plus the few
// that belong to one object.
struct Config {
  bool filter_cgroup = false, filter_tgid = false, filter_files = false;
  bool timeline = false, track_unused = false;
  bool user_faults_from_mm = false;           // faults.bpf.c
  bool bio_at_start = false;                  // block.bpf.c
  std::size_t syscall_ring_bytes = 2u << 20;  // syscall_log.bpf.c's ring buffer
};

// A skeleton, type-erased.
struct SkelOps {
  const char* object;            // "faults"
  void* (*open)(const Config&);  // open and set the read-only globals
  bpf_object* (*obj)(void*);
  int (*load)(void*);
  void (*destroy)(void*);
};

struct Mechanism {
  const char* kind;                      // "tp_btf", "fentry", "kprobe"
  std::vector<const char*> programs;     // program (function) names to load
  std::vector<const char*> tracepoints;  // tp_btf: must exist in the kernel's BTF
  std::vector<const char*> functions;    // fentry/kprobe: kernel functions
  bool bio_at_start = false;             // block: claim requests at block_io_start
};

struct FamilySpec {
  std::string_view name;  // a schema family (families()), or "syscalls", "syscall_log", "forks"
  const SkelOps* ops;
  std::vector<Mechanism> mechanisms;
  bool carries_unused;  // its programs do never-used bookkeeping (retried without)
};

// The schema's bpf_* families (results/schema.json), each found as the
// family of a metric it produces: never spelled here.
struct Families {
  std::string_view faults_user, faults_filemap, fault_latency, readahead, pagecache, block, unused,
      timeline;
};
const Families& families();

// In load order; syscalls only matter with never-used tracking, syscall_log
// only with TraceFilter::syscall_log and a file filter, forks only with a
// tgid filter (the Tracer skips them otherwise).
const std::vector<FamilySpec>& family_specs();
const SkelOps& maps_ops();

// What the running kernel offers, probed once.
class KernelFeatures {
 public:
  KernelFeatures();
  ~KernelFeatures();
  KernelFeatures(const KernelFeatures&) = delete;
  KernelFeatures& operator=(const KernelFeatures&) = delete;
  bool has_tracepoint(const char* name) const;
  bool has_function(const char* name) const;
  // "" when a trampoline can attach to `function`, else why not
  // ("fentry attach refused (EPERM)").
  std::string fentry_refusal(const char* function);
  // "" when kprobes can be created, else why not.
  std::string kprobe_refusal() const;

 private:
  struct btf* btf_ = nullptr;
  std::map<std::string, std::string> fentry_cache_;
};

// The maps every object shares, created once (maps.bpf.c).
struct MapSizes {
  std::size_t tgids = 1, files = 1, bitmap_words = 1, pmd_words = 1, ring_bytes = 4096;
};
class SharedMaps {
 public:
  ~SharedMaps();
  std::string load(const MapSizes& sizes);  // "" on success, else why not
  int fd(const std::string& name) const;
  // Hands every shared map of `obj` (same name) our fd; false with errno.
  bool reuse_into(bpf_object* obj) const;

 private:
  void* skel_ = nullptr;
  bpf_object* obj_ = nullptr;
};

struct LoadedFamily {
  const FamilySpec* spec = nullptr;
  void* skel = nullptr;                  // null: no mechanism works
  const Mechanism* mechanism = nullptr;  // the one loaded
  std::vector<std::string> failures;     // why the mechanisms before it (or all) failed
  bool unused = false;                   // loaded with never-used bookkeeping
  std::string unused_failure;            // why it was loaded without
  std::vector<bpf_program*> programs;
  std::vector<bpf_link*> links;

  LoadedFamily() = default;
  LoadedFamily(LoadedFamily&& o) noexcept;
  LoadedFamily& operator=(LoadedFamily&&) = delete;
  ~LoadedFamily();
  bool ok() const { return skel != nullptr; }
  std::string attach();  // "" or why not (then nothing of it stays attached)
  void detach();
  void destroy();
};

// Tries spec's mechanisms in order; `precheck` false skips the look at what
// the kernel offers (tests: make a refused attach fall back).
LoadedFamily load_family(const FamilySpec& spec, const Config& config, const SharedMaps& maps,
                         KernelFeatures& kernel, bool precheck = true);

// The traced files: filter keys and their never-used bitmap slices (sized
// from the file sizes now, when `unused`), with warnings for file systems
// whose (device, inode) the page cache may not see.
struct TracedFile {
  fl_file_key key;
  fl_file slices;
};
struct TracedFiles {
  std::vector<TracedFile> files;
  std::vector<std::string> notes;  // "warning: ..."
  std::uint32_t words = 0, pmd_words = 0;
  std::string error;  // "--file PATH: why" when one cannot be found
};
TracedFiles resolve_files(const std::vector<std::string>& paths, bool unused);

// libbpf's last warning (kept for error messages), and the print hook.
std::string last_libbpf_warning();
void install_libbpf_print();

// "EPERM" for 1, ...
std::string errno_name(int err);

}  // namespace faultline::bpf::detail
