// `faultline doctor`: which probes hold on this kernel and filesystem, each
// checked against a known answer (harness/doctor.h).
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <memory>

#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include "common/credentials.h"
#include "common/host_lock.h"
#include "harness/damon.h"
#include "harness/doctor.h"

namespace faultline::harness {
namespace {

struct DoctorCliOptions {
  std::string dir;
  std::string model;
  std::string json;
  bool quiet = false;
  bool no_wait = false;
};

// Written whole or not at all.
void write_json_file(const std::string& path, const nlohmann::json& j) {
  const std::string tmp = fmt::format("{}.tmp.{}", path, ::getpid());
  {
    std::ofstream out(tmp);
    out << j.dump(1) << "\n";
    if (!out) {
      std::filesystem::remove(tmp);
      throw std::runtime_error(fmt::format("cannot write {}", path));
    }
  }
  std::filesystem::rename(tmp, path);
}

int run_doctor_command(const DoctorCliOptions& o) {
  DoctorOptions d;
  if (!o.dir.empty())
    d.dir = o.dir;
  else if (!o.model.empty())
    d.dir = std::filesystem::absolute(o.model).parent_path().string();
  try {
    HostLock lock({"faultline doctor",
                   !o.no_wait,
                   [](const std::string& who) {
                     fmt::print(stderr, "faultline doctor: waiting for the host lock held by {}\n",
                                who);
                   },
                   {}});
    const DoctorReport report = run_doctor(d);
    if (!o.quiet) {
      fmt::print("{}", report.table());
      const DamonPageout damon = damon_pageout();
      for (const auto& scheme : damon.schemes)
        fmt::print(
            "note: proactive reclaim is on, {}: it may evict pages during a workload here and in "
            "`faultline run`'s cells (the trace counts them: bpf_pagecache_evict_pages)\n",
            scheme);
      if (!damon.unknown.empty())
        fmt::print("note: whether DAMON evicts pages here is unknown: {}\n", damon.unknown);
    }
    std::fflush(stdout);
    if (!o.json.empty()) write_json_file(o.json, report.to_json());
    if (report.any_failed()) {
      fmt::print(stderr,
                 "faultline doctor: a probe this kernel offers gave a wrong answer; `faultline "
                 "run` reports its metrics as not measured\n");
      return 1;
    }
    return 0;
  } catch (const std::exception& e) {
    fmt::print(stderr, "faultline doctor: error: {}\n", e.what());
    return 1;
  }
}

}  // namespace

nlohmann::json doctor_for_run(const std::string& model, bool quiet) {
  DoctorOptions d;
  d.dir = std::filesystem::path(model).parent_path().string();
  d.with_root_files = [](const std::function<void()>& f) {
    const FsIds root_files = FsIds::root();  // BTF and tracefs are root's
    f();
  };
  try {
    const DoctorReport r = run_doctor(d);
    std::map<std::string, int> verdicts;
    for (const auto& c : r.checks) ++verdicts[to_string(c.verdict)];
    std::string counts;
    for (const auto& [verdict, n] : verdicts)
      counts += fmt::format("{}{} {}", counts.empty() ? "" : ", ", n, verdict);
    if (!quiet)
      fmt::print(
          stderr,
          "faultline run: doctor: {} on {} ({:.1f} s; the table: faultline doctor --model {})\n",
          counts, r.filesystem, r.seconds, model);
    return r.to_json();
  } catch (const std::exception& e) {
    fmt::print(stderr, "faultline run: warning: faultline doctor could not run: {}\n", e.what());
    return {{"version", 1},
            {"error", e.what()},
            {"checks", nlohmann::json::array()},
            {"families", nlohmann::json::object()}};
  }
}

void add_doctor_command(CLI::App& app) {
  auto o = std::make_shared<DoctorCliOptions>();
  auto* cmd = app.add_subcommand(
      "doctor",
      "check every probe (eBPF families, residency, rusage, /proc, perf) against a known answer "
      "on this kernel and on the model's filesystem; exits 1 when a probe gives a wrong answer");
  cmd->add_option("--dir", o->dir,
                  "folder for the scratch file: the filesystem to check (default /var/tmp)")
      ->check(CLI::ExistingDirectory);
  cmd->add_option("--model", o->model, "check the filesystem this model file lives on")
      ->check(CLI::ExistingFile)
      ->excludes("--dir");
  cmd->add_option("--json", o->json,
                  "also write the checks and per-family verdicts to FILE as JSON")
      ->type_name("FILE");
  cmd->add_flag("-q,--quiet", o->quiet, "no table (with --json)");
  cmd->add_flag(
      "--no-wait", o->no_wait,
      "when another measuring run holds the host lock, refuse at once instead of waiting");
  cmd->footer(
      "Each probe family runs a small workload on a scratch file (16 MiB, unlinked at once) "
      "whose answer is known, e.g. a cold read() of N pages adds N pages to the page cache and "
      "reads N x 4 KiB from the device. Verdicts: pass, FAIL (a wrong answer), unavailable (the "
      "kernel does not offer the probe), not applicable (e.g. block I/O on tmpfs).");
  cmd->callback([o] { throw CLI::RuntimeError(run_doctor_command(*o)); });
}

}  // namespace faultline::harness
