// A model file written atomically: the bytes go to a temp file next to the
// final path, named ".<name>.partial-<pid>" (hidden, and never ending in
// .gguf/.safetensors, so nothing mistakes it for a model), which is fsynced
// and renamed onto the final path by commit(). If the writer fails, is
// interrupted (see interrupt.h) or the object is destroyed before commit(),
// the temp file is removed. Only SIGKILL (or a crash) can leave one behind;
// the next OutputFile for the same path removes such leftovers whose pid is
// no longer running.
#pragma once

#include "datasets/byte_sink.h"

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <string>

namespace faultline {

struct OutputOptions {
  bool force = false;               // replace an existing file at the final path
  std::uint64_t expected_size = 0;  // checked against free space, preallocated
};

class OutputFile : public ByteSink {
 public:
  // Refuses (std::runtime_error) if the path exists without force, or if the
  // filesystem lacks the space: "needs 1G, only 300M free on /var/tmp".
  OutputFile(std::string path, OutputOptions options);
  ~OutputFile() override;
  OutputFile(const OutputFile&) = delete;
  OutputFile& operator=(const OutputFile&) = delete;

  void write(std::span<const std::byte> bytes) override;
  // fsync, drop the file from the page cache (it is left cold), rename onto
  // the final path, fsync the directory.
  void commit();

  const std::string& path() const { return path_; }
  const std::string& temp_path() const { return temp_path_; }
  std::uint64_t written() const { return written_; }
  // Called after every write with the total bytes written so far.
  std::function<void(std::uint64_t)> on_progress;

 private:
  std::string path_;
  std::string temp_path_;
  int fd_ = -1;
  std::uint64_t written_ = 0;
  bool committed_ = false;
};

// ".model.gguf.partial-1234" in the directory of `path`.
std::string partial_path_for(const std::string& path, pid_t pid);
// Removes ".<name>.partial-<pid>" files next to `path` whose process is gone;
// returns how many were removed.
int remove_stale_partials(const std::string& path);
// Free bytes for an unprivileged writer on the filesystem holding `dir`.
std::uint64_t free_bytes(const std::string& dir);

}  // namespace faultline
