// The identifiers the broker passes around, each a type of its own.
#pragma once

#include <cstdint>
#include <string>

#include "client/common/strong_int.h"

namespace strata {

// Position of a record in a partition log.
using Offset = StrongInt<struct OffsetTag, int64_t>;
// Leader epoch of a partition; every batch carries the one it was written in.
using Epoch = StrongInt<struct EpochTag, int32_t>;
using PartitionId = StrongInt<struct PartitionIdTag, int32_t>;
using BrokerId = StrongInt<struct BrokerIdTag, int32_t>;

struct TopicPartition {
  std::string topic;
  PartitionId partition;

  friend bool operator==(const TopicPartition&, const TopicPartition&) = default;
  friend auto operator<=>(const TopicPartition&, const TopicPartition&) = default;

  // "<topic>-<partition>", Kafka's name for the partition's log directory.
  std::string ToString() const { return topic + "-" + std::to_string(partition.value()); }

  template <typename H>
  friend H AbslHashValue(H h, const TopicPartition& tp) {
    return H::combine(std::move(h), tp.topic, tp.partition);
  }
};

}  // namespace strata
