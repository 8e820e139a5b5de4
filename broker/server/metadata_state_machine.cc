#include "broker/server/metadata_state_machine.h"

#include "glog/logging.h"

namespace strata::server {

MetadataStateMachine::MetadataStateMachine(std::string cluster_id)
    : image_(metadata::MetadataImage::Empty(std::move(cluster_id))) {}

void MetadataStateMachine::Apply(const raft::Entry& entry) {
  const int64_t offset = static_cast<int64_t>(entry.index.value());
  std::shared_ptr<const metadata::MetadataImage> base = current();
  internal::MetadataRecordBatch batch;
  absl::StatusOr<std::shared_ptr<const metadata::MetadataImage>> next =
      batch.ParseFromString(entry.data) ? base->Apply(batch, offset)
                                        : absl::DataLossError("the entry does not parse");
  if (!next.ok()) {
    // Skipped alike on every node; the image still moves to this offset so
    // that nobody waits for an entry that will never show.
    LOG(ERROR) << "Metadata log entry " << entry.index << " refused; skipped: " << next.status();
    next = base->Apply(internal::MetadataRecordBatch(), offset);
    if (!next.ok()) return;
  }
  Publish(std::move(*next));
}

std::string MetadataStateMachine::TakeSnapshot() {
  std::shared_ptr<const metadata::MetadataImage> image = current();
  internal::MetadataSnapshot snapshot = image->ToSnapshot();
  snapshot.set_offset(image->offset());
  return snapshot.SerializeAsString();
}

absl::Status MetadataStateMachine::Restore(const std::string& data) {
  internal::MetadataSnapshot snapshot;
  if (!snapshot.ParseFromString(data))
    return absl::DataLossError("metadata snapshot does not parse");
  absl::StatusOr<std::shared_ptr<const metadata::MetadataImage>> image =
      metadata::MetadataImage::FromSnapshot(snapshot, snapshot.offset());
  if (!image.ok()) return image.status();
  Publish(std::move(*image));
  return absl::OkStatus();
}

std::shared_ptr<const metadata::MetadataImage> MetadataStateMachine::current() const {
  absl::MutexLock l(&mu_);
  return image_;
}

bool MetadataStateMachine::WaitForOffset(int64_t offset, absl::Duration timeout) const {
  absl::MutexLock l(&mu_);
  auto reached = [this, offset]()
                     ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return image_->offset() >= offset; };
  return mu_.AwaitWithTimeout(absl::Condition(&reached), timeout);
}

bool MetadataStateMachine::WaitFor(const std::function<bool(const metadata::MetadataImage&)>& done,
                                   absl::Duration timeout) const {
  absl::MutexLock l(&mu_);
  auto holds = [this, &done]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return done(*image_); };
  return mu_.AwaitWithTimeout(absl::Condition(&holds), timeout);
}

void MetadataStateMachine::Subscribe(Listener listener) {
  listeners_.push_back(std::move(listener));
}

void MetadataStateMachine::Publish(std::shared_ptr<const metadata::MetadataImage> image) {
  {
    absl::MutexLock l(&mu_);
    image_ = image;
  }
  for (const Listener& listener : listeners_) listener(image);
}

}  // namespace strata::server
