#include "harness/run_checks.h"

#include <unistd.h>

#include <cstring>
#include <filesystem>

#include <fmt/format.h>

#include "benchmarks/default_model.h"
#include "common/availability.h"
#include "harness/host_env.h"

#if FAULTLINE_HARNESS_BPF
#include "bpf/tracer.h"
#endif

namespace faultline::harness {
namespace fs = std::filesystem;
namespace {

constexpr const char* kAsRootHint = "; or pass --as-root to run the benchmarks as root";

// A resumed run keeps the credentials its benchmarks started with.
void check_same_credentials(const ResultsStore& store, const std::optional<Credentials>& user) {
  if (!fs::exists(store.path("env.json"))) return;
  const auto env = store.read_json("env.json");
  if (!env.contains("benchmarks_run_as")) return;
  const auto& was = env["benchmarks_run_as"];
  const auto now_uid = user ? user->uid : ::geteuid();
  if (was.value("uid", std::int64_t{-1}) != std::int64_t(now_uid))
    throw BadArguments(fmt::format(
        "{}: its benchmarks ran as {} (uid {}), these would run as uid {}; resume it the same "
        "way (through sudo as that user, or with/without --as-root as before)",
        store.dir(), was.value("user", std::string("?")), was.value("uid", std::int64_t{-1}),
        now_uid));
}

}  // namespace

std::optional<std::string> tracing_off_reason() {
#if FAULTLINE_HARNESS_BPF
  return bpf::tracing_unavailable_reason();
#else
  return std::string(kBuiltWithoutBpf);
#endif
}

void check_executable(const std::string& path, const char* name, const char* env) {
  if (::access(path.c_str(), X_OK) != 0)
    throw BadArguments(fmt::format("{} not found at {} (build it, or set {})", name, path, env));
}

Plan prepare_plan(const RunOptions& o, const CgroupHost& cgroups,
                  const std::optional<Credentials>& user) {
  if (!o.resume.empty()) {
    const auto& r = o.request;
    if (!r.preset.empty() || !r.model.empty() || !r.size.empty() || !r.strategies.empty() ||
        !r.patterns.empty() || !r.caches.empty() || r.reps || r.traced_reps ||
        !r.memory_limit.empty() || r.processes || !o.plan_file.empty())
      throw BadArguments(
          "--resume takes the matrix from the run folder's plan.json; drop the matrix flags");
    auto store = ResultsStore::open(o.resume);
    check_same_credentials(store, user);
    Plan plan = plan_from_json(store.read_json("plan.json"));
    if (!fs::exists(plan.model))
      throw BadArguments(fmt::format("model file {} (from plan.json) does not exist", plan.model));
    return plan;
  }
  PlanRequest request = o.request;
  if (!o.plan_file.empty()) request.merge_plan_file(o.plan_file);
  Plan plan = resolve_plan(request, numa_node_count());
  if (plan.memory_limit_bytes) {
    if (::geteuid() != 0)
      throw BadArguments("--memory-limit needs root (it creates a memory cgroup); try sudo");
    if (!cgroups.can_limit_memory())
      throw BadArguments("--memory-limit: no cgroup memory controller on this host");
  }
  if (!plan.model.empty()) bind_model(plan, plan.model);
  check_writable(o.results);
  return plan;
}

// Under sudo: the user the benchmarks run as, after checking that they can
// run faultline-bench and read the model (a model they cannot read is
// refused, never read as root) and see its page-cache residency.
std::optional<Credentials> benchmark_user(const RunOptions& o) {
  if (o.as_root) return std::nullopt;
  return invoking_user();
}

void check_model_access(const Credentials& user, const std::string& model) {
  if (int err = open_errno_as(user, model); err != 0)
    throw BadArguments(
        fmt::format("{}: {} cannot read it ({}); faultline will not read as root "
                    "a model the user who ran sudo cannot{}",
                    model, user.describe(), std::strerror(err), kAsRootHint));
  if (!sees_residency_as(user, model))
    throw BadArguments(fmt::format(
        "{}: the kernel shows page-cache residency (needed to verify cold and warm) only to a "
        "file's owner or a writer, and {} is neither: chown it to them{}",
        model, user.describe(), kAsRootHint));
}

void check_user_access(const Credentials& user, const Plan& plan, const std::string& bench,
                       const std::string& hold) {
  const std::string hint = kAsRootHint;
  if (!plan.model.empty()) check_model_access(user, plan.model);
  for (const auto& exe : {bench, hold})
    if (int err = exec_errno_as(user, exe); err != 0)
      throw BadArguments(
          fmt::format("{} cannot run {}: {} (the benchmarks run as the user who "
                      "ran sudo: build faultline where they can reach it{})",
                      user.describe(), exe, std::strerror(err), hint));
}

// env.json records whose credentials the benchmark processes had.
nlohmann::json with_run_as(nlohmann::json env, const std::optional<Credentials>& user) {
  if (user)
    env["benchmarks_run_as"] = {{"user", user->name}, {"uid", user->uid}, {"gid", user->gid}};
  else
    env["benchmarks_run_as"] = {{"user", ::geteuid() == 0 ? "root" : "the caller"},
                                {"uid", ::geteuid()},
                                {"gid", ::getegid()}};
  return env;
}

// Where the default model lives: under sudo, the invoking user's cache
// (it is generated with their file rights and read by their benchmarks).
std::string model_cache_dir(const std::optional<Credentials>& user) {
  if (const char* d = std::getenv("FAULTLINE_CACHE_DIR"); d && *d) return d;
  if (user && !user->home.empty()) return user->home + "/.cache/faultline";
  return cache_dir();
}

}  // namespace faultline::harness
