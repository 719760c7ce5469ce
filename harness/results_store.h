// One folder per run, written durably:
//   results/<UTC timestamp>-<host>-<preset>/
//     env.json  plan.json  calibration.json  raw/<cell files>  runs.jsonl
// Every whole file is written atomically (temporary file, fsync, rename,
// fsync of the folder); runs.jsonl grows by one complete, fsynced line per
// finished cell, so a crash or Ctrl-C leaves at worst a missing row, which
// --resume runs again.
#pragma once

#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace faultline::harness {

// Writes `content` to `path` atomically. Throws std::system_error naming the path.
void atomic_write(const std::string& path, const std::string& content);
void fsync_dir(const std::string& dir);

// Throws std::invalid_argument("results folder X is not writable: why") when
// the folder cannot be created or written. Creates it when missing.
void check_writable(const std::string& results_root);

// "20261128T121503Z"
std::string utc_stamp();
// "2026-11-28T12:15:03Z"
std::string utc_iso8601();

class ResultsStore {
 public:
  // A new run folder under results_root (made unique with a -2, -3... suffix).
  static ResultsStore create(const std::string& results_root, const std::string& host,
                             const std::string& preset);
  // An existing run folder (for --resume): needs plan.json. Drops a torn
  // last line of runs.jsonl. Throws std::invalid_argument naming the problem.
  static ResultsStore open(const std::string& dir);

  const std::string& dir() const { return dir_; }
  std::string run_id() const;  // the folder's name
  std::string path(const std::string& relative) const { return dir_ + "/" + relative; }

  void write_json(const std::string& relative, const nlohmann::json& j) const;
  nlohmann::json read_json(const std::string& relative) const;  // throws std::invalid_argument

  // Validates the row (runs_schema) and appends it as one line, fsynced.
  void append_row(const nlohmann::json& row) const;
  std::vector<nlohmann::json> rows() const;
  std::set<std::string> done_keys() const;  // runs::row_key of every row

 private:
  explicit ResultsStore(std::string dir) : dir_(std::move(dir)) {}
  std::string dir_;
};

}  // namespace faultline::harness
