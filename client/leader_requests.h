// Requests that go to each partition's leader — ListOffsets and
// DeleteRecords — shared by Admin and Consumer: the partitions are grouped
// by leader (from the metadata cache), one request per leader; retriable
// errors and unreachable leaders refresh the leaders (or follow the
// answer's leader hint) and are retried after retry.backoff.ms until
// request.timeout.ms.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "client/common/ids.h"
#include "client/connection_pool.h"
#include "client/metadata_cache.h"
#include "strata/v1/common.pb.h"

namespace strata::client {

// One partition's answer in a leader's response.
struct PartitionAnswer {
  TopicPartition tp;
  v1::ErrorCode error = v1::NONE;
  std::string message;
  int32_t leader_hint = -1;
};

// Sends one request for `partitions` to the leader at `target`, answering
// by `deadline`: each partition's answer (the sender keeps the values of
// those answered NONE; a partition left out is asked again), or why the
// call failed.
using LeaderRequest = std::function<absl::StatusOr<std::vector<PartitionAnswer>>(
    const std::string& target, const std::vector<TopicPartition>& partitions, absl::Time deadline)>;

// Sends `send` to the leaders of `partitions` until each is answered, and
// returns each partition's status: OK once answered NONE; the error of an
// answer that retrying does not cure; NotFound for a partition that does
// not exist; DeadlineExceeded (naming `what` and the last retriable error)
// when none answered in time.
std::map<TopicPartition, absl::Status> RequestAtLeaders(MetadataCache& metadata,
                                                        const std::set<TopicPartition>& partitions,
                                                        absl::Duration request_timeout,
                                                        absl::Duration retry_backoff,
                                                        const std::string& what,
                                                        const LeaderRequest& send);

// One partition's ListOffsets answer: `offset` is -1 when no record is at or
// after the timestamp asked for. `status` as RequestAtLeaders'; the other
// fields are meaningless when it is not OK.
struct ListedOffset {
  absl::Status status;
  int64_t offset = -1;
  int64_t timestamp = -1;
  int32_t leader_epoch = -1;
};

// `timestamps`: -1 latest, -2 earliest, -3 the largest timestamp, else the
// first offset at or after it. Every partition asked for gets an entry.
// `read_committed`: latest is the last stable offset.
std::map<TopicPartition, ListedOffset> ListOffsetsAtLeaders(
    MetadataCache& metadata, ConnectionPool& pool,
    const std::map<TopicPartition, int64_t>& timestamps, absl::Duration request_timeout,
    absl::Duration retry_backoff, bool read_committed = false);

// One partition's DeleteRecords answer: the least log start offset of its
// in-sync replicas once they all moved theirs.
struct DeletedRecords {
  absl::Status status;
  int64_t low_watermark = -1;
};

// Deletes the records below each partition's offset (-1: its high
// watermark). Every partition asked for gets an entry.
std::map<TopicPartition, DeletedRecords> DeleteRecordsAtLeaders(
    MetadataCache& metadata, ConnectionPool& pool, const std::map<TopicPartition, int64_t>& offsets,
    absl::Duration request_timeout, absl::Duration retry_backoff);

}  // namespace strata::client
