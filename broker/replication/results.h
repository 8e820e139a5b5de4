// What the replica manager answers: the results of appends, reads and
// offset lookups, and the ISR changes a leader sends the controller. Plain
// values in the broker's own terms (ErrorCode, Kafka's numbering), shared by
// Partition, ReplicaManager and the replica fetcher's LeaderEndpoint.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "broker/storage/producer_state.h"
#include "client/common/error_code.h"
#include "client/common/ids.h"
#include "client/record/control_record.h"

namespace strata::replication {

struct ProduceResult {
  ErrorCode error = ErrorCode::kNone;
  std::string message;
  int64_t base_offset = -1;
  // The append time stamped on the records of a LogAppendTime topic; -1
  // for a CreateTime topic.
  int64_t log_append_time_ms = -1;
  int64_t log_start_offset = -1;
  int32_t leader_hint = -1;
  // For acks=all: the offset the high watermark must reach, in this leader
  // epoch, before the produce is acknowledged.
  int64_t required_offset = -1;
  int32_t leader_epoch = -1;
};

struct FetchResult {
  ErrorCode error = ErrorCode::kNone;
  std::string message;
  int64_t high_watermark = -1;
  int64_t last_stable_offset = -1;
  // A read_committed read's aborted transactions overlapping it.
  std::vector<record::AbortedTransaction> aborted_transactions;
  int64_t log_start_offset = -1;
  int64_t log_end_offset = -1;
  std::string records;
  int32_t leader_hint = -1;
};

struct OffsetResult {
  ErrorCode error = ErrorCode::kNone;
  std::string message;
  int64_t offset = -1;
  int64_t timestamp = -1;
  int32_t leader_epoch = -1;
  int32_t leader_hint = -1;
};

// DescribeProducers of one partition (its leader answers).
struct ProducersResult {
  ErrorCode error = ErrorCode::kNone;
  std::string message;
  std::vector<storage::ProducerStateView> producers;  // by producer id
};

struct EpochEndResult {
  ErrorCode error = ErrorCode::kNone;
  std::string message;
  int32_t leader_epoch = -1;
  int64_t end_offset = -1;
  int64_t log_end_offset = -1;
};

// An ISR change a leader wants; the server sends it to the controller.
struct IsrChange {
  TopicPartition tp;
  std::string topic_id;
  int32_t leader_epoch = -1;
  int32_t partition_epoch = -1;
  std::vector<int32_t> new_isr;
};

// What the controller answered to an IsrChange.
struct IsrChangeResult {
  ErrorCode error = ErrorCode::kNone;
  std::string message;
  int32_t leader_epoch = -1;
  int32_t partition_epoch = -1;
  std::vector<int32_t> isr;
};

// A partition this broker follows, as the replica fetcher sees it.
struct FollowedPartition {
  TopicPartition tp;
  int32_t leader_epoch = -1;
  bool needs_truncation = false;
  int64_t log_end_offset = 0;
  // The latest epoch in the local log (-1: none), for OffsetForLeaderEpoch.
  int32_t latest_epoch = -1;
  int64_t log_start_offset = 0;
};

// DeleteRecords / the low watermark of one partition.
struct DeleteRecordsResult {
  ErrorCode error = ErrorCode::kNone;
  std::string message;
  // The offset asked for, with -1 resolved to the high watermark.
  int64_t offset = -1;
  int64_t low_watermark = -1;
  int32_t leader_hint = -1;
};

// Maps a storage error to the code a Kafka client expects.
ErrorCode ErrorCodeFor(const absl::Status& status);

}  // namespace strata::replication
