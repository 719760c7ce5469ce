#include "benchmarks/mapping.h"

#include <sys/mman.h>
#include <sys/stat.h>

#include <cstdlib>
#include <stdexcept>
#include <utility>

#include "benchmarks/loaders.h"
#include "common/unique_fd.h"

namespace faultline {

Mapping::~Mapping() {
  release();
}

Mapping::Mapping(Mapping&& o) noexcept {
  *this = std::move(o);
}

Mapping& Mapping::operator=(Mapping&& o) noexcept {
  if (this != &o) {
    release();
    data_ = std::exchange(o.data_, nullptr);
    size_ = std::exchange(o.size_, 0);
    alloc_size_ = std::exchange(o.alloc_size_, 0);
    kind_ = std::exchange(o.kind_, Kind::kNone);
    locked_ = std::exchange(o.locked_, false);
    warnings_ = std::move(o.warnings_);
    read_calls_ = std::exchange(o.read_calls_, 0);
    copy_ = std::exchange(o.copy_, nullptr);
    copied_bytes_ = std::exchange(o.copied_bytes_, 0);
  }
  return *this;
}

Mapping Mapping::from_mmap(void* addr, std::size_t size) {
  Mapping m;
  m.data_ = static_cast<std::uint8_t*>(addr);
  m.size_ = size;
  m.alloc_size_ = size;
  m.kind_ = Kind::kMmap;
  return m;
}

Mapping Mapping::from_heap(std::uint8_t* buf, std::size_t size, bool aligned) {
  Mapping m;
  m.data_ = buf;
  m.size_ = size;
  m.alloc_size_ = size;
  m.kind_ = aligned ? Kind::kAlignedHeap : Kind::kHeap;
  return m;
}

void Mapping::release() noexcept {
  std::free(copy_);
  copy_ = nullptr;
  copied_bytes_ = 0;
  if (!data_) return;
  if (locked_) ::munlock(data_, alloc_size_);
  if (kind_ == Kind::kMmap)
    ::munmap(data_, alloc_size_);
  else
    std::free(data_);  // both heap kinds come from malloc / posix_memalign
  data_ = nullptr;
  size_ = alloc_size_ = 0;
  kind_ = Kind::kNone;
  locked_ = false;
}

namespace detail {

std::uint64_t file_size_of(int fd, const std::string& path) {
  struct stat st {};
  if (::fstat(fd, &st) != 0) throw sys_error("fstat", path);
  if (!S_ISREG(st.st_mode)) throw std::runtime_error(path + ": not a regular file");
  if (st.st_size == 0) throw std::runtime_error(path + ": empty file, nothing to load");
  return static_cast<std::uint64_t>(st.st_size);
}

}  // namespace detail

Mapping load(const std::string& path, const Strategy& strategy, const ModelLayout* layout) {
  switch (strategy.method) {
    case LoadMethod::kRead:
      if (strategy.tensors) return detail::load_tensors(path, strategy, layout);
      return detail::load_read(path, strategy);
    case LoadMethod::kPread:
      return detail::load_pread(path, strategy);
    case LoadMethod::kDirect:
      if (strategy.tensors) return detail::load_tensors(path, strategy, layout);
      return detail::load_direct(path, strategy);
    case LoadMethod::kUring:
      return detail::load_uring(path, strategy);
    case LoadMethod::kMmap:
      return detail::load_mmap(path, strategy, layout);
  }
  throw std::logic_error("load: unknown method");
}

}  // namespace faultline
