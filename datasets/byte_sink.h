// Sequential output in large blocks: the format writers put the header, the
// tensor data (from a filler callback) and the alignment padding into one
// 8 MiB buffer and hand it to a ByteSink whenever it is full.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <span>
#include <string_view>
#include <vector>

namespace faultline {

class ByteSink {
 public:
  virtual ~ByteSink() = default;
  virtual void write(std::span<const std::byte> bytes) = 0;
};

// Fills `out` with the bytes [offset_in_tensor, offset_in_tensor + out.size())
// of tensor number `tensor`. Called in file order, each tensor front to back.
using TensorFiller = std::function<void(std::size_t tensor, std::uint64_t offset_in_tensor,
                                        std::span<std::byte> out)>;

inline constexpr std::size_t kWriteBlock = 8 << 20;

class BlockWriter {
 public:
  explicit BlockWriter(ByteSink& sink, std::size_t block = kWriteBlock);
  void append(std::string_view bytes);
  void zeros(std::uint64_t n);
  void tensor_data(std::size_t tensor, std::uint64_t bytes, const TensorFiller& fill);
  void flush();
  std::uint64_t written() const { return flushed_ + used_; }

 private:
  ByteSink& sink_;
  std::vector<std::byte> buf_;
  std::size_t used_ = 0;
  std::uint64_t flushed_ = 0;
};

}  // namespace faultline
