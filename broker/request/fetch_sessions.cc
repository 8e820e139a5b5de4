#include "broker/request/fetch_sessions.h"

#include <algorithm>
#include <atomic>
#include <limits>
#include <random>
#include <utility>
#include <vector>

#include "absl/cleanup/cleanup.h"
#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"

namespace strata::request {

namespace {

// What the follower was told of a partition, before it was told anything.
constexpr int64_t kUntold = std::numeric_limits<int64_t>::min();

// The epoch after `epoch` (1 after the open's 0; wraps to 1).
int32_t NextEpoch(int32_t epoch) {
  return epoch == std::numeric_limits<int32_t>::max() ? 1 : epoch + 1;
}

}  // namespace

class FetchSession {
 public:
  struct Entry {
    int32_t topic = 0;  // into topics
    FetchPartition part;
    // The offsets the follower was last told (kUntold: none, or an error).
    int64_t high_watermark = kUntold;
    int64_t log_start_offset = kUntold;
    // Named by the fetch in progress: answered whatever it reads.
    bool answer = true;
  };

  FetchSession(int32_t id, int32_t replica_id, int64_t now_ms)
      : id(id), replica_id(replica_id), last_used_ms(now_ms) {}

  const int32_t id;
  const int32_t replica_id;
  std::atomic<int64_t> last_used_ms;
  // Changes to the session's partitions, counted by its subscription.
  std::atomic<uint64_t> changes{0};
  // Idle fetches begun and not answered: the subscription wakes the
  // session's key only while there are some (a busy session's changes,
  // several per batch, cost it no purgatory lock).
  std::atomic<int> idle_waiting{0};

  absl::Mutex mu;
  int32_t next_epoch ABSL_GUARDED_BY(mu) = 1;
  // Topic names, by index (never shrinks: a session follows few topics).
  std::vector<std::string> topics ABSL_GUARDED_BY(mu);
  absl::flat_hash_map<std::string, int32_t> topic_ids ABSL_GUARDED_BY(mu);
  std::vector<Entry> entries ABSL_GUARDED_BY(mu);
  // (topic index, partition) -> entries index.
  absl::flat_hash_map<std::pair<int32_t, int32_t>, size_t> index ABSL_GUARDED_BY(mu);
  // The standing watcher listed under every partition of the session
  // (null: none yet, or no purgatory); replaced when the set changes.
  std::shared_ptr<purgatory::DelayedOperation> subscription ABSL_GUARDED_BY(mu);
  // Partitions came or went since the subscription was made (a new
  // session has none yet).
  bool set_changed ABSL_GUARDED_BY(mu) = true;
  // Evicted: its subscription was ended, and none is made again (a fetch
  // that found it before the eviction may still come to Begin).
  bool ended ABSL_GUARDED_BY(mu) = false;
  // What the last read found: `quiet` when every partition had no error,
  // no records and the follower at its log end; the change count when that
  // read began, and its time.
  bool quiet ABSL_GUARDED_BY(mu) = false;
  uint64_t quiet_seen ABSL_GUARDED_BY(mu) = 0;
  int64_t read_ms ABSL_GUARDED_BY(mu) = 0;

  void Upsert(const std::string& topic, const FetchPartition& part)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
    auto [t, added] = topic_ids.try_emplace(topic, static_cast<int32_t>(topics.size()));
    if (added) topics.push_back(topic);
    auto [it, fresh] = index.try_emplace({t->second, part.partition}, entries.size());
    if (fresh) {
      entries.emplace_back().topic = t->second;
      set_changed = true;
    }
    Entry& e = entries[it->second];
    e.part = part;
    e.answer = true;
  }

  void Forget(const std::string& topic, int32_t partition) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
    auto t = topic_ids.find(topic);
    if (t == topic_ids.end()) return;
    auto it = index.find(std::make_pair(t->second, partition));
    if (it == index.end()) return;
    const size_t at = it->second;
    index.erase(it);
    set_changed = true;
    if (at != entries.size() - 1) {
      entries[at] = std::move(entries.back());
      index[{entries[at].topic, entries[at].part.partition}] = at;
    }
    entries.pop_back();
  }

  // Subscribes to the changes of every partition of the session, if its
  // set changed since (or it never did); returns the subscription it
  // replaces, for the caller to end with mu released.
  std::shared_ptr<purgatory::DelayedOperation> Subscribe(purgatory::Purgatory* purgatory,
                                                         const std::shared_ptr<FetchSession>& self)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
    if (!set_changed || ended) return nullptr;
    std::vector<purgatory::WatchKey> keys;
    keys.reserve(entries.size());
    for (const Entry& e : entries) {
      keys.push_back(purgatory::WatchKey::Partition(topics[e.topic], e.part.partition));
    }
    std::weak_ptr<FetchSession> weak = self;
    const int32_t session_id = id;
    auto watcher = std::make_shared<purgatory::DelayedOperation>(
        0, [weak, purgatory, session_id](bool expired) {
          std::shared_ptr<FetchSession> session = weak.lock();
          if (expired || session == nullptr) return true;  // ended, or the session is gone
          session->changes.fetch_add(1);
          // (An idle fetch counted only after this load makes a try after
          // its listing, which sees this change.)
          if (session->idle_waiting.load() > 0) {
            purgatory->CheckAndComplete(purgatory::WatchKey::FetchSession(session_id));
          }
          return false;
        });
    std::shared_ptr<purgatory::DelayedOperation> old = std::exchange(subscription, watcher);
    set_changed = false;
    // The new set's partitions are read after this (the fetch that changed
    // the set named or forgot some, so it is not idle): no change is missed.
    purgatory->Watch(watcher, keys);
    return old;
  }

  // Every partition, from entries[start] on round to it, grouped into runs
  // of one topic.
  std::vector<FetchTopic> Topics(size_t start) const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
    std::vector<FetchTopic> out;
    const size_t n = entries.size();
    for (size_t i = 0; i < n; ++i) {
      const Entry& e = entries[(start + i) % n];
      if (out.empty() || out.back().topic != topics[e.topic]) {
        out.emplace_back().topic = topics[e.topic];
      }
      out.back().partitions.push_back(e.part);
    }
    return out;
  }
};

FetchSessions::FetchSessions(Clock* clock, size_t max_sessions, purgatory::Purgatory* purgatory,
                             int64_t idle_refresh_ms)
    : clock_(clock),
      max_sessions_(max_sessions),
      purgatory_(idle_refresh_ms > 0 ? purgatory : nullptr),
      idle_refresh_ms_(idle_refresh_ms) {
  // A random first id: a leader that restarted does not hand out again the
  // ids its followers still hold.
  next_id_ = static_cast<int32_t>(std::random_device{}() & 0x3fffffff) + 1;
}

FetchSessions::~FetchSessions() {
  if (purgatory_ == nullptr) return;
  std::vector<std::shared_ptr<FetchSession>> sessions;
  {
    absl::MutexLock l(&mu_);
    for (const auto& [id, session] : sessions_) sessions.push_back(session);
  }
  for (const std::shared_ptr<FetchSession>& s : sessions) Unsubscribe(s);
}

void FetchSessions::EvictLocked(int32_t replica_id, int64_t now,
                                std::vector<std::shared_ptr<FetchSession>>* evicted) {
  absl::erase_if(sessions_, [now, evicted](const auto& s) {
    if (now - s.second->last_used_ms < kIdleMs) return false;
    evicted->push_back(s.second);
    return true;
  });
  auto evict_oldest = [this, evicted](int32_t replica) {
    auto oldest = sessions_.end();
    for (auto it = sessions_.begin(); it != sessions_.end(); ++it) {
      if (it->second->replica_id != replica) continue;
      if (oldest == sessions_.end() || it->second->last_used_ms < oldest->second->last_used_ms) {
        oldest = it;
      }
    }
    if (oldest != sessions_.end()) {
      evicted->push_back(oldest->second);
      sessions_.erase(oldest);
    }
  };
  while (std::count_if(sessions_.begin(), sessions_.end(), [replica_id](const auto& s) {
           return s.second->replica_id == replica_id;
         }) >= static_cast<ptrdiff_t>(kPerReplica)) {
    evict_oldest(replica_id);
  }
  // A full cache gives up the opener's own least recently used session (a
  // follower that opens again has given up on it), never another's.
  if (sessions_.size() >= max_sessions_) evict_oldest(replica_id);
}

void FetchSessions::Unsubscribe(const std::shared_ptr<FetchSession>& session) {
  std::shared_ptr<purgatory::DelayedOperation> subscription;
  {
    absl::MutexLock l(&session->mu);
    subscription = std::move(session->subscription);
    session->subscription = nullptr;
    session->ended = true;
  }
  if (subscription != nullptr) purgatory_->Complete(subscription);
}

ErrorCode FetchSessions::Begin(FetchRequest& request, FetchSessionUse* use, std::string* message) {
  *use = FetchSessionUse{};
  const FetchSessionRequest& asked = request.session;
  const int64_t now = clock_->NowMs();
  std::shared_ptr<FetchSession> session;
  std::vector<std::shared_ptr<FetchSession>> evicted;
  absl::Cleanup unsubscribe = [this, &evicted] {
    for (const std::shared_ptr<FetchSession>& s : evicted) Unsubscribe(s);
  };
  {
    absl::MutexLock l(&mu_);
    if (asked.open) {
      if (max_sessions_ == 0) return ErrorCode::kNone;  // a full, sessionless fetch
      EvictLocked(request.replica_id, now, &evicted);
      // Full of sessions in use: this fetch goes on full and sessionless
      // (evicting a live one would only send its follower to open another).
      if (sessions_.size() >= max_sessions_) return ErrorCode::kNone;
      int32_t id = 0;
      do {
        id = next_id_;
        next_id_ = next_id_ == std::numeric_limits<int32_t>::max() ? 1 : next_id_ + 1;
      } while (sessions_.contains(id));
      session = std::make_shared<FetchSession>(id, request.replica_id, now);
      sessions_[id] = session;
    } else {
      auto it = sessions_.find(asked.id);
      if (it == sessions_.end() || it->second->replica_id != request.replica_id) {
        *message = absl::StrCat("Fetch session ", asked.id, " of replica ", request.replica_id,
                                " is not on this leader (it restarted, or the session was "
                                "evicted): open a new one");
        return ErrorCode::kFetchSessionIdNotFound;
      }
      session = it->second;
    }
  }
  std::shared_ptr<purgatory::DelayedOperation> replaced;
  absl::Cleanup end_replaced = [this, &replaced] {
    if (replaced != nullptr) purgatory_->Complete(replaced);
  };
  FetchSession& s = *session;
  absl::MutexLock l(&s.mu);
  if (!asked.open && asked.epoch != s.next_epoch) {
    *message = absl::StrCat("Fetch session ", asked.id, " expects epoch ", s.next_epoch, ", not ",
                            asked.epoch, ": open a new one");
    return ErrorCode::kInvalidFetchSessionEpoch;
  }
  bool named = !asked.forgotten.empty();
  for (const ForgottenPartition& f : asked.forgotten) s.Forget(f.topic, f.partition);
  for (const FetchTopic& t : request.topics) {
    for (const FetchPartition& p : t.partitions) {
      s.Upsert(t.topic, p);
      named = true;
    }
  }
  if (purgatory_ != nullptr) replaced = s.Subscribe(purgatory_, session);
  const int32_t epoch = asked.open ? 0 : asked.epoch;
  s.next_epoch = NextEpoch(epoch);
  s.last_used_ms = now;
  use->session = session;
  use->id = s.id;
  use->epoch = epoch;
  use->start = s.entries.empty() ? 0 : static_cast<uint32_t>(epoch) % s.entries.size();
  // Idle: the follower is where the last read found it, at the log end of
  // every partition with nothing to tell, and nothing changed since that
  // read, which is recent enough to stand for this fetch until it ends.
  // (A fetch that does not wait is read: it has no time to be woken.)
  use->idle = !named && !asked.open && request.max_wait_ms > 0 && s.subscription != nullptr &&
              !s.subscription->completed() && s.quiet && s.changes.load() == s.quiet_seen &&
              now - s.read_ms + request.max_wait_ms < idle_refresh_ms_;
  if (use->idle) {
    use->seen = s.quiet_seen;
    s.idle_waiting.fetch_add(1);  // until Trim
    return ErrorCode::kNone;      // its partitions are listed only if it is woken (Expand)
  }
  request.topics = s.Topics(use->start);
  return ErrorCode::kNone;
}

void FetchSessions::Expand(const FetchSessionUse& use, FetchRequest& request) {
  if (use.session == nullptr || !request.topics.empty()) return;
  absl::MutexLock l(&use.session->mu);
  request.topics = use.session->Topics(use.start);
}

void FetchSessions::NoteRead(FetchSessionUse& use, int64_t now_ms) {
  if (use.session == nullptr) return;
  use.seen = use.session->changes.load();
  use.read_ms = now_ms;
  use.read = true;
}

bool FetchSessions::Unchanged(const FetchSessionUse& use) {
  return use.session != nullptr && use.session->changes.load() == use.seen;
}

void FetchSessions::Trim(const FetchSessionUse& use, FetchResponse& response) {
  if (use.session == nullptr) return;
  FetchSession& s = *use.session;
  response.session_id = s.id;
  if (use.idle) s.idle_waiting.fetch_sub(1);
  absl::MutexLock l(&s.mu);
  // A later fetch of the session began (this one's follower gave up on
  // it): the answer goes to no one who keeps the session.
  if (s.next_epoch != NextEpoch(use.epoch)) return;
  const size_t n = s.entries.size();
  // Whether this answer's read found the follower at the log end of every
  // partition, with nothing to tell (the next fetch may then be idle).
  bool quiet = use.read;
  size_t i = 0;  // the partition's place in the request Begin wrote
  for (FetchTopicResult& t : response.topics) {
    size_t kept = 0;
    for (size_t j = 0; j < t.partitions.size(); ++j, ++i) {
      FetchPartitionResult& p = t.partitions[j];
      FetchSession::Entry* e = n == 0 ? nullptr : &s.entries[(use.start + i) % n];
      bool keep = true;
      if (e != nullptr && e->part.partition == p.partition && s.topics[e->topic] == t.topic) {
        keep = e->answer || p.error != ErrorCode::kNone || !p.records.empty() ||
               p.high_watermark != e->high_watermark || p.log_start_offset != e->log_start_offset ||
               // Records there but none sent (a quota held them back, or the
               // budget ran out): the follower learns it from the log end.
               p.log_end_offset > e->part.fetch_offset;
        quiet = quiet && p.error == ErrorCode::kNone && p.records.empty() &&
                p.log_end_offset <= e->part.fetch_offset;
        e->answer = false;
        const bool told = p.error == ErrorCode::kNone;
        e->high_watermark = told ? p.high_watermark : kUntold;
        e->log_start_offset = told ? p.log_start_offset : kUntold;
      } else {
        quiet = false;
      }
      if (!keep) continue;
      if (kept != j) t.partitions[kept] = std::move(p);
      ++kept;
    }
    t.partitions.erase(t.partitions.begin() + static_cast<ptrdiff_t>(kept), t.partitions.end());
  }
  std::erase_if(response.topics, [](const FetchTopicResult& t) { return t.partitions.empty(); });
  if (use.read) {
    s.quiet = quiet && i == n;  // and the answer covered the whole session
    s.quiet_seen = use.seen;
    s.read_ms = use.read_ms;
  }
}

}  // namespace strata::request
