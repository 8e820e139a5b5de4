#include "client/producer.h"

#include <algorithm>
#include <chrono>
#include <limits>
#include <map>
#include <utility>

#include "client/errors.h"
#include "client/produce_request.h"
#include "client/record/sequence.h"
#include "fmt/format.h"
#include "glog/logging.h"
#include "grpcpp/client_context.h"
#include "grpcpp/generic/generic_stub.h"
#include "grpcpp/impl/codegen/proto_utils.h"
#include "strata/v1/broker.grpc.pb.h"
#include "strata/v1/group.grpc.pb.h"
#include "strata/v1/transaction.grpc.pb.h"

namespace strata::client {

// One Produce request to one broker and the batches it carries.
struct Producer::InFlight {
  int64_t id = 0;
  int32_t node = -1;
  std::string target;
  // The broker's ProduceStream it goes on, or null: a unary Produce call
  // (stub and ctx).
  std::shared_ptr<ProduceStream> stream;
  bool open_stream = false;  // the first request of a new stream opens it
  bool timed_out = false;    // its stream was cancelled for it
  // Its broker does not serve ProduceStream: the request goes again as a
  // unary call, without counting an attempt.
  bool unsupported = false;
  absl::Time sent;
  std::unique_ptr<grpc::GenericStub> stub;
  grpc::ClientContext ctx;
  // The request as Dispatch adds its partitions, then in its wire form,
  // which points into the batches' lent payloads (produce_request.h).
  std::optional<ProduceRequestBuilder> builder;
  grpc::ByteBuffer request;
  grpc::ByteBuffer response_bytes;  // a unary call's answer, parsed into `response`
  v1::ProduceResponse response;
  grpc::Status status;
  std::vector<std::unique_ptr<ProducerBatch>> batches;
};

// What one pass of the sender takes out of the accumulator under mu_ and
// works on without it: the partitions' batches to seal and send, and the
// batches refused as too large, to split. Their partitions stay muted
// until Dispatch, so nothing of theirs is sent meanwhile.
struct Producer::SenderWork {
  // A partition's first batch and the full ones queued behind it.
  struct Unit {
    TopicPartition tp;
    int32_t leader = -1;
    std::string target;
    std::vector<std::unique_ptr<ProducerBatch>> batches;
    // Whether the request goes on the broker's ProduceStream (unless it is
    // a retry), decided once, in SendReady. (Should the stream end meanwhile,
    // answering that the broker does not serve it, the request goes on a
    // new one, is answered the same, and goes again as a unary call with the
    // requests of its partition, in order.)
    bool stream = false;
    // Set by Prepare: the batches it sealed (the others were sealed before).
    std::vector<bool> sealed_now;
  };
  // The batches of a partition that one request carried, refused with
  // MESSAGE_TOO_LARGE, in order.
  struct Refused {
    TopicPartition tp;
    std::vector<std::unique_ptr<ProducerBatch>> batches;
    // Per batch: the largest records section of a piece, or 0: re-send the
    // batch alone as it is (one record, refused together with others).
    std::vector<size_t> piece_bytes;
    // The topic's estimate after the refusal, for the pieces.
    double ratio = 1.0;
    // Set by Prepare: what goes back to the head of the partition, in
    // order, and batches that could not be split.
    std::vector<std::unique_ptr<ProducerBatch>> requeue;
    std::vector<std::pair<std::unique_ptr<ProducerBatch>, absl::Status>> failed;
  };
  std::vector<Unit> units;
  std::vector<Refused> refused;
  // Streams to cancel (outside mu_), and whether for a request's timeout.
  std::vector<std::pair<std::shared_ptr<ProduceStream>, bool>> cancel;

  bool empty() const { return units.empty() && refused.empty(); }
};

// The AddPartitionsToTxn in flight (one at a time), sent by the sender.
struct Producer::AddPartitionsCall {
  std::string target;
  std::unique_ptr<v1::Transaction::Stub> stub;
  grpc::ClientContext ctx;
  v1::AddPartitionsToTxnRequest request;
  v1::AddPartitionsToTxnResponse response;
  grpc::Status status;
  std::vector<TopicPartition> partitions;
};

namespace {

// Parses an answer read as bytes; an answer that does not parse fails the
// request as gRPC fails a call whose response does not.
grpc::Status ParseProduceResponse(grpc::ByteBuffer* bytes, v1::ProduceResponse* response) {
  const grpc::Status parsed =
      grpc::GenericDeserialize<grpc::ProtoBufferReader, v1::ProduceResponse>(bytes, response);
  if (parsed.ok()) return parsed;
  return grpc::Status(grpc::StatusCode::INTERNAL,
                      "The broker's produce response does not parse: " + parsed.error_message());
}

}  // namespace

// A broker's ProduceStream (broker.proto): requests are written in the
// order Send() queues them, one write at a time, and each answer read is
// the oldest unanswered request's. The stream stays open for the next
// requests until it fails, times out, or the producer closes it; then every
// request still unanswered gets the stream's status. Kept alive by `self_`
// until OnDone, its last callback (a hold keeps gRPC from calling that
// while Send may still start a write).
class Producer::ProduceStream final
    : public grpc::ClientBidiReactor<grpc::ByteBuffer, grpc::ByteBuffer> {
 public:
  ProduceStream(Producer* producer, std::string target, std::shared_ptr<grpc::Channel> channel)
      : producer_(producer), target_(std::move(target)), stub_(std::move(channel)) {}

  // Starts the call; `self` is this stream.
  void Open(std::shared_ptr<ProduceStream> self) {
    self_ = std::move(self);
    static const std::string* const kMethod = new std::string(BrokerMethod("ProduceStream"));
    stub_.PrepareBidiStreamingCall(&ctx_, *kMethod, grpc::StubOptions(), this);
    AddHold();
    StartRead(&response_);
    StartCall();
  }

  // Queues `call`; false when the stream has ended (the call is not queued).
  bool Send(InFlight* call) ABSL_LOCKS_EXCLUDED(mu_) {
    InFlight* write = nullptr;
    {
      absl::MutexLock lock(&mu_);
      if (done_) return false;
      pending_.push_back(call);  // failed by OnDone if the stream ended
      if (!writing_ && !ended_) {
        writing_ = true;
        write = pending_[written_++];
      }
    }
    if (write != nullptr) StartWrite(&write->request);
    return true;
  }

  // Closes the stream for writing; the broker then finishes it (OnDone).
  // Only with no request unanswered (at Close).
  void Shutdown() ABSL_LOCKS_EXCLUDED(mu_) {
    {
      absl::MutexLock lock(&mu_);
      if (ended_ || !pending_.empty()) return;
      if (writing_) {
        // An answer came before its write completed: OnWriteDone closes.
        shutdown_ = true;
        return;
      }
      // No write may start after this one.
      ended_ = true;
      writing_ = true;
    }
    StartWritesDone();
  }

  void OnWritesDoneDone(bool /*ok*/) override {
    bool release = false;
    {
      absl::MutexLock lock(&mu_);
      writing_ = false;
      release = ReleaseHoldLocked();
    }
    if (release) RemoveHold();
  }

  // Ends the stream; its unanswered requests fail with DEADLINE_EXCEEDED
  // when `timed_out`, else with the stream's status (CANCELLED).
  void Cancel(bool timed_out) ABSL_LOCKS_EXCLUDED(mu_) {
    {
      absl::MutexLock lock(&mu_);
      timed_out_ = timed_out_ || timed_out;
    }
    ctx_.TryCancel();
  }

  void OnWriteDone(bool ok) override {
    InFlight* write = nullptr;
    bool writes_done = false;
    bool release = false;
    {
      absl::MutexLock lock(&mu_);
      writing_ = false;
      if (!ok) ended_ = true;  // the call failed: OnDone says how
      if (!ended_ && written_ < pending_.size()) {
        writing_ = true;
        write = pending_[written_++];
      } else if (!ended_ && shutdown_ && pending_.empty()) {
        ended_ = true;
        writing_ = true;
        writes_done = true;
      }
      release = ReleaseHoldLocked();
    }
    if (write != nullptr) StartWrite(&write->request);
    if (writes_done) StartWritesDone();
    if (release) RemoveHold();
  }

  void OnReadDone(bool ok) override {
    if (!ok) {
      EndReading(/*cancel=*/false);
      return;
    }
    InFlight* call = nullptr;
    {
      absl::MutexLock lock(&mu_);
      // The broker answers only requests it read, oldest first.
      if (!pending_.empty() && written_ > 0) {
        call = pending_.front();
        pending_.pop_front();
        --written_;
      }
    }
    if (call == nullptr) {
      // An answer to none ends the stream (its requests are retried).
      LOG(WARNING) << "The broker " << target_ << " answered a produce request it was not sent";
      EndReading(/*cancel=*/true);
      return;
    }
    grpc::Status parsed = ParseProduceResponse(&response_, &call->response);
    if (!parsed.ok()) {
      // An answer that does not parse: this request fails, and ending the
      // stream fails the others (they are retried).
      LOG(WARNING) << "The broker " << target_ << ": " << parsed.error_message();
      producer_->Answered(call, std::move(parsed));
      EndReading(/*cancel=*/true);
      return;
    }
    producer_->Answered(call, grpc::Status::OK);
    StartRead(&response_);
  }

  void OnDone(const grpc::Status& status) override {
    std::deque<InFlight*> unanswered;
    bool timed_out = false;
    {
      absl::MutexLock lock(&mu_);
      ended_ = true;
      done_ = true;
      unanswered.swap(pending_);
      timed_out = timed_out_;
    }
    const grpc::Status s =
        timed_out ? grpc::Status(grpc::StatusCode::DEADLINE_EXCEEDED,
                                 "No answer to a produce request within request.timeout.ms")
                  : status;
    Producer* const producer = producer_;
    const std::string target = target_;
    // Released (which may delete this, its stub and so a channel
    // reference) before the producer hears of the end: once it has, the
    // producer may be gone with its connection pool, and a channel whose
    // last reference went here, on gRPC's callback thread, would be
    // destroyed on the thread its own destruction waits for.
    self_.reset();
    producer->StreamEnded(this, target, unanswered, s);
  }

 private:
  // Reads no more: the stream takes no more writes, is cancelled when
  // `cancel` (a read failure needs none: the call is over), and gives up
  // its hold once no write is in progress (else OnWriteDone does).
  void EndReading(bool cancel) ABSL_LOCKS_EXCLUDED(mu_) {
    bool release = false;
    {
      absl::MutexLock lock(&mu_);
      ended_ = true;
      release = ReleaseHoldLocked();
    }
    if (cancel) ctx_.TryCancel();
    if (release) RemoveHold();
  }

  // Whether to give up the hold: the stream ended and no write may start.
  bool ReleaseHoldLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (!ended_ || writing_ || !hold_) return false;
    hold_ = false;
    return true;
  }

  Producer* const producer_;
  const std::string target_;
  grpc::GenericStub stub_;
  grpc::ClientContext ctx_;
  grpc::ByteBuffer response_;  // the read in progress
  std::shared_ptr<ProduceStream> self_;
  absl::Mutex mu_;
  // Unanswered requests, oldest first; the first written_ were handed to
  // StartWrite (an answer may come before its OnWriteDone).
  std::deque<InFlight*> pending_ ABSL_GUARDED_BY(mu_);
  size_t written_ ABSL_GUARDED_BY(mu_) = 0;
  bool writing_ ABSL_GUARDED_BY(mu_) = false;
  bool ended_ ABSL_GUARDED_BY(mu_) = false;  // no more writes or reads
  bool done_ ABSL_GUARDED_BY(mu_) = false;   // OnDone took pending_
  bool shutdown_ ABSL_GUARDED_BY(mu_) = false;  // Shutdown() waits for a write
  bool hold_ ABSL_GUARDED_BY(mu_) = true;
  bool timed_out_ ABSL_GUARDED_BY(mu_) = false;
};

namespace {

const absl::Status& ClosedError() {
  static const absl::Status* const kClosed = new absl::Status(
      absl::FailedPreconditionError("Cannot perform operation after producer has been closed"));
  return *kClosed;
}

// Kafka's IllegalStateException for a transactional call on a producer
// without transactional.id.
constexpr char kNotTransactional[] =
    "Cannot use transactional methods without enabling transactions by setting the "
    "transactional.id configuration property";

std::string TimeoutMessage(absl::Duration timeout, const std::string& awaiting) {
  return fmt::format("Timeout expired after {}ms while awaiting {}",
                     absl::ToInt64Milliseconds(timeout), awaiting);
}

// Errors of a produce answer after which a transactional producer can do
// nothing more (Kafka's fatal exceptions in handleFailedBatch; and a batch
// the leader finds outside any transaction: the producer's view and the
// coordinator's differ).
bool IsFatalForTransactions(v1::ErrorCode code) {
  return code == v1::PRODUCER_FENCED || code == v1::TRANSACTIONAL_ID_AUTHORIZATION_FAILED ||
         code == v1::INVALID_TXN_STATE;
}

// compressed / uncompressed records of a sealed batch (1.0 uncompressed).
double AchievedRatio(const ProducerBatch& batch) {
  if (!batch.closed || batch.uncompressed_records_bytes == 0) return 1.0;
  return static_cast<double>(batch.payload.size() - record::kBatchHeaderSize) /
         static_cast<double>(batch.uncompressed_records_bytes);
}

}  // namespace

absl::StatusOr<std::unique_ptr<Producer>> Producer::Create(ProducerConfig config) {
  absl::StatusOr<std::vector<std::string>> bootstrap =
      ParseBootstrapServers(config.bootstrap_servers);
  if (!bootstrap.ok()) return bootstrap.status();
  if (config.acks != 0 && config.acks != 1 && config.acks != -1) {
    return absl::InvalidArgumentError(
        fmt::format("Invalid value {} for configuration acks", config.acks));
  }
  if (config.compression_type != record::Compression::kNone) {
    // A codec this library does not know, or a level out of its range, is
    // refused here rather than found batch by batch.
    absl::StatusOr<std::string> probe =
        record::Compress(config.compression_type, "probe", config.compression_options());
    if (!probe.ok()) {
      return absl::InvalidArgumentError(
          fmt::format("Invalid compression settings: {}", std::string(probe.status().message())));
    }
  }
  if (absl::Status s = config.ValidateIdempotence(); !s.ok()) return s;
  if (config.client_id.empty()) config.client_id = DefaultProducerClientId(config.transactional_id);
  auto producer = std::unique_ptr<Producer>(new Producer(std::move(config), *std::move(bootstrap)));
  if (absl::Status s = producer->pool_.status(); !s.ok()) return s;
  return producer;
}

Producer::Producer(ProducerConfig config, std::vector<std::string> bootstrap)
    : config_(std::move(config)),
      pool_(config_.security, config_.client_id),
      metadata_(std::move(bootstrap), &pool_, config_.request_timeout),
      partitioner_(config_.keyless, config_.batch_size),
      accumulator_(config_.batch_size, config_.linger, config_.compression_type,
                   config_.compression_options(), config_.transactional_id.has_value()),
      idempotent_(config_.idempotence()),
      transactional_(config_.transactional_id.has_value()),
      txn_(config_.transactional_id.value_or("")) {
  {
    absl::MutexLock lock(&mu_);
    need_producer_id_ = idempotent_;
  }
  sender_ = std::thread([this] { SenderLoop(); });
}

Producer::~Producer() { Close(); }

absl::StatusOr<int32_t> Producer::PartitionCount(const std::string& topic) {
  // Every record asks: a usable cached answer first, without reading the
  // clock.
  auto usable = [](const std::optional<std::pair<v1::ErrorCode, int32_t>>& count) {
    return count.has_value() && count->first == v1::NONE && count->second > 0;
  };
  if (auto count = metadata_.PartitionCount(topic); usable(count)) return count->second;
  const absl::Time deadline = absl::Now() + config_.max_block;
  absl::Status last;
  bool refreshed = false;
  while (true) {
    std::optional<std::pair<v1::ErrorCode, int32_t>> count = metadata_.PartitionCount(topic);
    if (usable(count)) return count->second;
    if (count && count->first != v1::NONE && !IsRetriable(count->first)) {
      std::optional<TopicInfo> info = metadata_.Topic(topic);
      if (info) return ErrorToStatus(info->error, info->error_message);
    }
    if (refreshed) {
      if (absl::Now() >= deadline) break;
      absl::SleepFor(std::min(config_.retry_backoff, deadline - absl::Now()));
    }
    last = metadata_.Refresh({topic});
    refreshed = true;
  }
  std::string msg = fmt::format("Topic {} not present in metadata after {} ms.", topic,
                                absl::ToInt64Milliseconds(config_.max_block));
  if (!last.ok()) msg += fmt::format(" ({})", std::string(last.message()));
  return absl::DeadlineExceededError(msg);
}

std::future<absl::StatusOr<RecordMetadata>> Producer::Send(ProducerRecord record) {
  auto promise = std::make_shared<std::promise<absl::StatusOr<RecordMetadata>>>();
  auto future = promise->get_future();
  Send(std::move(record),
       [promise](const absl::StatusOr<RecordMetadata>& result) { promise->set_value(result); });
  return future;
}

void Producer::Send(ProducerRecord record, SendCallback callback) {
  // One clock read: the record's timestamp, its batch's creation and the
  // start of max.block.ms.
  const absl::Time now = absl::Now();
  absl::Status refused;
  if (closed_.load(std::memory_order_acquire)) {
    refused = ClosedError();
  } else if (transactional_) {
    absl::MutexLock lock(&mu_);
    if (closing_) {
      refused = ClosedError();
    } else {
      refused = txn_.CheckSend();
    }
  }
  // Callbacks never run under the producer's lock: they may call Send.
  if (!refused.ok()) {
    callback(refused);
    return;
  }
  // A record refused here inside a transaction is lost to it: as Kafka's
  // doSend, the transaction can then only be aborted.
  // (Only while the transaction is open: a record refused after a commit
  // began never joined it, and must not turn a commit that may already be
  // at the coordinator into an abortable error.)
  auto fail = [&](const absl::Status& error) {
    if (transactional_) {
      absl::MutexLock lock(&mu_);
      if (txn_.state() == TransactionState::kInTransaction) {
        txn_.AbortableError(error, /*bump_epoch=*/false);
      }
    }
    callback(error);
  };
  absl::StatusOr<int32_t> count = PartitionCount(record.topic);
  if (!count.ok()) {
    fail(count.status());
    return;
  }
  int32_t partition = 0;
  if (record.partition.has_value()) {
    partition = *record.partition;
    if (partition < 0 || partition >= *count) {
      // Partitions may have been added since the metadata was cached.
      (void)metadata_.Refresh({record.topic});
      count = PartitionCount(record.topic);
      if (!count.ok()) {
        fail(count.status());
        return;
      }
      if (partition < 0 || partition >= *count) {
        fail(ErrorToStatus(
            v1::UNKNOWN_TOPIC_OR_PARTITION,
            fmt::format("Invalid partition given with record: {} is not in the range [0...{}).",
                        partition, *count)));
        return;
      }
    }
  }

  record::Record r;
  r.key = std::move(record.key);
  r.value = std::move(record.value);
  r.headers = std::move(record.headers);
  r.timestamp = record.timestamp_ms.has_value() ? *record.timestamp_ms : absl::ToUnixMillis(now);
  const size_t size = EstimateRecordSize(r);
  if (size > static_cast<size_t>(config_.max_request_size)) {
    fail(ErrorToStatus(
        v1::MESSAGE_TOO_LARGE,
        fmt::format("The message is {} bytes when serialized which is larger than {}, which is "
                    "the value of the max.request.size configuration.",
                    size, config_.max_request_size)));
    return;
  }
  // A keyed record's partition is a hash of its key, taken here; a keyless
  // one's depends on the partitioner's state, taken under the lock below.
  const bool keyless = !record.partition.has_value() && !r.key.has_value();
  if (!record.partition.has_value() && r.key.has_value()) {
    partition = PartitionForKey(*r.key, *count);
  }
  const int64_t bytes = static_cast<int64_t>(size);
  {
    absl::MutexLock lock(&mu_);
    // buffer.memory: wait for room, up to max.block.ms in all.
    auto room = [this, bytes]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      return closing_ || buffered_bytes_ == 0 || buffered_bytes_ + bytes <= config_.buffer_memory;
    };
    if (!room() && !mu_.AwaitWithDeadline(absl::Condition(&room), now + config_.max_block)) {
      refused = absl::DeadlineExceededError(
          fmt::format("Failed to allocate memory within the configured max blocking time {} ms.",
                      absl::ToInt64Milliseconds(config_.max_block)));
      if (transactional_ && txn_.state() == TransactionState::kInTransaction) {
        txn_.AbortableError(refused, /*bump_epoch=*/false);
      }
    } else if (closing_) {
      refused = ClosedError();
    } else if (absl::Status s = transactional_ ? txn_.CheckSend() : absl::OkStatus(); !s.ok()) {
      refused = std::move(s);  // the transaction ended while Send waited
    } else {
      ++unfinished_;
      buffered_bytes_ += bytes;  // released when its batch completes
      if (keyless) partition = partitioner_.Partition(record.topic, r.key, *count, size);
      const TopicPartition tp{record.topic, PartitionId(partition)};
      if (transactional_) txn_.MaybeAddPartition(tp);
      if (accumulator_.Append(tp, r, size, std::move(callback), now)) wake_sender_.Signal();
      return;
    }
  }
  callback(refused);
}

void Producer::Flush() {
  absl::MutexLock lock(&mu_);
  ++flushing_;
  wake_sender_.Signal();
  mu_.Await(absl::Condition(
      +[](Producer* p) ABSL_EXCLUSIVE_LOCKS_REQUIRED(p->mu_) { return p->unfinished_ == 0; },
      this));
  --flushing_;
}

void Producer::Close(absl::Duration timeout) {
  // From a callback (the sender thread) Close cannot wait for the sender:
  // as in Kafka, it closes at once.
  if (sender_.get_id() == std::this_thread::get_id()) timeout = absl::ZeroDuration();
  if (transactional_ && timeout > absl::ZeroDuration()) {
    // As Kafka's sender does at shutdown: a commit under way (one that
    // timed out) is finished, an incomplete transaction aborted (within
    // max.block.ms at most), so that it does not hold read_committed
    // consumers until transaction.timeout.ms. Not while another thread's
    // transactional call is at work: that call finishes what it does.
    const absl::Time start = absl::Now();
    const absl::Time deadline = start + std::min(timeout, config_.max_block);
    // Another thread's call finishes first (each is bounded by its
    // deadline), then whatever it left is ended here.
    bool locked = txn_call_mu_.TryLock();
    while (!locked && absl::Now() < deadline) {
      absl::SleepFor(absl::Milliseconds(1));
      locked = txn_call_mu_.TryLock();
    }
    if (locked) {
      TransactionState state = TransactionState::kUninitialized;
      bool closed = false;
      {
        absl::MutexLock lock(&mu_);
        state = txn_.state();
        closed = closing_;
      }
      absl::Status s;
      if (!closed && state == TransactionState::kCommittingTransaction) {
        LOG(INFO) << "Finishing the commit of " << config_.transactional_id.value() << " on close";
        s = CommitTransactionUntil(deadline);
        bool abortable = false;
        {
          absl::MutexLock lock(&mu_);
          abortable = txn_.state() == TransactionState::kAbortableError;
        }
        if (abortable) {
          LOG(WARNING) << "The commit on close failed (" << s << "); aborting";
          s = AbortTransactionUntil(deadline);
        }
      } else if (!closed && (state == TransactionState::kInTransaction ||
                             state == TransactionState::kAbortableError ||
                             state == TransactionState::kAbortingTransaction)) {
        LOG(INFO) << "Aborting the incomplete transaction of " << config_.transactional_id.value()
                  << " on close";
        s = AbortTransactionUntil(deadline);
      }
      txn_call_mu_.Unlock();
      if (!s.ok()) LOG(WARNING) << "Ending the transaction on close failed: " << s;
    }
    timeout = std::max(absl::ZeroDuration(), timeout - (absl::Now() - start));
  }
  const absl::Time deadline = absl::Now() + timeout;
  {
    absl::MutexLock lock(&mu_);
    if (!closing_) {
      closing_ = true;
      closed_.store(true, std::memory_order_release);
      wake_sender_.Signal();
    }
    auto done = +[](Producer* p) ABSL_EXCLUSIVE_LOCKS_REQUIRED(p->mu_) { return p->sender_done_; };
    if (!mu_.AwaitWithTimeout(absl::Condition(done, this), timeout)) {
      force_close_ = true;
      wake_sender_.Signal();
    }
  }
  if (sender_.joinable() && sender_.get_id() != std::this_thread::get_id()) sender_.join();
  if (sender_.joinable()) return;  // from a callback: the destructor finishes
  // Nothing is in flight any more: the streams end, and their OnDone (which
  // calls into this producer) runs before Close returns.
  std::vector<std::shared_ptr<ProduceStream>> streams;
  {
    absl::MutexLock lock(&mu_);
    for (auto& [target, stream] : streams_) streams.push_back(stream);
    streams_.clear();
  }
  // Closed for writing, each stream ends when its broker finishes it; one
  // that does not within request.timeout.ms (or what is left of `timeout`)
  // is cancelled.
  for (auto& stream : streams) stream->Shutdown();
  absl::MutexLock lock(&mu_);
  auto ended = +[](Producer* p) ABSL_EXCLUSIVE_LOCKS_REQUIRED(p->mu_) {
    return p->open_streams_ == 0;
  };
  const absl::Duration wait =
      force_close_ ? absl::ZeroDuration()
                   : std::clamp(deadline - absl::Now(), absl::ZeroDuration(), config_.request_timeout);
  if (!mu_.AwaitWithTimeout(absl::Condition(ended, this), wait)) {
    mu_.Unlock();
    for (auto& stream : streams) stream->Cancel(/*timed_out=*/false);
    mu_.Lock();
    mu_.Await(absl::Condition(ended, this));
  }
}

void Producer::SenderLoop() {
  Completions done;
  while (true) {
    std::vector<InFlight*> to_send;
    SenderWork work;
    std::vector<std::string> refresh_topics;
    bool refresh = false;
    bool renew_producer_id = false;
    bool find_txn_coordinator = false;
    AddPartitionsCall* add_partitions = nullptr;
    absl::Time now = absl::Now();
    {
      absl::MutexLock lock(&mu_);
      now = absl::Now();
      absl::Time next_check = absl::InfiniteFuture();
      SendReady(now, &work, &done, &next_check);
      if (transactional_) {
        add_partitions = PrepareAddPartitions(now, &find_txn_coordinator, &next_check);
      }
      // A transactional producer's id comes from InitTransactions only.
      if (idempotent_ && !transactional_ && need_producer_id_ && !force_close_ &&
          !accumulator_.empty()) {
        if (next_producer_id_attempt_ <= now) {
          renew_producer_id = true;
        } else {
          next_check = std::min(next_check, next_producer_id_attempt_);
        }
      }
      if (need_metadata_) {
        const absl::Time allowed = last_metadata_refresh_ + config_.retry_backoff;
        if (allowed <= now) {
          refresh = true;
          need_metadata_ = false;
          last_metadata_refresh_ = now;
          refresh_topics = accumulator_.Topics();
        } else {
          next_check = std::min(next_check, allowed);
        }
      }
      if (work.empty() && work.cancel.empty() && done.empty() && !refresh && !renew_producer_id && !find_txn_coordinator &&
          add_partitions == nullptr) {
        if (closing_ && accumulator_.empty() && in_flight_.empty() && answered_.empty() &&
            add_partitions_ == nullptr) {
          sender_done_ = true;
          return;
        }
        wake_sender_.WaitWithDeadline(&mu_, next_check);
        continue;
      }
    }
    for (auto& [stream, timed_out] : work.cancel) stream->Cancel(timed_out);
    if (!work.empty()) {
      Prepare(&work);
      absl::MutexLock lock(&mu_);
      Dispatch(&work, &to_send, &done);
    }
    for (InFlight* call : to_send) StartCall(call);
    if (add_partitions != nullptr) StartAddPartitions(add_partitions);
    if (find_txn_coordinator) FindTxnCoordinator(now);
    if (renew_producer_id) RenewProducerId(&done);
    if (!done.empty()) {
      const int64_t records = RunCompletions(done);
      absl::MutexLock lock(&mu_);
      unfinished_ -= records;
      done.clear();
    }
    if (refresh) (void)metadata_.Refresh(refresh_topics);
  }
}

void Producer::SendReady(absl::Time now, SenderWork* work, Completions* done,
                         absl::Time* next_check) {
  for (int64_t id : answered_) {
    auto it = in_flight_.find(id);
    std::unique_ptr<InFlight> call = std::move(it->second);
    in_flight_.erase(it);
    HandleAnswer(*call, now, done, work);
  }
  answered_.clear();
  if (transactional_) TxnSenderStep(now, done);

  // A request on a stream unanswered after request.timeout.ms (and the
  // second a unary call's deadline adds) ends its stream, as Kafka closes
  // the connection: every request on it fails and is retried.
  for (auto& [id, call] : in_flight_) {
    if (call->stream == nullptr || call->timed_out) continue;
    const absl::Time deadline = call->sent + config_.request_timeout + absl::Seconds(1);
    if (deadline <= now || force_close_) {
      call->timed_out = true;
      work->cancel.emplace_back(call->stream, !force_close_);
    } else {
      *next_check = std::min(*next_check, deadline);
    }
  }
  if (force_close_) {
    for (auto& batch : accumulator_.DrainAll()) {
      FailBatch(*batch, absl::CancelledError("Producer is closed forcefully."), done);
    }
    for (auto& [id, call] : in_flight_) call->ctx.TryCancel();
    if (add_partitions_ != nullptr) add_partitions_->ctx.TryCancel();
    return;
  }

  for (auto& batch : accumulator_.Expire(now, config_.delivery_timeout)) {
    std::string msg = fmt::format(
        "Expiring {} record(s) for {}:{} ms has passed since batch creation", batch->record_count(),
        batch->tp.ToString(), absl::ToInt64Milliseconds(now - batch->created));
    if (!batch->last_error.ok())
      msg += fmt::format(" (last error: {})", std::string(batch->last_error.message()));
    FailBatch(*batch, ErrorToStatus(v1::REQUEST_TIMED_OUT, msg), done);
  }

  const std::vector<TopicPartition> ready =
      accumulator_.Ready(now, flushing_ > 0 || closing_, next_check);
  // Per partition: its first batch, and every full batch queued behind it
  // that fits in max.request.size by its estimated size (Dispatch checks
  // the sealed sizes). A partition's queued batches travel in one request,
  // so a producer ahead of its acknowledgements (acks=all) is not held to
  // one batch per round trip.
  const size_t batch_size = static_cast<size_t>(config_.batch_size);
  const size_t max_request = static_cast<size_t>(config_.max_request_size);
  for (const TopicPartition& tp : ready) {
    // Idempotence: a retried request's batches go again as they went; new
    // batches wait for a producer id.
    const int64_t retry_group = idempotent_ ? accumulator_.Front(tp)->send_group : -1;
    if (idempotent_ && retry_group < 0 && need_producer_id_) continue;
    // A transaction's batches wait for their partition to be added to it.
    if (transactional_ && retry_group < 0 && !txn_.IsSendAllowed(tp)) continue;
    const int32_t leader = metadata_.Leader(tp.topic, tp.partition.value());
    std::optional<std::string> target =
        leader == kNoLeader ? std::nullopt : metadata_.BrokerAddress(leader);
    if (!target) {
      need_metadata_ = true;
      continue;
    }
    const auto w = windows_.find(tp);  // there only while requests are in flight
    const bool in_flight = w != windows_.end();
    if (in_flight && !MayPipeline(tp, w->second, *target, now, next_check)) continue;
    SenderWork::Unit unit;
    // The stream, which lets further requests of the partition follow this
    // one before it is answered, goes with acks=all always (the answer waits
    // for the followers). With acks 0 or 1 a request on the stream costs
    // more than a unary call (a callback and a thread hand-off more each
    // way; in A/B runs here the 100-byte producer took 5-10 % more CPU on
    // it), so it goes only beside requests already on the stream, or when
    // the producer is ahead of the leader's appends (1 KiB records: 30-40 %
    // more throughput with the window in A/B runs).
    unit.stream = config_.max_in_flight > 1 && !unary_targets_.contains(*target) &&
                  (config_.acks == -1 || in_flight || AheadOfLeader(tp));
    accumulator_.Mute(tp);
    unit.tp = tp;
    unit.leader = leader;
    unit.target = *std::move(target);
    unit.batches.push_back(accumulator_.Take(tp));
    if (retry_group >= 0) {
      while (accumulator_.BatchCount(tp) > 0 && accumulator_.Front(tp)->send_group == retry_group) {
        unit.batches.push_back(accumulator_.Take(tp));
      }
      work->units.push_back(std::move(unit));
      continue;
    }
    size_t bytes = unit.batches.back()->size_in_bytes();
    // Every batch but the last (open) one is full; a flush takes that too.
    // A batch larger than batch.size (one big record) travels alone, so
    // that if the broker refuses it (max.message.bytes) no other goes with
    // it; so does one that was refused together with others.
    const bool alone = unit.batches.back()->send_alone || bytes > batch_size;
    while (!alone && accumulator_.BatchCount(tp) > 0 &&
           (accumulator_.BatchCount(tp) > 1 || flushing_ > 0 || closing_)) {
      const ProducerBatch* next = accumulator_.Front(tp);
      const size_t next_bytes = next->size_in_bytes();
      if (next->send_alone || next->send_group >= 0 || next_bytes > batch_size ||
          bytes + next_bytes > max_request) {
        break;
      }
      unit.batches.push_back(accumulator_.Take(tp));
      bytes += next_bytes;
    }
    work->units.push_back(std::move(unit));
  }
}

void Producer::Prepare(SenderWork* work) {
  for (SenderWork::Unit& unit : work->units) {
    unit.sealed_now.assign(unit.batches.size(), false);
    for (size_t i = 0; i < unit.batches.size(); ++i) {
      if (unit.batches[i]->closed) continue;  // a retry, sealed before
      unit.batches[i]->Close();
      unit.sealed_now[i] = true;
    }
  }
  for (SenderWork::Refused& refused : work->refused) {
    for (size_t i = 0; i < refused.batches.size(); ++i) {
      std::unique_ptr<ProducerBatch>& batch = refused.batches[i];
      if (refused.piece_bytes[i] == 0) {
        batch->send_alone = true;
        batch->attempts = std::max(batch->attempts - 1, 0);  // the refusal is no attempt
        batch->retry_at = absl::InfinitePast();
        refused.requeue.push_back(std::move(batch));
        continue;
      }
      absl::StatusOr<std::vector<std::unique_ptr<ProducerBatch>>> pieces =
          SplitBatch(*batch, refused.piece_bytes[i], refused.ratio);
      if (!pieces.ok()) {
        LOG(WARNING) << "Cannot split a batch of " << batch->record_count() << " records for "
                     << refused.tp.ToString()
                     << " that the broker refused as too large: " << pieces.status();
        absl::Status error = batch->last_error;
        refused.failed.emplace_back(std::move(batch), std::move(error));
        continue;
      }
      for (auto& piece : *pieces) refused.requeue.push_back(std::move(piece));
    }
  }
}

void Producer::Dispatch(SenderWork* work, std::vector<InFlight*>* to_send,
                        Completions* done) {
  if (force_close_) {
    const absl::Status closed = absl::CancelledError("Producer is closed forcefully.");
    for (SenderWork::Unit& unit : work->units) {
      for (auto& batch : unit.batches) FailBatch(*batch, closed, done);
      accumulator_.Unmute(unit.tp);
    }
    for (SenderWork::Refused& refused : work->refused) {
      for (auto& [batch, error] : refused.failed) FailBatch(*batch, error, done);
      for (auto& batch : refused.requeue) FailBatch(*batch, closed, done);
      accumulator_.Unmute(refused.tp);
    }
    return;
  }
  for (SenderWork::Refused& refused : work->refused) {
    for (auto& [batch, error] : refused.failed) FailBatch(*batch, error, done);
    for (auto it = refused.requeue.rbegin(); it != refused.requeue.rend(); ++it) {
      accumulator_.Reenqueue(std::move(*it));
    }
    accumulator_.Unmute(refused.tp);
  }

  // The sealed sizes: the first batch always goes; those behind it only
  // while they still fit (an estimate may have been low); the others go
  // back to the head of the partition, in order.
  const size_t batch_size = static_cast<size_t>(config_.batch_size);
  const size_t max_request = static_cast<size_t>(config_.max_request_size);
  std::map<int32_t, std::vector<SenderWork::Unit*>> by_leader;
  for (SenderWork::Unit& unit : work->units) {
    for (size_t i = 0; i < unit.batches.size(); ++i) {
      if (unit.sealed_now[i]) accumulator_.UpdateRatio(*unit.batches[i]);
    }
    size_t keep = 1;
    size_t bytes = unit.batches.front()->payload.size();
    const bool alone = unit.batches.front()->send_alone || bytes > batch_size;
    while (!alone && keep < unit.batches.size()) {
      const size_t next = unit.batches[keep]->payload.size();
      if (unit.batches[keep]->send_alone || next > batch_size || bytes + next > max_request) break;
      bytes += next;
      ++keep;
    }
    for (size_t i = unit.batches.size(); i-- > keep;) {
      accumulator_.Reenqueue(std::move(unit.batches[i]));
    }
    unit.batches.resize(keep);
    if (idempotent_) {
      // Sequence numbers are given out in the order batches are sent, once
      // each (a retry keeps its stamp).
      for (auto& batch : unit.batches) {
        int32_t& next = next_sequence_[unit.tp];
        if (batch->base_sequence >= 0) {
          // A batch that keeps its stamp may lie past the next sequence:
          // a batch split after a refusal gave its sequences back for its
          // pieces (ReleaseSequence), while the batches stamped after it,
          // in flight beside it, kept theirs and go again behind the
          // pieces. New batches are stamped after them: one stamped as
          // one of them, with as many records, would be taken by the
          // leader for that batch sent again, acknowledged and not written.
          if (batch->producer_id == producer_id_ && batch->producer_epoch == producer_epoch_) {
            const int32_t end =
                record::IncrementSequence(batch->base_sequence, batch->record_count());
            if (record::SequenceBefore(next, end)) next = end;
          }
          continue;
        }
        DCHECK(!need_producer_id_ && producer_id_ >= 0);
        batch->producer_id = producer_id_;
        batch->producer_epoch = producer_epoch_;
        batch->base_sequence = next;
        record::SetProducer(&batch->payload, producer_id_, producer_epoch_, next);
        next = record::IncrementSequence(next, batch->record_count());
      }
    }
    by_leader[unit.leader].push_back(&unit);
  }

  for (auto& [leader, units] : by_leader) {
    std::unique_ptr<InFlight> call;
    bool call_is_retry = false;  // a partition's retry: a call of its own
    size_t bytes = 0;
    auto finish = [&] {
      if (!call) return;
      InFlight* raw = call.get();
      raw->request = raw->builder->Build();
      raw->builder.reset();
      in_flight_.emplace(raw->id, std::move(call));
      to_send->push_back(raw);
    };
    for (SenderWork::Unit* unit : units) {
      size_t unit_bytes = 0;
      bool retry = false;
      for (const auto& batch : unit->batches) {
        unit_bytes += batch->payload.size();
        retry = retry || batch->attempts > 0;
      }
      // A partition's retry goes as a unary call of its own: one whose
      // stream failed for a reason of its own (a message over the broker's
      // limit) then fails alone, and no request goes beside a retry of its
      // partition anyway.
      const bool on_stream = !retry && unit->stream;
      if (call && (bytes + unit_bytes > max_request || on_stream != (call->stream != nullptr) ||
                   retry || call_is_retry)) {
        finish();
      }
      call_is_retry = retry;
      if (!call) {
        call = std::make_unique<InFlight>();
        call->id = next_call_id_++;
        call->node = leader;
        call->target = unit->target;
        // Several requests of a partition may be in flight only on a
        // stream, which keeps them in order.
        if (on_stream) {
          std::shared_ptr<ProduceStream>& stream = streams_[unit->target];
          if (stream == nullptr) {
            stream = std::make_shared<ProduceStream>(this, unit->target, pool_.Get(unit->target));
            ++open_streams_;
            call->open_stream = true;
          }
          call->stream = stream;
        } else {
          call->stub = std::make_unique<grpc::GenericStub>(pool_.Get(unit->target));
        }
        call->sent = absl::Now();
        call->builder.emplace(
            config_.acks, static_cast<int32_t>(absl::ToInt64Milliseconds(config_.request_timeout)));
        bytes = 0;
      }
      const TopicPartition& tp = unit->tp;
      std::vector<std::shared_ptr<const std::string>> payloads;
      payloads.reserve(unit->batches.size());
      for (auto& batch : unit->batches) payloads.push_back(batch->Lend());
      call->builder->Add(tp.topic, tp.partition.value(), std::move(payloads));
      bytes += unit_bytes;
      Window& window = windows_[tp];
      window.sent.emplace(call->id, call->sent);
      window.producer_id = producer_id_;
      window.producer_epoch = producer_epoch_;
      window.target = unit->target;
      if (call->stream == nullptr) window.exclusive = true;
      for (auto& batch : unit->batches) {
        ++batch->attempts;
        // A retry, or a batch to be answered for alone, goes with no other
        // request of its partition in flight.
        if (batch->attempts > 1 || batch->send_alone) window.exclusive = true;
        if (idempotent_ && batch->send_group < 0) batch->send_group = call->id;
        call->batches.push_back(std::move(batch));
      }
      if (WindowOpen(window)) accumulator_.Unmute(tp);
    }
    finish();
  }
}

bool Producer::WindowOpen(const Window& w) const {
  return w.failed.empty() &&
         (w.sent.empty() ||
          (!w.exclusive && static_cast<int>(w.sent.size()) < config_.max_in_flight));
}

bool Producer::AheadOfLeader(const TopicPartition& tp) const {
  return accumulator_.QueuedBytes(tp) >= static_cast<size_t>(config_.max_request_size) / 4;
}

bool Producer::MayPipeline(const TopicPartition& tp, const Window& w, const std::string& target,
                           absl::Time now, absl::Time* next_check) const {
  // Another request beside those in flight (the partition is not muted, so
  // the window has room) goes to the same broker, with batches not sent
  // before (no retry).
  const ProducerBatch* front = accumulator_.Front(tp);
  if (target != w.target || front->attempts > 0) return false;
  // Batches stamped under another producer id or epoch than those in
  // flight wait for them: the broker checks each id's sequence on its own,
  // so the new id's could be written before the old one's. So do batches
  // of a partition whose leader has not acknowledged one of this id and
  // epoch since its last failure: a leader that holds no sequence for a
  // producer takes any (Kafka's rule, for a producer whose state expired),
  // so a request behind a refused first one would be written before it.
  if (idempotent_ && (need_producer_id_ || w.producer_id != producer_id_ ||
                      w.producer_epoch != producer_epoch_ || !sequence_acknowledged_.contains(tp))) {
    return false;
  }
  // Unless a flush asks: once the producer is ahead of the leader (less
  // waits for an answer, as with one request in flight, and then goes with
  // what came meanwhile), or a full batch once the oldest request has waited
  // kPipelineAfter with acks=all (its answer waits for the followers).
  if (flushing_ > 0 || closing_ || AheadOfLeader(tp)) return true;
  if (config_.acks != -1 || !accumulator_.HasFullBatch(tp)) return false;
  const absl::Time after = w.sent.begin()->second + kPipelineAfter;
  if (after > now) {
    *next_check = std::min(*next_check, after);
    return false;
  }
  return true;
}

void Producer::HandleAnswer(InFlight& call, absl::Time now,
                            Completions* done, SenderWork* work) {
  released_.clear();
  // gRPC is done with the request (answered, or its stream or call ended):
  // its references to the batches' payloads go, so that a batch to send
  // again takes its payload back without a copy (ProducerBatch::Reclaim).
  call.request.Clear();
  // The request's partitions (a partition's batches are consecutive in it).
  std::vector<TopicPartition> partitions;
  for (const auto& batch : call.batches) {
    if (partitions.empty() || !(partitions.back() == batch->tp)) partitions.push_back(batch->tp);
  }
  for (const TopicPartition& tp : partitions) {
    Window& w = windows_[tp];
    w.sent.erase(call.id);
    if (w.sent.empty()) w.exclusive = false;
  }

  std::map<std::pair<std::string, int32_t>, const v1::PartitionProduceResponse*> answers;
  if (call.status.ok()) {
    for (const auto& t : call.response.topics()) {
      for (const auto& p : t.partitions()) answers[{t.topic(), p.partition()}] = &p;
    }
  }
  const absl::Status call_error = FromGrpcStatus(call.status, call.target);
  // The offset the next batch of each partition got: batches of one
  // partition were appended back to back.
  std::map<std::pair<std::string, int32_t>, int64_t> next_offset;
  std::map<TopicPartition, int> batches_of;  // in this request
  for (const auto& batch : call.batches) ++batches_of[batch->tp];
  for (auto& batch : call.batches) {
    BatchFailure failure;
    failure.node = call.node;
    failure.request_batches = batches_of[batch->tp];
    failure.call_id = call.id;
    if (call.unsupported) {
      // Never written: back as it was, for a unary call.
      --batch->attempts;
      failure.resend = true;
    }
    if (!call_error.ok()) {
      failure.call_error = call_error;
    } else {
      auto it = answers.find({batch->tp.topic, batch->tp.partition.value()});
      if (it == answers.end()) {
        FailBatch(*batch,
                  ErrorToStatus(v1::UNKNOWN_SERVER_ERROR,
                                fmt::format("The broker {} sent no answer for {}", call.target,
                                            batch->tp.ToString())),
                  done);
        continue;
      }
      const v1::PartitionProduceResponse& answer = *it->second;
      if (answer.error() == v1::NONE) {
        if (idempotent_ && batch->producer_id == producer_id_ &&
            batch->producer_epoch == producer_epoch_) {
          sequence_acknowledged_.insert(batch->tp);
        }
        auto [next, first] = next_offset.try_emplace(it->first, answer.base_offset());
        const int64_t base = next->second;
        next->second += batch->record_count();
        buffered_bytes_ -= batch->reserved_bytes;
        done->push_back({.tp = batch->tp,
                         .callbacks = std::move(batch->callbacks),
                         .timestamps = std::move(batch->timestamps),
                         .base_offset = config_.acks == 0 ? -1 : base,
                         .log_append_time_ms = answer.log_append_time_ms(),
                         .error = absl::OkStatus()});
        continue;
      }
      failure.error = answer.error();
      failure.message = answer.error_message();
      failure.leader_hint = answer.leader_hint();
    }
    batch->Reclaim();  // to go again, or be split
    failure.batch = std::move(batch);
    windows_[failure.batch->tp].failed.push_back(std::move(failure));
  }

  // A partition's failures wait until none of its requests is in flight
  // (those sent behind a failed one most likely fail too: its leader
  // moved, or, idempotent, their sequences no longer follow); then they
  // are handled together, in the order they were sent. Meanwhile the
  // partition sends nothing.
  std::vector<Retry> retry;
  const size_t first_refused = work->refused.size();
  for (const TopicPartition& tp : partitions) {
    auto w = windows_.find(tp);
    if (w->second.sent.empty() && !w->second.failed.empty()) {
      std::vector<BatchFailure> failed = std::move(w->second.failed);
      w->second.failed.clear();
      // In the order they were sent: a request answered at once because its
      // stream had ended may have come back before those sent before it.
      // After a failure the partition keeps one request in flight until a
      // batch is acknowledged again.
      sequence_acknowledged_.erase(tp);
      std::stable_sort(failed.begin(), failed.end(),
                       [](const BatchFailure& a, const BatchFailure& b) {
                         return a.call_id < b.call_id;
                       });
      HandleFailures(failed, done, work, &retry);
    }
    if (w->second.sent.empty()) {
      windows_.erase(w);
      accumulator_.Unmute(tp);
    } else if (WindowOpen(w->second)) {
      accumulator_.Unmute(tp);
    } else {
      accumulator_.Mute(tp);
    }
  }
  // Batches to retry go back to the head of their partitions last first, so
  // that a partition's batches keep their order.
  for (auto it = retry.rbegin(); it != retry.rend(); ++it) {
    RetryOrFail(std::move(it->batch), it->error, now, done, it->at_once);
  }

  // As Kafka's Sender: the topic's estimate goes back to at least 1.0 (it
  // is what let the batch grow too large), and each batch of several
  // records is cut into pieces of at most batch.size at that ratio (with
  // the estimate's margin, so that a piece is not taken for an oversized
  // batch, which travels alone) and at most half its records, so that
  // every refusal makes them smaller.
  for (size_t r = first_refused; r < work->refused.size(); ++r) {
    SenderWork::Refused& refused = work->refused[r];
    double observed = 1.0;
    for (const auto& batch : refused.batches) observed = std::max(observed, AchievedRatio(*batch));
    accumulator_.ResetRatio(refused.tp.topic, observed);
    refused.ratio = observed;
    LOG(WARNING) << "The broker refused " << refused.batches.size() << " batch(es) of "
                 << refused.tp.ToString() << " as too large ("
                 << refused.batches.front()->last_error.message()
                 << "); splitting and sending again";
    const auto at_ratio =
        static_cast<size_t>(static_cast<double>(config_.batch_size) / (observed * kEstimateMargin));
    for (const auto& batch : refused.batches) {
      const size_t records_bytes = batch->uncompressed_records_bytes;
      refused.piece_bytes.push_back(batch->record_count() > 1
                                        ? std::max<size_t>(1, std::min(at_ratio, records_bytes / 2))
                                        : 0);
    }
    accumulator_.Mute(refused.tp);
  }
}

void Producer::HandleFailures(
    std::vector<BatchFailure>& failed, Completions* done, SenderWork* work,
    std::vector<Retry>* retry) {
  const size_t batches = failed.size();
  // Only batches refused as too large ahead of any other failure are split
  // now: their pieces go back to the head of the partition after the
  // retries, so a refusal behind a retry goes again as it is (and is split
  // when it comes first).
  bool split = true;
  for (BatchFailure& f : failed) {
    std::unique_ptr<ProducerBatch>& batch = f.batch;
    if (f.resend) {
      split = false;
      retry->push_back({std::move(batch), f.call_error, /*at_once=*/true});
      continue;
    }
    if (!f.call_error.ok()) {
      split = false;
      if (IsNetworkError(f.call_error)) {
        metadata_.InvalidateLeader(batch->tp.topic, batch->tp.partition.value());
        need_metadata_ = true;
        retry->push_back({std::move(batch), f.call_error});
      } else {
        FailBatch(*batch, f.call_error, done);
      }
      continue;
    }
    const absl::Status error = ErrorToStatus(
        f.error, f.message.empty()
                     ? fmt::format("{} ({})", DefaultErrorMessage(f.error), batch->tp.ToString())
                     : f.message);
    if (f.error == v1::MESSAGE_TOO_LARGE && !force_close_ &&
        (batch->record_count() > 1 || f.request_batches > 1)) {
      if (!split) {
        retry->push_back({std::move(batch), error});
        continue;
      }
      // Split (or, one record refused with others, re-send alone); see
      // producer.h. The partition stays muted until the pieces are back.
      // It and its pieces get new stamps.
      if (idempotent_) ReleaseSequence(*batch, error);
      batch->last_error = error;
      if (work->refused.empty() || !(work->refused.back().tp == batch->tp) ||
          !work->refused.back().piece_bytes.empty()) {
        work->refused.emplace_back();
        work->refused.back().tp = batch->tp;
      }
      work->refused.back().batches.push_back(std::move(batch));
      continue;
    }
    split = false;
    if (idempotent_ && (f.error == v1::OUT_OF_ORDER_SEQUENCE_NUMBER ||
                        f.error == v1::INVALID_PRODUCER_EPOCH)) {
      if (batches > 1) {
        // The leader may hold the first batches and not the rest (a
        // follower whose copy was cut short took over; a power loss kept
        // part of it; a batch sent before them failed), which it refuses:
        // each goes again alone, stamped as it is, to be answered for
        // itself — as a duplicate, or appended in sequence.
        batch->send_group = next_call_id_++;
        retry->push_back({std::move(batch), error});
        continue;
      }
      // Alone, it was not written, and the leader's view of this producer
      // differs from ours (its state expired, or was lost with a log): a
      // new id. Inside a transaction the id may not change: the batch
      // fails, the transaction is to be aborted and the abort bumps the
      // epoch (KIP-360; an INVALID_PRODUCER_EPOCH producer is most likely
      // fenced, which the abort's EndTxn then says).
      ForgetSequence(*batch, error);
      Unstamp(*batch);
      if (transactional_) {
        FailBatch(*batch, error, done);
        continue;
      }
      retry->push_back({std::move(batch), error});
      continue;
    }
    if (!IsRetriable(f.error)) {
      if (transactional_ && IsFatalForTransactions(f.error)) txn_.FatalError(error);
      if (idempotent_) ReleaseSequence(*batch, error);
      FailBatch(*batch, error, done);
      continue;
    }
    if (InvalidatesMetadata(f.error)) {
      const int32_t hint = f.leader_hint;
      if (hint >= 0 && hint != f.node && metadata_.BrokerAddress(hint)) {
        metadata_.SetLeaderHint(batch->tp.topic, batch->tp.partition.value(), hint);
      } else {
        metadata_.InvalidateLeader(batch->tp.topic, batch->tp.partition.value());
        need_metadata_ = true;
      }
    }
    retry->push_back({std::move(batch), error});
  }
}

int64_t Producer::RunCompletions(Completions& done) {
  int64_t records = 0;
  for (Completed& c : done) {
    records += static_cast<int64_t>(c.callbacks.size());
    if (!c.error.ok()) {
      const absl::StatusOr<RecordMetadata> failed(c.error);
      for (SendCallback& cb : c.callbacks) cb(failed);
      continue;
    }
    // One result, its offset and timestamp moved along the batch.
    absl::StatusOr<RecordMetadata> md(RecordMetadata{.topic = std::move(c.tp.topic),
                                                     .partition = c.tp.partition.value(),
                                                     .offset = -1,
                                                     .timestamp_ms = -1});
    for (size_t i = 0; i < c.callbacks.size(); ++i) {
      md->offset = c.base_offset < 0 ? -1 : c.base_offset + static_cast<int64_t>(i);
      md->timestamp_ms = c.log_append_time_ms > 0 ? c.log_append_time_ms : c.timestamps[i];
      c.callbacks[i](md);
    }
  }
  return records;
}

void Producer::FailBatch(const ProducerBatch& batch, const absl::Status& error,
                         Completions* done) {
  if (idempotent_) ForgetSequence(batch, error);
  // A record lost inside a transaction: the transaction cannot commit.
  if (transactional_) txn_.AbortableError(error, /*bump_epoch=*/false);
  done->push_back({.tp = batch.tp,
                   .callbacks = batch.callbacks,
                   .timestamps = {},
                   .base_offset = -1,
                   .log_append_time_ms = -1,
                   .error = error});
  buffered_bytes_ -= batch.reserved_bytes;
}

void Producer::RetryOrFail(std::unique_ptr<ProducerBatch> batch, const absl::Status& error,
                           absl::Time now, Completions* done, bool at_once) {
  batch->last_error = error;
  if (force_close_) {
    FailBatch(*batch, error, done);
    return;
  }
  if (now - batch->created >= config_.delivery_timeout) {
    FailBatch(*batch,
              ErrorToStatus(v1::REQUEST_TIMED_OUT,
                            fmt::format("Expiring {} record(s) for {}:{} ms has passed since "
                                        "batch creation (last error: {})",
                                        batch->record_count(), batch->tp.ToString(),
                                        absl::ToInt64Milliseconds(now - batch->created),
                                        std::string(error.message()))),
              done);
    return;
  }
  if (batch->attempts > config_.retries) {
    FailBatch(*batch, error, done);
    return;
  }
  batch->retry_at = at_once ? absl::InfinitePast() : now + config_.retry_backoff;
  accumulator_.Reenqueue(std::move(batch));
}

void Producer::Answered(InFlight* call, grpc::Status status) {
  absl::MutexLock lock(&mu_);
  call->status = std::move(status);
  answered_.push_back(call->id);
  wake_sender_.Signal();
}

void Producer::StreamEnded(const ProduceStream* stream, const std::string& target,
                           const std::deque<InFlight*>& unanswered, const grpc::Status& status) {
  absl::MutexLock lock(&mu_);
  grpc::Status s = status;
  const bool unsupported = status.error_code() == grpc::StatusCode::UNIMPLEMENTED;
  if (unsupported) {
    // A broker of an older version: unary Produce calls from now on, and
    // the requests go again that way.
    LOG(WARNING) << "The broker " << target
                 << " does not serve ProduceStream; sending it one request at a time";
    unary_targets_.insert(target);
    s = grpc::Status(grpc::StatusCode::UNAVAILABLE, "The broker does not serve ProduceStream");
  } else if (!status.ok() && !IsNetworkError(FromGrpcStatus(status, target))) {
    // The stream failed for a reason that may be one request's (a message
    // over the broker's limit): every request on it goes again, as a retry,
    // that is alone in a unary call, where only that one fails.
    s = grpc::Status(grpc::StatusCode::UNAVAILABLE,
                     "The produce stream failed: " + status.error_message());
  }
  for (InFlight* call : unanswered) {
    call->status = s;
    call->unsupported = unsupported;
    answered_.push_back(call->id);
  }
  // (`stream` may be gone: compared, never used.)
  auto it = streams_.find(target);
  if (it != streams_.end() && it->second.get() == stream) streams_.erase(it);
  --open_streams_;
  wake_sender_.Signal();
}

void Producer::StartCall(InFlight* call) {
  if (call->stream != nullptr) {
    if (call->open_stream) call->stream->Open(call->stream);
    if (!call->stream->Send(call)) {
      Answered(call, grpc::Status(grpc::StatusCode::UNAVAILABLE,
                                  "The produce stream to " + call->target + " ended"));
    }
    return;
  }
  call->ctx.set_deadline(std::chrono::system_clock::now() +
                         absl::ToChronoMilliseconds(config_.request_timeout + absl::Seconds(1)));
  static const std::string* const kMethod = new std::string(BrokerMethod("Produce"));
  call->stub->UnaryCall(&call->ctx, *kMethod, grpc::StubOptions(), &call->request,
                        &call->response_bytes, [this, call](grpc::Status status) {
                          if (status.ok()) {
                            status = ParseProduceResponse(&call->response_bytes, &call->response);
                          }
                          absl::MutexLock lock(&mu_);
                          call->status = std::move(status);
                          answered_.push_back(call->id);
                          wake_sender_.Signal();
                        });
}

void Producer::ForgetSequence(const ProducerBatch& batch, const absl::Status& error) {
  if (batch.base_sequence < 0 || batch.producer_id != producer_id_) return;
  if (transactional_) {
    // A batch of an earlier epoch: the bump that ended it already started
    // the sequences afresh.
    if (batch.producer_epoch != producer_epoch_) return;
    txn_.AbortableError(error, /*bump_epoch=*/true);
    // The id changes only through the abort's bump: nothing is stamped
    // until then. (Without a bump to come, the producer would wait for an
    // id nobody fetches.)
    if (!txn_.epoch_bump_required()) return;
  }
  if (!need_producer_id_) {
    need_producer_id_ = true;
    next_producer_id_attempt_ = absl::InfinitePast();
  }
}

void Producer::ReleaseSequence(ProducerBatch& batch, const absl::Status& error) {
  // Refused on its first attempt, the batch cannot have been written by an
  // earlier one: its sequences are free again. Batches stamped after it
  // were in flight with it, and are handled in the same list of failures
  // (HandleFailures): they go again with their stamps, behind its pieces
  // if it is split (the pieces hold its records, so the sequences still
  // follow on, and Dispatch stamps new batches after theirs), or else find
  // a gap and take the out-of-order path to a new id. (A partition's failed
  // batches are handled first to last, so the first one's sequence is where
  // the partition goes back to.) A retried batch may have been written
  // before: a new id.
  if (batch.base_sequence >= 0 && batch.attempts == 1 && batch.producer_id == producer_id_ &&
      !need_producer_id_) {
    int32_t& next = next_sequence_[batch.tp];
    if (!released_.contains(batch.tp)) next = batch.base_sequence;
    released_.insert(batch.tp);
  } else {
    ForgetSequence(batch, error);
  }
  Unstamp(batch);
}

void Producer::Unstamp(ProducerBatch& batch) {
  batch.producer_id = -1;
  batch.producer_epoch = -1;
  batch.base_sequence = -1;
  batch.send_group = -1;
}

void Producer::RenewProducerId(Completions* done) {
  v1::InitProducerIdRequest request;
  request.set_producer_id(-1);
  request.set_producer_epoch(-1);
  v1::InitProducerIdResponse response;
  absl::Status status = metadata_.CallAnyNode([&](const std::string& target) {
    auto stub = v1::Broker::NewStub(pool_.Get(target));
    grpc::ClientContext ctx;
    ctx.set_deadline(
        std::chrono::system_clock::now() +
        absl::ToChronoMilliseconds(std::min(config_.request_timeout, absl::Seconds(10))));
    response.Clear();
    return FromGrpcStatus(stub->InitProducerId(&ctx, request, &response), target);
  });
  bool retriable = IsNetworkError(status);
  if (status.ok() && response.error() != v1::NONE) {
    status = ErrorToStatus(response.error(), response.error_message().empty()
                                                 ? DefaultErrorMessage(response.error())
                                                 : response.error_message());
    // Coordinator-style answers too: ids come with the transaction
    // coordinator's errors (no block yet, loading, moved).
    retriable =
        IsRetriable(response.error()) || response.error() == v1::COORDINATOR_LOAD_IN_PROGRESS ||
        response.error() == v1::COORDINATOR_NOT_AVAILABLE ||
        response.error() == v1::NOT_COORDINATOR || response.error() == v1::CONCURRENT_TRANSACTIONS;
  }
  absl::MutexLock lock(&mu_);
  if (status.ok()) {
    producer_id_ = response.producer_id();
    producer_epoch_ = static_cast<int16_t>(response.producer_epoch());
    next_sequence_.clear();
    sequence_acknowledged_.clear();
    need_producer_id_ = false;
    producer_id_wanted_since_ = absl::InfiniteFuture();
    VLOG(1) << "Idempotent producer id " << producer_id_ << ", epoch " << producer_epoch_;
    return;
  }
  const absl::Time now = absl::Now();
  next_producer_id_attempt_ = now + config_.retry_backoff;
  if (retriable) {
    // A broker fetching its first id block, or a coordinator loading,
    // answers for a moment after a start: said only when it lasts.
    producer_id_wanted_since_ = std::min(producer_id_wanted_since_, now);
    if (now - producer_id_wanted_since_ >= kProducerIdPatience) {
      LOG_EVERY_N(WARNING, 20) << "No producer id for "
                               << absl::FormatDuration(now - producer_id_wanted_since_)
                               << ", retrying: " << status;
    } else {
      VLOG(1) << "No producer id yet, retrying: " << status;
    }
    return;
  }
  // A broker that cannot give ids (one without InitProducerId) will not
  // start to: the records waiting fail now rather than at their timeout.
  LOG(ERROR) << "The idempotent producer cannot get a producer id: " << status;
  const absl::Status error(status.code(), fmt::format("Cannot get a producer id for the "
                                                      "idempotent producer: {}",
                                                      std::string(status.message())));
  for (auto& batch : accumulator_.DrainAll()) FailBatch(*batch, error, done);
}

// ---------------------------------------------------------------------------
// Transactions

absl::Status Producer::CheckTransactional() const {
  if (!transactional_) return absl::FailedPreconditionError(kNotTransactional);
  return absl::OkStatus();
}

TransactionState Producer::transaction_state() {
  absl::MutexLock lock(&mu_);
  return txn_.state();
}

absl::Duration Producer::RpcTimeout(absl::Time deadline) const {
  // At least a moment, so that a call made at its deadline still asks once.
  return std::min(config_.request_timeout,
                  std::max(deadline - absl::Now(), absl::Milliseconds(100)));
}

void Producer::InstallProducerId(int64_t producer_id, int16_t producer_epoch) {
  producer_id_ = producer_id;
  producer_epoch_ = producer_epoch;
  next_sequence_.clear();
  sequence_acknowledged_.clear();
  need_producer_id_ = false;
  VLOG(1) << "Transactional id " << txn_.transactional_id() << ": producer id " << producer_id
          << ", epoch " << producer_epoch;
}

absl::StatusOr<std::string> Producer::LookupCoordinator(int32_t key_type, const std::string& key,
                                                        absl::Duration timeout) {
  v1::FindCoordinatorRequest request;
  request.set_key_type(key_type);
  request.add_keys(key);
  v1::FindCoordinatorResponse response;
  absl::Status status = metadata_.CallAnyNode([&](const std::string& target) {
    auto stub = v1::Group::NewStub(pool_.Get(target));
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + absl::ToChronoMilliseconds(timeout));
    response.Clear();
    return FromGrpcStatus(stub->FindCoordinator(&ctx, request, &response), target);
  });
  if (!status.ok()) return status;
  if (response.coordinators_size() != 1) {
    return ErrorToStatus(v1::UNKNOWN_SERVER_ERROR,
                         fmt::format("FindCoordinator for {} answered {} coordinators", key,
                                     response.coordinators_size()));
  }
  const v1::Coordinator& c = response.coordinators(0);
  if (c.error() != v1::NONE) {
    return ErrorToStatus(
        c.error(), c.error_message().empty() ? DefaultErrorMessage(c.error()) : c.error_message());
  }
  return fmt::format("{}:{}", c.host(), c.port());
}

absl::Status Producer::CallCoordinator(TxnRequest request, int32_t key_type, const std::string& key,
                                       absl::Time deadline, const std::string& awaiting,
                                       const CoordinatorRpc& rpc) {
  const absl::Time start = absl::Now();
  // A group's coordinator is looked up for this call only; the transaction
  // coordinator is kept.
  std::string group_coordinator;
  absl::Status last;
  absl::Duration concurrent_backoff = kConcurrentTxnFirstBackoff;
  while (true) {
    std::string target;
    {
      absl::MutexLock lock(&mu_);
      if (txn_.state() == TransactionState::kFatalError) return txn_.StateError();
      // A commit whose transaction turned abortable meanwhile is not sent
      // (Kafka's maybeTerminateRequestWithError).
      if (request == TxnRequest::kEndTxn && txn_.state() == TransactionState::kAbortableError) {
        return txn_.StateError();
      }
      target = key_type == 1 ? txn_coordinator_ : group_coordinator;
    }
    absl::Duration backoff = config_.retry_backoff;
    if (target.empty()) {
      absl::StatusOr<std::string> found = LookupCoordinator(key_type, key, RpcTimeout(deadline));
      if (found.ok()) {
        target = *found;
        if (key_type == 1) {
          absl::MutexLock lock(&mu_);
          txn_coordinator_ = target;
        } else {
          group_coordinator = target;
        }
      } else {
        last = found.status();
        const v1::ErrorCode code = ErrorCodeOf(last);
        if (IsDeterministicRpcFailure(last) ||
            (HasErrorCode(last) &&
             ClassifyTxnError(TxnRequest::kFindCoordinator, code) == TxnErrorAction::kFatal)) {
          absl::Status error =
              TxnErrorStatus(TxnRequest::kFindCoordinator, code, std::string(last.message()));
          absl::MutexLock lock(&mu_);
          txn_.FatalError(error);
          return error;
        }
      }
    }
    if (!target.empty()) {
      absl::StatusOr<TxnAnswer> answer = rpc(target, deadline);
      TxnErrorAction action = TxnErrorAction::kFindCoordinator;
      if (!answer.ok()) {
        last = answer.status();
        if (IsDeterministicRpcFailure(last)) {
          absl::MutexLock lock(&mu_);
          txn_.FatalError(last);
          return last;
        }
      } else {
        action = ClassifyTxnError(request, answer->error);
        if (action == TxnErrorAction::kNone) return absl::OkStatus();
        last = TxnErrorStatus(request, answer->error, answer->message);
        if (action == TxnErrorAction::kAbortable || action == TxnErrorAction::kFatal) {
          absl::MutexLock lock(&mu_);
          if (action == TxnErrorAction::kFatal) {
            txn_.FatalError(last);
          } else {
            txn_.AbortableError(last, TxnErrorNeedsEpochBump(answer->error));
          }
          return last;
        }
        if (answer->error == v1::CONCURRENT_TRANSACTIONS) {
          backoff = concurrent_backoff;
          concurrent_backoff = std::min(2 * concurrent_backoff, kConcurrentTxnMaxBackoff);
        }
      }
      if (action == TxnErrorAction::kFindCoordinator) {
        if (key_type == 1) {
          absl::MutexLock lock(&mu_);
          if (txn_coordinator_ == target) txn_coordinator_.clear();
        } else {
          group_coordinator.clear();
        }
      }
    }
    const absl::Time now = absl::Now();
    if (now >= deadline) {
      std::string message = TimeoutMessage(now - start, awaiting);
      if (!last.ok()) message += fmt::format(" (last error: {})", std::string(last.message()));
      return absl::DeadlineExceededError(message);
    }
    VLOG(1) << awaiting << ": retrying after " << last;
    absl::SleepFor(std::min(backoff, deadline - now));
  }
}

absl::StatusOr<std::pair<int64_t, int16_t>> Producer::TransactionalProducerId(
    absl::Time deadline, int64_t producer_id, int16_t producer_epoch) {
  const std::string& id = *config_.transactional_id;
  v1::InitProducerIdRequest request;
  request.set_transactional_id(id);
  request.set_transaction_timeout_ms(
      static_cast<int32_t>(absl::ToInt64Milliseconds(config_.transaction_timeout)));
  request.set_producer_id(producer_id);
  request.set_producer_epoch(producer_epoch);
  v1::InitProducerIdResponse response;
  absl::Status s = CallCoordinator(
      TxnRequest::kInitProducerId, 1, id, deadline, "InitProducerId",
      [&](const std::string& target, absl::Time d) -> absl::StatusOr<TxnAnswer> {
        auto stub = v1::Broker::NewStub(pool_.Get(target));
        grpc::ClientContext ctx;
        ctx.set_deadline(std::chrono::system_clock::now() +
                         absl::ToChronoMilliseconds(RpcTimeout(d)));
        response.Clear();
        absl::Status rpc = FromGrpcStatus(stub->InitProducerId(&ctx, request, &response), target);
        if (!rpc.ok()) return rpc;
        return TxnAnswer{response.error(), response.error_message()};
      });
  if (!s.ok()) return s;
  return std::make_pair(response.producer_id(), static_cast<int16_t>(response.producer_epoch()));
}

absl::Status Producer::InitTransactions() { return InitTransactions(config_.max_block); }

absl::Status Producer::InitTransactions(absl::Duration timeout) {
  if (absl::Status s = CheckTransactional(); !s.ok()) return s;
  absl::MutexLock call(&txn_call_mu_);
  const absl::Time deadline = absl::Now() + timeout;
  {
    absl::MutexLock lock(&mu_);
    if (closing_) return ClosedError();
    if (absl::Status s = txn_.BeginInit(); !s.ok()) return s;
  }
  absl::StatusOr<std::pair<int64_t, int16_t>> id = TransactionalProducerId(deadline, -1, -1);
  if (!id.ok()) return id.status();
  absl::MutexLock lock(&mu_);
  if (txn_.state() != TransactionState::kInitializing) return txn_.StateError();
  txn_.CompleteInit(id->first, id->second);
  InstallProducerId(id->first, id->second);
  return absl::OkStatus();
}

absl::Status Producer::BeginTransaction() {
  if (absl::Status s = CheckTransactional(); !s.ok()) return s;
  absl::MutexLock call(&txn_call_mu_);
  absl::MutexLock lock(&mu_);
  if (closing_) return ClosedError();
  return txn_.BeginTransaction();
}

bool Producer::AwaitTransactionRecords(absl::Time deadline,
                                       bool (*stop)(const TransactionManager&)) {
  ++flushing_;
  wake_sender_.Signal();
  struct Args {
    Producer* p;
    bool (*stop)(const TransactionManager&);
  } args{this, stop};
  const bool done = mu_.AwaitWithDeadline(
      absl::Condition(
          +[](Args* a) ABSL_EXCLUSIVE_LOCKS_REQUIRED(a->p->mu_) {
            return (a->p->unfinished_ == 0 && a->p->add_partitions_ == nullptr) ||
                   a->stop(a->p->txn_);
          },
          &args),
      deadline);
  --flushing_;
  return done;
}

absl::Status Producer::EndTransaction(bool commit, absl::Time deadline, bool maybe_nothing_open) {
  const std::string& id = *config_.transactional_id;
  const std::string awaiting = commit ? "EndTxn(COMMIT)" : "EndTxn(ABORT)";
  v1::EndTxnRequest request;
  {
    absl::MutexLock lock(&mu_);
    request.set_producer_id(txn_.producer_id());
    request.set_producer_epoch(txn_.producer_epoch());
  }
  request.set_transactional_id(id);
  request.set_committed(commit);
  absl::Status s = CallCoordinator(
      TxnRequest::kEndTxn, 1, id, deadline, awaiting,
      [&](const std::string& target, absl::Time d) -> absl::StatusOr<TxnAnswer> {
        auto stub = v1::Transaction::NewStub(pool_.Get(target));
        grpc::ClientContext ctx;
        ctx.set_deadline(std::chrono::system_clock::now() +
                         absl::ToChronoMilliseconds(RpcTimeout(d)));
        v1::EndTxnResponse response;
        absl::Status rpc = FromGrpcStatus(stub->EndTxn(&ctx, request, &response), target);
        if (!rpc.ok()) return rpc;
        // The epoch is checked before the state: INVALID_TXN_STATE to an
        // abort of a transaction that was maybe never opened says it was
        // not (Empty, or the previous one's CompleteCommit).
        if (maybe_nothing_open && response.error() == v1::INVALID_TXN_STATE) {
          VLOG(1) << "EndTxn(ABORT): no transaction was open at the coordinator";
          return TxnAnswer{};
        }
        return TxnAnswer{response.error(), response.error_message()};
      });
  if (!s.ok()) return s;
  absl::MutexLock lock(&mu_);
  txn_.EndTxnDone();
  return absl::OkStatus();
}

absl::Status Producer::CommitTransaction() { return CommitTransaction(config_.max_block); }

absl::Status Producer::CommitTransaction(absl::Duration timeout) {
  if (absl::Status s = CheckTransactional(); !s.ok()) return s;
  absl::MutexLock call(&txn_call_mu_);
  {
    absl::MutexLock lock(&mu_);
    if (closing_) return ClosedError();
  }
  return CommitTransactionUntil(absl::Now() + timeout);
}

absl::Status Producer::CommitTransactionUntil(absl::Time deadline) {
  const absl::Time start = absl::Now();
  bool started = false;
  {
    absl::MutexLock lock(&mu_);
    if (absl::Status s = txn_.BeginCommit(); !s.ok()) return s;
    // Every record first; a record that fails makes the error abortable.
    const bool sent = AwaitTransactionRecords(deadline, [](const TransactionManager& t) {
      return t.state() != TransactionState::kCommittingTransaction;
    });
    if (txn_.state() != TransactionState::kCommittingTransaction) return txn_.StateError();
    if (!sent) {
      return absl::DeadlineExceededError(
          TimeoutMessage(absl::Now() - start, "EndTxn(COMMIT)") +
          fmt::format(" ({} record(s) still unanswered)", unfinished_));
    }
    started = txn_.transaction_started();
  }
  if (started) {
    if (absl::Status s = EndTransaction(/*commit=*/true, deadline); !s.ok()) return s;
  }
  absl::MutexLock lock(&mu_);
  if (!txn_.CompleteTransaction() && txn_.has_error()) return txn_.StateError();
  return absl::OkStatus();
}

absl::Status Producer::AbortTransaction() { return AbortTransaction(config_.max_block); }

absl::Status Producer::AbortTransaction(absl::Duration timeout) {
  if (absl::Status s = CheckTransactional(); !s.ok()) return s;
  absl::MutexLock call(&txn_call_mu_);
  {
    absl::MutexLock lock(&mu_);
    if (closing_) return ClosedError();
  }
  return AbortTransactionUntil(absl::Now() + timeout);
}

absl::Status Producer::AbortTransactionUntil(absl::Time deadline) {
  const absl::Time start = absl::Now();
  bool end_txn = false;
  bool maybe_nothing_open = false;
  {
    absl::MutexLock lock(&mu_);
    if (absl::Status s = txn_.BeginAbort(); !s.ok()) return s;
    // The sender fails the records not sent yet (TxnSenderStep); those in
    // flight, and retries of sent ones, finish first: their sequences must
    // be known before the next transaction.
    const bool quiet = AwaitTransactionRecords(deadline, [](const TransactionManager& t) {
      return t.state() == TransactionState::kFatalError;
    });
    if (txn_.state() == TransactionState::kFatalError) return txn_.StateError();
    if (!quiet) {
      return absl::DeadlineExceededError(
          TimeoutMessage(absl::Now() - start, "EndTxn(ABORT)") +
          fmt::format(" ({} record(s) still in flight)", unfinished_));
    }
    end_txn = (txn_.transaction_started() || txn_.maybe_started()) && !txn_.end_txn_refused();
    maybe_nothing_open = !txn_.transaction_started();
  }
  if (end_txn) {
    if (absl::Status s = EndTransaction(/*commit=*/false, deadline, maybe_nothing_open); !s.ok()) {
      // INVALID_PRODUCER_ID_MAPPING to the EndTxn itself: on to the bump.
      absl::MutexLock lock(&mu_);
      if (!txn_.end_txn_refused() || txn_.state() != TransactionState::kAbortingTransaction) {
        return s;
      }
    }
  }
  int64_t producer_id = -1;
  int16_t producer_epoch = -1;
  {
    absl::MutexLock lock(&mu_);
    if (txn_.state() != TransactionState::kAbortingTransaction) {
      return txn_.has_error() ? txn_.StateError() : absl::OkStatus();
    }
    // The coordinator does not know the id: nothing of it to end there.
    if (txn_.end_txn_refused()) txn_.EndTxnDone();
    if (!txn_.epoch_bump_required()) {
      txn_.CompleteTransaction();
      return absl::OkStatus();
    }
    producer_id = txn_.producer_id();
    producer_epoch = txn_.producer_epoch();
  }
  // KIP-360: a batch's fate was unknown, or the coordinator lost the id; the
  // same id with the next epoch (or a new id when the epochs ran out, or
  // the old one is unknown) starts the sequences afresh and aborts at the
  // coordinator whatever it still holds open.
  absl::StatusOr<std::pair<int64_t, int16_t>> id =
      TransactionalProducerId(deadline, producer_id, producer_epoch);
  if (!id.ok()) return id.status();
  absl::MutexLock lock(&mu_);
  if (txn_.state() != TransactionState::kAbortingTransaction) {
    return txn_.has_error() ? txn_.StateError() : absl::OkStatus();
  }
  txn_.EpochBumped(id->first, id->second);
  InstallProducerId(id->first, id->second);
  txn_.CompleteTransaction();
  return absl::OkStatus();
}

absl::Status Producer::SendOffsetsToTransaction(
    const std::map<TopicPartition, OffsetAndMetadata>& offsets,
    const ConsumerGroupMetadata& group) {
  // Kafka's throwIfInvalidGroupMetadata.
  if (group.group_id.empty()) {
    return absl::InvalidArgumentError("The consumer group metadata has no group id");
  }
  if (group.generation_id > 0 && group.member_id.empty()) {
    return absl::InvalidArgumentError(
        fmt::format("Passed in group metadata (group id {}, generation {}) has generationId > 0 "
                    "but member.id is empty",
                    group.group_id, group.generation_id));
  }
  if (absl::Status s = CheckTransactional(); !s.ok()) return s;
  absl::MutexLock call(&txn_call_mu_);
  int64_t producer_id = -1;
  int16_t producer_epoch = -1;
  {
    absl::MutexLock lock(&mu_);
    if (closing_) return ClosedError();
    if (offsets.empty()) return absl::OkStatus();
    if (absl::Status s = txn_.CheckSendOffsets(); !s.ok()) return s;
    producer_id = txn_.producer_id();
    producer_epoch = txn_.producer_epoch();
  }
  absl::Status s = AddOffsetsToTransaction(offsets, group, producer_id, producer_epoch);
  if (!s.ok()) {
    // Offsets that did not all reach the group's coordinator must not be
    // left out of a commit: the transaction can only be aborted. (Kafka's
    // sender finishes such a call before the EndTxn; this producer's calls
    // are made by the caller's thread, so the transaction ends instead.)
    // Without an answer (a timeout, a call cut short) the AddOffsetsToTxn
    // may have opened the transaction, and a TxnOffsetCommit may still land
    // later: the abort ends with an epoch bump, so that the
    // __consumer_offsets log refuses such a late write (the producer
    // epoch). Kafka narrows this by never sending EndTxn while a
    // TxnOffsetCommit is in flight; here the window between the abort's
    // EndTxn and the bump remains (KIP-890 closes it).
    absl::MutexLock lock(&mu_);
    const bool answered = HasErrorCode(s);
    if (!answered) txn_.AddOutcomeUnknown();
    // (In ABORTABLE_ERROR already: the first error stays, the bump counts.)
    txn_.AbortableError(s, /*bump_epoch=*/!answered);
  }
  return s;
}

absl::Status Producer::AddOffsetsToTransaction(
    const std::map<TopicPartition, OffsetAndMetadata>& offsets, const ConsumerGroupMetadata& group,
    int64_t producer_id, int16_t producer_epoch) {
  const std::string& id = *config_.transactional_id;
  const absl::Time deadline = absl::Now() + config_.max_block;

  // The group's __consumer_offsets partition joins the transaction.
  v1::AddOffsetsToTxnRequest add;
  add.set_transactional_id(id);
  add.set_producer_id(producer_id);
  add.set_producer_epoch(producer_epoch);
  add.set_group_id(group.group_id);
  absl::Status s = CallCoordinator(
      TxnRequest::kAddOffsetsToTxn, 1, id, deadline, "AddOffsetsToTxn",
      [&](const std::string& target, absl::Time d) -> absl::StatusOr<TxnAnswer> {
        auto stub = v1::Transaction::NewStub(pool_.Get(target));
        grpc::ClientContext ctx;
        ctx.set_deadline(std::chrono::system_clock::now() +
                         absl::ToChronoMilliseconds(RpcTimeout(d)));
        v1::AddOffsetsToTxnResponse response;
        absl::Status rpc = FromGrpcStatus(stub->AddOffsetsToTxn(&ctx, add, &response), target);
        if (!rpc.ok()) return rpc;
        return TxnAnswer{response.error(), response.error_message()};
      });
  if (!s.ok()) return s;
  {
    absl::MutexLock lock(&mu_);
    txn_.OffsetsAdded();
  }

  // Then the offsets, at the group's coordinator; partitions it accepted
  // are not sent again when others are retried.
  std::map<TopicPartition, OffsetAndMetadata> pending = offsets;
  return CallCoordinator(
      TxnRequest::kTxnOffsetCommit, 0, group.group_id, deadline, "TxnOffsetCommit",
      [&](const std::string& target, absl::Time d) -> absl::StatusOr<TxnAnswer> {
        v1::TxnOffsetCommitRequest request;
        request.set_transactional_id(id);
        request.set_group_id(group.group_id);
        request.set_producer_id(producer_id);
        request.set_producer_epoch(producer_epoch);
        request.set_generation_id(group.generation_id);
        request.set_member_id(group.member_id);
        request.set_group_instance_id(group.group_instance_id.value_or(""));
        for (const auto& [tp, o] : pending) {
          v1::TxnOffsetCommitTopic* topic = nullptr;
          if (request.topics_size() > 0 && request.topics().rbegin()->name() == tp.topic) {
            topic = request.mutable_topics(request.topics_size() - 1);
          } else {
            topic = request.add_topics();
            topic->set_name(tp.topic);
          }
          v1::TxnOffsetCommitPartition* p = topic->add_partitions();
          p->set_partition_index(tp.partition.value());
          p->set_committed_offset(o.offset);
          p->set_committed_leader_epoch(o.leader_epoch.value_or(-1));
          p->set_committed_metadata(o.metadata);
        }
        auto stub = v1::Transaction::NewStub(pool_.Get(target));
        grpc::ClientContext ctx;
        ctx.set_deadline(std::chrono::system_clock::now() +
                         absl::ToChronoMilliseconds(RpcTimeout(d)));
        v1::TxnOffsetCommitResponse response;
        absl::Status rpc = FromGrpcStatus(stub->TxnOffsetCommit(&ctx, request, &response), target);
        if (!rpc.ok()) return rpc;
        // The worst answer counts (fatal, abortable, moved, retry); the
        // partitions answered NONE are done.
        TxnAnswer worst;
        TxnErrorAction worst_action = TxnErrorAction::kNone;
        for (const v1::TxnOffsetCommitTopicResponse& t : response.topics()) {
          for (const v1::TxnOffsetCommitPartitionResponse& p : t.partitions()) {
            if (p.error() == v1::NONE) {
              pending.erase(TopicPartition{t.name(), PartitionId(p.partition_index())});
              continue;
            }
            const TxnErrorAction action = ClassifyTxnError(TxnRequest::kTxnOffsetCommit, p.error());
            if (action > worst_action) {
              worst_action = action;
              worst = TxnAnswer{p.error(), p.error_message()};
            }
          }
        }
        if (worst_action == TxnErrorAction::kNone && !pending.empty()) {
          return TxnAnswer{v1::UNKNOWN_SERVER_ERROR,
                           fmt::format("The group coordinator {} did not answer for {} "
                                       "partition(s)",
                                       target, pending.size())};
        }
        return worst;
      });
}

void Producer::TxnSenderStep(absl::Time now, Completions* done) {
  if (add_partitions_ != nullptr && add_partitions_answered_) {
    std::unique_ptr<AddPartitionsCall> call = std::move(add_partitions_);
    add_partitions_answered_ = false;
    HandleAddPartitionsAnswer(*call, now);
  }
  if (force_close_) return;
  // Kafka's Sender: once the transaction is to be aborted, nothing more of
  // it is sent; batches sent before (stamped) still go until their fate is
  // known. A fatal error stops everything.
  absl::Status error;
  std::function<bool(const ProducerBatch&)> remove;
  switch (txn_.state()) {
    case TransactionState::kAbortingTransaction:
      error = TransactionManager::AbortedRecordError();
      remove = [](const ProducerBatch& b) { return b.base_sequence < 0; };
      break;
    case TransactionState::kAbortableError:
      error = txn_.last_error();
      remove = [](const ProducerBatch& b) { return b.base_sequence < 0; };
      break;
    case TransactionState::kFatalError:
      error = txn_.StateError();
      remove = [](const ProducerBatch&) { return true; };
      break;
    default:
      return;
  }
  for (auto& batch : accumulator_.RemoveIf(remove)) FailBatch(*batch, error, done);
}

Producer::AddPartitionsCall* Producer::PrepareAddPartitions(absl::Time now, bool* find,
                                                            absl::Time* next_check) {
  const TransactionState state = txn_.state();
  if (force_close_ || add_partitions_ != nullptr || !txn_.HasPartitionsToAdd() ||
      (state != TransactionState::kInTransaction &&
       state != TransactionState::kCommittingTransaction)) {
    return nullptr;
  }
  if (next_add_partitions_ > now) {
    *next_check = std::min(*next_check, next_add_partitions_);
    return nullptr;
  }
  if (txn_coordinator_.empty()) {
    *find = true;
    return nullptr;
  }
  auto call = std::make_unique<AddPartitionsCall>();
  call->target = txn_coordinator_;
  call->stub = v1::Transaction::NewStub(pool_.Get(call->target));
  call->partitions = txn_.TakePartitionsToAdd();
  call->request.set_transactional_id(txn_.transactional_id());
  call->request.set_producer_id(txn_.producer_id());
  call->request.set_producer_epoch(txn_.producer_epoch());
  for (const TopicPartition& tp : call->partitions) {
    // Ordered by topic: consecutive partitions of a topic share its entry.
    if (call->request.topics_size() == 0 || call->request.topics().rbegin()->name() != tp.topic) {
      call->request.add_topics()->set_name(tp.topic);
    }
    call->request.mutable_topics(call->request.topics_size() - 1)
        ->add_partitions(tp.partition.value());
  }
  add_partitions_ = std::move(call);
  add_partitions_answered_ = false;
  return add_partitions_.get();
}

void Producer::StartAddPartitions(AddPartitionsCall* call) {
  call->ctx.set_deadline(std::chrono::system_clock::now() +
                         absl::ToChronoMilliseconds(config_.request_timeout));
  call->stub->async()->AddPartitionsToTxn(&call->ctx, &call->request, &call->response,
                                          [this, call](grpc::Status status) {
                                            absl::MutexLock lock(&mu_);
                                            call->status = std::move(status);
                                            add_partitions_answered_ = true;
                                            wake_sender_.Signal();
                                          });
}

void Producer::HandleAddPartitionsAnswer(AddPartitionsCall& call, absl::Time now) {
  if (!call.status.ok()) {
    const absl::Status error = FromGrpcStatus(call.status, call.target);
    if (IsDeterministicRpcFailure(error)) {
      txn_.RetryPartitions();
      txn_.FatalError(error);
      return;
    }
    VLOG(1) << "AddPartitionsToTxn at " << call.target << " failed, retrying: " << error;
    if (txn_coordinator_ == call.target) txn_coordinator_.clear();
    // The coordinator may have added them before the answer was lost.
    txn_.RetryPartitions(/*outcome_unknown=*/true);
    next_add_partitions_ = now + config_.retry_backoff;
    return;
  }
  std::map<std::pair<std::string, int32_t>, const v1::TxnPartitionResult*> results;
  for (const v1::TxnPartitionResult& r : call.response.results()) {
    results[{r.topic(), r.partition()}] = &r;
  }
  // As Kafka's handler: any retriable error retries the whole call;
  // OPERATION_NOT_ATTEMPTED (the others failed) counts only alone.
  TxnErrorAction worst_action = TxnErrorAction::kNone;
  v1::ErrorCode worst = v1::NONE;
  std::string message;
  bool not_attempted = false;
  for (const TopicPartition& tp : call.partitions) {
    auto it = results.find({tp.topic, tp.partition.value()});
    const v1::ErrorCode code = it == results.end() ? v1::UNKNOWN_SERVER_ERROR : it->second->error();
    if (code == v1::OPERATION_NOT_ATTEMPTED) {
      not_attempted = true;
      continue;
    }
    const TxnErrorAction action = ClassifyTxnError(TxnRequest::kAddPartitionsToTxn, code);
    if (action > worst_action) {
      worst_action = action;
      worst = code;
      message =
          it == results.end()
              ? fmt::format("No answer for {} ({})", tp.ToString(), call.response.error_message())
              : fmt::format("{}: {}", tp.ToString(),
                            call.response.error_message().empty() ? DefaultErrorMessage(code)
                                                                  : call.response.error_message());
    }
  }
  if (worst_action == TxnErrorAction::kNone && not_attempted) {
    worst_action = TxnErrorAction::kAbortable;
    worst = v1::OPERATION_NOT_ATTEMPTED;
    message = "Could not add partitions to transaction due to errors";
  }
  if (worst != v1::CONCURRENT_TRANSACTIONS) add_partitions_backoff_ = kConcurrentTxnFirstBackoff;
  switch (worst_action) {
    case TxnErrorAction::kNone:
      txn_.PartitionsAdded();
      return;
    case TxnErrorAction::kRetry:
    case TxnErrorAction::kFindCoordinator:
      VLOG(1) << "AddPartitionsToTxn: " << ErrorName(worst) << ", retrying";
      if (worst_action == TxnErrorAction::kFindCoordinator && txn_coordinator_ == call.target) {
        txn_coordinator_.clear();
      }
      txn_.RetryPartitions();
      if (worst == v1::CONCURRENT_TRANSACTIONS) {
        next_add_partitions_ = now + add_partitions_backoff_;
        add_partitions_backoff_ = std::min(2 * add_partitions_backoff_, kConcurrentTxnMaxBackoff);
      } else {
        next_add_partitions_ = now + config_.retry_backoff;
      }
      return;
    case TxnErrorAction::kAbortable:
      txn_.RetryPartitions();
      txn_.AbortableError(TxnErrorStatus(TxnRequest::kAddPartitionsToTxn, worst, message),
                          TxnErrorNeedsEpochBump(worst));
      return;
    case TxnErrorAction::kFatal:
      txn_.RetryPartitions();
      txn_.FatalError(TxnErrorStatus(TxnRequest::kAddPartitionsToTxn, worst, message));
      return;
  }
}

void Producer::FindTxnCoordinator(absl::Time now) {
  const std::string& id = *config_.transactional_id;
  absl::StatusOr<std::string> found =
      LookupCoordinator(1, id, std::min(config_.request_timeout, absl::Seconds(10)));
  absl::MutexLock lock(&mu_);
  if (found.ok()) {
    txn_coordinator_ = *found;
    return;
  }
  const v1::ErrorCode code = ErrorCodeOf(found.status());
  if (IsDeterministicRpcFailure(found.status()) ||
      (HasErrorCode(found.status()) &&
       ClassifyTxnError(TxnRequest::kFindCoordinator, code) == TxnErrorAction::kFatal)) {
    txn_.FatalError(
        TxnErrorStatus(TxnRequest::kFindCoordinator, code, std::string(found.status().message())));
    return;
  }
  VLOG(1) << "No transaction coordinator for " << id << " yet: " << found.status();
  next_add_partitions_ = now + config_.retry_backoff;
}

}  // namespace strata::client
