// What this host is, as every run records it (env.json) and `faultline env`
// prints: kernel, distribution, CPU, memory, NUMA nodes, THP settings, the
// model file's filesystem and block device, cgroup version, DAMON pageout
// schemes (damon.h), tool versions, faultline's git commit. Anything
// unreadable is "unknown", never an error.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

namespace CLI {
class App;
}

namespace faultline::harness {

// model_path may be "" (then no file/filesystem/device section).
nlohmann::json capture_env(const std::string& model_path);

// /sys/devices/system/node/node<N> count; 1 when unreadable.
int numa_node_count();

// Short host name for folder names ("vm").
std::string short_hostname();

// Human-readable, one "key: value" per line.
std::string format_env(const nlohmann::json& env);

// Registers `faultline env [--model FILE] [--json]`.
void add_env_command(CLI::App& app);

}  // namespace faultline::harness
