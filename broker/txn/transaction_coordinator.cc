#include "broker/txn/transaction_coordinator.h"

#include <algorithm>
#include <limits>
#include <utility>

#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "broker/group/group_metadata.h"
#include "client/record/record_batch.h"
#include "glog/logging.h"

namespace strata::txn {
namespace {

using State = TransactionState;

// Kafka's mapping of a failed append to __transaction_state to what the
// client is told (TransactionStateManager.appendTransactionToLog): it
// retries, or finds the coordinator again.
ErrorCode AppendError(ErrorCode e) {
  switch (e) {
    case ErrorCode::kUnknownTopicOrPartition:
    case ErrorCode::kNotEnoughReplicas:
    case ErrorCode::kNotEnoughReplicasAfterAppend:
    case ErrorCode::kRequestTimedOut:
      return ErrorCode::kCoordinatorNotAvailable;
    case ErrorCode::kNotLeaderOrFollower:
    case ErrorCode::kKafkaStorageError:
      return ErrorCode::kNotCoordinator;
    case ErrorCode::kMessageTooLarge:
    case ErrorCode::kRecordListTooLarge:
      return ErrorCode::kUnknownServerError;
    default:
      return e;
  }
}

// Marker errors after which the partition is tried again (Kafka's
// TransactionMarkerRequestCompletionHandler, plus the sender's own
// failures to reach a leader, which Kafka retries as a disconnection).
bool RetriableMarkerError(ErrorCode e) {
  switch (e) {
    case ErrorCode::kUnknownTopicOrPartition:
    case ErrorCode::kNotLeaderOrFollower:
    case ErrorCode::kNotEnoughReplicas:
    case ErrorCode::kNotEnoughReplicasAfterAppend:
    case ErrorCode::kRequestTimedOut:
    case ErrorCode::kKafkaStorageError:
    case ErrorCode::kNetworkException:
    case ErrorCode::kLeaderNotAvailable:
    case ErrorCode::kBrokerNotAvailable:
      return true;
    default:
      return false;
  }
}

// Kafka's UNSUPPORTED_FOR_MESSAGE_FORMAT (43), which error_code.h does not
// name: a marker to a partition whose message format predates markers.
constexpr ErrorCode kUnsupportedForMessageFormat = static_cast<ErrorCode>(43);

// Answers after which a Complete* write is not tried again: the coordinator
// moved (the next one completes the transaction).
bool CoordinatorMoved(ErrorCode e) {
  return e == ErrorCode::kNotCoordinator || e == ErrorCode::kCoordinatorLoadInProgress;
}

// Why `v`, read back from __transaction_state, is a value no coordinator
// could have written (and the transitions out of it would refuse); OK when
// it is fine. The field is named first. A Dead value is not seen here: the
// loader takes it as a deletion.
absl::Status CheckLoadedValue(const TransactionLogValue& v) {
  const char* state = TransactionStateName(v.state);
  if (v.producer_id < 0) {
    return absl::DataLossError(absl::StrCat("producer_id ", v.producer_id, " is negative"));
  }
  if (v.producer_epoch < -1 || (v.state != TransactionState::kEmpty && v.producer_epoch < 0)) {
    return absl::DataLossError(
        absl::StrCat("producer_epoch ", v.producer_epoch, " is impossible in state ", state));
  }
  if (v.state != TransactionState::kEmpty && v.start_timestamp_ms < 0) {
    return absl::DataLossError(absl::StrCat("transaction_start_timestamp_ms ", v.start_timestamp_ms,
                                            " is impossible in state ", state));
  }
  return absl::OkStatus();
}

// KIP-588: clients before it know only INVALID_PRODUCER_EPOCH.
ErrorCode ForClient(ErrorCode e, bool producer_fenced_supported) {
  if (e == ErrorCode::kProducerFenced && !producer_fenced_supported) {
    return ErrorCode::kInvalidProducerEpoch;
  }
  return e;
}

bool IsPrepare(State s) { return s == State::kPrepareCommit || s == State::kPrepareAbort; }
bool IsIdle(State s) {
  return s == State::kEmpty || s == State::kCompleteCommit || s == State::kCompleteAbort;
}

const char* ResultName(TransactionResult r) {
  return r == TransactionResult::kCommit ? "COMMIT" : "ABORT";
}

std::string BuildBatch(
    const std::vector<std::pair<std::string, std::optional<std::string>>>& records,
    int64_t now_ms) {
  record::RecordBatchBuilder builder;
  for (const auto& [key, value] : records) {
    record::Record r;
    r.key = key;
    r.value = value;
    r.timestamp = now_ms;
    builder.Append(r);
  }
  return builder.Build();
}

// Logs an id found in a state that is never current (Dead and
// PrepareEpochFence only ever pass), and returns the client's message.
std::string ImpossibleState(const std::string& id, State s) {
  LOG(ERROR) << "Transactional id '" << id << "' is in state " << TransactionStateName(s)
             << ", which is never a current state";
  return absl::StrCat("Transactional id '", id, "' is in an impossible state");
}

}  // namespace

// What a call must do once mu_ is released: answer callers, append,
// send markers, schedule retries.
struct TransactionCoordinator::Effects {
  std::vector<std::function<void()>> actions;

  void Add(std::function<void()> action) { actions.push_back(std::move(action)); }
  void Run() {
    for (auto& a : actions) a();
    actions.clear();
  }
};

struct TransactionCoordinator::Txn {
  Txn(TransactionMetadata m, int32_t p, int32_t e, uint64_t g)
      : meta(std::move(m)), partition(p), coordinator_epoch(e), generation(g) {}

  TransactionMetadata meta;
  const int32_t partition;
  const int32_t coordinator_epoch;
  const uint64_t generation;  // the partition leadership it belongs to
  // While markers are being written: the Complete* transition pending, and
  // what the markers say. Reset once written, or when sending stopped.
  std::optional<TxnTransit> complete;
  TransactionResult result = TransactionResult::kAbort;
};

TransactionCoordinator::TransactionCoordinator(TransactionCoordinatorOptions options)
    : options_(std::move(options)) {
  CHECK(options_.clock != nullptr && options_.append && options_.read &&
        options_.generate_producer_id && options_.send_markers && options_.schedule)
      << "TransactionCoordinatorOptions lacks a required member";
  CHECK_GT(options_.transaction_state_partitions, 0);
  CHECK_GT(options_.offsets_topic_partitions, 0);
}

TransactionCoordinator::~TransactionCoordinator() { Shutdown(); }

void TransactionCoordinator::Shutdown() {
  absl::MutexLock l(&mu_);
  shutdown_ = true;
  for (const auto& [p, state] : partitions_) DropTxnsOf(p);
  partitions_.clear();
}

int32_t TransactionCoordinator::PartitionFor(std::string_view transactional_id) const {
  int32_t count = options_.transaction_state_partition_count
                      ? options_.transaction_state_partition_count()
                      : -1;
  if (count <= 0) count = options_.transaction_state_partitions;
  const int32_t hash = group::JavaStringHashCode(transactional_id);
  // Kafka's Utils.abs: Integer.MIN_VALUE maps to 0.
  const int32_t abs = hash == std::numeric_limits<int32_t>::min() ? 0 : (hash < 0 ? -hash : hash);
  return abs % count;
}

int32_t TransactionCoordinator::OffsetsPartitionCount() const {
  int32_t count =
      options_.offsets_topic_partition_count ? options_.offsets_topic_partition_count() : -1;
  return count > 0 ? count : options_.offsets_topic_partitions;
}

bool TransactionCoordinator::IsCoordinatorFor(std::string_view transactional_id) const {
  const int32_t p = PartitionFor(transactional_id);
  absl::MutexLock l(&mu_);
  auto it = partitions_.find(p);
  return !shutdown_ && it != partitions_.end() && it->second.loaded;
}

bool TransactionCoordinator::Loading() const {
  absl::MutexLock l(&mu_);
  return std::any_of(partitions_.begin(), partitions_.end(),
                     [](const auto& p) { return !p.second.loaded; });
}

ErrorCode TransactionCoordinator::Locate(const std::string& id, int32_t partition, Txn** out,
                                         std::string* message) {
  *out = nullptr;
  auto part = partitions_.find(partition);
  if (shutdown_ || part == partitions_.end()) {
    *message =
        absl::StrCat("Broker ", options_.broker_id, " is not the coordinator of transactional id '",
                     id, "' (partition ", partition, " of ", kTransactionStateTopic, ")");
    return ErrorCode::kNotCoordinator;
  }
  if (!part->second.loaded) {
    *message = absl::StrCat("Broker ", options_.broker_id, " is still loading partition ",
                            partition, " of ", kTransactionStateTopic);
    return ErrorCode::kCoordinatorLoadInProgress;
  }
  auto it = txns_.find(TxnKey(partition, id));
  if (it != txns_.end()) *out = it->second.get();
  return ErrorCode::kNone;
}

TransactionCoordinator::Txn* TransactionCoordinator::Find(const std::string& id,
                                                          uint64_t generation) {
  if (shutdown_) return nullptr;
  for (const auto& [p, state] : partitions_) {
    if (state.generation != generation) continue;
    if (!state.loaded) return nullptr;
    auto it = txns_.find(TxnKey(p, id));
    if (it == txns_.end() || it->second->generation != generation) return nullptr;
    return it->second.get();
  }
  return nullptr;
}

// --- InitProducerId ---

void TransactionCoordinator::InitProducerId(InitProducerIdRequest request,
                                            std::function<void(InitProducerIdResponse)> done) {
  auto fail = [&](ErrorCode e, std::string message) {
    InitProducerIdResponse r;
    r.result.error = ForClient(e, request.producer_fenced_supported);
    r.result.message = std::move(message);
    done(std::move(r));
  };
  if ((request.producer_id == kNoProducerId) != (request.producer_epoch == kNoProducerEpoch)) {
    return fail(ErrorCode::kInvalidRequest,
                "A producer id and epoch must be given together, or neither");
  }
  if (!request.transactional_id) {
    // An idempotent producer: a fresh producer id, nothing to remember.
    absl::StatusOr<int64_t> id = options_.generate_producer_id();
    if (!id.ok()) return fail(ErrorCode::kCoordinatorLoadInProgress, id.status().ToString());
    InitProducerIdResponse r;
    r.producer_id = *id;
    r.producer_epoch = 0;
    return done(std::move(r));
  }
  const std::string& id = *request.transactional_id;
  if (id.empty()) return fail(ErrorCode::kInvalidRequest, "The transactional id is empty");
  if (id.size() > kMaxRecordStringBytes) {
    return fail(ErrorCode::kInvalidRequest,
                absl::StrCat("The transactional id is ", id.size(), " bytes; at most ",
                             kMaxRecordStringBytes, " are allowed"));
  }
  if (request.transaction_timeout_ms <= 0 ||
      request.transaction_timeout_ms > options_.transaction_max_timeout_ms) {
    return fail(
        ErrorCode::kInvalidTransactionTimeout,
        absl::StrCat("transaction.timeout.ms ", request.transaction_timeout_ms, " is not in (0, ",
                     options_.transaction_max_timeout_ms, "] (transaction.max.timeout.ms)"));
  }
  const int32_t partition = PartitionFor(id);
  std::optional<int64_t> spare_id;
  // At most twice: once to learn a producer id is needed, once with it.
  for (int attempt = 0; attempt < 2; ++attempt) {
    Effects fx;
    bool need_id;
    {
      absl::MutexLock l(&mu_);
      need_id = InitLocked(request, partition, spare_id, done, fx);
    }
    fx.Run();
    if (!need_id) return;
    absl::StatusOr<int64_t> generated = options_.generate_producer_id();
    if (!generated.ok()) {
      return fail(ErrorCode::kCoordinatorLoadInProgress,
                  absl::StrCat("No producer id at hand yet: ", generated.status().ToString()));
    }
    spare_id = *generated;
  }
  LOG(DFATAL) << "InitProducerId for '" << id << "' needed a producer id twice";
  fail(ErrorCode::kUnknownServerError, "InitProducerId needed a producer id twice");
}

bool TransactionCoordinator::InitLocked(const InitProducerIdRequest& request, int32_t partition,
                                        std::optional<int64_t>& spare_id,
                                        std::function<void(InitProducerIdResponse)>& done,
                                        Effects& fx) {
  const std::string& id = *request.transactional_id;
  const bool fenced_supported = request.producer_fenced_supported;
  auto answer = [&](ErrorCode e, std::string message, int64_t pid = -1, int16_t epoch = -1) {
    InitProducerIdResponse r;
    r.result.error = ForClient(e, fenced_supported);
    r.result.message = std::move(message);
    r.producer_id = pid;
    r.producer_epoch = epoch;
    fx.Add([done = std::move(done), r = std::move(r)]() mutable { done(std::move(r)); });
  };
  Txn* t = nullptr;
  std::string message;
  if (ErrorCode e = Locate(id, partition, &t, &message); e != ErrorCode::kNone) {
    answer(e, std::move(message));
    return false;
  }
  const int64_t now = options_.clock->NowMs();
  if (t == nullptr) {
    if (!spare_id) return true;
    // Kept even if its first record fails to be written, as Kafka does:
    // Empty with no epoch, so the retry starts from the same place.
    const PartitionState& part = partitions_[partition];
    auto created = std::make_unique<Txn>(
        TransactionMetadata(id, *spare_id, request.transaction_timeout_ms, now), partition,
        part.epoch, part.generation);
    spare_id.reset();
    t = created.get();
    txns_[TxnKey(partition, id)] = std::move(created);
  }
  TransactionMetadata& m = t->meta;
  const bool has_expected = request.producer_id != kNoProducerId;
  if (m.PendingTransitionInProgress()) {
    answer(ErrorCode::kConcurrentTransactions,
           absl::StrCat("Transactional id '", id, "' has a transition to ",
                        TransactionStateName(*m.pending_state()), " in progress"));
    return false;
  }
  // KIP-360: a producer that names its current id and epoch is fenced
  // unless the id is new (no epoch yet), still its own, or the one just
  // rotated away from when the epoch ran out (a retry).
  if (has_expected &&
      !(m.producer_epoch() == kNoProducerEpoch || request.producer_id == m.producer_id() ||
        (request.producer_id == m.last_producer_id() &&
         IsEpochExhausted(request.producer_epoch)))) {
    answer(ErrorCode::kProducerFenced,
           absl::StrCat("Producer id ", request.producer_id, " is not the current one (",
                        m.producer_id(), ") of transactional id '", id, "'"));
    return false;
  }
  switch (m.state()) {
    case State::kPrepareCommit:
    case State::kPrepareAbort:
      answer(ErrorCode::kConcurrentTransactions,
             absl::StrCat("Transactional id '", id, "' is completing a transaction (",
                          TransactionStateName(m.state()), ")"));
      return false;
    case State::kEmpty:
    case State::kCompleteCommit:
    case State::kCompleteAbort: {
      absl::StatusOr<TxnTransit> transit;
      if (m.IsProducerEpochExhausted() &&
          (!has_expected || request.producer_epoch == m.producer_epoch())) {
        if (!spare_id) return true;
        transit = m.PrepareProducerIdRotation(*spare_id, request.transaction_timeout_ms, now,
                                              has_expected);
        spare_id.reset();
      } else {
        std::optional<std::pair<int16_t, int16_t>> epochs = m.NextInitEpochs(
            has_expected ? std::optional<int16_t>(request.producer_epoch) : std::nullopt);
        if (!epochs) {
          answer(ErrorCode::kProducerFenced,
                 absl::StrCat("Producer epoch ", request.producer_epoch,
                              " is neither the current (", m.producer_epoch(), ") nor the last (",
                              m.last_producer_epoch(), ") epoch of transactional id '", id, "'"));
          return false;
        }
        transit =
            m.PrepareInitEpoch(epochs->first, epochs->second, request.transaction_timeout_ms, now);
      }
      if (!transit.ok()) {
        // State read from disk that slipped past the load's checks: refuse,
        // never crash.
        LOG(ERROR) << transit.status();
        answer(ErrorCode::kUnknownServerError, transit.status().ToString());
        return false;
      }
      auto respond = std::make_shared<std::function<void(InitProducerIdResponse)>>(std::move(done));
      const int64_t pid = transit->producer_id;
      const int16_t epoch = transit->producer_epoch;
      WriteTransit(
          *t, *transit, /*retry_unavailable=*/false,
          [respond, pid, epoch, fenced_supported](ErrorCode e, Txn*, Effects& fx) {
            InitProducerIdResponse r;
            r.result.error = ForClient(e, fenced_supported);
            if (e == ErrorCode::kNone) {
              r.producer_id = pid;
              r.producer_epoch = epoch;
            } else {
              r.result.message = "Writing the new producer epoch failed";
            }
            fx.Add([respond, r = std::move(r)]() mutable { (*respond)(std::move(r)); });
          },
          fx);
      return false;
    }
    case State::kOngoing: {
      // Fence the producer of the Ongoing transaction and abort it with the
      // bumped epoch. That epoch is never given out: the caller retries
      // (CONCURRENT_TRANSACTIONS) and then gets the epoch bumped once more,
      // or a new producer id if that used the epochs up.
      auto respond = std::make_shared<std::function<void(InitProducerIdResponse)>>(std::move(done));
      FenceAndAbort(
          *t,
          [respond, fenced_supported](ErrorCode e, std::string message) {
            InitProducerIdResponse r;
            r.result.error = e == ErrorCode::kNone ? ErrorCode::kConcurrentTransactions
                                                   : ForClient(e, fenced_supported);
            r.result.message = e == ErrorCode::kNone
                                   ? "The ongoing transaction is being aborted; retry"
                                   : std::move(message);
            (*respond)(std::move(r));
          },
          fx);
      return false;
    }
    case State::kDead:
    case State::kPrepareEpochFence:
      break;
  }
  answer(ErrorCode::kUnknownServerError, ImpossibleState(id, m.state()));
  return false;
}

void TransactionCoordinator::FenceAndAbort(Txn& t, Respond respond, Effects& fx) {
  absl::StatusOr<TxnTransit> fence = t.meta.PrepareFenceProducerEpoch();
  if (!fence.ok()) {
    LOG(ERROR) << fence.status();
    fx.Add([respond = std::move(respond), message = fence.status().ToString()] {
      respond(ErrorCode::kUnknownServerError, message);
    });
    return;
  }
  EndTxnLocked(t, fence->producer_id, fence->producer_epoch, TransactionResult::kAbort, &*fence,
               std::move(respond), fx);
}

// --- AddPartitionsToTxn / AddOffsetsToTxn ---

void TransactionCoordinator::AddPartitionsToTxn(
    AddPartitionsToTxnRequest request, std::function<void(AddPartitionsToTxnResponse)> done) {
  const std::set<TxnTopicPartition> partitions(request.partitions.begin(),
                                               request.partitions.end());
  const bool fenced_supported = request.producer_fenced_supported;
  auto cb = std::make_shared<std::function<void(AddPartitionsToTxnResponse)>>(std::move(done));
  // One error answers every partition.
  Respond respond = [partitions, fenced_supported, cb](ErrorCode e, std::string message) {
    AddPartitionsToTxnResponse r;
    for (const TxnTopicPartition& tp : partitions) {
      r.results.emplace_back(tp, ForClient(e, fenced_supported));
    }
    r.message = std::move(message);
    (*cb)(std::move(r));
  };
  if (request.transactional_id.empty()) {
    return respond(ErrorCode::kInvalidRequest, "The transactional id is empty");
  }
  for (const TxnTopicPartition& tp : partitions) {
    if (tp.topic.size() > kMaxRecordStringBytes) {
      return respond(ErrorCode::kInvalidRequest,
                     absl::StrCat("Invalid topic name of ", tp.topic.size(), " bytes"));
    }
  }
  // As Kafka's KafkaApis: unknown partitions fail the request, each with
  // UNKNOWN_TOPIC_OR_PARTITION, and the others are not attempted. An empty
  // topic name or a negative partition never exists, whatever
  // partition_exists says (or when it is unset).
  std::set<TxnTopicPartition> unknown;
  for (const TxnTopicPartition& tp : partitions) {
    if (tp.topic.empty() || tp.partition < 0 ||
        (options_.partition_exists && !options_.partition_exists(tp.topic, tp.partition))) {
      unknown.insert(tp);
    }
  }
  if (!unknown.empty()) {
    AddPartitionsToTxnResponse r;
    for (const TxnTopicPartition& tp : partitions) {
      r.results.emplace_back(tp, unknown.contains(tp) ? ErrorCode::kUnknownTopicOrPartition
                                                      : ErrorCode::kOperationNotAttempted);
    }
    const TxnTopicPartition& first = *unknown.begin();
    r.message = absl::StrCat(unknown.size(), " of the partitions do not exist (such as '",
                             first.topic, "'-", first.partition, ")");
    return (*cb)(std::move(r));
  }
  const int32_t partition = PartitionFor(request.transactional_id);
  Effects fx;
  {
    absl::MutexLock l(&mu_);
    AddPartitionsLocked(request.transactional_id, partition, request.producer_id,
                        request.producer_epoch, partitions, std::move(respond), fx);
  }
  fx.Run();
}

void TransactionCoordinator::AddPartitionsLocked(const std::string& id, int32_t partition,
                                                 int64_t producer_id, int16_t producer_epoch,
                                                 const std::set<TxnTopicPartition>& partitions,
                                                 Respond respond, Effects& fx) {
  auto answer = [&](ErrorCode e, std::string message) {
    fx.Add(
        [respond = std::move(respond), e, message = std::move(message)] { respond(e, message); });
  };
  Txn* t = nullptr;
  std::string message;
  if (ErrorCode e = Locate(id, partition, &t, &message); e != ErrorCode::kNone) {
    return answer(e, std::move(message));
  }
  if (t == nullptr) {
    return answer(ErrorCode::kInvalidProducerIdMapping,
                  absl::StrCat("Transactional id '", id, "' is unknown: call InitProducerId"));
  }
  TransactionMetadata& m = t->meta;
  if (m.producer_id() != producer_id) {
    return answer(ErrorCode::kInvalidProducerIdMapping,
                  absl::StrCat("Producer id ", producer_id, " is not the one (", m.producer_id(),
                               ") of transactional id '", id, "'"));
  }
  if (m.producer_epoch() != producer_epoch) {
    return answer(ErrorCode::kProducerFenced,
                  absl::StrCat("Producer epoch ", producer_epoch, " is not the current one (",
                               m.producer_epoch(), ") of transactional id '", id, "'"));
  }
  if (m.PendingTransitionInProgress() || IsPrepare(m.state())) {
    return answer(ErrorCode::kConcurrentTransactions,
                  absl::StrCat("Transactional id '", id, "' is busy (",
                               TransactionStateName(m.state()), ")"));
  }
  if (m.state() == State::kOngoing && std::includes(m.partitions().begin(), m.partitions().end(),
                                                    partitions.begin(), partitions.end())) {
    return answer(ErrorCode::kNone, "");  // nothing new: no record needed
  }
  absl::StatusOr<TxnTransit> transit = m.PrepareAddPartitions(partitions, options_.clock->NowMs());
  if (!transit.ok()) {
    LOG(ERROR) << transit.status();
    return answer(ErrorCode::kUnknownServerError, transit.status().ToString());
  }
  WriteTransit(
      *t, *transit, /*retry_unavailable=*/false,
      [respond = std::move(respond)](ErrorCode e, Txn*, Effects& fx) {
        fx.Add([respond, e] {
          respond(e, e == ErrorCode::kNone ? "" : "Writing the transaction's partitions failed");
        });
      },
      fx);
}

void TransactionCoordinator::AddOffsetsToTxn(AddOffsetsToTxnRequest request,
                                             std::function<void(TxnResult)> done) {
  const bool fenced_supported = request.producer_fenced_supported;
  auto cb = std::make_shared<std::function<void(TxnResult)>>(std::move(done));
  Respond respond = [cb, fenced_supported](ErrorCode e, std::string message) {
    (*cb)(TxnResult{ForClient(e, fenced_supported), std::move(message)});
  };
  if (request.transactional_id.empty()) {
    return respond(ErrorCode::kInvalidRequest, "The transactional id is empty");
  }
  // The group's offsets partition, placed as the group coordinator places
  // it, joins the transaction so TxnOffsetCommit can write there.
  const std::set<TxnTopicPartition> partitions = {
      {"__consumer_offsets",
       group::OffsetsPartitionFor(request.group_id, OffsetsPartitionCount())}};
  const int32_t partition = PartitionFor(request.transactional_id);
  Effects fx;
  {
    absl::MutexLock l(&mu_);
    AddPartitionsLocked(request.transactional_id, partition, request.producer_id,
                        request.producer_epoch, partitions, std::move(respond), fx);
  }
  fx.Run();
}

// --- EndTxn ---

void TransactionCoordinator::EndTxn(EndTxnRequest request, std::function<void(TxnResult)> done) {
  const bool fenced_supported = request.producer_fenced_supported;
  auto cb = std::make_shared<std::function<void(TxnResult)>>(std::move(done));
  Respond respond = [cb, fenced_supported](ErrorCode e, std::string message) {
    (*cb)(TxnResult{ForClient(e, fenced_supported), std::move(message)});
  };
  if (request.transactional_id.empty()) {
    return respond(ErrorCode::kInvalidRequest, "The transactional id is empty");
  }
  const int32_t partition = PartitionFor(request.transactional_id);
  Effects fx;
  {
    absl::MutexLock l(&mu_);
    Txn* t = nullptr;
    std::string message;
    ErrorCode e = Locate(request.transactional_id, partition, &t, &message);
    if (e == ErrorCode::kNone && t == nullptr) {
      e = ErrorCode::kInvalidProducerIdMapping;
      message = absl::StrCat("Transactional id '", request.transactional_id, "' is unknown");
    }
    if (e != ErrorCode::kNone) {
      fx.Add([respond = std::move(respond), e, message] { respond(e, message); });
    } else {
      EndTxnLocked(*t, request.producer_id, request.producer_epoch,
                   request.committed ? TransactionResult::kCommit : TransactionResult::kAbort,
                   /*fence=*/nullptr, std::move(respond), fx);
    }
  }
  fx.Run();
}

void TransactionCoordinator::EndTxnLocked(Txn& t, int64_t producer_id, int16_t producer_epoch,
                                          TransactionResult result, const TxnTransit* fence,
                                          Respond respond, Effects& fx) {
  TransactionMetadata& m = t.meta;
  const std::string& id = m.transactional_id();
  auto answer = [&](ErrorCode e, std::string message) {
    fx.Add(
        [respond = std::move(respond), e, message = std::move(message)] { respond(e, message); });
  };
  auto invalid = [&] {
    answer(ErrorCode::kInvalidTxnState,
           absl::StrCat("Transactional id '", id, "' cannot ", ResultName(result), " in state ",
                        TransactionStateName(m.state())));
  };
  const bool from_client = fence == nullptr;
  if (m.producer_id() != producer_id) {
    return answer(ErrorCode::kInvalidProducerIdMapping,
                  absl::StrCat("Producer id ", producer_id, " is not the one (", m.producer_id(),
                               ") of transactional id '", id, "'"));
  }
  // A client must name the current epoch; the coordinator's own aborts
  // carry the epoch they bump to.
  if ((from_client && producer_epoch != m.producer_epoch()) ||
      producer_epoch < m.producer_epoch()) {
    return answer(ErrorCode::kProducerFenced,
                  absl::StrCat("Producer epoch ", producer_epoch, " is not the current one (",
                               m.producer_epoch(), ") of transactional id '", id, "'"));
  }
  if (m.PendingTransitionInProgress() && from_client) {
    return answer(ErrorCode::kConcurrentTransactions,
                  absl::StrCat("Transactional id '", id, "' has a transition to ",
                               TransactionStateName(*m.pending_state()), " in progress"));
  }
  switch (m.state()) {
    case State::kOngoing: {
      absl::StatusOr<TxnTransit> transit =
          fence != nullptr
              ? m.PrepareAbortAfterFence(*fence, options_.clock->NowMs())
              : m.PrepareAbortOrCommit(result == TransactionResult::kCommit ? State::kPrepareCommit
                                                                            : State::kPrepareAbort,
                                       options_.clock->NowMs());
      if (!transit.ok()) {
        LOG(ERROR) << transit.status();
        return answer(ErrorCode::kUnknownServerError, transit.status().ToString());
      }
      const bool fencing = fence != nullptr;
      WriteTransit(
          t, *transit, /*retry_unavailable=*/false,
          [this, respond = std::move(respond), fencing](ErrorCode e, Txn* t, Effects& fx) {
            if (e != ErrorCode::kNone) {
              // The bumped epoch may not be on disk: the next fence must
              // not bump it again.
              if (fencing && t != nullptr) t->meta.set_failed_epoch_fence();
              fx.Add([respond, e] { respond(e, "Writing the transaction's end failed"); });
              return;
            }
            // PrepareX is durable: the outcome is decided. Answer, then
            // write the markers.
            absl::StatusOr<TxnTransit> complete = t->meta.PrepareComplete(options_.clock->NowMs());
            if (!complete.ok()) {
              LOG(ERROR) << complete.status();
              fx.Add([respond, message = complete.status().ToString()] {
                respond(ErrorCode::kUnknownServerError, message);
              });
              return;
            }
            t->complete = *complete;
            t->result = t->meta.state() == State::kPrepareCommit ? TransactionResult::kCommit
                                                                 : TransactionResult::kAbort;
            fx.Add([respond] { respond(ErrorCode::kNone, ""); });
            StartMarkers(*t, fx);
          },
          fx);
      return;
    }
    // A retried EndTxn of a transaction already ended the same way.
    case State::kCompleteCommit:
      if (result == TransactionResult::kCommit) return answer(ErrorCode::kNone, "");
      return invalid();
    case State::kCompleteAbort:
      if (result == TransactionResult::kAbort) return answer(ErrorCode::kNone, "");
      return invalid();
    case State::kPrepareCommit:
      if (result == TransactionResult::kCommit) {
        return answer(ErrorCode::kConcurrentTransactions,
                      absl::StrCat("Transactional id '", id, "' is already committing"));
      }
      return invalid();
    case State::kPrepareAbort:
      if (result == TransactionResult::kAbort) {
        return answer(ErrorCode::kConcurrentTransactions,
                      absl::StrCat("Transactional id '", id, "' is already aborting"));
      }
      return invalid();
    case State::kEmpty:
      return invalid();
    case State::kDead:
    case State::kPrepareEpochFence:
      break;
  }
  answer(ErrorCode::kUnknownServerError, ImpossibleState(id, m.state()));
}

// --- Markers ---

void TransactionCoordinator::StartMarkers(Txn& t, Effects& fx) {
  fx.Add([this, id = t.meta.transactional_id(), gen = t.generation] { MarkerRound(id, gen); });
}

void TransactionCoordinator::MarkerRound(const std::string& id, uint64_t generation) {
  MarkerRequest request;
  std::set<TxnTopicPartition> candidates;
  {
    absl::MutexLock l(&mu_);
    Txn* t = Find(id, generation);
    if (t == nullptr || !t->complete) return;
    candidates = t->meta.partitions();
  }
  // Markers for a deleted topic have nowhere to go (Kafka drops them when
  // the partition's leader is unknown to the metadata).
  std::vector<TxnTopicPartition> gone;
  if (options_.partition_exists) {
    for (const TxnTopicPartition& tp : candidates) {
      if (!options_.partition_exists(tp.topic, tp.partition)) gone.push_back(tp);
    }
  }
  Effects fx;
  bool send = false;
  {
    absl::MutexLock l(&mu_);
    Txn* t = Find(id, generation);
    if (t == nullptr || !t->complete) return;
    for (const TxnTopicPartition& tp : gone) {
      LOG(INFO) << "Dropping the " << ResultName(t->result) << " marker of transactional id '" << id
                << "' for " << tp.topic << "-" << tp.partition
                << ": the partition no longer exists";
      t->meta.RemovePartition(tp);
    }
    if (t->meta.partitions().empty()) {
      WriteComplete(*t, fx);
    } else {
      request.transactional_id = id;
      request.producer_id = t->meta.producer_id();
      request.producer_epoch = t->meta.producer_epoch();
      request.result = t->result;
      request.coordinator_epoch = t->coordinator_epoch;
      request.partitions.assign(t->meta.partitions().begin(), t->meta.partitions().end());
      send = true;
    }
  }
  fx.Run();
  if (send) {
    options_.send_markers(std::move(request), [this, id, generation](MarkerResults results) {
      OnMarkersDone(id, generation, results);
    });
  }
}

void TransactionCoordinator::OnMarkersDone(const std::string& id, uint64_t generation,
                                           const MarkerResults& results) {
  Effects fx;
  {
    absl::MutexLock l(&mu_);
    Txn* t = Find(id, generation);
    // Unloaded meanwhile (or sending stopped): the next coordinator sends
    // them again.
    if (t == nullptr || !t->complete) return;
    std::set<TxnTopicPartition> answered;
    bool stop = false;
    for (const auto& [tp, error] : results) {
      answered.insert(tp);
      if (error == ErrorCode::kNone) {
        t->meta.RemovePartition(tp);
      } else if (error == ErrorCode::kUnsupportedVersion || error == kUnsupportedForMessageFormat) {
        // The partition cannot take a marker (its message format or
        // version predates them): Kafka drops it and carries on.
        LOG(WARNING) << "Dropping the " << ResultName(t->result) << " marker of '" << id << "' for "
                     << tp.topic << "-" << tp.partition << ": it answered " << ErrorName(error);
        t->meta.RemovePartition(tp);
      } else if (RetriableMarkerError(error)) {
        VLOG(1) << "The " << ResultName(t->result) << " marker of '" << id << "' for " << tp.topic
                << "-" << tp.partition << " failed with " << ErrorName(error) << "; retrying";
      } else if (error == ErrorCode::kInvalidProducerEpoch ||
                 error == ErrorCode::kTransactionCoordinatorFenced) {
        // A newer coordinator (or producer epoch) took over this
        // transaction: it completes it, not us.
        LOG(WARNING) << "Stopping the " << ResultName(t->result) << " markers of '" << id
                     << "': " << tp.topic << "-" << tp.partition << " answered "
                     << ErrorName(error);
        stop = true;
      } else {
        // Kafka treats any other answer as a bug (IllegalStateException)
        // and stops too; the transaction stays in Prepare* until the
        // partition moves to another coordinator, which tries again.
        LOG(ERROR) << "Unexpected answer " << ErrorName(error) << " to the "
                   << ResultName(t->result) << " marker of '" << id << "' for " << tp.topic << "-"
                   << tp.partition << "; stopping its markers";
        stop = true;
      }
    }
    if (stop) {
      t->complete.reset();  // the Complete* stays pending: the id stays busy
    } else if (t->meta.partitions().empty()) {
      WriteComplete(*t, fx);
    } else {
      // Some failed with retriable errors, or went unanswered.
      fx.Add([this, id, generation] {
        options_.schedule(options_.retry_backoff_ms,
                          [this, id, generation] { MarkerRound(id, generation); });
      });
    }
  }
  fx.Run();
}

void TransactionCoordinator::WriteComplete(Txn& t, Effects& fx) {
  const TxnTransit complete = *t.complete;
  WriteTransit(
      t, complete, /*retry=*/true,
      [this, id = t.meta.transactional_id(), gen = t.generation](ErrorCode e, Txn* t, Effects& fx) {
        if (t == nullptr) return;  // moved on: the next coordinator completes it
        if (e == ErrorCode::kNone) {
          t->complete.reset();
          return;
        }
        if (t->complete && t->meta.pending_state() == t->complete->state) {
          // Still pending (every marker is written, so only the record is
          // missing); written again after a pause (Kafka's
          // txnLogAppendRetryQueue).
          fx.Add([this, id, gen] {
            options_.schedule(options_.retry_backoff_ms, [this, id, gen] {
              Effects fx;
              {
                absl::MutexLock l(&mu_);
                Txn* t = Find(id, gen);
                if (t != nullptr && t->complete && t->meta.pending_state() == t->complete->state) {
                  WriteComplete(*t, fx);
                }
              }
              fx.Run();
            });
          });
          return;
        }
        LOG(WARNING) << "Writing the completion of transactional id '" << id
                     << "' failed: " << ErrorName(e) << "; it stays in "
                     << TransactionStateName(t->meta.state());
        t->complete.reset();
      },
      fx);
}

// --- Writes ---

void TransactionCoordinator::WriteTransit(Txn& t, const TxnTransit& transit, bool retry, Then then,
                                          Effects& fx) {
  const std::string& id = t.meta.transactional_id();
  Records records;
  records.emplace_back(EncodeKey(id), EncodeValue(transit.ToLogValue()));
  Enqueue(
      t.partition, t.generation, std::move(records),
      [this, id, gen = t.generation, transit, retry, then = std::move(then)](
          ErrorCode error, std::string message, int64_t) {
        Effects fx;
        {
          absl::MutexLock l(&mu_);
          const ErrorCode e = OnTransitWritten(id, gen, transit, error, message, retry);
          then(e, Find(id, gen), fx);
        }
        fx.Run();
      },
      fx);
}

ErrorCode TransactionCoordinator::OnTransitWritten(const std::string& id, uint64_t generation,
                                                   const TxnTransit& transit, ErrorCode error,
                                                   const std::string& message, bool retry) {
  const ErrorCode e = AppendError(error);
  Txn* t = Find(id, generation);
  // The partition was unloaded (or loaded again in a later epoch): the
  // client finds the coordinator again.
  if (t == nullptr) return ErrorCode::kNotCoordinator;
  if (e == ErrorCode::kNone) {
    const absl::Status s = t->meta.CompleteTransitionTo(transit);
    if (!s.ok()) {
      // The state came from disk and the transition out of it is refused:
      // answer an error rather than crash, and drop the transition.
      LOG(ERROR) << s;
      t->meta.AbortPendingTransition();
      return ErrorCode::kUnknownServerError;
    }
    return ErrorCode::kNone;
  }
  LOG(WARNING) << "Writing " << TransactionStateName(transit.state) << " of transactional id '"
               << id << "' failed: " << ErrorName(error) << " " << message;
  if (!retry || CoordinatorMoved(e)) t->meta.AbortPendingTransition();
  return e;
}

void TransactionCoordinator::Enqueue(int32_t partition, uint64_t generation, Records records,
                                     TransactionCoordinatorOptions::AppendDone done, Effects& fx) {
  write_queues_[partition].items.push_back(
      PendingWrite{generation, std::move(records), std::move(done)});
  fx.Add([this, partition] { DrainWrites(partition); });
}

// Whichever thread finds the queue idle appends everything queued, in
// order, with mu_ released around each append (its acknowledgement may
// run inside the call and take mu_).
void TransactionCoordinator::DrainWrites(int32_t partition) {
  absl::MutexLock l(&mu_);
  WriteQueue& q = write_queues_[partition];
  if (q.draining) return;
  q.draining = true;
  while (!q.items.empty()) {
    PendingWrite w = std::move(q.items.front());
    q.items.pop_front();
    auto p = partitions_.find(partition);
    const bool current = !shutdown_ && p != partitions_.end() && p->second.loaded &&
                         p->second.generation == w.generation;
    const int64_t now = options_.clock->NowMs();
    mu_.Unlock();
    if (current) {
      options_.append(partition, BuildBatch(w.records, now), std::move(w.done));
    } else {
      w.done(ErrorCode::kNotLeaderOrFollower, "the coordinator epoch is over", -1);
    }
    mu_.Lock();
  }
  q.draining = false;
}

// --- Timeouts and expiry ---

void TransactionCoordinator::AbortTimedOutTransactions() {
  Effects fx;
  {
    absl::MutexLock l(&mu_);
    const int64_t now = options_.clock->NowMs();
    for (auto& [key, t] : txns_) {
      const std::string& id = key.second;
      if (Find(id, t->generation) == nullptr) continue;  // still loading
      const TransactionMetadata& m = t->meta;
      if (m.state() != State::kOngoing || m.PendingTransitionInProgress() ||
          m.start_ms() + m.timeout_ms() >= now) {
        continue;
      }
      LOG(INFO) << "Aborting transaction of '" << id << "' (producer " << m.producer_id()
                << ", epoch " << m.producer_epoch() << "): Ongoing since " << m.start_ms()
                << ", past its timeout of " << m.timeout_ms() << " ms";
      FenceAndAbort(
          *t,
          [id = id](ErrorCode e, std::string message) {
            if (e != ErrorCode::kNone) {
              LOG(WARNING) << "Aborting the timed-out transaction of '" << id
                           << "' failed: " << ErrorName(e) << " " << message;
            }
          },
          fx);
    }
  }
  fx.Run();
}

void TransactionCoordinator::RemoveExpiredTransactionalIds() {
  Effects fx;
  {
    absl::MutexLock l(&mu_);
    const int64_t now = options_.clock->NowMs();
    // Per partition: the ids to expire, written as one batch of tombstones.
    std::map<int32_t, std::vector<std::string>> expired;
    for (auto& [key, t] : txns_) {
      const std::string& id = key.second;
      if (Find(id, t->generation) == nullptr) continue;
      TransactionMetadata& m = t->meta;
      if (!IsIdle(m.state()) || m.PendingTransitionInProgress() ||
          m.last_update_ms() > now - options_.transactional_id_expiration_ms) {
        continue;
      }
      absl::StatusOr<TxnTransit> dead = m.PrepareDead();
      if (!dead.ok()) {
        LOG(ERROR) << dead.status();
        continue;
      }
      expired[t->partition].push_back(id);
    }
    for (auto& [partition, ids] : expired) {
      const uint64_t gen = partitions_[partition].generation;
      Records tombstones;
      for (const std::string& id : ids) tombstones.emplace_back(EncodeKey(id), std::nullopt);
      LOG(INFO) << "Expiring " << ids.size() << " transactional ids of " << kTransactionStateTopic
                << "-" << partition;
      Enqueue(
          partition, gen, std::move(tombstones),
          [this, partition, gen, ids](ErrorCode error, std::string message, int64_t) {
            absl::MutexLock l(&mu_);
            for (const std::string& id : ids) {
              Txn* t = Find(id, gen);
              if (t == nullptr || t->meta.pending_state() != State::kDead) continue;
              if (error == ErrorCode::kNone) {
                txns_.erase(TxnKey(partition, id));
              } else {
                LOG(WARNING) << "Expiring transactional id '" << id
                             << "' failed: " << ErrorName(error) << " " << message;
                t->meta.AbortPendingTransition();
              }
            }
          },
          fx);
    }
  }
  fx.Run();
}

// --- Describe / List ---

std::vector<TransactionDescription> TransactionCoordinator::DescribeTransactions(
    const std::vector<std::string>& transactional_ids) {
  std::vector<int32_t> placement;
  for (const std::string& id : transactional_ids) placement.push_back(PartitionFor(id));
  std::vector<TransactionDescription> out;
  // An id asked for again is answered INVALID_REQUEST, not described again
  // (under the lock every transactional call waits on).
  absl::flat_hash_set<std::string_view> seen;
  absl::MutexLock l(&mu_);
  for (size_t i = 0; i < transactional_ids.size(); ++i) {
    TransactionDescription& d = out.emplace_back();
    d.transactional_id = transactional_ids[i];
    if (!seen.insert(transactional_ids[i]).second) {
      d.result.error = ErrorCode::kInvalidRequest;
      d.result.message =
          absl::StrCat("Transactional id '", d.transactional_id, "' is asked for more than once");
      continue;
    }
    Txn* t = nullptr;
    d.result.error = Locate(d.transactional_id, placement[i], &t, &d.result.message);
    if (d.result.error != ErrorCode::kNone) continue;
    if (t == nullptr) {
      d.result.error = ErrorCode::kTransactionalIdNotFound;
      d.result.message = absl::StrCat("Transactional id '", d.transactional_id, "' is unknown");
      continue;
    }
    const TransactionMetadata& m = t->meta;
    d.state = TransactionStateName(m.state());
    d.producer_id = m.producer_id();
    d.producer_epoch = m.producer_epoch();
    d.transaction_timeout_ms = m.timeout_ms();
    d.transaction_start_time_ms = m.start_ms();
    d.partitions.assign(m.partitions().begin(), m.partitions().end());
  }
  return out;
}

ListTransactionsResponse TransactionCoordinator::ListTransactions(
    const ListTransactionsRequest& request) {
  ListTransactionsResponse out;
  std::set<State> states;
  for (const std::string& name : request.state_filters) {
    bool known = false;
    for (int8_t id = 0;; ++id) {
      std::optional<State> s = TransactionStateFromId(id);
      if (!s) break;
      if (absl::EqualsIgnoreCase(name, TransactionStateName(*s))) {
        states.insert(*s);
        known = true;
      }
    }
    if (!known) out.unknown_state_filters.push_back(name);
  }
  const std::set<int64_t> producers(request.producer_id_filters.begin(),
                                    request.producer_id_filters.end());
  absl::MutexLock l(&mu_);
  // As Kafka: while any partition loads, the list would be partial, so
  // none is given.
  for (const auto& [p, state] : partitions_) {
    if (!state.loaded) {
      out.result.error = ErrorCode::kCoordinatorLoadInProgress;
      out.result.message =
          absl::StrCat("Partition ", p, " of ", kTransactionStateTopic, " is still loading");
      return out;
    }
  }
  for (const auto& [key, t] : txns_) {
    const std::string& id = key.second;
    if (Find(id, t->generation) == nullptr) continue;
    const TransactionMetadata& m = t->meta;
    if (!request.state_filters.empty() && !states.contains(m.state())) continue;
    if (!producers.empty() && !producers.contains(m.producer_id())) continue;
    out.transactions.push_back({id, m.producer_id(), TransactionStateName(m.state())});
  }
  std::sort(out.transactions.begin(), out.transactions.end(),
            [](const auto& a, const auto& b) { return a.transactional_id < b.transactional_id; });
  return out;
}

// --- Loading and unloading ---

void TransactionCoordinator::OnBecameLeader(int32_t partition, int32_t coordinator_epoch) {
  uint64_t generation = 0;
  {
    absl::MutexLock l(&mu_);
    if (shutdown_) return;
    // The mark outlives resignations: a late callback of an older (or the
    // same) epoch is stale even after the partition was unloaded.
    auto [high, first] = highest_epoch_.try_emplace(partition, coordinator_epoch);
    if (!first) {
      if (high->second >= coordinator_epoch) return;  // stale or repeated
      high->second = coordinator_epoch;
    }
    // A newer epoch without a resignation between: what the old one had
    // (and its work in flight) is dropped, and the log is read again.
    if (partitions_.contains(partition)) DropTxnsOf(partition);
    generation = ++next_generation_;
    partitions_[partition] = PartitionState{coordinator_epoch, generation, /*loaded=*/false};
  }
  options_.schedule(0, [this, partition, generation] { Load(partition, generation); });
}

void TransactionCoordinator::OnResigned(int32_t partition, int32_t coordinator_epoch) {
  absl::MutexLock l(&mu_);
  // The epoch named is led elsewhere (or was ours): never one to load again.
  auto [high, first] = highest_epoch_.try_emplace(partition, coordinator_epoch);
  if (!first) high->second = std::max(high->second, coordinator_epoch);
  auto it = partitions_.find(partition);
  if (it == partitions_.end() || it->second.epoch > coordinator_epoch) return;
  partitions_.erase(it);
  DropTxnsOf(partition);
  LOG(INFO) << "Unloaded " << kTransactionStateTopic << "-" << partition;
}

void TransactionCoordinator::DropTxnsOf(int32_t partition) {
  auto it = txns_.lower_bound(TxnKey(partition, std::string()));
  while (it != txns_.end() && it->first.first == partition) it = txns_.erase(it);
}

bool TransactionCoordinator::StillLoading(int32_t partition, uint64_t generation) const {
  absl::MutexLock l(&mu_);
  auto it = partitions_.find(partition);
  return !shutdown_ && it != partitions_.end() && it->second.generation == generation &&
         !it->second.loaded;
}

void TransactionCoordinator::RetryLoad(int32_t partition, uint64_t generation) {
  if (!StillLoading(partition, generation)) return;
  options_.schedule(options_.retry_backoff_ms,
                    [this, partition, generation] { Load(partition, generation); });
}

void TransactionCoordinator::Load(int32_t partition, uint64_t generation) {
  if (!StillLoading(partition, generation)) return;
  // Anything the log does not tell for certain fails the whole load, which
  // starts over (Kafka's load throws): a partial load would forget
  // transactions, or keep an outcome already decided as Ongoing.
  auto fail = [&](const std::string& why) {
    LOG(ERROR) << "Loading " << kTransactionStateTopic << "-" << partition << " failed: " << why
               << "; starting over in " << options_.retry_backoff_ms << " ms";
    RetryLoad(partition, generation);
  };
  std::map<std::string, std::optional<TransactionLogValue>> values;
  int64_t offset = 0;
  int64_t records_read = 0;
  while (true) {
    replication::FetchResult r = options_.read(partition, offset);
    if (r.error == ErrorCode::kOffsetOutOfRange && r.log_start_offset > offset) {
      offset = r.log_start_offset;  // the log starts later (compaction, retention)
      continue;
    }
    if (r.error != ErrorCode::kNone) {
      return fail(absl::StrCat("reading at offset ", offset, ": ", std::string(ErrorName(r.error)),
                               " ", r.message));
    }
    if (offset >= r.log_end_offset) break;
    const int64_t read_from = offset;
    record::BatchIterator batches(r.records);
    record::BatchHeader header;
    std::string_view batch;
    while (batches.Next(&header, &batch)) {
      const int64_t base = header.base_offset.value();
      offset = header.next_offset().value();
      if (header.is_control()) continue;
      absl::StatusOr<std::vector<record::Record>> records = record::DecodeRecords(batch);
      if (!records.ok()) {
        return fail(absl::StrCat("the batch at offset ", base,
                                 " does not decode: ", records.status().ToString()));
      }
      for (const record::Record& rec : *records) {
        ++records_read;
        const int64_t at = rec.offset.value();
        if (!rec.key) return fail(absl::StrCat("the record at offset ", at, " has no key"));
        absl::StatusOr<std::string> id = DecodeKey(*rec.key);
        if (!id.ok()) {
          if (IsUnknownKeyVersion(id.status())) continue;  // not a transaction record
          return fail(
              absl::StrCat("the key at offset ", at, " does not decode: ", id.status().ToString()));
        }
        if (!rec.value) {
          values[*id] = std::nullopt;  // expired
          continue;
        }
        absl::StatusOr<TransactionLogValue> v = DecodeValue(*rec.value);
        if (!v.ok()) {
          return fail(absl::StrCat("the value of transactional id '", *id, "' at offset ", at,
                                   " does not decode: ", v.status().ToString()));
        }
        if (v->state == State::kDead) {
          values[*id] = std::nullopt;  // as its tombstone: the id is deleted
          continue;
        }
        if (absl::Status s = CheckLoadedValue(*v); !s.ok()) {
          return fail(absl::StrCat("the value of transactional id '", *id, "' at offset ", at, ": ",
                                   s.message()));
        }
        values[*id] = *std::move(v);
      }
    }
    // Short of the log end, a read that yields no whole batch (a corrupt
    // header, a truncated answer) is a read error, not the end.
    if (offset <= read_from) {
      return fail(absl::StrCat("no batch could be read at offset ", offset, " (log end ",
                               r.log_end_offset, ")"));
    }
    if (offset >= r.log_end_offset) break;
  }

  Effects fx;
  size_t loaded = 0;
  int32_t epoch = -1;
  {
    absl::MutexLock l(&mu_);
    auto it = partitions_.find(partition);
    if (shutdown_ || it == partitions_.end() || it->second.generation != generation ||
        it->second.loaded) {
      return;
    }
    it->second.loaded = true;
    epoch = it->second.epoch;
    const int64_t now = options_.clock->NowMs();
    for (auto& [id, v] : values) {
      if (!v) continue;
      auto t =
          std::make_unique<Txn>(TransactionMetadata::FromLog(id, *v), partition, epoch, generation);
      ++loaded;
      // A decided transaction whose markers may not all be written: finish
      // it (Kafka's transactionsPendingForCompletion).
      if (IsPrepare(t->meta.state())) {
        absl::StatusOr<TxnTransit> complete = t->meta.PrepareComplete(now);
        if (complete.ok()) {
          t->complete = *complete;
          t->result = t->meta.state() == State::kPrepareCommit ? TransactionResult::kCommit
                                                               : TransactionResult::kAbort;
          StartMarkers(*t, fx);
        } else {
          LOG(ERROR) << complete.status();
        }
      }
      txns_[TxnKey(partition, id)] = std::move(t);
    }
  }
  LOG(INFO) << "Loaded " << loaded << " transactional ids (" << records_read << " records) of "
            << kTransactionStateTopic << "-" << partition << " in coordinator epoch " << epoch;
  fx.Run();
}

}  // namespace strata::txn
