// Controller: the decisions of the metadata quorum's leader, as a pure
// function of the current MetadataImage, the request and the time. Each
// call returns the records to append to the metadata log (empty when there
// is nothing to change) together with what to answer once they commit.
// Nothing here does I/O or touches Raft; the server proposes the records and
// answers when the proposal commits (or fails the request if it does not).
//
// Rules, after Kafka:
//  * Topic names: 1-249 characters of [a-zA-Z0-9._-], not "." or "..".
//    Partitions >= 1 (-1: num.partitions); replication factor >= 1 (-1:
//    default.replication.factor) and <= the number of unfenced brokers.
//    Configs are validated (known topic config names, valid values).
//  * Replica assignment: Kafka's rack-unaware algorithm (a start index and a
//    replica shift, both random unless fixed by options), so RF 3 over
//    brokers 1,2,3 with start index 2 and shift 0 gives 3,1,2 / 1,2,3 / 2,3,1.
//    New partitions of an existing topic continue the pattern.
//  * The first live replica of a new partition leads; the ISR is the live
//    replicas.
//  * Partitions can only be increased.
//  * Brokers register fenced with a new epoch and are unfenced by a
//    heartbeat once they have applied the metadata log up to the controller's
//    offset at registration. A broker with no heartbeat for
//    broker.session.timeout.ms is fenced, and each partition it led moves to
//    the next live replica (leader epoch bumped) — or goes offline.
//
// Not thread-safe: the server calls it from one thread (its controller
// loop). The heartbeat clock is volatile and starts fresh on each
// controller, which gives every broker a full session after a failover.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "broker/metadata/admin_types.h"
#include "broker/metadata/metadata_image.h"
#include "broker/metadata/security_admin.h"
#include "strata/internal/controller.pb.h"
#include "strata/internal/metadata.pb.h"

namespace strata::metadata {

struct ControllerOptions {
  int32_t default_num_partitions = 1;      // num.partitions
  int32_t default_replication_factor = 1;  // default.replication.factor
  int64_t broker_session_timeout_ms = 9000;
  // This node's id: its dynamic broker configs count for its decisions
  // (unclean.leader.election.enable), as in Kafka's KRaft controller.
  int32_t node_id = -1;
  // unclean.leader.election.enable from server.properties; the topic's
  // config and the dynamic ones override it.
  bool unclean_leader_election_enable = false;
  bool auto_leader_rebalance_enable = true;
  int64_t leader_imbalance_check_interval_ms = 300000;  // leader.imbalance.check.interval.seconds
  int32_t leader_imbalance_per_broker_percentage = 10;
  // Replica assignment randomness; a test fixes it.
  std::function<uint32_t()> random;
};

template <typename Response>
struct Decision {
  internal::MetadataRecordBatch records;  // to append; may be empty
  Response response;                      // to return once they commit
};

class Controller {
 public:
  explicit Controller(ControllerOptions options);

  // The admin calls (admin_types.h): one result per topic asked for, in
  // request order; a refused topic writes nothing, and neither does
  // validate_only.
  Decision<CreateTopicsResponse> CreateTopics(const MetadataImage& image,
                                              const CreateTopicsRequest& request);
  Decision<DeleteTopicsResponse> DeleteTopics(const MetadataImage& image,
                                              const DeleteTopicsRequest& request);
  Decision<CreatePartitionsResponse> CreatePartitions(const MetadataImage& image,
                                                      const CreatePartitionsRequest& request);

  // `epoch` is the new registration's broker epoch (the server passes the
  // metadata log offset the record will get, or any value larger than every
  // earlier epoch).
  Decision<internal::BrokerRegistrationResponse> RegisterBroker(
      const MetadataImage& image, const internal::BrokerRegistrationRequest& request, int64_t epoch,
      int64_t now_ms);
  Decision<internal::BrokerHeartbeatResponse> BrokerHeartbeat(
      const MetadataImage& image, const internal::BrokerHeartbeatRequest& request, int64_t now_ms);

  // A partition leader's request to change the ISR; refused unless it
  // comes from the current leader in the current leader and partition
  // epochs, and every new member is live.
  Decision<internal::AlterPartitionResponse> AlterPartition(
      const MetadataImage& image, const internal::AlterPartitionRequest& request);
  // The next block of producer ids for a broker (KIP-730): one
  // ProducerIdsRecord moving the image's counter up by kProducerIdBlockSize,
  // and the block [old counter, new counter - 1] as the answer. Refused
  // (STALE_BROKER_EPOCH) unless the broker is registered in that epoch, so a
  // broker's earlier incarnation gets nothing.
  static constexpr int32_t kProducerIdBlockSize = 1000;  // Kafka's PRODUCER_ID_BLOCK_SIZE
  Decision<internal::AllocateProducerIdsResponse> AllocateProducerIds(const MetadataImage& image,
                                                                      int32_t broker_id,
                                                                      int64_t broker_epoch);
  // Starts, replaces or cancels partition reassignments (KIP-455; see
  // controller_reassignment.cc for how one runs). One result per partition
  // asked for, in order; a refused partition writes nothing.
  Decision<AlterPartitionReassignmentsResponse> AlterPartitionReassignments(
      const MetadataImage& image, const AlterPartitionReassignmentsRequest& request);
  // Forgets a fenced broker that holds no replicas.
  Decision<UnregisterBrokerResponse> UnregisterBroker(const MetadataImage& image,
                                                      const UnregisterBrokerRequest& request);
  // Sets, deletes, appends to or subtracts from topic configs and dynamic
  // broker configs (controller_configs.cc); a resource with any invalid op,
  // or whose resulting set is invalid, changes nothing.
  Decision<IncrementalAlterConfigsResponse> IncrementalAlterConfigs(
      const MetadataImage& image, const IncrementalAlterConfigsRequest& request);

  // Kafka's security writes (controller_security.cc), as KRaft's
  // AclControlManager, ScramControlManager and ClientQuotaControlManager
  // decide them: CreateAcls (each binding checked by
  // security::ValidateAclBinding; one held already writes nothing),
  // DeleteAcls (each filter's matches removed and returned),
  // AlterUserScramCredentials (stored and server keys derived from the
  // salted password) and AlterClientQuotas. The answer is of the request's
  // case; one batch for the whole request.
  Decision<AlterSecurityResponse> AlterSecurity(const MetadataImage& image,
                                                const AlterSecurityRequest& request);

  // Preferred or unclean leader election for the partitions asked for (all
  // when none are named).
  Decision<ElectLeadersResponse> ElectLeaders(const MetadataImage& image,
                                              const ElectLeadersRequest& request);

  // What a new controller knows of a broker before its first heartbeat: the
  // last time its node was heard from (over Raft, for brokers that are also
  // quorum voters). Its session runs from then rather than from the
  // controller's start, so a broker that died with the old controller is
  // not given a whole new session.
  void NoteLastContact(int32_t broker_id, int64_t ms);

  // Fences brokers whose session expired, and elects new leaders for the
  // partitions they led. Also elects leaders for partitions without one
  // whose replicas came back, and — every leader.imbalance.check.interval
  // when auto.leader.rebalance.enable — moves leadership back to preferred
  // replicas. Called periodically.
  internal::MetadataRecordBatch Tick(const MetadataImage& image, int64_t now_ms);

  // Kafka's rack-unaware assignment of `partitions` partitions starting at
  // partition `first_partition` over `brokers` (sorted ids); the CLI's
  // --generate shares it (client/common/replica_assignment.h).
  static std::vector<std::vector<int32_t>> AssignReplicas(
      const std::vector<int32_t>& brokers, int32_t partitions, int32_t replication_factor,
      int32_t first_partition, int32_t start_index, int32_t replica_shift);

  // A manual replica list (CreateTopics' assignment, a reassignment's
  // target): non-empty, distinct, registered brokers; `what` names it in
  // the error.
  static absl::Status ValidateReplicaList(const MetadataImage& image,
                                          const std::vector<int32_t>& replicas,
                                          std::string_view what);

  // Kafka's topic name rules; the error names what is wrong.
  static absl::Status ValidateTopicName(std::string_view name);
  // Topics the cluster keeps for itself (__consumer_offsets,
  // __transaction_state) and the metadata log's name, __cluster_metadata:
  // users may not create them.
  static bool IsInternalTopic(std::string_view name);

 private:
  uint32_t NextRandom();
  bool UncleanAllowed(const MetadataImage& image, const TopicInfo& topic) const;
  // Brings every partition in line with broker liveness `live` (the image's,
  // with the changes of the records before these in the same batch): a
  // partition whose leader is not live moves to its first live ISR member
  // in replica order — or, with unclean.leader.election.enable, to its first
  // live replica — or to no leader; fenced brokers leave the ISR.
  void AppendElections(const MetadataImage& image, const std::function<bool(int32_t)>& live,
                       internal::MetadataRecordBatch* batch) const;
  void AppendPreferredElections(const MetadataImage& image,
                                internal::MetadataRecordBatch* batch) const;
  // Takes `broker` out of the ISRs of the replicas it reported offline
  // (moving their leadership to another live ISR member), where some other
  // live member remains.
  void AppendOfflineReplicaChanges(
      const MetadataImage& image, int32_t broker,
      const google::protobuf::RepeatedPtrField<internal::OfflineReplica>& offline,
      internal::MetadataRecordBatch* batch) const;

  // How many partition replicas each broker holds.
  static std::map<int32_t, int64_t> ReplicaCounts(const MetadataImage& image);
  // Whether `assignment` fits every broker's replica capacity on top of
  // `counts` (which it then adds to); if not, why.
  static absl::Status AddWithinCapacity(const MetadataImage& image,
                                        const std::vector<std::vector<int32_t>>& assignment,
                                        std::map<int32_t, int64_t>* counts);
  // Finishes every reassignment whose ISR holds its whole target.
  void AppendCompletedReassignments(const MetadataImage& image,
                                    internal::MetadataRecordBatch* batch) const;
  // A NewTopic's manual assignment, checked as Kafka checks it:
  // FailedPrecondition when num_partitions or replication_factor is given
  // too, InvalidArgument for a bad assignment.
  static absl::StatusOr<std::vector<std::vector<int32_t>>> ManualAssignment(
      const MetadataImage& image, const NewTopic& topic);
  // When `isr` (a new ISR for `p`) holds its reassignment's whole target:
  // writes the completing change (replicas, ISR, perhaps a new leader)
  // instead of a plain ISR change and returns true.
  bool CompleteReassignmentWithIsr(const MetadataImage& image, const TopicInfo& t,
                                   const PartitionInfo& p, const std::vector<int32_t>& isr,
                                   internal::MetadataRecordBatch* batch) const;

  ControllerOptions options_;
  // Used when options_.random is null.
  std::mt19937 rng_;
  // Last heartbeat per broker id (volatile).
  std::map<int32_t, int64_t> last_heartbeat_ms_;
  // Metadata offset a broker must reach to be unfenced, per broker id.
  std::map<int32_t, int64_t> unfence_at_offset_;
  // When this controller first saw each registered broker in Tick: the start
  // of the session of a broker it has not heard from yet (after a failover).
  // Kept apart from last_heartbeat_ms_, which only real contact sets, so a
  // restarted broker is not mistaken for a live duplicate registration.
  std::map<int32_t, int64_t> first_seen_ms_;
  // The last auto.leader.rebalance check; a new controller waits a full
  // interval first, as Kafka's does.
  int64_t last_rebalance_check_ms_ = -1;
};

// A new random topic id: 16 bytes, base64url without padding (22 chars), as
// Kafka prints topic ids.
std::string NewTopicId(const std::function<uint32_t()>& random);

}  // namespace strata::metadata
