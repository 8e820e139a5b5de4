// TxnMarkerSender: the transaction coordinator's `send_markers` (the
// sending half of Kafka's TransactionMarkerChannelManager). A transaction's
// partitions are grouped by the leader the metadata image names; markers
// for partitions this broker leads are written through the local request
// layer, the others with one WriteTxnMarkers call (strata.internal.TxnMarker,
// on the CONTROLLER listener) per leader. Every partition gets an answer:
//  - the leader's;
//  - UNKNOWN_TOPIC_OR_PARTITION when the image does not know it;
//  - LEADER_NOT_AVAILABLE when it has no leader;
//  - NETWORK_EXCEPTION when the call failed or timed out;
// all of which the coordinator retries after its backoff (and drops
// partitions whose topic is gone).
//
// Thread-safe. `done` runs once, on the thread of the last answer (a gRPC
// callback thread, a purgatory thread, or the caller's).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <set>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "broker/metadata/metadata_image.h"
#include "broker/request/handlers.h"
#include "broker/txn/transaction_coordinator.h"

namespace grpc {
class Channel;
}

namespace strata::server {

struct TxnMarkerSenderOptions {
  int32_t broker_id = -1;
  std::function<std::shared_ptr<const metadata::MetadataImage>()> image;
  // A channel to a broker's CONTROLLER listener (null: unknown).
  std::function<std::shared_ptr<grpc::Channel>(int32_t broker_id)> channel;
  // Writes the markers of partitions this broker leads.
  request::RequestHandlers* local = nullptr;
  // How long a leader may take to have its in-sync replicas acknowledge a
  // marker (Kafka's request.timeout.ms); the call's deadline is a little
  // longer.
  int32_t request_timeout_ms = 30000;
};

class TxnMarkerSender {
 public:
  explicit TxnMarkerSender(TxnMarkerSenderOptions options);
  // Calls Stop().
  ~TxnMarkerSender();

  TxnMarkerSender(const TxnMarkerSender&) = delete;
  TxnMarkerSender& operator=(const TxnMarkerSender&) = delete;

  void Send(txn::MarkerRequest request, std::function<void(txn::MarkerResults)> done);
  // Cancels the calls in flight and waits until their callbacks ran; later
  // Sends answer NETWORK_EXCEPTION at once.
  void Stop();

 private:
  struct Round;
  struct Call;
  void SendRemote(std::shared_ptr<Round> round, int32_t leader,
                  std::vector<txn::TxnTopicPartition> partitions);

  const TxnMarkerSenderOptions options_;
  absl::Mutex mu_;
  bool stopped_ ABSL_GUARDED_BY(mu_) = false;
  std::set<std::shared_ptr<Call>> in_flight_ ABSL_GUARDED_BY(mu_);
};

}  // namespace strata::server
