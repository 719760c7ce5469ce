// Loading one probe family with fallbacks (bpf/tracer_loader.h).
#include "bpf/tracer_loader.h"

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <linux/bpf.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdarg>
#include <cstdlib>
#include <cstring>
#include <utility>

#include <fmt/format.h>

#include "bpf/tracer.h"  // kernel_dev

namespace faultline::bpf::detail {
namespace {

thread_local std::string g_last_libbpf_warning;

int libbpf_print(enum libbpf_print_level level, const char* format, va_list args) {
  if (std::getenv("FAULTLINE_BPF_DEBUG")) return vfprintf(stderr, format, args);
  if (level == LIBBPF_WARN && g_last_libbpf_warning.empty()) {  // the first says most
    char buf[512];
    vsnprintf(buf, sizeof buf, format, args);
    g_last_libbpf_warning = buf;
    while (!g_last_libbpf_warning.empty() && g_last_libbpf_warning.back() == '\n')
      g_last_libbpf_warning.pop_back();
  }
  return 0;
}

bool wanted(const Mechanism& m, const char* program) {
  return std::any_of(m.programs.begin(), m.programs.end(),
                     [&](const char* p) { return std::strcmp(p, program) == 0; });
}

}  // namespace

std::string last_libbpf_warning() {
  return g_last_libbpf_warning;
}

void install_libbpf_print() {
  static const bool set = (libbpf_set_print(libbpf_print), true);
  (void)set;
}

std::string errno_name(int err) {
  const char* name = strerrorname_np(err);
  return name ? name : std::to_string(err);
}

// ---- what the kernel offers ------------------------------------------------

KernelFeatures::KernelFeatures() : btf_(btf__load_vmlinux_btf()) {
  if (libbpf_get_error(btf_)) btf_ = nullptr;
}

KernelFeatures::~KernelFeatures() {
  btf__free(btf_);
}

bool KernelFeatures::has_tracepoint(const char* name) const {
  return btf_ && btf__find_by_name_kind(btf_, fmt::format("btf_trace_{}", name).c_str(),
                                        BTF_KIND_TYPEDEF) >= 0;
}

bool KernelFeatures::has_function(const char* name) const {
  return btf_ && btf__find_by_name_kind(btf_, name, BTF_KIND_FUNC) >= 0;
}

// A trampoline on `function`: load "r0 = 0; exit" as an fentry program and
// attach it, as libbpf-tools' fentry_can_attach does (written here anew).
// Some kernels load it and refuse the attach (EPERM: lockdown, no
// trampolines, BPF LSM policies).
std::string KernelFeatures::fentry_refusal(const char* function) {
  auto cached = fentry_cache_.find(function);
  if (cached != fentry_cache_.end()) return cached->second;
  std::string why;
  const int id = btf_ ? btf__find_by_name_kind(btf_, function, BTF_KIND_FUNC) : -1;
  if (id < 0) {
    why = fmt::format("no function {} in the kernel's BTF", function);
  } else {
    const bpf_insn insns[] = {
        {.code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = 0},
        {.code = BPF_JMP | BPF_EXIT},
    };
    LIBBPF_OPTS(bpf_prog_load_opts, opts, .expected_attach_type = BPF_TRACE_FENTRY,
                .attach_btf_id = __u32(id));
    const int prog = bpf_prog_load(BPF_PROG_TYPE_TRACING, "fl_can_attach", "GPL", insns, 2, &opts);
    if (prog < 0) {
      why = fmt::format("fentry load refused ({})", errno_name(errno));
    } else {
      const int link = bpf_link_create(prog, 0, BPF_TRACE_FENTRY, nullptr);
      if (link < 0)
        why = fmt::format("fentry attach refused ({})", errno_name(errno));
      else
        ::close(link);
      ::close(prog);
    }
  }
  fentry_cache_[function] = why;
  return why;
}

std::string KernelFeatures::kprobe_refusal() const {
  // The kprobe PMU (4.17+), else the legacy tracefs interface.
  for (const char* p :
       {"/sys/bus/event_source/devices/kprobe/type", "/sys/kernel/tracing/kprobe_events",
        "/sys/kernel/debug/tracing/kprobe_events"})
    if (::access(p, F_OK) == 0) return "";
  return "no kprobes (CONFIG_KPROBES off?)";
}

// ---- the shared maps ---------------------------------------------------------

SharedMaps::~SharedMaps() {
  if (skel_) maps_ops().destroy(skel_);
}

std::string SharedMaps::load(const MapSizes& s) {
  install_libbpf_print();
  skel_ = maps_ops().open(Config{});
  if (!skel_) return fmt::format("cannot open the BPF maps object: {}", std::strerror(errno));
  obj_ = maps_ops().obj(skel_);
  auto size = [&](const char* name, std::size_t n) {
    if (bpf_map* m = bpf_object__find_map_by_name(obj_, name))
      bpf_map__set_max_entries(m, std::max<std::size_t>(1, n));
  };
  size("tgids", s.tgids);
  size("files", s.files);
  for (const char* bitmap : {"unused_bits", "member_bits", "start_bits"})
    size(bitmap, s.bitmap_words);
  size("pmd_bits", s.pmd_words);
  size("events", s.ring_bytes);
  g_last_libbpf_warning.clear();
  if (int err = maps_ops().load(skel_)) {
    std::string why = fmt::format("creating the BPF maps failed: {}", std::strerror(-err));
    if (!g_last_libbpf_warning.empty()) why += " (" + g_last_libbpf_warning + ")";
    maps_ops().destroy(skel_);
    skel_ = nullptr;
    obj_ = nullptr;
    return why;
  }
  return "";
}

int SharedMaps::fd(const std::string& name) const {
  bpf_map* m = obj_ ? bpf_object__find_map_by_name(obj_, name.c_str()) : nullptr;
  return m ? bpf_map__fd(m) : -1;
}

bool SharedMaps::reuse_into(bpf_object* obj) const {
  bpf_map* map;
  bpf_object__for_each_map(map, obj) {
    if (bpf_map__is_internal(map)) continue;  // .rodata, .bss: the object's own
    const int shared = fd(bpf_map__name(map));
    if (shared >= 0 && bpf_map__reuse_fd(map, shared) != 0) return false;
  }
  return true;
}

// ---- one family ---------------------------------------------------------------

LoadedFamily::LoadedFamily(LoadedFamily&& o) noexcept
    : spec(o.spec),
      skel(std::exchange(o.skel, nullptr)),
      mechanism(o.mechanism),
      failures(std::move(o.failures)),
      unused(o.unused),
      unused_failure(std::move(o.unused_failure)),
      programs(std::move(o.programs)),
      links(std::move(o.links)) {}

LoadedFamily::~LoadedFamily() {
  destroy();
}

std::string LoadedFamily::attach() {
  for (bpf_program* p : programs) {
    bpf_link* link = bpf_program__attach(p);
    if (!link) {
      const int err = errno;
      detach();
      return fmt::format("{} attach refused ({})", mechanism->kind, errno_name(err));
    }
    links.push_back(link);
  }
  return "";
}

void LoadedFamily::detach() {
  for (bpf_link* l : links) bpf_link__destroy(l);
  links.clear();
}

void LoadedFamily::destroy() {
  detach();
  if (skel) spec->ops->destroy(skel);
  skel = nullptr;
  programs.clear();
}

namespace {

// Why `m` cannot work on this kernel, before anything is loaded; "" = try.
std::string precheck(const Mechanism& m, KernelFeatures& kernel) {
  for (const char* tp : m.tracepoints)
    if (!kernel.has_tracepoint(tp)) return fmt::format("no tracepoint {}", tp);
  const std::string kind = m.kind;
  for (const char* f : m.functions) {
    if (kind == "fentry") {
      if (auto why = kernel.fentry_refusal(f); !why.empty()) return why;
    } else if (!kernel.has_function(f)) {
      return fmt::format("no function {}", f);
    }
  }
  if (kind == "kprobe") return kernel.kprobe_refusal();
  return "";
}

}  // namespace

LoadedFamily load_family(const FamilySpec& spec, const Config& config, const SharedMaps& maps,
                         KernelFeatures& kernel, bool check) {
  LoadedFamily f;
  f.spec = &spec;
  for (const Mechanism& m : spec.mechanisms) {
    if (auto why = check ? precheck(m, kernel) : ""; !why.empty()) {
      f.failures.push_back(why);
      continue;
    }
    std::vector<bool> modes = {false};
    if (spec.carries_unused && config.track_unused) modes = {true, false};
    for (bool unused : modes) {
      Config c = config;
      c.track_unused = unused;
      c.bio_at_start = m.bio_at_start;
      void* skel = spec.ops->open(c);
      if (!skel) {
        f.failures.push_back(
            fmt::format("cannot open {}.bpf.o: {}", spec.ops->object, std::strerror(errno)));
        break;
      }
      bpf_object* obj = spec.ops->obj(skel);
      std::vector<bpf_program*> programs;
      bpf_program* p;
      bpf_object__for_each_program(p, obj) {
        const bool on = wanted(m, bpf_program__name(p));
        bpf_program__set_autoload(p, on);
        if (on) programs.push_back(p);
      }
      if (programs.size() != m.programs.size()) {
        f.failures.push_back(
            fmt::format("{}: a program is missing from {}.bpf.o", m.kind, spec.ops->object));
        spec.ops->destroy(skel);
        break;
      }
      g_last_libbpf_warning.clear();
      int err = maps.reuse_into(obj) ? spec.ops->load(skel) : -errno;
      if (err) {
        std::string why = fmt::format("{} load failed ({})", m.kind, errno_name(-err));
        if (!g_last_libbpf_warning.empty()) why += ": " + g_last_libbpf_warning;
        spec.ops->destroy(skel);
        if (unused) {  // try again without the never-used bookkeeping
          f.unused_failure = why;
          continue;
        }
        f.failures.push_back(why);
        break;
      }
      f.skel = skel;
      f.mechanism = &m;
      f.programs = programs;
      f.unused = unused;
      // Attach-test now, so a refusal falls back like a load failure;
      // start() attaches again.
      if (auto why = f.attach(); !why.empty()) {
        f.failures.push_back(why);
        f.destroy();
        f.mechanism = nullptr;
        f.unused = false;
        break;
      }
      f.detach();
      return f;
    }
  }
  return f;
}

TracedFiles resolve_files(const std::vector<std::string>& paths, bool unused) {
  TracedFiles out;
  for (const auto& path : paths) {
    struct stat st;
    if (stat(path.c_str(), &st) != 0) {
      out.error = fmt::format("--file {}: {}", path, std::strerror(errno));
      return out;
    }
    const std::uint64_t pages = (std::uint64_t(st.st_size) + 4095) / 4096;
    out.files.push_back(
        {{kernel_dev(st.st_dev), st.st_ino}, {out.words, out.pmd_words, unused ? pages : 0}});
    if (unused) {
      out.words += std::uint32_t((pages + 63) / 64);
      out.pmd_words += std::uint32_t((pages / FL_PMD_PAGES + 64) / 64);
    }
    // The kernel's page cache sees the inode of the file system that holds
    // the data: on overlayfs (containers) that is the lower/upper file, on
    // btrfs st_dev is a per-subvolume number. Say so rather than count 0.
    struct statfs fs;
    if (statfs(path.c_str(), &fs) == 0 && (fs.f_type == 0x794c7630 /* OVERLAYFS_SUPER_MAGIC */ ||
                                           fs.f_type == 0x9123683e /* BTRFS_SUPER_MAGIC */))
      out.notes.push_back(fmt::format(
          "warning: {} is on {}: the (device, inode) the kernel sees may differ, file-filtered "
          "counts may stay 0",
          path, fs.f_type == 0x794c7630 ? "overlayfs" : "btrfs"));
  }
  return out;
}

}  // namespace faultline::bpf::detail
