// /proc/PID/smaps, read once into its mappings: each one's header (address
// range, file offset, device, inode, path) and its "kB" fields (Rss, Pss,
// Locked, FilePmdMapped, ...). The one reader of smaps: the program cells'
// memory of the model (harness/proc_memory), the doctor's Pss of its scratch
// file, the eviction diagnosis' locked bytes and the tests all use it.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace faultline {

// Which file a mapping must be: its device and inode as stat() gives them,
// and its canonical path, for filesystems whose smaps device is not stat's
// (btrfs subvolumes, overlayfs before 6.8): the inode and the path then do.
struct FileKey {
  dev_t dev = 0;
  ino_t ino = 0;
  std::string path;
};
// nullopt when `path` cannot be stat'ed.
std::optional<FileKey> file_key(const std::string& path);

struct SmapsMapping {
  std::uint64_t start = 0, end = 0, offset = 0;           // addresses; the file offset
  std::string perms;                                      // "r-xp"
  unsigned major = 0, minor = 0;                          // the file's device (0:0: none)
  std::uint64_t inode = 0;                                // 0: not a file
  std::string path;                                       // as smaps prints it ("" if none)
  std::map<std::string, std::uint64_t, std::less<>> kib;  // "Rss" -> 1234 (kB)

  // A field in bytes (0 when absent).
  std::uint64_t bytes(std::string_view field) const;
  // True when it maps the file.
  bool maps(const FileKey& file) const;
};

// The mappings of /proc/PID/<file> (pid 0: this process): "smaps" (every
// mapping with its fields), "maps" (the headers only: cheap) or
// "smaps_rollup" (one pseudo-mapping holding the sums). Empty when the
// process is gone or the file unreadable.
std::vector<SmapsMapping> read_smaps(pid_t pid = 0, std::string_view file = "smaps");

// Parses smaps, maps or smaps_rollup text (for tests and for read_smaps).
std::vector<SmapsMapping> parse_smaps(std::string_view text);

// `field` in bytes, summed over the mappings of the file.
std::uint64_t file_field_bytes(const std::vector<SmapsMapping>& maps, const FileKey& file,
                               std::string_view field);

}  // namespace faultline
