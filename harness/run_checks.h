// What `faultline run` checks before anything runs (a bad request exits 2
// and leaves nothing behind): the plan (or the resumed run's plan.json and
// credentials), the executables, and under sudo that the benchmarks' user can
// read the model, see its page-cache residency and run faultline's programs.
#pragma once

#include <optional>
#include <stdexcept>
#include <string>

#include <nlohmann/json.hpp>

#include "common/cgroup.h"
#include "common/credentials.h"
#include "harness/plan.h"
#include "harness/results_store.h"
#include "harness/run_command.h"

namespace faultline::harness {

inline constexpr int kBadArguments = 2;

// A request that cannot run (exit status 2).
struct BadArguments : std::invalid_argument {
  using std::invalid_argument::invalid_argument;
};

// nullopt when this build and process can trace; otherwise why not.
std::optional<std::string> tracing_off_reason();

// Throws BadArguments when `path` is not executable.
void check_executable(const std::string& path, const char* name, const char* env);

// The plan of the request (or, with --resume, of the run folder), checked.
Plan prepare_plan(const RunOptions& o, const CgroupHost& cgroups,
                  const std::optional<Credentials>& user);

// Under sudo (and without --as-root): the user the benchmarks run as.
std::optional<Credentials> benchmark_user(const RunOptions& o);

// The user can read the model and see its residency; else BadArguments.
void check_model_access(const Credentials& user, const std::string& model);
// ... and run faultline-bench and faultline-hold.
void check_user_access(const Credentials& user, const Plan& plan, const std::string& bench,
                       const std::string& hold);

// env.json with "benchmarks_run_as".
nlohmann::json with_run_as(nlohmann::json env, const std::optional<Credentials>& user);

// Where the default model lives (under sudo: the user's cache).
std::string model_cache_dir(const std::optional<Credentials>& user);

}  // namespace faultline::harness
