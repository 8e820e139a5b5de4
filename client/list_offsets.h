// ListOffsets at each partition's leader, shared by Admin and Consumer: the
// partitions are grouped by leader (from the metadata cache), one request
// per leader; retriable errors and unreachable leaders refresh the leaders
// (or follow the answer's leader hint) and are retried after retry.backoff.ms
// until request.timeout.ms.
#pragma once

#include <cstdint>
#include <map>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "client/common/ids.h"
#include "client/connection_pool.h"
#include "client/metadata_cache.h"

namespace strata::client {

// One partition's answer: `offset` is -1 when no record is at or after the
// timestamp asked for. `status` is not OK when the leader answered an error
// that retrying does not cure, the partition does not exist, or none
// answered before the timeout; the other fields are then meaningless.
struct ListedOffset {
  absl::Status status;
  int64_t offset = -1;
  int64_t timestamp = -1;
  int32_t leader_epoch = -1;
};

// `timestamps`: -1 latest, -2 earliest, else the first offset at or after
// it. Every partition asked for gets an entry.
std::map<TopicPartition, ListedOffset> ListOffsetsAtLeaders(
    MetadataCache& metadata, ConnectionPool& pool,
    const std::map<TopicPartition, int64_t>& timestamps, absl::Duration request_timeout,
    absl::Duration retry_backoff);

}  // namespace strata::client
