#include "broker/kafka/frame_reader.h"

#include <algorithm>

#include "absl/strings/str_cat.h"

namespace strata::kafka {

namespace {
// The first allocation for a frame's body; it grows with the bytes that come.
constexpr size_t kInitialReserve = 64 << 10;
}  // namespace

absl::Status FrameReader::Append(std::string_view data) {
  if (!error_.ok()) return error_;
  while (!data.empty()) {
    if (!in_body_) {
      const size_t n = std::min(data.size(), prefix_.size() - prefix_len_);
      std::copy_n(data.data(), n, prefix_.data() + prefix_len_);
      prefix_len_ += n;
      data.remove_prefix(n);
      if (prefix_len_ < prefix_.size()) break;
      const uint32_t raw = (uint32_t{static_cast<uint8_t>(prefix_[0])} << 24) |
                           (uint32_t{static_cast<uint8_t>(prefix_[1])} << 16) |
                           (uint32_t{static_cast<uint8_t>(prefix_[2])} << 8) |
                           uint32_t{static_cast<uint8_t>(prefix_[3])};
      const int32_t size = static_cast<int32_t>(raw);
      prefix_len_ = 0;
      if (size < 0 || size > max_frame_bytes_) {
        error_ = absl::InvalidArgumentError(absl::StrCat(
            "declared a ", size, "-byte request, over ", limit_key_, " (", max_frame_bytes_, ")"));
        return error_;
      }
      in_body_ = true;
      body_size_ = static_cast<size_t>(size);
      body_.clear();
      body_.reserve(std::min(body_size_, kInitialReserve));
    }
    const size_t n = std::min(data.size(), body_size_ - body_.size());
    body_.append(data.data(), n);
    data.remove_prefix(n);
    if (body_.size() == body_size_) {
      buffered_bytes_ += body_.size();
      frames_.push_back(std::move(body_));
      body_ = std::string();
      in_body_ = false;
    }
  }
  return absl::OkStatus();
}

std::optional<std::string> FrameReader::Pop() {
  if (frames_.empty()) return std::nullopt;
  std::string frame = std::move(frames_.front());
  frames_.pop_front();
  buffered_bytes_ -= frame.size();
  return frame;
}

}  // namespace strata::kafka
