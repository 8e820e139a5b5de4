// MetadataImage: the cluster's metadata — brokers, topics, partitions,
// configs, and (issue 16) ACLs, SCRAM credentials and client quotas — as of
// one offset of the metadata log. Immutable: applying a
// record batch yields a new image, and readers on any thread share images
// through std::shared_ptr<const MetadataImage> without locks.
//
// Applying is deterministic and uses nothing but the image and the records,
// so every node that applied the same log prefix holds the same image. A
// record that does not fit the image (an unknown topic id, a change to a
// partition that does not exist) is an error and leaves the image as it was:
// the controller never writes such records, so one means a bug or a corrupt
// log.
//
// Partition and replica states (Kafka's controller states) are derived, not
// stored:
//   partition: NEW      — has replicas but has never had a leader
//              ONLINE   — has a leader on an unfenced broker
//              OFFLINE  — had a leader, now has none (leader == -1) or its
//                         leader is fenced
//   replica:   NEW      — the partition is NEW
//              ONLINE   — its broker is registered and unfenced
//              OFFLINE  — its broker is fenced or unknown
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "broker/security/acl.h"
#include "broker/security/authorizer.h"
#include "broker/security/quota.h"
#include "client/security/scram.h"
#include "strata/internal/metadata.pb.h"

namespace strata::metadata {

// Kafka's controller states for a partition and for one of its replicas,
// derived from the image as the header comment describes; each transport
// maps them to its wire's enums (strata.v1.PartitionState, ReplicaState).
enum class PartitionState { kNonExistent, kNew, kOnline, kOffline };
enum class ReplicaState { kNonExistent, kNew, kOnline, kOffline };

struct Endpoint {
  std::string listener;  // PLAINTEXT, CONTROLLER, KAFKA
  std::string host;
  int32_t port = 0;
  // Kafka's security protocol of the listener; "" is PLAINTEXT.
  std::string security_protocol;

  friend bool operator==(const Endpoint&, const Endpoint&) = default;
};

struct BrokerRegistration {
  int32_t id = -1;
  std::string incarnation_id;
  int64_t epoch = -1;
  std::vector<Endpoint> endpoints;
  std::string rack;
  bool fenced = true;
  // Partition replicas it can hold; 0: no limit known.
  int64_t replica_capacity = 0;

  // The endpoint of a listener, or nullptr.
  const Endpoint* endpoint(std::string_view listener) const;
};

struct PartitionInfo {
  int32_t partition = 0;
  std::vector<int32_t> replicas;
  std::vector<int32_t> isr;
  int32_t leader = -1;
  int32_t leader_epoch = 0;
  int32_t partition_epoch = 0;
  // Whether it ever had a leader (NEW vs OFFLINE when leader == -1).
  bool had_leader = false;
  // A reassignment under way (KIP-455): `replicas` is the target followed by
  // `removing_replicas`; `adding_replicas` are in the target. Both empty
  // when none is.
  std::vector<int32_t> adding_replicas;
  std::vector<int32_t> removing_replicas;

  bool reassigning() const { return !adding_replicas.empty() || !removing_replicas.empty(); }
  // This partition after `change` (its topic and partition aside), with the
  // epochs it moves — the one rule the image applies and the controller
  // answers AlterPartition by; an error when the result is not a
  // consistent partition.
  absl::StatusOr<PartitionInfo> WithChange(const internal::PartitionChangeRecord& change) const;
  // The replicas the partition had before the reassignment under way
  // (replicas less adding, in order); `replicas` when none is.
  std::vector<int32_t> original_replicas() const;
  // Where the reassignment under way goes (replicas less removing).
  std::vector<int32_t> target_replicas() const;
};

struct TopicInfo {
  std::string name;
  std::string topic_id;
  std::map<int32_t, PartitionInfo> partitions;
  // Configs set on the topic (overrides only; defaults are not stored).
  std::map<std::string, std::string> configs;
};

// SCRAM credentials by user and mechanism.
using ScramCredentials =
    std::map<std::pair<std::string, security::ScramMechanism>, security::ScramCredential>;
// Configured client quotas: each entity once, with its keys
// (producer_byte_rate, ...); sorted by entity (users before their clients,
// <default> before names).
using ClientQuotas = std::vector<std::pair<security::QuotaEntity, std::map<std::string, double>>>;

class MetadataImage {
 public:
  // The image of an empty log.
  static std::shared_ptr<const MetadataImage> Empty(std::string cluster_id);

  // The image after `batch`, which is the metadata log entry at `offset`.
  absl::StatusOr<std::shared_ptr<const MetadataImage>> Apply(
      const internal::MetadataRecordBatch& batch, int64_t offset) const;

  // Every record needed to rebuild this image, and the way back.
  internal::MetadataSnapshot ToSnapshot() const;
  static absl::StatusOr<std::shared_ptr<const MetadataImage>> FromSnapshot(
      const internal::MetadataSnapshot& snapshot, int64_t offset);

  // The metadata log offset this image reflects (-1 for the empty image).
  int64_t offset() const { return offset_; }
  const std::string& cluster_id() const { return cluster_id_; }

  const std::map<int32_t, BrokerRegistration>& brokers() const { return brokers_; }
  const BrokerRegistration* broker(int32_t id) const;
  // Registered and unfenced.
  bool IsBrokerLive(int32_t id) const;
  std::vector<int32_t> LiveBrokerIds() const;

  // Dynamic broker configs by resource name: a broker id ("1") or "" for
  // the cluster-wide default.
  const std::map<std::string, std::map<std::string, std::string>>& broker_configs() const {
    return broker_configs_;
  }
  // A broker's dynamic config: its own, else the cluster-wide default.
  std::optional<std::string> BrokerConfig(int32_t broker_id, std::string_view name) const;

  // By name; sorted.
  const std::map<std::string, TopicInfo>& topics() const { return topics_; }
  const TopicInfo* FindTopic(std::string_view name) const;
  const TopicInfo* FindTopicById(std::string_view topic_id) const;
  const PartitionInfo* FindPartition(std::string_view topic, int32_t partition) const;

  // The first producer id no broker has been granted yet: every block the
  // controller allocated (ProducerIdsRecord, KIP-730) lies below it, so the
  // next block starts here. 0 before the first.
  int64_t next_producer_id() const { return next_producer_id_; }

  // Security (issue 16). Each is replaced as a whole when a record changes
  // it and shared between images otherwise, so copying an image on Apply
  // stays cheap and a reader may keep what it got for as long as it likes.
  //
  // The ACL bindings (AccessControlEntryRecord), indexed for the
  // authorizer; never null.
  const std::shared_ptr<const security::AclSnapshot>& acls() const { return acls_; }
  // A user's SCRAM credential for `mechanism` (SASL/SCRAM's lookup), or
  // nullopt when the user has none.
  std::optional<security::ScramCredential> ScramCredential(
      const std::string& user, security::ScramMechanism mechanism) const;
  // Every credential (DescribeUserScramCredentials); never null.
  const std::shared_ptr<const ScramCredentials>& scram_credentials() const { return scram_; }
  // The client quotas (ClientQuotaRecord), for the quota managers'
  // SetQuotas and DescribeClientQuotas; never null.
  const std::shared_ptr<const ClientQuotas>& client_quotas() const { return quotas_; }

  PartitionState StateOf(const PartitionInfo& p) const;
  ReplicaState StateOfReplica(const PartitionInfo& p, int32_t broker_id) const;

  MetadataImage(const MetadataImage&) = default;

 private:
  explicit MetadataImage(std::string cluster_id);
  // The security state a batch changes, copied on its first change and
  // published once at the batch's end (FinishSecurity), so a batch of many
  // ACLs builds one AclSnapshot.
  struct SecurityDraft;
  absl::Status ApplyRecord(const internal::MetadataRecord& record, int64_t offset,
                           SecurityDraft* draft);
  absl::Status ApplySecurityRecord(const internal::MetadataRecord& record, SecurityDraft* draft);
  void FinishSecurity(SecurityDraft* draft);

  std::string cluster_id_;
  int64_t offset_ = -1;
  std::map<int32_t, BrokerRegistration> brokers_;
  std::map<std::string, std::map<std::string, std::string>> broker_configs_;
  std::map<std::string, TopicInfo> topics_;
  std::map<std::string, std::string> topic_names_by_id_;
  int64_t next_producer_id_ = 0;
  std::shared_ptr<const security::AclSnapshot> acls_;
  std::shared_ptr<const ScramCredentials> scram_;
  std::shared_ptr<const ClientQuotas> quotas_;
};

}  // namespace strata::metadata
