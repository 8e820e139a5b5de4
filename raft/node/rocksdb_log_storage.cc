#include "raft/node/rocksdb_log_storage.h"

#include <filesystem>

#include "absl/strings/str_cat.h"
#include "glog/logging.h"
#include "raft/node/proto_convert.h"
#include "rocksdb/db.h"
#include "rocksdb/write_batch.h"

namespace strata::raft {
namespace {

constexpr char kConfKey[] = "conf";
constexpr char kHardStateKey[] = "hs";
constexpr char kSnapMetaKey[] = "snap/meta";
constexpr char kSnapDataKey[] = "snap/data";
constexpr char kBaseKey[] = "base";
constexpr char kEntryPrefix[] = "e/";

std::string EntryKey(Index i) {
  std::string key(kEntryPrefix);
  for (int shift = 56; shift >= 0; shift -= 8) key.push_back(static_cast<char>((i.value() >> shift) & 0xFF));
  return key;
}

absl::Status FromRocks(const rocksdb::Status& s, std::string_view what) {
  if (s.ok()) return absl::OkStatus();
  return absl::InternalError(absl::StrCat("raft storage ", std::string(what), ": ", s.ToString()));
}

rocksdb::WriteOptions Synced() {
  rocksdb::WriteOptions w;
  w.sync = true;
  return w;
}

}  // namespace

RocksDbLogStorage::~RocksDbLogStorage() = default;

absl::StatusOr<std::unique_ptr<RocksDbLogStorage>> RocksDbLogStorage::Open(
    const std::string& dir, const ConfState& bootstrap_conf) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return absl::InternalError(absl::StrCat("raft storage: cannot create ", dir, ": ", ec.message()));
  rocksdb::Options options;
  options.create_if_missing = true;
  rocksdb::DB* raw = nullptr;
  if (absl::Status s = FromRocks(rocksdb::DB::Open(options, dir, &raw), "open " + dir); !s.ok()) {
    return s;
  }
  std::unique_ptr<RocksDbLogStorage> storage(new RocksDbLogStorage());
  storage->db_.reset(raw);

  std::string conf;
  rocksdb::Status got = raw->Get(rocksdb::ReadOptions(), kConfKey, &conf);
  if (got.IsNotFound()) {
    rocksdb::WriteBatch batch;
    batch.Put(kConfKey, ToProto(bootstrap_conf).SerializeAsString());
    batch.Put(kHardStateKey, ToProto(HardState{}).SerializeAsString());
    batch.Put(kBaseKey, ToProto(Entry{}).SerializeAsString());
    if (absl::Status s = FromRocks(raw->Write(Synced(), &batch), "bootstrap"); !s.ok()) return s;
  } else if (!got.ok()) {
    return FromRocks(got, "read conf");
  }
  if (absl::Status s = storage->Load(); !s.ok()) return s;
  return storage;
}

absl::Status RocksDbLogStorage::Load() {
  auto read = [&](const char* key, auto* proto) -> absl::Status {
    std::string value;
    if (absl::Status s = FromRocks(db_->Get(rocksdb::ReadOptions(), key, &value), key); !s.ok()) return s;
    if (!proto->ParseFromString(value)) return absl::DataLossError(absl::StrCat("raft storage: bad ", key));
    return absl::OkStatus();
  };
  internal::RaftConfState conf;
  internal::RaftHardState hs;
  internal::RaftEntry base;
  if (absl::Status s = read(kConfKey, &conf); !s.ok()) return s;
  if (absl::Status s = read(kHardStateKey, &hs); !s.ok()) return s;
  if (absl::Status s = read(kBaseKey, &base); !s.ok()) return s;
  conf_ = FromProto(conf);
  hard_state_ = FromProto(hs);
  base_index_ = Index(base.index());
  base_term_ = Term(base.term());

  std::string meta;
  rocksdb::Status got = db_->Get(rocksdb::ReadOptions(), kSnapMetaKey, &meta);
  if (got.ok()) {
    internal::RaftSnapshotMetadata p;
    if (!p.ParseFromString(meta)) return absl::DataLossError("raft storage: bad snapshot metadata");
    snapshot_meta_ = FromProto(p);
  } else if (!got.IsNotFound()) {
    return FromRocks(got, "read snapshot metadata");
  }

  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions()));
  Index expected = base_index_ + 1;
  for (it->Seek(kEntryPrefix); it->Valid() && it->key().starts_with(kEntryPrefix); it->Next()) {
    internal::RaftEntry e;
    if (!e.ParseFromArray(it->value().data(), static_cast<int>(it->value().size())) ||
        Index(e.index()) != expected) {
      return absl::DataLossError(absl::StrCat("raft storage: entry ", expected.value(),
                                              " is missing or malformed"));
    }
    terms_.push_back(Term(e.term()));
    ++expected;
  }
  if (!it->status().ok()) return FromRocks(it->status(), "scan entries");
  LOG(INFO) << "Raft storage loaded: entries [" << FirstIndex() << ", " << LastIndex()
            << "], snapshot at " << snapshot_meta_.index << ", " << hard_state_;
  return absl::OkStatus();
}

InitialState RocksDbLogStorage::GetInitialState() const {
  return InitialState{hard_state_, conf_};
}

absl::StatusOr<std::vector<Entry>> RocksDbLogStorage::Entries(Index lo, Index hi,
                                                              uint64_t max_bytes) const {
  if (lo <= base_index_) return CompactedError();
  if (hi > LastIndex() + 1) return IndexUnavailableError();
  std::vector<Entry> out;
  uint64_t bytes = 0;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions()));
  Index i = lo;
  for (it->Seek(EntryKey(lo)); i < hi && it->Valid(); it->Next(), ++i) {
    internal::RaftEntry e;
    if (!e.ParseFromArray(it->value().data(), static_cast<int>(it->value().size())) ||
        Index(e.index()) != i) {
      return absl::DataLossError(absl::StrCat("raft storage: entry ", i.value(), " is malformed"));
    }
    bytes += e.data().size();
    if (!out.empty() && bytes > max_bytes) break;
    out.push_back(FromProto(e));
  }
  if (!it->status().ok()) return FromRocks(it->status(), "read entries");
  if (out.empty() && lo < hi) return absl::DataLossError("raft storage: entries vanished");
  return out;
}

absl::StatusOr<Term> RocksDbLogStorage::TermAt(Index i) const {
  if (i == base_index_) return base_term_;
  if (i < base_index_) return CompactedError();
  if (i > LastIndex()) return IndexUnavailableError();
  return terms_[i - base_index_ - 1];
}

absl::StatusOr<Snapshot> RocksDbLogStorage::GetSnapshot() const {
  Snapshot snap;
  if (snapshot_meta_.index == Index()) return snap;
  snap.metadata = snapshot_meta_;
  if (absl::Status s =
          FromRocks(db_->Get(rocksdb::ReadOptions(), kSnapDataKey, &snap.data), "read snapshot");
      !s.ok()) {
    return s;
  }
  return snap;
}

absl::Status RocksDbLogStorage::Save(const std::optional<Snapshot>& snapshot,
                                     const std::vector<Entry>& entries,
                                     const std::optional<HardState>& hard_state) {
  rocksdb::WriteBatch batch;
  // The log as it will be after this batch, to validate and then adopt.
  Index base = base_index_;
  Term base_term = base_term_;
  size_t keep = terms_.size();  // entries of the current log that survive
  if (snapshot) {
    if (snapshot->metadata.index <= snapshot_meta_.index) return SnapshotOutOfDateError();
    // The snapshot replaces the whole log.
    batch.DeleteRange(EntryKey(base_index_ + 1), EntryKey(LastIndex() + 1));
    base = snapshot->metadata.index;
    base_term = snapshot->metadata.term;
    keep = 0;
    batch.Put(kBaseKey, ToProto(Entry{base_term, base, ""}).SerializeAsString());
    batch.Put(kSnapMetaKey, ToProto(snapshot->metadata).SerializeAsString());
    batch.Put(kSnapDataKey, snapshot->data);
    batch.Put(kConfKey, ToProto(snapshot->metadata.conf_state).SerializeAsString());
  }
  // Entries at or below the compaction point are already covered.
  auto first = std::find_if(entries.begin(), entries.end(), [&](const Entry& e) { return e.index > base; });
  if (first != entries.end()) {
    const Index from = first->index;
    CHECK_LE(from, base + keep + 1) << "raft storage: append at " << from << " leaves a gap after "
                                     << base + keep;
    if (from <= base + keep) {
      batch.DeleteRange(EntryKey(from), EntryKey(base + keep + 1));
      keep = from - base - 1;
    }
    for (auto it = first; it != entries.end(); ++it) {
      batch.Put(EntryKey(it->index), ToProto(*it).SerializeAsString());
    }
  }
  if (hard_state) batch.Put(kHardStateKey, ToProto(*hard_state).SerializeAsString());
  if (batch.Count() == 0) return absl::OkStatus();
  if (absl::Status s = FromRocks(db_->Write(Synced(), &batch), "write"); !s.ok()) return s;

  if (snapshot) {
    snapshot_meta_ = snapshot->metadata;
    conf_ = snapshot->metadata.conf_state;
    terms_.clear();
  }
  base_index_ = base;
  base_term_ = base_term;
  terms_.resize(keep);
  for (auto it = first; it != entries.end(); ++it) terms_.push_back(it->term);
  if (hard_state) hard_state_ = *hard_state;
  return absl::OkStatus();
}

absl::Status RocksDbLogStorage::Append(const std::vector<Entry>& entries) {
  return Save(std::nullopt, entries, std::nullopt);
}

absl::Status RocksDbLogStorage::SetHardState(const HardState& hs) {
  return Save(std::nullopt, {}, hs);
}

absl::Status RocksDbLogStorage::ApplySnapshot(const Snapshot& snapshot) {
  return Save(snapshot, {}, std::nullopt);
}

absl::Status RocksDbLogStorage::CreateSnapshot(Index i, std::string data) {
  if (i <= snapshot_meta_.index) return SnapshotOutOfDateError();
  absl::StatusOr<Term> term = TermAt(i);
  if (!term.ok()) return term.status();
  SnapshotMetadata meta{i, *term, conf_};
  rocksdb::WriteBatch batch;
  batch.Put(kSnapMetaKey, ToProto(meta).SerializeAsString());
  batch.Put(kSnapDataKey, data);
  if (absl::Status s = FromRocks(db_->Write(Synced(), &batch), "write snapshot"); !s.ok()) return s;
  snapshot_meta_ = meta;
  return absl::OkStatus();
}

absl::Status RocksDbLogStorage::Compact(Index i) {
  if (i <= base_index_) return SnapshotOutOfDateError();
  if (i > snapshot_meta_.index) {
    return absl::FailedPreconditionError(absl::StrCat("compaction to ", i.value(),
                                                      " would pass the snapshot at ",
                                                      snapshot_meta_.index.value()));
  }
  absl::StatusOr<Term> term = TermAt(i);
  if (!term.ok()) return term.status();
  rocksdb::WriteBatch batch;
  batch.DeleteRange(EntryKey(base_index_ + 1), EntryKey(i + 1));
  batch.Put(kBaseKey, ToProto(Entry{*term, i, ""}).SerializeAsString());
  if (absl::Status s = FromRocks(db_->Write(Synced(), &batch), "compact"); !s.ok()) return s;
  terms_.erase(terms_.begin(), terms_.begin() + static_cast<std::ptrdiff_t>(i - base_index_));
  base_index_ = i;
  base_term_ = *term;
  return absl::OkStatus();
}

}  // namespace strata::raft
