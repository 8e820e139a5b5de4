// How many bytes a fetch may read, for consumer and follower fetches alike.
//
// Per partition (Kafka's max.partition.fetch.bytes within fetch.max.bytes):
// the partition's own limit (1 MiB when unset), within what is left of the
// request's. Past the request's budget it is 0 and the partition answers
// with its watermarks only. The request's own limit is capped by the
// broker's fetch.max.bytes, whatever the client asks; as KIP-74 has it, the
// first batch goes out whole even when it is larger, so no consumer stalls
// behind a large batch.
//
// Broker-wide, FetchMemory bounds the bytes of fetch responses held at once
// (read and not yet sent): a fetch takes its share before reading and gives
// it back when the transport has sent the response (FetchShare, which the
// response carries). A fetch that finds the pool spent answers with
// watermarks only, and the client asks again.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"

namespace strata::request {

inline int32_t PartitionFetchBudget(size_t used, size_t request_max_bytes,
                                    int32_t partition_max_bytes) {
  if (used >= request_max_bytes) return 0;
  const int32_t own = partition_max_bytes > 0 ? partition_max_bytes : 1048576;
  return static_cast<int32_t>(std::min<size_t>(static_cast<size_t>(own), request_max_bytes - used));
}

// A request's byte limit: what it asks for (`fallback` when it asks for
// nothing), never more than the broker's fetch.max.bytes.
inline size_t RequestFetchBudget(int32_t asked, size_t fallback, size_t broker_max) {
  return std::min(asked > 0 ? static_cast<size_t>(asked) : fallback, broker_max);
}

// The partitions one fetch has named so far: a partition named again is
// refused (INVALID_REQUEST) rather than read again into the same response.
class FetchedPartitions {
 public:
  // Empty the first time `topic`-`partition` comes; the refusal after.
  std::string Duplicate(const std::string& topic, int32_t partition) {
    if (seen_.emplace(topic, partition).second) return "";
    return absl::StrCat("Partition ", topic, "-", partition,
                        " appears more than once in this fetch request");
  }

 private:
  absl::flat_hash_set<std::pair<std::string, int32_t>> seen_;
};

// Thread-safe.
class FetchMemory {
 public:
  explicit FetchMemory(size_t capacity) : capacity_(capacity) {}

  // Takes up to `want` bytes; returns how many it got (0 when spent).
  size_t Take(size_t want) {
    absl::MutexLock l(&mu_);
    const size_t got = used_ >= capacity_ ? 0 : std::min(want, capacity_ - used_);
    used_ += got;
    return got;
  }
  // Takes `n` bytes even past the capacity: a first batch larger than the
  // share, which goes out whole.
  void Force(size_t n) {
    absl::MutexLock l(&mu_);
    used_ += n;
  }
  void Give(size_t n) {
    absl::MutexLock l(&mu_);
    used_ -= std::min(n, used_);
  }
  size_t used() const {
    absl::MutexLock l(&mu_);
    return used_;
  }

 private:
  const size_t capacity_;
  mutable absl::Mutex mu_;
  size_t used_ ABSL_GUARDED_BY(mu_) = 0;
};

// One fetch response's share of a FetchMemory, held from before the first
// read until the transport has sent the response (the last owner drops
// it). Reserve and Keep are called by one thread at a time (the handler,
// then the purgatory).
class FetchShare {
 public:
  explicit FetchShare(FetchMemory* memory) : memory_(memory) {}
  ~FetchShare() { memory_->Give(held_); }
  FetchShare(const FetchShare&) = delete;
  FetchShare& operator=(const FetchShare&) = delete;

  // Before a (re)read, which replaces the response: gives back the previous
  // share and takes up to `want` for the next one.
  size_t Reserve(size_t want) {
    memory_->Give(held_);
    held_ = memory_->Take(want);
    return held_;
  }
  // After the read: keeps what the response holds.
  void Keep(size_t used) {
    if (used > held_) {
      memory_->Force(used - held_);
    } else {
      memory_->Give(held_ - used);
    }
    held_ = used;
  }

 private:
  FetchMemory* const memory_;
  size_t held_ = 0;
};

}  // namespace strata::request
