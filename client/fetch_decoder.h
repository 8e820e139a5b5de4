// Turns the `records` bytes of a Fetch answer into ConsumerRecords.
//
// A Fetch answer holds whole v2 batches starting with the one that contains
// the fetch offset, so its first batch may begin before that offset: records
// below it were consumed already and are skipped. The last batch may be cut
// off by the byte limit; it is ignored and fetched again next time. On a
// compacted partition offsets have gaps, between batches and inside them
// (the cleaner keeps a batch's offset range and the records left at their
// own offsets); records carry their own offsets, and the next fetch starts
// past the batch's last offset, as Kafka's consumer does.
//
// Pure and thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <limits>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "client/record/control_record.h"
#include "client/records.h"

namespace strata::client {

struct DecodedFetch {
  // The records kept, in order, in runs of at most `run_records` each
  // (DecodeFetchedRecords' argument): a consumer hands one run to one
  // poll() by a swap, not moving its records one by one.
  std::deque<std::vector<ConsumerRecord>> runs;
  // Where the next fetch starts: past the last whole batch (which may end
  // beyond its last record, after compaction), or `fetch_offset` when no
  // whole batch was there.
  int64_t next_offset = 0;
  // Bytes were there but not one whole batch: the batch at the fetch offset
  // is larger than the fetch's byte limit.
  bool truncated = false;
};

// Where a Fetch answer's whole batches end, from their headers alone (no
// record is decoded, no CRC checked): `next_offset` as DecodeFetchedRecords
// would set it, and `truncated` when bytes were there but not one whole
// batch.
struct FetchExtent {
  int64_t next_offset = 0;
  bool truncated = false;
};
FetchExtent ScanFetchedBatches(std::string_view bytes, int64_t fetch_offset);

// Decodes `bytes` for `topic`/`partition`, keeping records at or above
// `fetch_offset`. With `check_crcs`, a batch whose CRC does not match is an
// error (DataLoss) naming the partition and offset; control batches
// (transaction markers) are skipped. `aborted` (isolation.level=
// read_committed: the fetch's aborted transactions; nullptr otherwise)
// drops the records of aborted transactions too
// (record::AbortedTransactionFilter). Records are appended to `out->runs`,
// a new run begun whenever the last holds `run_records` (max.poll.records).
absl::Status DecodeFetchedRecords(
    std::string_view bytes, const std::string& topic, int32_t partition, int64_t fetch_offset,
    bool check_crcs, DecodedFetch* out,
    const std::vector<record::AbortedTransaction>* aborted = nullptr,
    size_t run_records = std::numeric_limits<size_t>::max());

}  // namespace strata::client
