// Producer state; see producer_state.h for the contract and FORMAT.md for
// the snapshot file.

#include "broker/storage/producer_state.h"

#include <algorithm>
#include <limits>

#include "absl/container/inlined_vector.h"
#include "absl/strings/str_cat.h"
#include "broker/storage/kafka_error.h"
#include "broker/storage/segment.h"
#include "client/common/numbers.h"
#include "client/record/crc32c.h"
#include "client/record/sequence.h"
#include "glog/logging.h"

namespace strata::storage {
namespace {

constexpr int16_t kSnapshotVersion = 1;
constexpr std::string_view kSnapshotSuffix = ".snapshot";
constexpr size_t kStemDigits = 20;
// version (2) + crc (4) + count (4).
constexpr size_t kSnapshotHeaderSize = 10;
// producer_id, epoch, coordinator_epoch, current_txn_first_offset,
// last_timestamp, n.
constexpr size_t kEntryFixedSize = 8 + 2 + 4 + 8 + 8 + 1;
// first_seq, last_seq, first_offset, last_offset, max_timestamp.
constexpr size_t kRunSize = 4 + 4 + 8 + 8 + 8;

// The sequence of the batch's last record.
int32_t LastSequence(const record::BatchHeader& h) {
  return record::IncrementSequence(h.base_sequence, h.last_offset_delta);
}

// Where `run` holds the sequences [first, last]: the original offset of
// `first`, or nullopt when the run does not hold them all. A wrapping run
// (one batch) matches only itself.
std::optional<int64_t> FindInRun(const ProducerRun& run, int32_t first, int32_t last) {
  if (run.first_seq <= run.last_seq) {
    if (first <= last && run.first_seq <= first && last <= run.last_seq) {
      return run.first_offset + (int64_t{first} - run.first_seq);
    }
    return std::nullopt;
  }
  if (first == run.first_seq && last == run.last_seq) return run.first_offset;
  return std::nullopt;
}

// Whether [first, last] shares a sequence with `run` (both unwrapped).
bool Overlaps(const ProducerRun& run, int32_t first, int32_t last) {
  return run.first_seq <= run.last_seq && first <= last && first <= run.last_seq &&
         last >= run.first_seq;
}

// The batch's epoch and timestamp, data batch or marker alike.
void StampEpoch(ProducerStateEntry& e, const record::BatchHeader& h) {
  if (h.producer_epoch != e.epoch) {
    // A new epoch (or, from a follower's leader, any other) starts over.
    e.epoch = h.producer_epoch;
    e.num_runs = 0;
  }
  e.last_timestamp = h.max_timestamp;
}

// A data batch (not a control batch: Apply takes those).
void ApplyTo(ProducerStateEntry& e, const record::BatchHeader& h) {
  StampEpoch(e, h);
  if (h.is_transactional() && e.current_txn_first_offset < 0) {
    e.current_txn_first_offset = h.base_offset.value();
  }
  if (h.base_sequence < 0) return;  // only a broken leader's copy
  const int32_t first = h.base_sequence;
  const int32_t last = LastSequence(h);
  const int64_t first_offset = h.base_offset.value();
  const int64_t last_offset = h.last_offset().value();
  if (e.num_runs > 0) {
    ProducerRun& run = e.runs[e.num_runs - 1];
    if (run.first_seq <= run.last_seq && run.last_seq != std::numeric_limits<int32_t>::max() &&
        first == run.last_seq + 1 && first <= last && first_offset == run.last_offset + 1) {
      run.last_seq = last;
      run.last_offset = last_offset;
      run.max_timestamp = std::max(run.max_timestamp, h.max_timestamp);
      return;
    }
  }
  if (e.num_runs == kProducerRunsToRetain) {
    std::move(e.runs.begin() + 1, e.runs.end(), e.runs.begin());
    --e.num_runs;
  }
  e.runs[e.num_runs++] = ProducerRun{first, last, first_offset, last_offset, h.max_timestamp};
}

absl::Status OutOfOrder(std::string message) {
  return WithKafkaError(absl::FailedPreconditionError(std::move(message)),
                        kKafkaOutOfOrderSequenceNumber);
}

// The verdict on one batch.
struct Verdict {
  bool duplicate = false;
  int64_t original_first = 0;  // offsets of the original, when a duplicate
  int64_t original_max_timestamp = -1;
};

void PutBe(std::string* out, uint64_t v, int bytes) {
  for (int i = bytes - 1; i >= 0; --i) out->push_back(static_cast<char>((v >> (8 * i)) & 0xFF));
}

// Reads big-endian integers from a snapshot, remembering whether it ran out.
class Reader {
 public:
  explicit Reader(std::string_view bytes) : bytes_(bytes) {}
  uint64_t Get(int n) {
    if (bytes_.size() < static_cast<size_t>(n)) {
      short_ = true;
      bytes_ = {};
      return 0;
    }
    uint64_t v = 0;
    for (int i = 0; i < n; ++i) v = (v << 8) | static_cast<uint8_t>(bytes_[i]);
    bytes_.remove_prefix(n);
    return v;
  }
  int8_t I8() { return static_cast<int8_t>(Get(1)); }
  int16_t I16() { return static_cast<int16_t>(Get(2)); }
  int32_t I32() { return static_cast<int32_t>(Get(4)); }
  int64_t I64() { return static_cast<int64_t>(Get(8)); }
  bool short_read() const { return short_; }
  size_t left() const { return bytes_.size(); }

 private:
  std::string_view bytes_;
  bool short_ = false;
};

}  // namespace

bool ProducerStateEntry::operator==(const ProducerStateEntry& o) const {
  return epoch == o.epoch && coordinator_epoch == o.coordinator_epoch &&
         current_txn_first_offset == o.current_txn_first_offset &&
         last_timestamp == o.last_timestamp && num_runs == o.num_runs &&
         std::equal(runs.begin(), runs.begin() + num_runs, o.runs.begin());
}

absl::StatusOr<std::optional<ProducerStateManager::Duplicate>> ProducerStateManager::CheckAppend(
    std::span<const record::BatchHeader> headers, Offset first_offset, AppendOrigin origin) const {
  // What the earlier batches of this append did to their producers' state,
  // so later ones are checked against it (the common append, one producer,
  // needs no heap).
  absl::InlinedVector<std::pair<int64_t, ProducerStateEntry>, 1> scratch;
  auto lookup = [&](int64_t pid) -> const ProducerStateEntry* {
    for (const auto& [id, entry] : scratch) {
      if (id == pid) return &entry;
    }
    auto it = producers_.find(pid);
    return it == producers_.end() ? nullptr : &it->second;
  };
  const bool many = headers.size() > 1;
  auto named = [&](size_t i, absl::Status s) {
    if (!many) return s;
    absl::Status out(s.code(), absl::StrCat("batch ", i, ": ", s.message()));
    s.ForEachPayload(
        [&](absl::string_view url, const absl::Cord& payload) { out.SetPayload(url, payload); });
    return out;
  };

  std::optional<Duplicate> dup;
  int64_t first_new_pid = -1;  // a producer batch that is not a duplicate
  int64_t first_dup_pid = -1;  // one that is
  bool saw_plain = false;      // a batch without a producer id
  bool mixed = false;
  Offset next = first_offset;
  for (size_t i = 0; i < headers.size(); ++i) {
    const record::BatchHeader& h = headers[i];
    const Offset base = next;
    next = next + (int64_t{h.last_offset_delta} + 1);
    if (h.producer_id < 0) {
      saw_plain = true;
      continue;
    }
    const ProducerStateEntry* e = lookup(h.producer_id);
    const int32_t first = h.base_sequence;
    const int32_t last = LastSequence(h);
    Verdict v;
    if (e != nullptr && h.producer_epoch < e->epoch) {
      return named(i, WithKafkaError(absl::FailedPreconditionError(absl::StrCat(
                                         "Epoch of producer ", h.producer_id, " in ", partition_,
                                         " is ", h.producer_epoch,
                                         ", which is smaller than the last seen epoch ", e->epoch)),
                                     kKafkaInvalidProducerEpoch));
    }
    // A newer epoch while the producer's transaction is open: a real
    // producer's epoch moves on only after that transaction's marker (a
    // fence writes its ABORT at the bumped epoch first), so the batch is
    // forged or stale. Taken, it would close nothing and make the
    // coordinator's marker look old: the transaction would never end.
    if (e != nullptr && !h.is_control() && h.producer_epoch > e->epoch &&
        e->current_txn_first_offset >= 0) {
      return named(i, WithKafkaError(absl::FailedPreconditionError(absl::StrCat(
                                         "Epoch of producer ", h.producer_id, " in ", partition_,
                                         " is ", h.producer_epoch, ", above its epoch ", e->epoch,
                                         " while its transaction since offset ",
                                         e->current_txn_first_offset, " is open")),
                                     kKafkaInvalidProducerEpoch));
    }
    if (e != nullptr && !h.is_control() && !h.is_transactional() &&
        e->current_txn_first_offset >= 0) {
      return named(i, WithKafkaError(absl::FailedPreconditionError(absl::StrCat(
                                         "producer ", h.producer_id, " has a transaction open in ",
                                         partition_, " since offset ", e->current_txn_first_offset,
                                         ": a batch outside it is refused until it ends")),
                                     kKafkaInvalidTxnState));
    }
    if (origin == AppendOrigin::kClient && !h.is_control()) {
      if (first < 0) {
        return named(i, absl::InvalidArgumentError(
                            absl::StrCat("baseSequence ", first, " is negative for producer ",
                                         h.producer_id, " in ", partition_)));
      }
      if (e == nullptr) {
        // Unknown producer: any sequence (KIP-360).
      } else if (h.producer_epoch > e->epoch) {
        if (first != 0 && e->epoch >= 0) {
          return named(i, OutOfOrder(absl::StrCat(
                              "Invalid sequence number for new epoch of producer ", h.producer_id,
                              " in ", partition_, ": ", h.producer_epoch, " (request epoch), ",
                              first, " (seq. number), ", e->epoch, " (current producer epoch)")));
        }
      } else {
        const ProducerRun* newest = e->newest();
        const int32_t expected =
            newest == nullptr ? 0 : record::IncrementSequence(newest->last_seq, 1);
        // A retry's sequences lie behind the expected one. Only those are
        // looked up in the runs: once a producer's sequences wrapped at
        // INT32_MAX, a run written before holds the new ones as numbers
        // too (one of 2^31 records holds them all), and a new batch would
        // be answered as a duplicate and not written.
        const bool behind =
            record::SequenceBefore(first, expected) && record::SequenceBefore(last, expected);
        bool found = false;
        for (int r = e->num_runs - 1; behind && r >= 0 && !found; --r) {
          if (std::optional<int64_t> at = FindInRun(e->runs[r], first, last)) {
            found = true;
            v.duplicate = true;
            v.original_first = *at;
            v.original_max_timestamp = e->runs[r].max_timestamp;
          }
        }
        if (!found) {
          if (first != expected) {
            std::string overlap;
            for (int r = 0; r < e->num_runs; ++r) {
              if (Overlaps(e->runs[r], first, last)) {
                overlap = absl::StrCat(
                    "; sequences ", first, " to ", last, " overlap those written at offsets ",
                    e->runs[r].first_offset, " to ", e->runs[r].last_offset, " (",
                    e->runs[r].first_seq, " to ", e->runs[r].last_seq, ") only in part");
                break;
              }
            }
            return named(i, OutOfOrder(absl::StrCat("Out of order sequence number for producer ",
                                                    h.producer_id, " at epoch ", h.producer_epoch,
                                                    " in ", partition_, ": ", first,
                                                    " (incoming batch first sequence), ",
                                                    newest == nullptr ? -1 : newest->last_seq,
                                                    " (last sequence written)", overlap)));
          }
        }
      }
    }

    if (v.duplicate) {
      const Offset orig_first(v.original_first);
      const Offset orig_last = orig_first + int64_t{h.last_offset_delta};
      if (first_new_pid >= 0) {
        first_dup_pid = h.producer_id;
        mixed = true;
        break;
      }
      if (dup.has_value() && dup->last_offset + 1 != orig_first) {
        return named(
            i, OutOfOrder(absl::StrCat(
                   "the request re-sends batches of producer ", h.producer_id, " in ", partition_,
                   " that were not written together: this one was at ", orig_first.value(),
                   ", the one before it ended at ", dup->last_offset.value())));
      }
      if (!dup.has_value()) {
        dup = Duplicate{orig_first, orig_last, v.original_max_timestamp};
        first_dup_pid = h.producer_id;
      } else {
        dup->last_offset = orig_last;
        dup->max_timestamp = std::max(dup->max_timestamp, v.original_max_timestamp);
      }
      continue;
    }
    if (first_new_pid < 0) first_new_pid = h.producer_id;
    if (dup.has_value()) {
      first_new_pid = h.producer_id;
      mixed = true;
      break;
    }
    if (i + 1 < headers.size()) {
      // Later batches of this append see this one.
      record::BatchHeader placed = h;
      placed.base_offset = base;
      ProducerStateEntry* target = nullptr;
      for (auto& [id, entry] : scratch) {
        if (id == h.producer_id) target = &entry;
      }
      if (target == nullptr) {
        scratch.emplace_back(h.producer_id, e == nullptr ? ProducerStateEntry{} : *e);
        target = &scratch.back().second;
      }
      // (A control batch never comes through here: markers are appended
      // alone, by Log::AppendTxnMarker, and clients may not send one.)
      if (!h.is_control()) ApplyTo(*target, placed);
    }
  }
  if (mixed) {
    return OutOfOrder(absl::StrCat("the request mixes re-sent and new batches of producer ",
                                   first_dup_pid == first_new_pid
                                       ? absl::StrCat(first_dup_pid)
                                       : absl::StrCat(first_dup_pid, " (and ", first_new_pid, ")"),
                                   " in ", partition_));
  }
  if (dup.has_value() && saw_plain) {
    return OutOfOrder(absl::StrCat("the request mixes re-sent batches of producer ", first_dup_pid,
                                   " with batches without a producer id in ", partition_));
  }
  return dup;
}

absl::Status ProducerStateManager::CheckMarker(int64_t producer_id, int16_t producer_epoch,
                                               int32_t coordinator_epoch) const {
  const ProducerStateEntry* e = Find(producer_id);
  if (e == nullptr) return absl::OkStatus();
  if (producer_epoch < e->epoch) {
    return WithKafkaError(
        absl::FailedPreconditionError(absl::StrCat(
            "transaction marker for producer ", producer_id, " in ", partition_, " has epoch ",
            producer_epoch, ", which is smaller than the last seen epoch ", e->epoch)),
        kKafkaInvalidProducerEpoch);
  }
  if (coordinator_epoch < e->coordinator_epoch) {
    return WithKafkaError(
        absl::FailedPreconditionError(absl::StrCat(
            "transaction marker for producer ", producer_id, " in ", partition_,
            " comes from coordinator epoch ", coordinator_epoch, ", older than the epoch ",
            e->coordinator_epoch, " of its last marker: the coordinator was replaced")),
        kKafkaTransactionCoordinatorFenced);
  }
  return absl::OkStatus();
}

std::optional<CompletedTxn> ProducerStateManager::Apply(const record::BatchHeader& header,
                                                        std::string_view batch) {
  if (header.producer_id < 0) return std::nullopt;
  if (!header.is_control()) {
    ProducerStateEntry& e = producers_[header.producer_id];
    const bool was_open = e.current_txn_first_offset >= 0;
    ApplyTo(e, header);
    if (!was_open && e.current_txn_first_offset >= 0) {
      ongoing_.emplace(e.current_txn_first_offset, header.producer_id);
    }
    return std::nullopt;
  }
  // A control batch the cleaner emptied: its transaction's data is gone.
  if (header.records_count == 0) return std::nullopt;
  absl::StatusOr<record::EndTxnMarker> marker = record::ReadEndTxnMarker(batch);
  if (!marker.ok()) {
    // Not a transaction marker (Kafka has other control records): nothing
    // a producer did.
    LOG(WARNING) << "Control batch of producer " << header.producer_id << " at offset "
                 << header.base_offset.value() << " of " << partition_
                 << " is not a transaction marker this broker reads; it changes no "
                 << "producer state: " << marker.status();
    return std::nullopt;
  }
  ProducerStateEntry& e = producers_[header.producer_id];
  StampEpoch(e, header);
  e.coordinator_epoch = marker->coordinator_epoch;
  CompletedTxn done{header.producer_id, header.base_offset, header.last_offset(),
                    marker->type == record::ControlType::kAbort};
  if (e.current_txn_first_offset >= 0) {
    done.first_offset = Offset(e.current_txn_first_offset);
    ongoing_.erase(e.current_txn_first_offset);
    e.current_txn_first_offset = -1;
  }
  unreplicated_[done.first_offset.value()] = done.last_offset.value();
  return done;
}

std::optional<Offset> ProducerStateManager::FirstOpenOffset() const {
  if (ongoing_.empty()) return std::nullopt;
  return Offset(ongoing_.begin()->first);
}

std::optional<Offset> ProducerStateManager::FirstUnstableOffset() const {
  std::optional<Offset> first = FirstOpenOffset();
  if (!unreplicated_.empty()) {
    const Offset waiting(unreplicated_.begin()->first);
    if (!first || waiting < *first) first = waiting;
  }
  return first;
}

void ProducerStateManager::OnHighWatermark(Offset hw) {
  absl::erase_if(unreplicated_, [&](const auto& txn) { return txn.second < hw.value(); });
}

int ProducerStateManager::EvictBelow(Offset log_start) {
  int removed = 0;
  for (auto it = producers_.begin(); it != producers_.end();) {
    ProducerStateEntry& e = it->second;
    // Runs are in offset order: those wholly below the start are a prefix.
    int gone = 0;
    while (gone < e.num_runs && e.runs[gone].last_offset < log_start.value()) ++gone;
    if (gone > 0) {
      std::move(e.runs.begin() + gone, e.runs.begin() + e.num_runs, e.runs.begin());
      e.num_runs -= gone;
    }
    if (e.num_runs == 0 && e.current_txn_first_offset < 0 && e.coordinator_epoch < 0) {
      producers_.erase(it++);
      ++removed;
    } else {
      ++it;
    }
  }
  return removed;
}

int ProducerStateManager::RemoveExpired(int64_t now_ms, int64_t expiration_ms) {
  int removed = 0;
  for (auto it = producers_.begin(); it != producers_.end();) {
    const ProducerStateEntry& e = it->second;
    if (e.current_txn_first_offset < 0 && now_ms - e.last_timestamp >= expiration_ms) {
      producers_.erase(it++);
      ++removed;
    } else {
      ++it;
    }
  }
  return removed;
}

std::vector<std::pair<int64_t, ProducerStateEntry>> ProducerStateManager::Entries() const {
  std::vector<std::pair<int64_t, ProducerStateEntry>> out(producers_.begin(), producers_.end());
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  return out;
}

std::vector<ProducerStateView> ProducerStateManager::Views() const {
  std::vector<ProducerStateView> out;
  out.reserve(producers_.size());
  for (const auto& [pid, e] : Entries()) {
    const ProducerRun* newest = e.newest();
    out.push_back(ProducerStateView{pid, e.epoch, newest == nullptr ? -1 : newest->last_seq,
                                    e.last_timestamp, e.coordinator_epoch,
                                    e.current_txn_first_offset});
  }
  return out;
}

const ProducerStateEntry* ProducerStateManager::Find(int64_t producer_id) const {
  auto it = producers_.find(producer_id);
  return it == producers_.end() ? nullptr : &it->second;
}

std::string ProducerStateManager::EncodeSnapshot() const {
  std::string out;
  out.reserve(kSnapshotHeaderSize + producers_.size() * (kEntryFixedSize + 2 * kRunSize));
  PutBe(&out, static_cast<uint16_t>(kSnapshotVersion), 2);
  PutBe(&out, 0, 4);  // the CRC, set below
  PutBe(&out, static_cast<uint32_t>(producers_.size()), 4);
  for (const auto& [pid, e] : Entries()) {
    PutBe(&out, static_cast<uint64_t>(pid), 8);
    PutBe(&out, static_cast<uint16_t>(e.epoch), 2);
    PutBe(&out, static_cast<uint32_t>(e.coordinator_epoch), 4);
    PutBe(&out, static_cast<uint64_t>(e.current_txn_first_offset), 8);
    PutBe(&out, static_cast<uint64_t>(e.last_timestamp), 8);
    PutBe(&out, static_cast<uint8_t>(e.num_runs), 1);
    for (int r = 0; r < e.num_runs; ++r) {
      const ProducerRun& run = e.runs[r];
      PutBe(&out, static_cast<uint32_t>(run.first_seq), 4);
      PutBe(&out, static_cast<uint32_t>(run.last_seq), 4);
      PutBe(&out, static_cast<uint64_t>(run.first_offset), 8);
      PutBe(&out, static_cast<uint64_t>(run.last_offset), 8);
      PutBe(&out, static_cast<uint64_t>(run.max_timestamp), 8);
    }
  }
  const uint32_t crc = record::Crc32c(std::string_view(out).substr(6));
  for (int i = 0; i < 4; ++i) out[2 + i] = static_cast<char>((crc >> (8 * (3 - i))) & 0xFF);
  return out;
}

absl::Status ProducerStateManager::DecodeSnapshot(std::string_view bytes) {
  auto bad = [&](const std::string& why) {
    return absl::DataLossError(
        absl::StrCat("producer snapshot of ", partition_, " (", bytes.size(), " bytes): ", why));
  };
  Reader in(bytes);
  const int16_t version = in.I16();
  const uint32_t crc = static_cast<uint32_t>(in.I32());
  if (in.short_read()) return bad("too short for its header");
  if (version != kSnapshotVersion) return bad(absl::StrCat("unknown version ", version));
  if (record::Crc32c(bytes.substr(6)) != crc) return bad("CRC-32C mismatch");
  const int32_t count = in.I32();
  if (in.short_read() || count < 0 || static_cast<uint64_t>(count) * kEntryFixedSize > in.left()) {
    return bad(absl::StrCat("bad producer count ", count));
  }
  absl::flat_hash_map<int64_t, ProducerStateEntry> producers;
  producers.reserve(count);
  for (int32_t i = 0; i < count; ++i) {
    const int64_t pid = in.I64();
    ProducerStateEntry e;
    e.epoch = in.I16();
    e.coordinator_epoch = in.I32();
    e.current_txn_first_offset = in.I64();
    e.last_timestamp = in.I64();
    e.num_runs = in.I8();
    if (in.short_read()) return bad(absl::StrCat("producer ", i, " is cut short"));
    if (pid < 0 || e.num_runs < 0 || e.num_runs > kProducerRunsToRetain) {
      return bad(absl::StrCat("producer ", i, " (id ", pid, ") has ", e.num_runs, " runs"));
    }
    for (int r = 0; r < e.num_runs; ++r) {
      ProducerRun& run = e.runs[r];
      run.first_seq = in.I32();
      run.last_seq = in.I32();
      run.first_offset = in.I64();
      run.last_offset = in.I64();
      run.max_timestamp = in.I64();
    }
    if (in.short_read()) return bad(absl::StrCat("producer ", i, " is cut short"));
    if (!producers.emplace(pid, e).second) {
      return bad(absl::StrCat("producer id ", pid, " appears twice"));
    }
  }
  if (in.left() != 0) return bad(absl::StrCat(in.left(), " bytes after the last producer"));
  absl::btree_map<int64_t, int64_t> ongoing;
  for (const auto& [pid, e] : producers) {
    if (e.current_txn_first_offset < 0) continue;
    if (!ongoing.emplace(e.current_txn_first_offset, pid).second) {
      return bad(absl::StrCat("two transactions start at offset ", e.current_txn_first_offset));
    }
  }
  producers_ = std::move(producers);
  ongoing_ = std::move(ongoing);
  unreplicated_.clear();
  return absl::OkStatus();
}

std::string ProducerSnapshotFileName(Offset offset) {
  return SegmentFileStem(offset) + std::string(kSnapshotSuffix);
}

std::optional<Offset> ParseProducerSnapshotFileName(std::string_view name) {
  if (name.size() != kStemDigits + kSnapshotSuffix.size() || !name.ends_with(kSnapshotSuffix)) {
    return std::nullopt;
  }
  std::optional<int64_t> offset = ParseInteger<int64_t>(name.substr(0, kStemDigits));
  if (!offset || *offset < 0) return std::nullopt;
  return Offset(*offset);
}

absl::StatusOr<std::vector<Offset>> ListProducerSnapshots(FileSystem* fs, const std::string& dir) {
  absl::StatusOr<std::vector<std::string>> names = fs->ListDir(dir);
  if (!names.ok()) return names.status();
  std::vector<Offset> out;
  for (const std::string& name : *names) {
    if (std::optional<Offset> offset = ParseProducerSnapshotFileName(name)) out.push_back(*offset);
  }
  std::sort(out.begin(), out.end());
  return out;
}

absl::Status WriteProducerSnapshot(FileSystem* fs, const std::string& dir, Offset offset,
                                   const ProducerStateManager& state) {
  return fs->WriteFileAtomically(JoinPath(dir, ProducerSnapshotFileName(offset)),
                                 state.EncodeSnapshot());
}

absl::Status DeleteProducerSnapshot(FileSystem* fs, const std::string& dir, Offset offset) {
  absl::Status s = fs->DeleteFile(JoinPath(dir, ProducerSnapshotFileName(offset)));
  if (absl::IsNotFound(s)) return absl::OkStatus();
  return s;
}

}  // namespace strata::storage
