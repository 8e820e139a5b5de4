// Producer sequence numbers (a record batch's baseSequence and the ones
// after it), which wrap from INT32_MAX to 0 as Kafka's do
// (DefaultRecordBatch.incrementSequence). Shared by the producer that gives
// them out, the broker that checks them and the log dump that prints them.
#pragma once

#include <cstdint>
#include <limits>

namespace strata::record {

inline constexpr int64_t kSequenceSpan = int64_t{std::numeric_limits<int32_t>::max()} + 1;

// The sequence `n` records after `seq` (n >= 0).
constexpr int32_t IncrementSequence(int32_t seq, int64_t n) {
  return static_cast<int32_t>((int64_t{seq} + n) % kSequenceSpan);
}

// Whether `seq` comes before `later`, by at most half the sequence space,
// counting across the wrap.
constexpr bool SequenceBefore(int32_t seq, int32_t later) {
  const int64_t d = ((int64_t{later} - seq) % kSequenceSpan + kSequenceSpan) % kSequenceSpan;
  return d > 0 && d <= kSequenceSpan / 2;
}

}  // namespace strata::record
