// FetchSessions: a leader's incremental fetch sessions for its followers
// (Kafka's FetchSessionCache, KIP-227).
//
// A follower fetches every partition it follows with this leader, every
// replica.fetch.wait.max.ms when idle. Without sessions each such fetch
// names all of them and is answered for all of them: for a thousand idle
// partitions, a burst of work on both brokers twice a second that carries
// nothing. With a session the follower names a partition only when it is
// added or its fetch position changed, and the leader answers only the
// partitions with something new.
//
// An idle fetch costs the leader O(1): no partition is read or listed.
// Each session subscribes once to its partitions' changes: a standing
// watcher in the purgatory, listed under every partition of the session and
// tried by every change to one of them (an append, a high watermark or log
// start moved by a read or DeleteRecords, an ISR or role change), which
// counts the change and wakes the session's parked fetch. A fetch that
// names nothing and forgets nothing, after an answer that found the
// follower at the log end of every partition with nothing to tell, while
// no change was counted since that answer's read, is *idle*: it parks
// under the session's one key until a change wakes it (then it is read as
// a full fetch) or its wait ends (then it is answered empty). The
// follower's position is recorded only by the reads, and the ISR takes a
// follower as caught up from the reads that find it at the log end; so an
// idle session is read in full again once its last read, plus the fetch's
// wait, would be idle_refresh_ms old (the handlers give a quarter of
// replica.lag.time.max.ms, at most 5 s): a caught-up follower is never
// shrunk from the ISR. A change nothing reports (retention moving the
// log start) reaches the follower at that read.
//
// Begin resolves a fetch's session and rewrites its partitions to the whole
// session's; the fetch is read as a full one; Trim then drops from the
// answer each partition the follower already knows all of. The follower
// sees the same answer a full fetch would have given, minus partitions
// with no records, no error, and the high watermark and log start it was
// last told. A partition the fetch named (added or
// changed) is always answered, so a follower that dropped an answer (its
// partition moved on as it came) is told again once it asks again.
//
// The follower keeps one fetch in flight per session, and opens a new
// session after any failed call, so the two sides never disagree for long:
// a fetch whose epoch is not the one expected, or that names a session
// this leader does not have (it restarted, or evicted it), is refused with
// INVALID_FETCH_SESSION_EPOCH / FETCH_SESSION_ID_NOT_FOUND and nothing
// read, and the follower opens a new one.
//
// Eviction: a session unused for kIdleMs goes at the next open, and a
// replica holds at most kPerReplica sessions, its least recently used going
// first (a follower opening a new one after a failure leaves its old one
// behind). The cache holds at most max_sessions (Kafka's
// max.incremental.fetch.session.cache.slots); an open that finds it full
// gives up the opener's own least recently used session, and with none
// does not fail, nor evict another replica's: it is answered as a full
// fetch with session id 0.
//
// Thread-safety: thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "broker/purgatory/purgatory.h"
#include "broker/request/api.h"
#include "client/common/clock.h"

namespace strata::request {

class FetchSession;

// A fetch's use of a session, from Begin to Trim.
struct FetchSessionUse {
  std::shared_ptr<FetchSession> session;  // null: a sessionless fetch
  int32_t id = 0;                         // the session's id (its purgatory key)
  // The fetch's epoch in the session, and where in the session's partitions
  // the rewritten request starts (the order rotates, so that a response
  // budget does not always go to the same partitions).
  int32_t epoch = 0;
  size_t start = 0;
  // An idle fetch (above): read nothing at first, parked under the
  // session's key.
  bool idle = false;
  // The session's change count when the fetch's last read began (for an
  // idle fetch, when the read its idleness rests on began); `read` and
  // `read_ms`: this fetch read its partitions, and when.
  uint64_t seen = 0;
  int64_t read_ms = 0;
  bool read = false;
};

class FetchSessions {
 public:
  static constexpr int64_t kIdleMs = 120000;  // min.incremental.fetch.session.eviction.ms
  static constexpr size_t kPerReplica = 4;

  // `purgatory` null or `idle_refresh_ms` <= 0: no fetch is idle, every
  // one reads the whole session.
  FetchSessions(Clock* clock, size_t max_sessions, purgatory::Purgatory* purgatory = nullptr,
                int64_t idle_refresh_ms = 0);
  // Ends the sessions' subscriptions (the purgatory must outlive this).
  ~FetchSessions();

  // For a follower's fetch with request.session set: opens the session or
  // takes the incremental fetch into it, then sets request.topics to every
  // partition of the session (an idle one's only when woken: Expand). kNone on success
  // (use->session is null when an open found no room: the fetch goes on as a full, sessionless
  // one); else the error, with *message naming it, and the request untouched. use->idle is set for
  // an idle fetch.
  ErrorCode Begin(FetchRequest& request, FetchSessionUse* use, std::string* message);

  // Sets an idle fetch's request.topics, which Begin left empty, to every
  // partition of the session: it was woken, and is read after all.
  static void Expand(const FetchSessionUse& use, FetchRequest& request);
  // A read of the fetch's partitions begins now: notes the session's
  // change count for Trim.
  static void NoteRead(FetchSessionUse& use, int64_t now_ms);
  // Whether no change to the session's partitions was counted since
  // use.seen.
  static bool Unchanged(const FetchSessionUse& use);

  // Trims `response`, read for the request Begin rewrote, to what the
  // follower has not been told, notes what it is told now, and sets the
  // response's session id. Called once for each fetch Begin took into a
  // session, when it is answered.
  static void Trim(const FetchSessionUse& use, FetchResponse& response);

 private:
  // Drops idle sessions and makes room for one more of `replica_id`;
  // appends the dropped ones to *evicted.
  void EvictLocked(int32_t replica_id, int64_t now,
                   std::vector<std::shared_ptr<FetchSession>>* evicted)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Ends a dropped session's subscription (with neither lock held: a
  // subscription's try may be answering the session's parked fetch).
  void Unsubscribe(const std::shared_ptr<FetchSession>& session);

  Clock* const clock_;
  const size_t max_sessions_;
  purgatory::Purgatory* const purgatory_;
  const int64_t idle_refresh_ms_;
  absl::Mutex mu_;
  absl::flat_hash_map<int32_t, std::shared_ptr<FetchSession>> sessions_ ABSL_GUARDED_BY(mu_);
  int32_t next_id_ ABSL_GUARDED_BY(mu_);
};

}  // namespace strata::request
