// Progress: what a leader knows about one follower's log, and how it is
// currently feeding it (the "probe / replicate / snapshot" machine of
// etcd-io/raft's tracker).
//
// Contract: internal to the core; a plain value owned by Raft.
#pragma once

#include <algorithm>
#include <cstdint>
#include <deque>

#include "raft/types.h"

namespace strata::raft {

struct Progress {
  enum class State : uint8_t {
    // We do not know where the follower's log matches ours: send one
    // append at a time and wait for the answer (or the next heartbeat).
    kProbe,
    // The follower matches up to `match`: stream appends optimistically.
    kReplicate,
    // The follower needs entries we have compacted: send it our snapshot,
    // one chunk at a time, and nothing else until it has installed it.
    kSnapshot,
  };

  Index match;  // highest index known to be replicated on the follower
  Index next;   // next index to send
  State state = State::kProbe;
  bool probe_sent = false;     // kProbe: an append is in flight
  bool recent_active = false;  // heard from it since the last quorum check
  bool is_learner = false;
  Index pending_snapshot;      // kSnapshot: index of the snapshot being sent
  uint64_t snapshot_offset = 0;  // kSnapshot: bytes the follower acknowledged
  // kReplicate: last index of each append not yet acknowledged. Bounds how
  // far the leader streams ahead of a follower (flow control).
  std::deque<Index> inflight;
  size_t max_inflight = 64;

  bool IsPaused() const {
    switch (state) {
      case State::kProbe:
        return probe_sent;
      case State::kReplicate:
        return inflight.size() >= max_inflight;
      case State::kSnapshot:
        return true;
    }
    return true;
  }

  void SentEntries(Index last) {
    if (state == State::kReplicate) {
      next = last + 1;  // optimistic: pipeline the next batch
      inflight.push_back(last);
    } else if (state == State::kProbe) {
      probe_sent = true;  // one probe at a time
    }
  }

  // The follower accepted everything up to n. Returns whether match moved
  // (an old, reordered acknowledgement does not move it back).
  bool MaybeUpdate(Index n) {
    bool updated = false;
    if (match < n) {
      match = n;
      updated = true;
      probe_sent = false;
    }
    while (!inflight.empty() && inflight.front() <= n) inflight.pop_front();
    next = std::max(next, n + 1);
    return updated;
  }

  // The follower rejected an append whose previous index was `rejected`;
  // `hint` is the highest index where its log may still match ours.
  // Returns false for a stale rejection (one we already acted on).
  bool MaybeDecrTo(Index rejected, Index hint) {
    if (state == State::kReplicate) {
      // Everything up to match is known good, so a rejection at or below it
      // answers an append sent before we learnt that.
      if (rejected <= match) return false;
      next = match + 1;
      return true;
    }
    // In probe state only the answer to the one append in flight counts.
    if (next - 1 != rejected) return false;
    next = std::max(std::min(rejected, hint + 1), match + 1);
    probe_sent = false;
    return true;
  }

  void BecomeProbe() {
    inflight.clear();
    if (state == State::kSnapshot) {
      // The snapshot got through (or was abandoned): resume after it.
      const Index pending = pending_snapshot;
      state = State::kProbe;
      next = std::max(match + 1, pending + 1);
    } else {
      state = State::kProbe;
      next = match + 1;
    }
    probe_sent = false;
    pending_snapshot = Index();
    snapshot_offset = 0;
  }

  void BecomeReplicate() {
    inflight.clear();
    state = State::kReplicate;
    next = match + 1;
    probe_sent = false;
  }

  void BecomeSnapshot(Index snapshot_index) {
    inflight.clear();
    state = State::kSnapshot;
    probe_sent = false;
    pending_snapshot = snapshot_index;
    snapshot_offset = 0;
  }
};

}  // namespace strata::raft
