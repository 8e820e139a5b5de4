// The controller's one way to write a change to a partition (the
// PartitionChangeRecord that takes it from what the image holds to a new
// shape), and the replica-list arithmetic the controller and the image
// share.
#pragma once

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "broker/metadata/metadata_image.h"
#include "strata/internal/metadata.pb.h"

namespace strata::metadata {

inline bool Contains(const std::vector<int32_t>& v, int32_t x) {
  return std::find(v.begin(), v.end(), x) != v.end();
}

// `a` without the members of `b`, in `a`'s order.
inline std::vector<int32_t> Minus(const std::vector<int32_t>& a, const std::vector<int32_t>& b) {
  std::vector<int32_t> out;
  for (int32_t x : a) {
    if (!Contains(b, x)) out.push_back(x);
  }
  return out;
}

// "[1,2,3]", for messages.
inline std::string Ids(const std::vector<int32_t>& v) {
  return absl::StrCat("[", absl::StrJoin(v, ","), "]");
}

// What a partition record says about replicas and leadership.
struct PartitionShape {
  std::vector<int32_t> replicas;
  std::vector<int32_t> adding;
  std::vector<int32_t> removing;
  std::vector<int32_t> isr;
  int32_t leader = -1;

  static PartitionShape Of(const PartitionInfo& p) {
    return PartitionShape{p.replicas, p.adding_replicas, p.removing_replicas, p.isr, p.leader};
  }
  std::vector<int32_t> target() const { return Minus(replicas, removing); }
};

// Appends the record that takes `p` (of `t`) to `s`; nothing when they are
// the same. Only the parts that change are written.
inline void AppendPartitionChange(const TopicInfo& t, const PartitionInfo& p,
                                  const PartitionShape& s, internal::MetadataRecordBatch* batch) {
  const bool replicas_changed = s.replicas != p.replicas || s.adding != p.adding_replicas ||
                                s.removing != p.removing_replicas;
  if (!replicas_changed && s.isr == p.isr && s.leader == p.leader) return;
  internal::PartitionChangeRecord* c = batch->add_records()->mutable_partition_change();
  c->set_topic_id(t.topic_id);
  c->set_partition(p.partition);
  if (s.leader != p.leader) c->set_leader(s.leader);
  if (s.isr != p.isr) {
    c->set_set_isr(true);
    for (int32_t r : s.isr) c->add_isr(r);
  }
  if (replicas_changed) {
    c->set_set_replicas(true);
    for (int32_t r : s.replicas) c->add_replicas(r);
    for (int32_t r : s.adding) c->add_adding_replicas(r);
    for (int32_t r : s.removing) c->add_removing_replicas(r);
  }
}

}  // namespace strata::metadata
