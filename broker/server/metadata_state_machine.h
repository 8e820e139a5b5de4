// MetadataStateMachine: applies the metadata log to a MetadataImage. It is
// the Raft node's state machine; everything else reads the image it
// publishes.
//
// Apply runs on the Raft node's thread. A batch the image refuses is logged
// and skipped — every node skips it alike, so images stay identical — rather
// than crashing every node of the cluster on one bad record; the image's
// offset still moves past it.
//
// Thread-safe: current() and WaitForOffset() may be called from any thread;
// subscribers are called on the Raft thread after each change and must be
// quick (hand work to another thread).
#pragma once

#include <functional>
#include <memory>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "broker/metadata/metadata_image.h"
#include "raft/node/raft_node.h"

namespace strata::server {

class MetadataStateMachine final : public raft::StateMachine {
 public:
  using Listener = std::function<void(const std::shared_ptr<const metadata::MetadataImage>&)>;

  explicit MetadataStateMachine(std::string cluster_id);

  void Apply(const raft::Entry& entry) override;
  std::string TakeSnapshot() override;
  absl::Status Restore(const std::string& data) override;

  std::shared_ptr<const metadata::MetadataImage> current() const;
  // Waits until the image reflects metadata log offset `offset`; false on
  // timeout.
  bool WaitForOffset(int64_t offset, absl::Duration timeout) const;
  // Waits until `done` holds for the current image; false on timeout.
  bool WaitFor(const std::function<bool(const metadata::MetadataImage&)>& done,
               absl::Duration timeout) const;
  // Called with each new image; add listeners before the Raft node starts.
  void Subscribe(Listener listener);

 private:
  void Publish(std::shared_ptr<const metadata::MetadataImage> image);

  mutable absl::Mutex mu_;
  std::shared_ptr<const metadata::MetadataImage> image_ ABSL_GUARDED_BY(mu_);
  std::vector<Listener> listeners_;
};

}  // namespace strata::server
