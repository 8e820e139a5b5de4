// Purgatory: requests that cannot be answered yet — a fetch waiting for
// data, an acks=all produce waiting for the high watermark — parked without
// a thread each. After every change the replica manager reports (appends,
// high watermark moves, role changes) each parked operation gets another
// try; at its deadline, or at Shutdown, it must finish.
//
// Thread-safe.
#pragma once

#include <grpcpp/support/server_callback.h>

#include <functional>
#include <list>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "broker/replication/replica_manager.h"

namespace strata::server {

class Purgatory {
 public:
  // `try_complete(expired)` answers the request and returns true when it
  // can; with expired = true it must answer.
  using TryComplete = std::function<bool(bool expired)>;

  explicit Purgatory(replication::ReplicaManager* replicas);
  ~Purgatory();

  // Parks an operation until `deadline`. False when shutting down (the
  // caller answers it at once).
  bool Park(absl::Time deadline, TryComplete try_complete);
  // A long-polling fetch after its first read of `bytes`: answered at once
  // when that reached `min_bytes`, a partition erred, or `max_wait_ms` is 0;
  // otherwise parked until `has_data()` (or the wait ends), then `reread()`
  // and answered.
  void CompleteFetch(grpc::ServerUnaryReactor* reactor, size_t bytes, bool any_error,
                     int32_t min_bytes, int32_t max_wait_ms, std::function<bool()> has_data,
                     std::function<void()> reread);

  // Finishes every parked operation as expired and stops the thread.
  void Shutdown();

 private:
  struct Parked {
    absl::Time deadline;
    TryComplete try_complete;
  };
  void Loop();

  replication::ReplicaManager* const replicas_;
  absl::Mutex mu_;
  std::list<Parked> parked_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;
};

}  // namespace strata::server
