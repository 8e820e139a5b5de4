// ReplicaManager: the partitions this broker holds a replica of, and the data
// path to them — produce to leaders, fetch from leaders, offset lookups.
//
// It follows the metadata image: for each partition whose replicas include
// this broker it opens (or creates) the log and records whether this broker
// leads it and in which leader epoch; when a partition leaves the image
// (topic deleted) its log is deleted. Logs found on disk at start for
// partitions the image does not (yet) mention are left alone: the image may
// not have caught up.
//
// This version serves leaders only: followers do not fetch yet, so the ISR
// is the leader alone, the high watermark is the leader's log end offset,
// and acks=all succeeds only where min.insync.replicas is 1.
//
// Thread-safe.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "broker/common/ids.h"
#include "broker/metadata/metadata_image.h"
#include "broker/storage/log_manager.h"
#include "strata/v1/common.pb.h"

namespace strata::replication {

struct ProduceResult {
  v1::ErrorCode error = v1::NONE;
  std::string message;
  int64_t base_offset = -1;
  int64_t log_start_offset = -1;
  int32_t leader_hint = -1;
};

struct FetchResult {
  v1::ErrorCode error = v1::NONE;
  std::string message;
  int64_t high_watermark = -1;
  int64_t log_start_offset = -1;
  std::string records;
  int32_t leader_hint = -1;
};

struct OffsetResult {
  v1::ErrorCode error = v1::NONE;
  std::string message;
  int64_t offset = -1;
  int64_t timestamp = -1;
  int32_t leader_epoch = -1;
  int32_t leader_hint = -1;
};

class ReplicaManager {
 public:
  // `min_insync_replicas` gives a topic's min.insync.replicas (its config,
  // else the broker's).
  ReplicaManager(int32_t broker_id, storage::LogManager* logs,
                 std::function<int32_t(const metadata::TopicInfo&)> min_insync_replicas);

  // Brings the local replicas in line with `image`.
  void OnMetadata(const std::shared_ptr<const metadata::MetadataImage>& image);
  // The metadata offset this node had committed when it started. Until the
  // image reaches it, the image is a replay of the past: a log on disk that
  // belongs to another topic id (a topic deleted and created again) is
  // neither adopted nor deleted, since the image will get to its topic.
  void SetCaughtUpOffset(int64_t offset);

  // Appends one or more v2 batches to a partition this broker leads.
  ProduceResult Append(const std::string& topic, int32_t partition, std::string batches,
                       int32_t acks);
  // Reads whole batches from `offset` up to the high watermark: at least
  // one batch when there is one, then up to `max_bytes`; with max_bytes 0,
  // only the watermarks.
  FetchResult Read(const std::string& topic, int32_t partition, int64_t offset, int32_t max_bytes);
  // timestamp -1: latest, -2: earliest, else the first offset at or after it.
  OffsetResult ListOffset(const std::string& topic, int32_t partition, int64_t timestamp);

  // Whether a read at `offset` would now return data (for parked fetches).
  bool HasDataAt(const std::string& topic, int32_t partition, int64_t offset);

  // Blocks until some append happened after `seen` (a value from
  // append_count()) or `deadline` passes; returns the current count.
  uint64_t WaitForAppend(uint64_t seen, absl::Time deadline) const;
  uint64_t append_count() const;

 private:
  struct Replica {
    std::shared_ptr<storage::Log> log;
    std::string topic_id;
    int32_t leader = -1;
    int32_t leader_epoch = -1;
    size_t isr_size = 0;
    int32_t min_insync_replicas = 1;
  };
  // Copies the replica's state, or fills `error` the way a client expects.
  bool Lookup(const std::string& topic, int32_t partition, bool need_leader, Replica* out,
              v1::ErrorCode* error, std::string* message, int32_t* leader_hint);

  const int32_t broker_id_;
  storage::LogManager* const logs_;
  const std::function<int32_t(const metadata::TopicInfo&)> min_insync_replicas_;

  mutable absl::Mutex mu_;
  std::shared_ptr<const metadata::MetadataImage> image_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<TopicPartition, Replica> replicas_ ABSL_GUARDED_BY(mu_);
  uint64_t appends_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t caught_up_offset_ ABSL_GUARDED_BY(mu_) = 0;
};

// Maps a storage error to the code a Kafka client expects.
v1::ErrorCode ErrorCodeFor(const absl::Status& status);

}  // namespace strata::replication
