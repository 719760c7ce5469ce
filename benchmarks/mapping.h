// A loaded model file: a read-only pointer to the whole file's bytes, however
// it got there (mmap, heap buffer filled by read/pread/O_DIRECT/io_uring).
// RAII: the destructor unlocks, unmaps or frees.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "benchmarks/strategy.h"

namespace faultline {

class Mapping {
 public:
  Mapping() = default;
  ~Mapping();
  Mapping(Mapping&&) noexcept;
  Mapping& operator=(Mapping&&) noexcept;
  Mapping(const Mapping&) = delete;
  Mapping& operator=(const Mapping&) = delete;

  const std::uint8_t* data() const { return data_; }
  std::size_t size() const { return size_; }
  bool is_mmap() const { return kind_ == Kind::kMmap; }
  bool locked() const { return locked_; }
  // Notes for the user (e.g. "mlock failed with ENOMEM; continuing unlocked").
  const std::vector<std::string>& warnings() const { return warnings_; }

  enum class Kind { kNone, kMmap, kHeap, kAlignedHeap };
  static Mapping from_mmap(void* addr, std::size_t size);
  static Mapping from_heap(std::uint8_t* buf, std::size_t size, bool aligned);
  void set_locked(bool l) { locked_ = l; }
  void add_warning(std::string w) { warnings_.push_back(std::move(w)); }

 private:
  void release() noexcept;
  std::uint8_t* data_ = nullptr;
  std::size_t size_ = 0;
  std::size_t alloc_size_ = 0;
  Kind kind_ = Kind::kNone;
  bool locked_ = false;
  std::vector<std::string> warnings_;
};

// Load the whole file at `path` with `strategy`. Opens read-only; maps
// PROT_READ. Throws std::system_error (errno + message naming the file and the
// syscall), or std::runtime_error for the clear policy errors (mlock above
// RLIMIT_MEMLOCK, O_DIRECT refused by the filesystem).
Mapping load(const std::string& path, const Strategy& strategy);

}  // namespace faultline
