#include "broker/txn/producer_id_manager.h"

#include <algorithm>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "glog/logging.h"

namespace strata::txn {
namespace {

// The next block is asked for once this share of the current one is handed
// out (Kafka's PidPrefetchThreshold): a hundred ids of cushion per block of
// a thousand while the controller answers.
constexpr int64_t kPrefetchPercent = 90;

// While a retry waits out its backoff, the manager's thread looks at the
// clock at least this often.
constexpr int64_t kRetryPollMs = 50;

// How many ids of `block` must be handed out before the next is fetched.
int64_t PrefetchAfter(const ProducerIdBlock& block) {
  return (static_cast<int64_t>(block.count) * kPrefetchPercent + 99) / 100;
}

}  // namespace

ProducerIdManager::ProducerIdManager(ProducerIdManagerOptions options)
    : options_(std::move(options)),
      clock_(options_.clock != nullptr ? options_.clock : Clock::Real()) {
  CHECK(options_.fetch_block) << "ProducerIdManager needs a way to fetch blocks";
  CHECK(options_.broker_epoch) << "ProducerIdManager needs the broker epoch";
  backoff_ms_ = std::max<int64_t>(options_.retry_backoff_ms, 1);
  thread_ = std::thread([this] { Loop(); });
}

ProducerIdManager::~ProducerIdManager() { Stop(); }

void ProducerIdManager::Stop() {
  {
    absl::MutexLock l(&mu_);
    stopping_ = true;
  }
  if (thread_.joinable()) thread_.join();
}

absl::StatusOr<int64_t> ProducerIdManager::GenerateProducerId() {
  absl::MutexLock l(&mu_);
  if (stopping_) {
    return absl::UnavailableError(absl::StrCat("broker ", options_.broker_id, " is shutting down"));
  }
  if ((!current_ || next_id_ > current_->last_id()) && next_block_) {
    current_ = next_block_;
    next_id_ = current_->first_id;
    next_block_.reset();
  }
  if (!current_ || next_id_ > current_->last_id()) {
    MaybeRequestBlockLocked();
    return absl::UnavailableError(
        current_ ? absl::StrCat("broker ", options_.broker_id,
                                " used up its producer id block ending at ", current_->last_id(),
                                "; the next is being fetched from the controller")
                 : absl::StrCat("broker ", options_.broker_id,
                                " holds no producer id block yet; one is being fetched from "
                                "the controller"));
  }
  const int64_t id = next_id_++;
  if (!next_block_ && next_id_ - current_->first_id >= PrefetchAfter(*current_)) {
    MaybeRequestBlockLocked();
  }
  return id;
}

void ProducerIdManager::Prefetch() {
  absl::MutexLock l(&mu_);
  if (stopping_ || current_ || next_block_) return;
  MaybeRequestBlockLocked();
}

void ProducerIdManager::MaybeRequestBlockLocked() {
  if (fetch_ != FetchState::kIdle) return;
  if (clock_->NowMs() < retry_at_ms_) return;
  fetch_ = FetchState::kQueued;
}

void ProducerIdManager::Loop() {
  while (true) {
    {
      absl::MutexLock l(&mu_);
      auto ready = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
        return stopping_ || fetch_ == FetchState::kQueued;
      };
      while (!ready()) {
        if (!retry_pending_) {
          mu_.Await(absl::Condition(&ready));
          continue;
        }
        // A failed fetch is tried again once its backoff has passed, asked
        // or not. The backoff is on clock_ (a test's clock moves only when
        // told), so the wait is re-checked at least every kRetryPollMs.
        const int64_t wait_ms = retry_at_ms_ - clock_->NowMs();
        if (wait_ms <= 0) {
          fetch_ = FetchState::kQueued;
          break;
        }
        mu_.AwaitWithTimeout(absl::Condition(&ready),
                             absl::Milliseconds(std::min(wait_ms, kRetryPollMs)));
      }
      if (stopping_) return;
      retry_pending_ = false;
      fetch_ = FetchState::kRunning;
    }
    // Read per try: a broker that registered again asks in its new epoch.
    const int64_t epoch = options_.broker_epoch();
    absl::StatusOr<ProducerIdBlock> block =
        epoch < 0 ? absl::UnavailableError(
                        absl::StrCat("broker ", options_.broker_id, " has not registered yet"))
                  : options_.fetch_block(options_.broker_id, epoch);
    absl::MutexLock l(&mu_);
    // Not registered yet is how a start looks for a moment (the image can
    // show the registration before its answer gives the epoch): no warning.
    OnFetched(std::move(block), /*expected=*/epoch < 0);
  }
}

int64_t ProducerIdManager::fetches_taken() const {
  absl::MutexLock l(&mu_);
  return fetches_taken_;
}

void ProducerIdManager::OnFetched(absl::StatusOr<ProducerIdBlock> block, bool expected) {
  fetch_ = FetchState::kIdle;
  ++fetches_taken_;
  if (block.ok() &&
      (block->count <= 0 || block->first_id < 0 || block->first_id > INT64_MAX - block->count)) {
    block = absl::InternalError(absl::StrCat("the controller granted an invalid block of ",
                                             block->count, " ids from ", block->first_id));
  } else if (block.ok() && block->first_id <= highest_granted_) {
    // The controller's counter went backwards (a replay bug): handing these
    // out could repeat an id, which would merge two producers' state.
    LOG(ERROR) << "Broker " << options_.broker_id << " refuses producer id block ["
               << block->first_id << ", " << block->last_id()
               << "]: it overlaps ids this broker already held (up to " << highest_granted_ << ")";
    block = absl::InternalError(absl::StrCat("the controller granted ids from ", block->first_id,
                                             ", not above ", highest_granted_));
  }
  if (!block.ok()) {
    LOG_IF(WARNING, !expected) << "Broker " << options_.broker_id
                               << " could not fetch a producer id block (next try in "
                               << backoff_ms_ << " ms or later): " << block.status();
    VLOG_IF(1, expected) << "Broker " << options_.broker_id << " waits to fetch producer ids ("
                         << backoff_ms_ << " ms): " << block.status();
    retry_at_ms_ = clock_->NowMs() + backoff_ms_;
    retry_pending_ = true;
    backoff_ms_ = std::min(backoff_ms_ * 2, std::max(options_.max_retry_backoff_ms, backoff_ms_));
    return;
  }
  VLOG(1) << "Broker " << options_.broker_id << " holds producer ids [" << block->first_id << ", "
          << block->last_id() << "]";
  highest_granted_ = block->last_id();
  next_block_ = *block;
  retry_at_ms_ = 0;
  backoff_ms_ = std::max<int64_t>(options_.retry_backoff_ms, 1);
}

}  // namespace strata::txn
