#include "datasets/byte_sink.h"

#include <algorithm>
#include <cstring>

namespace faultline {

BlockWriter::BlockWriter(ByteSink& sink, std::size_t block) : sink_(sink), buf_(block) {}

void BlockWriter::flush() {
  if (used_ == 0) return;
  sink_.write(std::span<const std::byte>(buf_.data(), used_));
  flushed_ += used_;
  used_ = 0;
}

void BlockWriter::append(std::string_view bytes) {
  while (!bytes.empty()) {
    if (used_ == buf_.size()) flush();
    const std::size_t n = std::min(bytes.size(), buf_.size() - used_);
    std::memcpy(buf_.data() + used_, bytes.data(), n);
    used_ += n;
    bytes.remove_prefix(n);
  }
}

void BlockWriter::zeros(std::uint64_t n) {
  while (n > 0) {
    if (used_ == buf_.size()) flush();
    const std::size_t k = static_cast<std::size_t>(std::min<std::uint64_t>(n, buf_.size() - used_));
    std::memset(buf_.data() + used_, 0, k);
    used_ += k;
    n -= k;
  }
}

void BlockWriter::tensor_data(std::size_t tensor, std::uint64_t bytes, const TensorFiller& fill) {
  std::uint64_t done = 0;
  while (done < bytes) {
    if (used_ == buf_.size()) flush();
    const std::size_t k =
        static_cast<std::size_t>(std::min<std::uint64_t>(bytes - done, buf_.size() - used_));
    fill(tensor, done, std::span<std::byte>(buf_.data() + used_, k));
    used_ += k;
    done += k;
  }
}

}  // namespace faultline
