#include "harness/host_env.h"

#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <regex>
#include <sstream>

#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include "benchmarks/cache.h"
#include "benchmarks/tensor_plan.h"
#include "common/availability.h"
#include "common/cgroup.h"
#include "common/process.h"
#include "common/version.h"
#include "harness/damon.h"

#if FAULTLINE_HARNESS_BPF
#include "bpf/tracer.h"
#endif

namespace faultline::harness {
namespace fs = std::filesystem;
namespace {

const std::string kUnknown = "unknown";

std::string trim(std::string s) {
  auto b = s.find_first_not_of(" \t\n\r");
  auto e = s.find_last_not_of(" \t\n\r");
  return b == std::string::npos ? "" : s.substr(b, e - b + 1);
}

std::string read_trimmed(const std::string& path) {
  std::ifstream in(path);
  if (!in) return kUnknown;
  std::stringstream ss;
  ss << in.rdbuf();
  std::string t = trim(ss.str());
  return t.empty() ? kUnknown : t;
}

// "always [madvise] never" -> "madvise"; "[mq-deadline] none" -> "mq-deadline".
std::string bracketed(const std::string& text) {
  auto b = text.find('['), e = text.find(']');
  if (b == std::string::npos || e == std::string::npos || e < b) return text;
  return text.substr(b + 1, e - b - 1);
}

nlohmann::json number_or_unknown(const std::string& text) {
  try {
    std::size_t used = 0;
    auto v = std::stoull(text, &used);
    if (used == text.size()) return v;
  } catch (...) {
  }
  return kUnknown;
}

std::string first_line(const std::optional<std::string>& text) {
  if (!text) return kUnknown;
  std::istringstream in(*text);
  std::string line;
  while (std::getline(in, line))
    if (!trim(line).empty()) return trim(line);
  return kUnknown;
}

std::string os_release() {
  std::ifstream in("/etc/os-release");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("PRETTY_NAME=", 0) == 0) {
      std::string v = line.substr(12);
      if (v.size() >= 2 && v.front() == '"') v = v.substr(1, v.size() - 2);
      return v;
    }
  return kUnknown;
}

std::string cpu_model() {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("model name", 0) == 0 || line.rfind("Model", 0) == 0) {
      auto c = line.find(':');
      if (c != std::string::npos) return trim(line.substr(c + 1));
    }
  return kUnknown;
}

nlohmann::json meminfo_bytes(const std::string& key) {
  std::ifstream in("/proc/meminfo");
  std::string k;
  std::uint64_t v;
  std::string unit;
  while (in >> k >> v) {
    std::getline(in, unit);
    if (k == key + ":") return v * 1024;
  }
  return kUnknown;
}

nlohmann::json file_section(const std::string& model) {
  nlohmann::json j = {{"path", model}};
  struct stat st;
  if (::stat(model.c_str(), &st) != 0) {
    j["error"] = "cannot stat";
    return j;
  }
  j["bytes"] = std::uint64_t(st.st_size);
  unsigned maj = major(st.st_dev), min = minor(st.st_dev);
  // The mount whose device is the file's: /proc/self/mountinfo, longest matching mount point.
  std::ifstream in("/proc/self/mountinfo");
  std::string line, best_point;
  nlohmann::json fsj = {
      {"type", kUnknown}, {"mount_point", kUnknown}, {"options", kUnknown}, {"source", kUnknown}};
  std::string real = fs::weakly_canonical(model).string();
  while (std::getline(in, line)) {
    std::istringstream f(line);
    std::string id, parent, devno, root, point, opts;
    f >> id >> parent >> devno >> root >> point >> opts;
    if (devno != fmt::format("{}:{}", maj, min)) continue;
    if (real.rfind(point, 0) != 0 || point.size() < best_point.size()) continue;
    std::string tok, type, source, super;
    while (f >> tok && tok != "-") {
    }
    f >> type >> source >> super;
    best_point = point;
    fsj = {{"type", type},
           {"mount_point", point},
           {"options", opts + (super.empty() ? "" : "," + super)},
           {"source", source}};
  }
  j["filesystem"] = fsj;
  // Its block device: /sys/dev/block/MAJ:MIN, the whole disk when it is a partition.
  nlohmann::json dev = {{"name", kUnknown},          {"model", kUnknown},
                        {"rotational", kUnknown},    {"scheduler", kUnknown},
                        {"read_ahead_kb", kUnknown}, {"logical_block_size", kUnknown}};
  std::error_code ec;
  fs::path sys = fs::canonical(fmt::format("/sys/dev/block/{}:{}", maj, min), ec);
  if (!ec) {
    if (!fs::exists(sys / "queue") && fs::exists(sys.parent_path() / "queue"))
      sys = sys.parent_path();
    dev["name"] = sys.filename().string();
    std::string model_name = read_trimmed((sys / "device/model").string());
    if (model_name == kUnknown && sys.filename().string().rfind("vd", 0) == 0)
      model_name = "virtio-blk";
    if (model_name == kUnknown && fs::exists(sys / "device/vendor"))
      model_name = "vendor " + read_trimmed((sys / "device/vendor").string());
    dev["model"] = model_name;
    std::string rot = read_trimmed((sys / "queue/rotational").string());
    dev["rotational"] = rot == "1"   ? nlohmann::json(true)
                        : rot == "0" ? nlohmann::json(false)
                                     : nlohmann::json(kUnknown);
    dev["scheduler"] = bracketed(read_trimmed((sys / "queue/scheduler").string()));
    dev["read_ahead_kb"] = number_or_unknown(read_trimmed((sys / "queue/read_ahead_kb").string()));
    dev["logical_block_size"] =
        number_or_unknown(read_trimmed((sys / "queue/logical_block_size").string()));
  }
  j["block_device"] = dev;
  return j;
}

}  // namespace

int numa_node_count() {
  int n = 0;
  std::error_code ec;
  static const std::regex node_re("node[0-9]+");
  for (const auto& e : fs::directory_iterator("/sys/devices/system/node", ec))
    if (std::regex_match(e.path().filename().string(), node_re)) ++n;
  return n > 0 ? n : 1;
}

std::string short_hostname() {
  char buf[256] = {};
  if (::gethostname(buf, sizeof buf - 1) != 0 || !buf[0]) return "host";
  std::string h = buf;
  auto dot = h.find('.');
  if (dot != std::string::npos) h = h.substr(0, dot);
  for (char& c : h)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-') c = '_';
  return h;
}

nlohmann::json capture_env(const std::string& model) {
  nlohmann::json j;
  struct utsname u {};
  ::uname(&u);
  j["env_version"] = 1;
  j["host"] = short_hostname();
  j["kernel"] = {{"release", u.release}, {"version", u.version}, {"machine", u.machine}};
  j["distribution"] = os_release();
  // What copy=repack (the llama.cpp mmap presets) copies on this CPU.
  j["cpu"] = {{"model", cpu_model()},
              {"count", ::sysconf(_SC_NPROCESSORS_ONLN)},
              {"llama_cpp_repack", describe(host_repack_cpu())}};
  j["memory"] = {{"total_bytes", meminfo_bytes("MemTotal")},
                 {"swap_bytes", meminfo_bytes("SwapTotal")}};
  j["numa_nodes"] = numa_node_count();
  const std::string thp = "/sys/kernel/mm/transparent_hugepage/";
  j["transparent_hugepage"] = {
      {"enabled", bracketed(read_trimmed(thp + "enabled"))},
      {"defrag", bracketed(read_trimmed(thp + "defrag"))},
      {"shmem_enabled", bracketed(read_trimmed(thp + "shmem_enabled"))},
  };
  auto cg = detect_cgroups();
  j["cgroup"] = {{"version", cg.version},
                 {"v2_root", cg.v2_root.empty() ? kUnknown : cg.v2_root},
                 {"v1_memory_root", cg.v1_memory_root.empty() ? "none" : cg.v1_memory_root}};
  j["privileged"] = ::geteuid() == 0;
  j["cachestat"] = cachestat_available();
  j["can_drop_caches"] = can_drop_caches();
  // Proactive reclaim that may evict the model's pages during a cell (damon.h).
  j["damon_pageout"] = damon_json(damon_pageout());
#if FAULTLINE_HARNESS_BPF
  auto reason = bpf::tracing_unavailable_reason();
  j["tracing"] = reason ? "unavailable: " + *reason : std::string("available");
#else
  j["tracing"] = std::string("unavailable: ") + kBuiltWithoutBpf;
#endif
  j["tools"] = {
      {"fio", first_line(capture_output({"fio", "--version"}))},
      {"bpftool", first_line(capture_output({"bpftool", "--version"}))},
      {"clang", first_line(capture_output({"clang", "--version"}))},
      {"cmake", first_line(capture_output({"cmake", "--version"}))},
      {"python3", first_line(capture_output({"/usr/bin/python3", "--version"}))},
  };
  // The build's own version and commit: what `--version` prints.
  j["faultline"] = {{"version", std::string(version())},
                    {"git_commit", std::string(git_commit())},
                    {"build_date", std::string(build_date())}};
  if (!model.empty()) j["model"] = file_section(model);
  return j;
}

std::string format_env(const nlohmann::json& env) {
  std::string out;
  std::function<void(const nlohmann::json&, const std::string&)> walk =
      [&](const nlohmann::json& j, const std::string& prefix) {
        for (const auto& [k, v] : j.items()) {
          std::string key = prefix.empty() ? k : prefix + "." + k;
          if (v.is_object())
            walk(v, key);
          else
            out += fmt::format("{:<40} {}\n", key + ":",
                               v.is_string() ? v.get<std::string>() : v.dump());
        }
      };
  walk(env, "");
  return out;
}

void add_env_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("env", "what this host is, as the results record it (env.json)");
  auto model = std::make_shared<std::string>();
  auto json = std::make_shared<std::string>();
  cmd->add_option("--model", *model, "also describe this file's filesystem and block device")
      ->check(CLI::ExistingFile);
  auto* json_opt =
      cmd->add_option("--json", *json,
                      "write env.json to FILE (machine-readable; without FILE: to stdout) "
                      "instead of the readable form")
          ->type_name("[FILE]")
          ->expected(0, 1);
  cmd->callback([model, json, json_opt] {
    auto env = capture_env(*model);
    if (json_opt->count() == 0) {
      std::cout << format_env(env);
    } else if (json->empty() || *json == "-") {
      std::cout << env.dump(2) << "\n";
    } else {
      std::ofstream out(*json);
      out << env.dump(2) << "\n";
      if (!out.flush()) {
        fmt::print(stderr, "faultline env: cannot write {}: {}\n", *json, std::strerror(errno));
        throw CLI::RuntimeError(1);
      }
    }
    throw CLI::RuntimeError(0);
  });
}

}  // namespace faultline::harness
