#include "broker/kafka/connection.h"

#include <utility>

#include "glog/logging.h"

namespace strata::kafka {

Connection::Connection(Options options, std::string peer)
    : options_(options), peer_(std::move(peer)), reader_(options.max_frame_bytes) {}

bool IsProduceRequest(std::string_view frame) {
  return frame.size() >= 2 && frame[0] == 0 && frame[1] == 0;  // int16 api key 0, big-endian
}

absl::Status Connection::OnBytes(std::string_view data) { return reader_.Append(data); }

int32_t Connection::inflight() const {
  absl::MutexLock l(&mu_);
  return static_cast<int32_t>(slots_.size());
}

std::optional<Connection::Request> Connection::NextRequest() {
  if (close_reason_ || reader_.ready() == 0 || !unsent().empty()) return std::nullopt;
  absl::MutexLock l(&mu_);
  if (static_cast<int32_t>(slots_.size()) >= options_.max_inflight) return std::nullopt;
  const bool exclusive = options_.may_overlap && !options_.may_overlap(reader_.front());
  if (!slots_.empty() && (exclusive || ExclusiveInFlightLocked())) return std::nullopt;
  Request r;
  r.seq = next_seq_++;
  r.frame = *reader_.Pop();
  Slot slot;
  slot.seq = r.seq;
  slot.exclusive = exclusive;
  slots_.push_back(std::move(slot));
  return r;
}

bool Connection::WantsRead() const {
  if (close_reason_ || reader_.ready() > 0) return false;
  if (unsent().size() > options_.max_unsent_bytes) return false;
  absl::MutexLock l(&mu_);
  // A request that keeps the window to itself mutes the connection, as
  // Kafka does: nothing more is read (a frame read now would be bound by
  // what holds now, e.g. SASL's smaller frame limit before the
  // authentication in flight completes).
  if (ExclusiveInFlightLocked()) return false;
  return static_cast<int32_t>(slots_.size()) < options_.max_inflight;
}

void Connection::CollectReady() {
  if (out_pos_ == out_.size()) {
    out_.clear();
    out_pos_ = 0;
  }
  absl::MutexLock l(&mu_);
  while (!close_reason_ && !slots_.empty() && slots_.front().done) {
    Slot& s = slots_.front();
    if (s.failure) {
      out_.append(s.response);  // the refusal's own answer, if it has one
      close_reason_ = std::move(s.failure);
    } else {
      if (out_.empty()) {
        out_.swap(s.response);  // the common case: no copy of a big answer
      } else {
        out_.append(s.response);
      }
      if (s.hold) holds_.emplace_back(out_.size(), std::move(s.hold));
    }
    slots_.pop_front();
  }
}

void Connection::Consumed(size_t n) {
  CHECK_LE(n, out_.size() - out_pos_);
  out_pos_ += n;
  while (!holds_.empty() && holds_.front().first <= out_pos_) holds_.pop_front();
  if (out_pos_ == out_.size()) {
    out_.clear();
    out_pos_ = 0;
  }
}

void Connection::Complete(uint64_t seq, std::string response, std::shared_ptr<void> hold) {
  absl::MutexLock l(&mu_);
  for (Slot& s : slots_) {
    if (s.seq == seq) {
      CHECK(!s.done) << "request " << seq << " of " << peer_ << " completed twice";
      s.done = true;
      s.response = std::move(response);
      s.hold = std::move(hold);
      return;
    }
  }
}

void Connection::Fail(uint64_t seq, std::string reason, std::string response) {
  absl::MutexLock l(&mu_);
  for (Slot& s : slots_) {
    if (s.seq == seq) {
      CHECK(!s.done) << "request " << seq << " of " << peer_ << " completed twice";
      s.done = true;
      s.response = std::move(response);
      s.failure = std::move(reason);
      return;
    }
  }
}

}  // namespace strata::kafka
