// A loaded model file: a read-only pointer to the whole file's bytes, however
// it got there (mmap, heap buffer filled by read/pread/O_DIRECT/io_uring).
// RAII: the destructor unlocks, unmaps or frees.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "benchmarks/strategy.h"
#include "datasets/model_layout.h"

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
  // read:tensors: the read() calls the load issued (one per tensor unless a
  // read came back short); 0 for the other strategies.
  std::uint64_t read_calls() const { return read_calls_; }
  // copy: the bytes copied into anonymous memory, and where (owned, freed with
  // the mapping; the tensors in creation order, each at a 64-byte boundary).
  std::uint64_t copied_bytes() const { return copied_bytes_; }
  const std::uint8_t* copy_data() const { return copy_; }

  enum class Kind { kNone, kMmap, kHeap, kAlignedHeap };
  static Mapping from_mmap(void* addr, std::size_t size);
  static Mapping from_heap(std::uint8_t* buf, std::size_t size, bool aligned);
  void set_locked(bool l) { locked_ = l; }
  void add_warning(std::string w) { warnings_.push_back(std::move(w)); }
  void set_read_calls(std::uint64_t n) { read_calls_ = n; }
  void adopt_copy(std::uint8_t* buf, std::uint64_t bytes) {
    copy_ = buf;
    copied_bytes_ = bytes;
  }

 private:
  void release() noexcept;
  std::uint8_t* data_ = nullptr;
  std::size_t size_ = 0;
  std::size_t alloc_size_ = 0;
  Kind kind_ = Kind::kNone;
  bool locked_ = false;
  std::vector<std::string> warnings_;
  std::uint64_t read_calls_ = 0;
  std::uint8_t* copy_ = nullptr;  // malloc'ed
  std::uint64_t copied_bytes_ = 0;
};

// Load the whole file at `path` with `strategy`. Opens read-only; maps
// PROT_READ. The keys that work per tensor (read:tensors, copy, lazy) use
// `layout` (the model's tensors), or read it from the file when it is null. Throws
// std::system_error (errno + message naming the file and the syscall), or std::runtime_error for
// the clear policy errors (mlock above RLIMIT_MEMLOCK, O_DIRECT refused by the filesystem).
Mapping load(const std::string& path, const Strategy& strategy,
             const ModelLayout* layout = nullptr);

}  // namespace faultline
