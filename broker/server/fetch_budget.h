// How many bytes one partition of a fetch may read, for consumer and
// follower fetches alike (Kafka's max.partition.fetch.bytes within
// fetch.max.bytes): the partition's own limit (1 MiB when unset), within
// what is left of the request's. Past the request's budget it is 0 and the
// partition answers with its watermarks only.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>

namespace strata::server {

inline int32_t PartitionFetchBudget(size_t used, size_t request_max_bytes,
                                    int32_t partition_max_bytes) {
  if (used >= request_max_bytes) return 0;
  const int32_t own = partition_max_bytes > 0 ? partition_max_bytes : 1048576;
  return static_cast<int32_t>(std::min<size_t>(static_cast<size_t>(own), request_max_bytes - used));
}

}  // namespace strata::server
