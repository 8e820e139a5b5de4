// AdminOps: the admin calls that only the controller decides (the writes:
// CreateTopics, DeleteTopics, CreatePartitions, ElectLeaders,
// AlterPartitionReassignments, IncrementalAlterConfigs, AlterConfigs,
// UnregisterBroker, the topics a broker creates itself, and the security
// writes: CreateAcls, DeleteAcls, AlterUserScramCredentials,
// AlterClientQuotas, with their reads) or that may need
// another node (DescribeConfigs of another broker,
// ListPartitionReassignments from the controller's image), as
// protocol-neutral operations. Every transport — the gRPC Admin service,
// Kafka's binary protocol — decodes its wire message into these types,
// calls, and encodes what `done` hands back; the routing (decide here when
// this node is the controller, else forward to it) lives in the
// implementation (server::AdminRouter), never in a transport.
//
// A write is answered once this node's metadata image shows what it
// changed (metadata::ImageShows), so a client that asks the same node next
// reads its own write — or after a bounded wait (3 s) when the image is
// slower; the answer is the controller's either way.
//
// Completion: `done` runs exactly once, on the calling thread (an answer
// known at once: a refusal, an image that already shows the change) or on
// whichever thread brought the answer (the controller's thread, a gRPC
// completion thread, the thread that published the image, the purgatory's
// reaper at the 3 s bound), never while the implementation holds a lock.
// No implementation blocks a thread to wait, so callers may call from
// threads that must not block (an event loop); in turn `done` must not
// block either (encode, hand off, return): it may run on the metadata
// log's apply thread.
//
// Errors are strata::ErrorCode (Kafka's numbers): per topic, partition or
// resource, or for the call as a whole (NOT_CONTROLLER when no controller
// is known, REQUEST_TIMED_OUT when a forward timed out, which may have
// committed).
//
// Thread-safe.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "broker/metadata/admin_types.h"
#include "broker/metadata/dynamic_config.h"
#include "broker/metadata/security_admin.h"
#include "client/common/error_code.h"

namespace strata::request {

// --- DescribeConfigs ---

struct DescribeConfigsResource {
  // kTopic or kBroker; anything else (Kafka's BROKER_LOGGER, a number
  // nobody knows) is answered INVALID_REQUEST.
  metadata::ConfigResourceType type = metadata::ConfigResourceType::kUnknown;
  // A topic name; a broker id, or "" for the cluster-wide broker default.
  std::string name;
  // The configs asked for; nullopt: all of them (Kafka's null). An empty
  // list asks for none.
  std::optional<std::vector<std::string>> keys;
};

struct DescribeConfigsRequest {
  std::vector<DescribeConfigsResource> resources;
  bool include_synonyms = false;
  // Sent by another node that forwarded a broker resource here: answered
  // here, never forwarded again (an image behind could send it round).
  bool forwarded = false;
};

struct DescribeConfigsResult {
  ErrorCode error = ErrorCode::kNone;
  std::string message;
  metadata::ConfigResourceType type = metadata::ConfigResourceType::kUnknown;
  std::string name;
  // Synonyms only when asked for.
  std::vector<metadata::DescribedConfig> configs;
};

struct DescribeConfigsResponse {
  std::vector<DescribeConfigsResult> results;  // one per resource, in order
};

// --- ListPartitionReassignments (KIP-455) ---

struct ListReassignmentsTopic {
  std::string name;
  std::vector<int32_t> partitions;
};

struct ListPartitionReassignmentsRequest {
  // nullopt: every reassignment under way. Partitions that do not exist or
  // are not moving are left out of the answer, as Kafka does.
  std::optional<std::vector<ListReassignmentsTopic>> topics;
};

struct OngoingPartitionReassignment {
  int32_t partition = 0;
  std::vector<int32_t> replicas;
  std::vector<int32_t> adding_replicas;
  std::vector<int32_t> removing_replicas;
};

struct OngoingTopicReassignment {
  std::string name;
  std::vector<OngoingPartitionReassignment> partitions;
};

struct ListPartitionReassignmentsResponse {
  // NOT_CONTROLLER when the controller is another node that could not be
  // asked (the caller retries): a lagging node's own image would call a
  // move just started "not under way" (and `--verify` would clear the
  // throttles of a move still running).
  ErrorCode error = ErrorCode::kNone;
  std::string message;
  std::vector<OngoingTopicReassignment> topics;
};

// --- The operations ---

class AdminOps {
 public:
  virtual ~AdminOps() = default;

  // A client's CreateTopics (validate_only and manual assignments
  // included). Clients may not create internal topics: request.internal is
  // ignored (always false here).
  virtual void CreateTopics(metadata::CreateTopicsRequest request,
                            std::function<void(metadata::CreateTopicsResponse)> done) = 0;
  // Topics this broker creates on a client's behalf, as CreateTopics would
  // (Metadata's auto.create.topics.enable): answered once the controller
  // decided, without waiting for the image (the client learns of the topic
  // by asking Metadata again).
  virtual void AutoCreateTopics(metadata::CreateTopicsRequest request,
                                std::function<void(metadata::CreateTopicsResponse)> done) = 0;
  // __consumer_offsets (and later __transaction_state) on this broker's
  // behalf; answered once the controller decided, without waiting for the
  // image.
  virtual void CreateInternalTopics(metadata::CreateTopicsRequest request,
                                    std::function<void(metadata::CreateTopicsResponse)> done) = 0;
  virtual void DeleteTopics(metadata::DeleteTopicsRequest request,
                            std::function<void(metadata::DeleteTopicsResponse)> done) = 0;
  virtual void CreatePartitions(metadata::CreatePartitionsRequest request,
                                std::function<void(metadata::CreatePartitionsResponse)> done) = 0;
  // topic_partitions nullopt: every partition; empty: none (answered at
  // once, with no results: no wire to the controller carries an empty
  // list apart from null).
  virtual void ElectLeaders(metadata::ElectLeadersRequest request,
                            std::function<void(metadata::ElectLeadersResponse)> done) = 0;
  virtual void AlterPartitionReassignments(
      metadata::AlterPartitionReassignmentsRequest request,
      std::function<void(metadata::AlterPartitionReassignmentsResponse)> done) = 0;
  // From the controller's image (asked of it when it is another node).
  virtual void ListPartitionReassignments(
      ListPartitionReassignmentsRequest request,
      std::function<void(ListPartitionReassignmentsResponse)> done) = 0;
  virtual void UnregisterBroker(metadata::UnregisterBrokerRequest request,
                                std::function<void(metadata::UnregisterBrokerResponse)> done) = 0;
  // Kafka's four operations. replace_all is refused (INVALID_REQUEST): it
  // is how AlterConfigs travels to the controller, and a client setting it
  // would wipe every config it leaves out; use AlterConfigs. An op outside
  // the four (kUnknown) is refused by the controller; a transport that
  // knows the number it read may refuse it first, naming the number.
  virtual void IncrementalAlterConfigs(
      metadata::IncrementalAlterConfigsRequest request,
      std::function<void(metadata::IncrementalAlterConfigsResponse)> done) = 0;
  // Kafka's legacy AlterConfigs: each resource's dynamic configs become
  // exactly the ones given (SETs with replace_all, whatever `request` set:
  // the ops' types and replace_all are overwritten).
  virtual void AlterConfigs(
      metadata::IncrementalAlterConfigsRequest request,
      std::function<void(metadata::IncrementalAlterConfigsResponse)> done) = 0;
  // Topics and the cluster default from this node's image; a broker id
  // other than this node's is asked of that broker (its static settings
  // are its own), or answered with its dynamic configs only when it cannot
  // be asked (no endpoint in the image, or request.forwarded);
  // BROKER_NOT_AVAILABLE for a broker that did not answer. A broker name
  // that is not an id, or a type other than TOPIC and BROKER:
  // INVALID_REQUEST for that resource.
  virtual void DescribeConfigs(DescribeConfigsRequest request,
                               std::function<void(DescribeConfigsResponse)> done) = 0;

  // ---- Security (issue 16; types in broker/metadata/security_admin.h) ----
  //
  // The writes go to the controller (Controller::AlterSecurity) and are
  // answered once this node's image shows them, as the calls above. The
  // reads are answered at once from this node's image (no controller, no
  // other node), as Kafka's brokers answer them from their metadata cache.
  //
  // Each has a default that refuses the call (UNKNOWN_SERVER_ERROR, or for
  // a read an empty answer with that error), so an AdminOps that does not
  // know them (a wrapper written before them) fails closed; AdminRouter
  // implements them all.
  virtual void CreateAcls(metadata::CreateAclsRequest request,
                          std::function<void(metadata::CreateAclsResponse)> done);
  virtual void DeleteAcls(metadata::DeleteAclsRequest request,
                          std::function<void(metadata::DeleteAclsResponse)> done);
  virtual void AlterUserScramCredentials(
      metadata::AlterUserScramCredentialsRequest request,
      std::function<void(metadata::AlterUserScramCredentialsResponse)> done);
  virtual void AlterClientQuotas(metadata::AlterClientQuotasRequest request,
                                 std::function<void(metadata::AlterClientQuotasResponse)> done);
  virtual metadata::DescribeAclsResponse DescribeAcls(const metadata::DescribeAclsRequest& request);
  virtual metadata::DescribeUserScramCredentialsResponse DescribeUserScramCredentials(
      const metadata::DescribeUserScramCredentialsRequest& request);
  virtual metadata::DescribeClientQuotasResponse DescribeClientQuotas(
      const metadata::DescribeClientQuotasRequest& request);

 protected:
  // The answer of the defaults above.
  template <typename Response>
  static Response NotImplemented() {
    Response r;
    r.error = ErrorCode::kUnknownServerError;
    r.error_message = "this admin interface does not serve the security calls";
    return r;
  }
};

inline void AdminOps::CreateAcls(metadata::CreateAclsRequest,
                                 std::function<void(metadata::CreateAclsResponse)> done) {
  done(NotImplemented<metadata::CreateAclsResponse>());
}
inline void AdminOps::DeleteAcls(metadata::DeleteAclsRequest,
                                 std::function<void(metadata::DeleteAclsResponse)> done) {
  done(NotImplemented<metadata::DeleteAclsResponse>());
}
inline void AdminOps::AlterUserScramCredentials(
    metadata::AlterUserScramCredentialsRequest,
    std::function<void(metadata::AlterUserScramCredentialsResponse)> done) {
  done(NotImplemented<metadata::AlterUserScramCredentialsResponse>());
}
inline void AdminOps::AlterClientQuotas(
    metadata::AlterClientQuotasRequest,
    std::function<void(metadata::AlterClientQuotasResponse)> done) {
  done(NotImplemented<metadata::AlterClientQuotasResponse>());
}
inline metadata::DescribeAclsResponse AdminOps::DescribeAcls(const metadata::DescribeAclsRequest&) {
  return NotImplemented<metadata::DescribeAclsResponse>();
}
inline metadata::DescribeUserScramCredentialsResponse AdminOps::DescribeUserScramCredentials(
    const metadata::DescribeUserScramCredentialsRequest&) {
  return NotImplemented<metadata::DescribeUserScramCredentialsResponse>();
}
inline metadata::DescribeClientQuotasResponse AdminOps::DescribeClientQuotas(
    const metadata::DescribeClientQuotasRequest&) {
  return NotImplemented<metadata::DescribeClientQuotasResponse>();
}

}  // namespace strata::request
