#include "broker/metadata/metadata_image.h"

#include <algorithm>
#include <set>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "broker/metadata/partition_change.h"
#include "broker/metadata/security_admin.h"
#include "glog/logging.h"

namespace strata::metadata {
namespace {

// "PartitionChangeRecord", from the oneof field's message type, so error
// messages name records the way the proto (and KRaft) does.
std::string RecordTypeName(const internal::MetadataRecord& record) {
  if (record.record_case() == internal::MetadataRecord::RECORD_NOT_SET) return "empty record";
  const google::protobuf::FieldDescriptor* field =
      internal::MetadataRecord::descriptor()->FindFieldByNumber(record.record_case());
  return field != nullptr ? field->message_type()->name() : "unknown record";
}

// Replicas, ISR and leader must describe one consistent partition: distinct
// replicas, an ISR drawn from them, and a leader that is in the ISR (KRaft's
// invariant: only an in-sync replica may lead).
absl::Status CheckPartitionShape(const std::vector<int32_t>& replicas,
                                 const std::vector<int32_t>& isr, int32_t leader) {
  if (replicas.empty()) return absl::InvalidArgumentError("the replica list is empty");
  std::set<int32_t> seen;
  for (int32_t r : replicas) {
    if (r < 0) return absl::InvalidArgumentError(absl::StrCat("replica id ", r, " is negative"));
    if (!seen.insert(r).second) {
      return absl::InvalidArgumentError(
          absl::StrCat("replicas ", Ids(replicas), " repeat broker ", r));
    }
  }
  std::set<int32_t> isr_seen;
  for (int32_t r : isr) {
    if (!seen.contains(r)) {
      return absl::InvalidArgumentError(absl::StrCat("ISR ", Ids(isr), " holds broker ", r,
                                                     ", which is not a replica ", Ids(replicas)));
    }
    if (!isr_seen.insert(r).second) {
      return absl::InvalidArgumentError(absl::StrCat("ISR ", Ids(isr), " repeats broker ", r));
    }
  }
  if (leader < -1)
    return absl::InvalidArgumentError(absl::StrCat("leader ", leader, " is not a broker id or -1"));
  if (leader >= 0 && !isr_seen.contains(leader)) {
    return absl::InvalidArgumentError(
        absl::StrCat("leader ", leader, " is not in the ISR ", Ids(isr)));
  }
  return absl::OkStatus();
}

// A reassignment's lists: adding and removing are distinct replicas, disjoint.
absl::Status CheckReassignmentShape(const std::vector<int32_t>& replicas,
                                    const std::vector<int32_t>& adding,
                                    const std::vector<int32_t>& removing) {
  std::set<int32_t> seen;
  for (const auto* list : {&adding, &removing}) {
    for (int32_t r : *list) {
      if (!Contains(replicas, r)) {
        return absl::InvalidArgumentError(
            absl::StrCat("reassigning broker ", r, " is not a replica ", Ids(replicas)));
      }
      if (!seen.insert(r).second) {
        return absl::InvalidArgumentError(absl::StrCat("adding ", Ids(adding), " and removing ",
                                                       Ids(removing), " repeat broker ", r));
      }
    }
  }
  if (!removing.empty() && removing.size() >= replicas.size()) {
    return absl::InvalidArgumentError(
        absl::StrCat("removing ", Ids(removing), " leaves no target of ", Ids(replicas)));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<PartitionInfo> PartitionInfo::WithChange(
    const internal::PartitionChangeRecord& r) const {
  PartitionInfo p = *this;
  // Replicas removed (a reassignment completing or cancelled) fence the
  // leader epoch as Kafka does, so the removed replicas' fetches stop.
  bool replicas_removed = false;
  if (r.set_replicas()) {
    std::vector<int32_t> replicas(r.replicas().begin(), r.replicas().end());
    for (int32_t old : p.replicas) replicas_removed |= !Contains(replicas, old);
    p.replicas = std::move(replicas);
    p.adding_replicas.assign(r.adding_replicas().begin(), r.adding_replicas().end());
    p.removing_replicas.assign(r.removing_replicas().begin(), r.removing_replicas().end());
  }
  if (r.set_isr()) p.isr.assign(r.isr().begin(), r.isr().end());
  const bool leader_changed = r.has_leader() && r.leader() != p.leader;
  if (r.has_leader()) p.leader = r.leader();
  absl::Status s = CheckPartitionShape(p.replicas, p.isr, p.leader);
  if (s.ok()) s = CheckReassignmentShape(p.replicas, p.adding_replicas, p.removing_replicas);
  if (!s.ok()) return s;
  // Kafka's epochs: followers and clients fence on the leader epoch, so it
  // moves with every new leader; the partition epoch moves with every
  // change so that a stale AlterPartition is told apart.
  if (leader_changed || (replicas_removed && p.leader >= 0)) ++p.leader_epoch;
  ++p.partition_epoch;
  if (p.leader >= 0) p.had_leader = true;
  return p;
}

std::vector<int32_t> PartitionInfo::original_replicas() const {
  return Minus(replicas, adding_replicas);
}

std::vector<int32_t> PartitionInfo::target_replicas() const {
  return Minus(replicas, removing_replicas);
}

const Endpoint* BrokerRegistration::endpoint(std::string_view listener) const {
  for (const Endpoint& e : endpoints) {
    if (e.listener == listener) return &e;
  }
  return nullptr;
}

struct MetadataImage::SecurityDraft {
  // Copies of the image's, made on a batch's first change to each.
  std::optional<std::set<security::AclBinding>> acls;
  std::optional<ScramCredentials> scram;
  std::optional<ClientQuotas> quotas;
};

MetadataImage::MetadataImage(std::string cluster_id)
    : cluster_id_(std::move(cluster_id)),
      acls_(std::make_shared<const security::AclSnapshot>(std::vector<security::AclBinding>{})),
      scram_(std::make_shared<const ScramCredentials>()),
      quotas_(std::make_shared<const ClientQuotas>()) {}

std::shared_ptr<const MetadataImage> MetadataImage::Empty(std::string cluster_id) {
  return std::shared_ptr<const MetadataImage>(new MetadataImage(std::move(cluster_id)));
}

absl::StatusOr<std::shared_ptr<const MetadataImage>> MetadataImage::Apply(
    const internal::MetadataRecordBatch& batch, int64_t offset) const {
  // An entry at or below the image's offset is already in it: applying it
  // again would, for instance, bump leader epochs twice.
  if (offset <= offset_) {
    return absl::FailedPreconditionError(
        absl::StrCat("metadata log entry ", offset, " is not after the image's offset ", offset_));
  }
  // Copy on write: metadata is small, and readers keep the old image.
  std::shared_ptr<MetadataImage> next(new MetadataImage(*this));
  SecurityDraft draft;
  for (int i = 0; i < batch.records_size(); ++i) {
    const internal::MetadataRecord& record = batch.records(i);
    if (absl::Status s = next->ApplyRecord(record, offset, &draft); !s.ok()) {
      return absl::Status(
          s.code(), absl::StrCat(RecordTypeName(record), " (record ", i, " of metadata log entry ",
                                 offset, "): ", std::string(s.message())));
    }
  }
  next->FinishSecurity(&draft);
  next->offset_ = offset;
  return std::shared_ptr<const MetadataImage>(std::move(next));
}

absl::Status MetadataImage::ApplyRecord(const internal::MetadataRecord& record, int64_t offset,
                                        SecurityDraft* draft) {
  (void)offset;
  switch (record.record_case()) {
    case internal::MetadataRecord::kRegisterBroker: {
      const internal::RegisterBrokerRecord& r = record.register_broker();
      if (r.broker_id() < 0)
        return absl::InvalidArgumentError(
            absl::StrCat("broker id ", r.broker_id(), " is negative"));
      if (const BrokerRegistration* old = broker(r.broker_id());
          old != nullptr && r.broker_epoch() <= old->epoch) {
        return absl::InvalidArgumentError(
            absl::StrCat("broker ", r.broker_id(), " registers with epoch ", r.broker_epoch(),
                         ", not above its current epoch ", old->epoch));
      }
      BrokerRegistration b;
      b.id = r.broker_id();
      b.incarnation_id = r.incarnation_id();
      b.epoch = r.broker_epoch();
      b.rack = r.rack();
      b.fenced = r.fenced();
      b.replica_capacity = r.replica_capacity();
      for (const internal::BrokerEndpoint& e : r.endpoints())
        b.endpoints.push_back({e.name(), e.host(), e.port(), e.security_protocol()});
      brokers_[b.id] = std::move(b);
      return absl::OkStatus();
    }
    case internal::MetadataRecord::kFenceBroker:
    case internal::MetadataRecord::kUnfenceBroker: {
      const bool fence = record.has_fence_broker();
      const int32_t id =
          fence ? record.fence_broker().broker_id() : record.unfence_broker().broker_id();
      const int64_t epoch =
          fence ? record.fence_broker().broker_epoch() : record.unfence_broker().broker_epoch();
      auto it = brokers_.find(id);
      // Written for an earlier registration (the broker re-registered
      // between the controller's decision and this record): it says nothing
      // about the current one.
      if (it == brokers_.end() || it->second.epoch != epoch) return absl::OkStatus();
      it->second.fenced = fence;
      return absl::OkStatus();
    }
    case internal::MetadataRecord::kUnregisterBroker: {
      const internal::UnregisterBrokerRecord& r = record.unregister_broker();
      auto it = brokers_.find(r.broker_id());
      // Written for an earlier registration: the broker came back since.
      if (it == brokers_.end() || it->second.epoch != r.broker_epoch()) return absl::OkStatus();
      // Its dynamic configs stay, as Kafka keeps them, for a broker that
      // comes back with the same id.
      brokers_.erase(it);
      return absl::OkStatus();
    }
    case internal::MetadataRecord::kTopic: {
      const internal::TopicRecord& r = record.topic();
      if (r.name().empty()) return absl::InvalidArgumentError("the topic name is empty");
      if (r.topic_id().empty())
        return absl::InvalidArgumentError(absl::StrCat("topic '", r.name(), "' has no id"));
      if (topics_.contains(r.name())) {
        return absl::AlreadyExistsError(absl::StrCat("topic '", r.name(), "' already exists"));
      }
      if (auto it = topic_names_by_id_.find(r.topic_id()); it != topic_names_by_id_.end()) {
        return absl::AlreadyExistsError(absl::StrCat(
            "topic id ", r.topic_id(), " is already used by topic '", it->second, "'"));
      }
      TopicInfo t;
      t.name = r.name();
      t.topic_id = r.topic_id();
      topics_[t.name] = std::move(t);
      topic_names_by_id_[r.topic_id()] = r.name();
      return absl::OkStatus();
    }
    case internal::MetadataRecord::kPartition: {
      const internal::PartitionRecord& r = record.partition();
      auto id_it = topic_names_by_id_.find(r.topic_id());
      if (id_it == topic_names_by_id_.end()) {
        return absl::NotFoundError(absl::StrCat("unknown topic id '", r.topic_id(), "'"));
      }
      TopicInfo& t = topics_.at(id_it->second);
      if (r.partition() < 0)
        return absl::InvalidArgumentError(
            absl::StrCat("partition ", r.partition(), " is negative"));
      if (t.partitions.contains(r.partition())) {
        return absl::AlreadyExistsError(
            absl::StrCat("partition ", r.partition(), " of topic '", t.name, "' already exists"));
      }
      if (r.leader_epoch() < 0 || r.partition_epoch() < 0) {
        return absl::InvalidArgumentError(absl::StrCat("negative epoch (leader epoch ",
                                                       r.leader_epoch(), ", partition epoch ",
                                                       r.partition_epoch(), ")"));
      }
      PartitionInfo p;
      p.partition = r.partition();
      p.replicas.assign(r.replicas().begin(), r.replicas().end());
      p.isr.assign(r.isr().begin(), r.isr().end());
      p.leader = r.leader();
      p.leader_epoch = r.leader_epoch();
      p.partition_epoch = r.partition_epoch();
      p.had_leader = p.leader >= 0;
      p.adding_replicas.assign(r.adding_replicas().begin(), r.adding_replicas().end());
      p.removing_replicas.assign(r.removing_replicas().begin(), r.removing_replicas().end());
      absl::Status s = CheckPartitionShape(p.replicas, p.isr, p.leader);
      if (s.ok()) s = CheckReassignmentShape(p.replicas, p.adding_replicas, p.removing_replicas);
      if (!s.ok()) {
        return absl::InvalidArgumentError(absl::StrCat("partition ", p.partition, " of topic '",
                                                       t.name, "': ", std::string(s.message())));
      }
      t.partitions[p.partition] = std::move(p);
      return absl::OkStatus();
    }
    case internal::MetadataRecord::kPartitionChange: {
      const internal::PartitionChangeRecord& r = record.partition_change();
      auto id_it = topic_names_by_id_.find(r.topic_id());
      if (id_it == topic_names_by_id_.end()) {
        return absl::NotFoundError(absl::StrCat("unknown topic id '", r.topic_id(), "'"));
      }
      TopicInfo& t = topics_.at(id_it->second);
      auto p_it = t.partitions.find(r.partition());
      if (p_it == t.partitions.end()) {
        return absl::NotFoundError(
            absl::StrCat("partition ", r.partition(), " of topic '", t.name, "' does not exist"));
      }
      absl::StatusOr<PartitionInfo> p = p_it->second.WithChange(r);
      if (!p.ok()) {
        return absl::InvalidArgumentError(absl::StrCat("partition ", r.partition(), " of topic '",
                                                       t.name,
                                                       "': ", std::string(p.status().message())));
      }
      p_it->second = *std::move(p);
      return absl::OkStatus();
    }
    case internal::MetadataRecord::kConfig: {
      const internal::ConfigRecord& r = record.config();
      if (r.name().empty()) return absl::InvalidArgumentError("the config name is empty");
      switch (r.resource_type()) {
        case internal::CONFIG_RESOURCE_TOPIC: {
          auto it = topics_.find(r.resource_name());
          if (it == topics_.end()) {
            return absl::NotFoundError(absl::StrCat("config '", r.name(), "' for unknown topic '",
                                                    r.resource_name(), "'"));
          }
          if (r.has_value()) {
            it->second.configs[r.name()] = r.value();
          } else {
            it->second.configs.erase(r.name());
          }
          return absl::OkStatus();
        }
        case internal::CONFIG_RESOURCE_BROKER: {
          std::map<std::string, std::string>& configs = broker_configs_[r.resource_name()];
          if (r.has_value()) {
            configs[r.name()] = r.value();
          } else {
            configs.erase(r.name());
            if (configs.empty()) broker_configs_.erase(r.resource_name());
          }
          return absl::OkStatus();
        }
        default:
          return absl::InvalidArgumentError(absl::StrCat("config '", r.name(),
                                                         "' has unknown resource type ",
                                                         static_cast<int>(r.resource_type())));
      }
    }
    case internal::MetadataRecord::kRemoveTopic: {
      const internal::RemoveTopicRecord& r = record.remove_topic();
      auto id_it = topic_names_by_id_.find(r.topic_id());
      if (id_it == topic_names_by_id_.end()) {
        return absl::NotFoundError(absl::StrCat("unknown topic id '", r.topic_id(), "'"));
      }
      topics_.erase(id_it->second);
      topic_names_by_id_.erase(id_it);
      return absl::OkStatus();
    }
    case internal::MetadataRecord::kProducerIds: {
      const internal::ProducerIdsRecord& r = record.producer_ids();
      // A block below the counter overlaps one already granted: replaying
      // it would hand the same ids to a second producer.
      if (r.next_producer_id() <= next_producer_id_) {
        return absl::InvalidArgumentError(absl::StrCat(
            "next producer id ", r.next_producer_id(), " (broker ", r.broker_id(), ", epoch ",
            r.broker_epoch(), ") is not above the current ", next_producer_id_));
      }
      next_producer_id_ = r.next_producer_id();
      return absl::OkStatus();
    }
    case internal::MetadataRecord::kAccessControlEntry:
    case internal::MetadataRecord::kRemoveAccessControlEntry:
    case internal::MetadataRecord::kUserScramCredential:
    case internal::MetadataRecord::kRemoveUserScramCredential:
    case internal::MetadataRecord::kClientQuota:
      return ApplySecurityRecord(record, draft);
    case internal::MetadataRecord::RECORD_NOT_SET:
      break;
  }
  return absl::InvalidArgumentError("the record has no content (written by a newer version?)");
}

absl::Status MetadataImage::ApplySecurityRecord(const internal::MetadataRecord& record,
                                                SecurityDraft* draft) {
  switch (record.record_case()) {
    case internal::MetadataRecord::kAccessControlEntry: {
      security::AclBinding b = BindingOfRecord(record.access_control_entry());
      if (absl::Status s = security::ValidateAclBinding(b); !s.ok()) {
        return absl::InvalidArgumentError(
            absl::StrCat("ACL ", security::ToString(b), ": ", s.message()));
      }
      if (!draft->acls) draft->acls.emplace(acls_->bindings().begin(), acls_->bindings().end());
      // A binding held already: nothing changes (CreateAcls is idempotent).
      draft->acls->insert(std::move(b));
      return absl::OkStatus();
    }
    case internal::MetadataRecord::kRemoveAccessControlEntry: {
      const security::AclBinding b = BindingOfRecord(record.remove_access_control_entry());
      if (!draft->acls) draft->acls.emplace(acls_->bindings().begin(), acls_->bindings().end());
      if (draft->acls->erase(b) == 0) {
        return absl::NotFoundError(absl::StrCat("no ACL ", security::ToString(b)));
      }
      return absl::OkStatus();
    }
    case internal::MetadataRecord::kUserScramCredential: {
      const internal::UserScramCredentialRecord& r = record.user_scram_credential();
      const std::optional<security::ScramMechanism> m = ScramMechanismOfCode(r.mechanism());
      if (!m) {
        return absl::InvalidArgumentError(
            absl::StrCat("unknown SCRAM mechanism ", r.mechanism(), " for user '", r.name(), "'"));
      }
      if (r.name().empty()) return absl::InvalidArgumentError("the SCRAM user name is empty");
      if (r.iterations() < security::kMinScramIterations ||
          r.iterations() > security::kMaxScramIterations) {
        return absl::InvalidArgumentError(absl::StrCat(
            "SCRAM iterations ", r.iterations(), " for user '", r.name(), "' are out of bounds"));
      }
      if (!draft->scram) draft->scram.emplace(*scram_);
      (*draft->scram)[{r.name(), *m}] = security::ScramCredential{
          .mechanism = *m,
          .salt = r.salt(),
          .stored_key = r.stored_key(),
          .server_key = r.server_key(),
          .iterations = r.iterations(),
      };
      return absl::OkStatus();
    }
    case internal::MetadataRecord::kRemoveUserScramCredential: {
      const internal::RemoveUserScramCredentialRecord& r = record.remove_user_scram_credential();
      const std::optional<security::ScramMechanism> m = ScramMechanismOfCode(r.mechanism());
      if (!draft->scram) draft->scram.emplace(*scram_);
      if (!m || draft->scram->erase({r.name(), *m}) == 0) {
        return absl::NotFoundError(absl::StrCat(
            "user '", r.name(), "' has no SCRAM credential of mechanism ", r.mechanism()));
      }
      return absl::OkStatus();
    }
    case internal::MetadataRecord::kClientQuota: {
      const internal::ClientQuotaRecord& r = record.client_quota();
      absl::StatusOr<security::QuotaEntity> entity = QuotaEntityOf(PartsOfRecord(r));
      if (!entity.ok()) return entity.status();
      if (r.key().empty()) return absl::InvalidArgumentError("the quota key is empty");
      if (!draft->quotas) draft->quotas.emplace(*quotas_);
      ClientQuotas& quotas = *draft->quotas;
      auto it = std::find_if(quotas.begin(), quotas.end(),
                             [&](const auto& q) { return SameQuotaEntity(q.first, *entity); });
      if (r.has_value()) {
        if (it == quotas.end()) {
          quotas.emplace_back(*entity, std::map<std::string, double>());
          it = std::prev(quotas.end());
        }
        it->second[r.key()] = r.value();
      } else if (it != quotas.end()) {
        it->second.erase(r.key());
        if (it->second.empty()) quotas.erase(it);
      }
      return absl::OkStatus();
    }
    default:
      break;
  }
  return absl::InternalError("not a security record");
}

void MetadataImage::FinishSecurity(SecurityDraft* draft) {
  if (draft->acls) {
    acls_ = std::make_shared<const security::AclSnapshot>(
        std::vector<security::AclBinding>(draft->acls->begin(), draft->acls->end()));
  }
  if (draft->scram) scram_ = std::make_shared<const ScramCredentials>(*std::move(draft->scram));
  if (draft->quotas) {
    std::stable_sort(
        draft->quotas->begin(), draft->quotas->end(),
        [](const auto& a, const auto& b) { return QuotaEntityLess(a.first, b.first); });
    quotas_ = std::make_shared<const ClientQuotas>(*std::move(draft->quotas));
  }
}

std::optional<security::ScramCredential> MetadataImage::ScramCredential(
    const std::string& user, security::ScramMechanism mechanism) const {
  auto it = scram_->find({user, mechanism});
  if (it == scram_->end()) return std::nullopt;
  return it->second;
}

internal::MetadataSnapshot MetadataImage::ToSnapshot() const {
  internal::MetadataSnapshot snapshot;
  snapshot.set_cluster_id(cluster_id_);
  snapshot.set_offset(offset_);
  for (const auto& [id, b] : brokers_) {
    internal::RegisterBrokerRecord* r = snapshot.add_records()->mutable_register_broker();
    r->set_broker_id(b.id);
    r->set_incarnation_id(b.incarnation_id);
    r->set_broker_epoch(b.epoch);
    r->set_rack(b.rack);
    r->set_fenced(b.fenced);
    r->set_replica_capacity(b.replica_capacity);
    for (const Endpoint& e : b.endpoints) {
      internal::BrokerEndpoint* out = r->add_endpoints();
      out->set_name(e.listener);
      out->set_host(e.host);
      out->set_port(e.port);
      out->set_security_protocol(e.security_protocol);
    }
  }
  // Without it, compacting the log would start producer ids over at 0. The
  // broker of the last block is not kept: -1.
  if (next_producer_id_ > 0) {
    internal::ProducerIdsRecord* r = snapshot.add_records()->mutable_producer_ids();
    r->set_broker_id(-1);
    r->set_broker_epoch(-1);
    r->set_next_producer_id(next_producer_id_);
  }
  for (const auto& [resource, configs] : broker_configs_) {
    for (const auto& [key, value] : configs) {
      internal::ConfigRecord* c = snapshot.add_records()->mutable_config();
      c->set_resource_type(internal::CONFIG_RESOURCE_BROKER);
      c->set_resource_name(resource);
      c->set_name(key);
      c->set_value(value);
    }
  }
  for (const auto& [name, t] : topics_) {
    internal::TopicRecord* tr = snapshot.add_records()->mutable_topic();
    tr->set_name(t.name);
    tr->set_topic_id(t.topic_id);
    for (const auto& [pid, p] : t.partitions) {
      internal::PartitionRecord* pr = snapshot.add_records()->mutable_partition();
      pr->set_topic_id(t.topic_id);
      pr->set_partition(p.partition);
      for (int32_t r : p.replicas) pr->add_replicas(r);
      for (int32_t r : p.adding_replicas) pr->add_adding_replicas(r);
      for (int32_t r : p.removing_replicas) pr->add_removing_replicas(r);
      if (p.leader == -1 && p.had_leader) {
        // A PartitionRecord cannot say "had a leader, lost it" (OFFLINE
        // rather than NEW), so write the partition with a leader one epoch
        // earlier and then the change that took the leader away; replaying
        // both lands on exactly these epochs. Losing a leader bumped both
        // epochs, so neither goes below zero.
        CHECK_GE(p.leader_epoch, 1) << t.name << "-" << pid;
        CHECK_GE(p.partition_epoch, 1) << t.name << "-" << pid;
        pr->set_leader(p.replicas.front());
        pr->add_isr(p.replicas.front());
        pr->set_leader_epoch(p.leader_epoch - 1);
        pr->set_partition_epoch(p.partition_epoch - 1);
        internal::PartitionChangeRecord* change =
            snapshot.add_records()->mutable_partition_change();
        change->set_topic_id(t.topic_id);
        change->set_partition(p.partition);
        change->set_leader(-1);
        change->set_set_isr(true);
        for (int32_t r : p.isr) change->add_isr(r);
      } else {
        for (int32_t r : p.isr) pr->add_isr(r);
        pr->set_leader(p.leader);
        pr->set_leader_epoch(p.leader_epoch);
        pr->set_partition_epoch(p.partition_epoch);
      }
    }
    for (const auto& [key, value] : t.configs) {
      internal::ConfigRecord* c = snapshot.add_records()->mutable_config();
      c->set_resource_type(internal::CONFIG_RESOURCE_TOPIC);
      c->set_resource_name(t.name);
      c->set_name(key);
      c->set_value(value);
    }
  }
  for (const security::AclBinding& b : acls_->bindings()) {
    SetRecordBinding(b, snapshot.add_records()->mutable_access_control_entry());
  }
  for (const auto& [key, c] : *scram_) {
    internal::UserScramCredentialRecord* r =
        snapshot.add_records()->mutable_user_scram_credential();
    r->set_name(key.first);
    r->set_mechanism(ScramMechanismCode(c.mechanism));
    r->set_salt(c.salt);
    r->set_stored_key(c.stored_key);
    r->set_server_key(c.server_key);
    r->set_iterations(c.iterations);
  }
  for (const auto& [entity, values] : *quotas_) {
    for (const auto& [key, value] : values) {
      internal::ClientQuotaRecord* r = snapshot.add_records()->mutable_client_quota();
      SetRecordEntity(entity, r);
      r->set_key(key);
      r->set_value(value);
    }
  }
  return snapshot;
}

absl::StatusOr<std::shared_ptr<const MetadataImage>> MetadataImage::FromSnapshot(
    const internal::MetadataSnapshot& snapshot, int64_t offset) {
  std::shared_ptr<MetadataImage> image(new MetadataImage(snapshot.cluster_id()));
  SecurityDraft draft;
  for (int i = 0; i < snapshot.records_size(); ++i) {
    const internal::MetadataRecord& record = snapshot.records(i);
    if (absl::Status s = image->ApplyRecord(record, offset, &draft); !s.ok()) {
      return absl::Status(s.code(), absl::StrCat(RecordTypeName(record), " (record ", i,
                                                 " of the snapshot at offset ", offset,
                                                 "): ", std::string(s.message())));
    }
  }
  image->FinishSecurity(&draft);
  image->offset_ = offset;
  return std::shared_ptr<const MetadataImage>(std::move(image));
}

const BrokerRegistration* MetadataImage::broker(int32_t id) const {
  auto it = brokers_.find(id);
  return it == brokers_.end() ? nullptr : &it->second;
}

std::optional<std::string> MetadataImage::BrokerConfig(int32_t broker_id,
                                                       std::string_view name) const {
  for (const std::string& resource : {absl::StrCat(broker_id), std::string()}) {
    auto it = broker_configs_.find(resource);
    if (it == broker_configs_.end()) continue;
    auto c = it->second.find(std::string(name));
    if (c != it->second.end()) return c->second;
  }
  return std::nullopt;
}

bool MetadataImage::IsBrokerLive(int32_t id) const {
  const BrokerRegistration* b = broker(id);
  return b != nullptr && !b->fenced;
}

std::vector<int32_t> MetadataImage::LiveBrokerIds() const {
  std::vector<int32_t> ids;
  for (const auto& [id, b] : brokers_) {
    if (!b.fenced) ids.push_back(id);
  }
  return ids;
}

const TopicInfo* MetadataImage::FindTopic(std::string_view name) const {
  auto it = topics_.find(std::string(name));
  return it == topics_.end() ? nullptr : &it->second;
}

const TopicInfo* MetadataImage::FindTopicById(std::string_view topic_id) const {
  auto it = topic_names_by_id_.find(std::string(topic_id));
  return it == topic_names_by_id_.end() ? nullptr : FindTopic(it->second);
}

const PartitionInfo* MetadataImage::FindPartition(std::string_view topic, int32_t partition) const {
  const TopicInfo* t = FindTopic(topic);
  if (t == nullptr) return nullptr;
  auto it = t->partitions.find(partition);
  return it == t->partitions.end() ? nullptr : &it->second;
}

PartitionState MetadataImage::StateOf(const PartitionInfo& p) const {
  if (p.replicas.empty()) return PartitionState::kNonExistent;
  if (!p.had_leader) return PartitionState::kNew;
  if (p.leader >= 0 && IsBrokerLive(p.leader)) return PartitionState::kOnline;
  return PartitionState::kOffline;
}

ReplicaState MetadataImage::StateOfReplica(const PartitionInfo& p, int32_t broker_id) const {
  if (!Contains(p.replicas, broker_id)) return ReplicaState::kNonExistent;
  if (StateOf(p) == PartitionState::kNew) return ReplicaState::kNew;
  return IsBrokerLive(broker_id) ? ReplicaState::kOnline : ReplicaState::kOffline;
}

}  // namespace strata::metadata
