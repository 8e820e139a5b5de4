#include "broker/server/admin_router.h"

#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <atomic>
#include <utility>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "broker/metadata/dynamic_config.h"
#include "broker/server/admin_codec.h"
#include "broker/server/grpc_security.h"
#include "broker/server/quorum_controller.h"
#include "raft/node/raft_node.h"

namespace strata::server {
namespace {

// Asking another node's Admin service (a broker describing itself, the
// controller listing reassignments).
constexpr auto kDescribeForwardTimeout = std::chrono::seconds(10);
constexpr auto kListForwardTimeout = std::chrono::seconds(5);

class QuorumLocalController final : public AdminRouter::LocalController {
 public:
  explicit QuorumLocalController(QuorumController* c) : c_(c) {}
  void CreateTopics(metadata::CreateTopicsRequest r,
                    std::function<void(metadata::CreateTopicsResponse)> done) override {
    c_->CreateTopics(std::move(r), std::move(done));
  }
  void DeleteTopics(metadata::DeleteTopicsRequest r,
                    std::function<void(metadata::DeleteTopicsResponse)> done) override {
    c_->DeleteTopics(std::move(r), std::move(done));
  }
  void CreatePartitions(metadata::CreatePartitionsRequest r,
                        std::function<void(metadata::CreatePartitionsResponse)> done) override {
    c_->CreatePartitions(std::move(r), std::move(done));
  }
  void ElectLeaders(metadata::ElectLeadersRequest r,
                    std::function<void(metadata::ElectLeadersResponse)> done) override {
    c_->ElectLeaders(std::move(r), std::move(done));
  }
  void AlterPartitionReassignments(
      metadata::AlterPartitionReassignmentsRequest r,
      std::function<void(metadata::AlterPartitionReassignmentsResponse)> done) override {
    c_->AlterPartitionReassignments(std::move(r), std::move(done));
  }
  void UnregisterBroker(metadata::UnregisterBrokerRequest r,
                        std::function<void(metadata::UnregisterBrokerResponse)> done) override {
    c_->UnregisterBroker(std::move(r), std::move(done));
  }
  void IncrementalAlterConfigs(
      metadata::IncrementalAlterConfigsRequest r,
      std::function<void(metadata::IncrementalAlterConfigsResponse)> done) override {
    c_->IncrementalAlterConfigs(std::move(r), std::move(done));
  }
  void AlterSecurity(metadata::AlterSecurityRequest r,
                     std::function<void(metadata::AlterSecurityResponse)> done) override {
    c_->AlterSecurity(std::move(r), std::move(done));
  }

 private:
  QuorumController* const c_;
};

}  // namespace

std::unique_ptr<AdminRouter::LocalController> AdminRouter::LocalControllerOf(
    QuorumController* controller) {
  if (controller == nullptr) return nullptr;
  return std::make_unique<QuorumLocalController>(controller);
}

purgatory::WatchKey AdminRouter::ImageKey() {
  // The metadata log is Kafka's __cluster_metadata-0; a topic of that name
  // can never be created (the controller refuses it), so nothing else
  // checks this key.
  return purgatory::WatchKey::Partition("__cluster_metadata", 0);
}

AdminRouter::AdminRouter(Options options, MetadataStateMachine* metadata,
                         std::unique_ptr<LocalController> local, ControllerChannel* channel,
                         purgatory::Purgatory* purgatory, Clock* clock)
    : options_(std::move(options)),
      metadata_(metadata),
      local_(std::move(local)),
      channel_(channel),
      purgatory_(purgatory),
      clock_(clock) {
  // On the Raft (or observer) thread after each image: quick when nothing
  // waits (one lookup), and the answers it completes only encode and hand
  // off.
  metadata_->Subscribe([purgatory](const std::shared_ptr<const metadata::MetadataImage>&) {
    purgatory->CheckAndComplete(ImageKey());
  });
}

template <typename Request, typename Response>
void AdminRouter::AnswerWhenImageShows(Request request, Response response,
                                       std::function<void(Response)> done) {
  // Holds nothing of the router's: the purgatory may answer it (at its
  // Shutdown) after the router is gone. An image published between the
  // first try and the watch is caught by the purgatory's second try.
  MetadataStateMachine* metadata = metadata_;
  auto op = std::make_shared<purgatory::DelayedOperation>(
      clock_->NowMs() + absl::ToInt64Milliseconds(options_.image_wait),
      [metadata, request = std::move(request), response = std::move(response),
       done = std::move(done)](bool expired) mutable {
        // Past the bound: the controller's answer as it is; the client may
        // not read its write from this node at once.
        if (!expired && !metadata::ImageShows(*metadata->current(), request, response)) {
          return false;
        }
        done(std::move(response));
        return true;
      });
  purgatory_->TryCompleteElseWatch(op, {ImageKey()});
}

template <typename Request, typename Response, typename Forward>
void AdminRouter::Route(Request request,
                        void (LocalController::*decide)(Request, std::function<void(Response)>),
                        Forward forward, Answer answer, std::function<void(Response)> done) {
  std::function<void(Response)> finish = std::move(done);
  if (answer == Answer::kWhenImageShows) {
    finish = [this, request, done = std::move(finish)](Response response) {
      AnswerWhenImageShows(std::move(request), std::move(response), std::move(done));
    };
  }
  int32_t leader = -1;
  internal::Controller::Stub* stub = channel_->controller(&leader);
  if (leader == options_.node_id && local_ != nullptr) {
    ((*local_).*decide)(std::move(request), std::move(finish));
    return;
  }
  if (leader != options_.node_id && stub != nullptr) {
    using WireRequest = decltype(Encode(request));
    using WireResponse = decltype(forward.response);
    struct Call {
      grpc::ClientContext context;
      WireRequest request;
      WireResponse response;
    };
    auto* call = new Call;
    call->request = Encode(request);
    call->context.set_deadline(std::chrono::system_clock::now() + options_.forward_timeout);
    forward.send(
        stub, &call->context, &call->request, &call->response,
        [call, request = std::move(request), finish = std::move(finish), leader](grpc::Status s) {
          Response response = Decode(call->response);
          if (!s.ok()) {
            // A timeout may have committed: not retriable as it stands.
            const bool timed_out = s.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED ||
                                   s.error_code() == grpc::StatusCode::CANCELLED;
            metadata::FailWhole(request,
                                timed_out ? ErrorCode::kRequestTimedOut : ErrorCode::kNotController,
                                absl::StrCat("the controller (node ", leader,
                                             ") did not answer: ", s.error_message()),
                                &response);
          }
          delete call;
          finish(std::move(response));
        });
    return;
  }
  Response failed;
  metadata::FailWhole(request, ErrorCode::kNotController,
                      "no controller is elected yet; retry shortly", &failed);
  finish(std::move(failed));
}

namespace {

// A Controller stub call, and the response type it fills.
template <typename WireResponse, typename Send>
struct ForwardBy {
  WireResponse response;  // names the type only
  Send send;
};
template <typename WireResponse, typename Send>
ForwardBy<WireResponse, Send> ForwardWith(Send send) {
  return ForwardBy<WireResponse, Send>{{}, std::move(send)};
}

}  // namespace

void AdminRouter::CreateTopics(metadata::CreateTopicsRequest request,
                               std::function<void(metadata::CreateTopicsResponse)> done) {
  request.internal = false;
  Route(std::move(request), &LocalController::CreateTopics,
        ForwardWith<v1::CreateTopicsResponse>(
            [](auto* stub, auto* ctx, auto* req, auto* resp, auto cb) {
              stub->async()->CreateTopics(ctx, req, resp, std::move(cb));
            }),
        Answer::kWhenImageShows, std::move(done));
}

void AdminRouter::AutoCreateTopics(metadata::CreateTopicsRequest request,
                                   std::function<void(metadata::CreateTopicsResponse)> done) {
  request.internal = false;
  Route(std::move(request), &LocalController::CreateTopics,
        ForwardWith<v1::CreateTopicsResponse>(
            [](auto* stub, auto* ctx, auto* req, auto* resp, auto cb) {
              stub->async()->CreateTopics(ctx, req, resp, std::move(cb));
            }),
        Answer::kWhenDecided, std::move(done));
}

void AdminRouter::CreateInternalTopics(metadata::CreateTopicsRequest request,
                                       std::function<void(metadata::CreateTopicsResponse)> done) {
  request.internal = true;
  Route(std::move(request), &LocalController::CreateTopics,
        ForwardWith<v1::CreateTopicsResponse>(
            [](auto* stub, auto* ctx, auto* req, auto* resp, auto cb) {
              stub->async()->CreateInternalTopics(ctx, req, resp, std::move(cb));
            }),
        Answer::kWhenDecided, std::move(done));
}

void AdminRouter::DeleteTopics(metadata::DeleteTopicsRequest request,
                               std::function<void(metadata::DeleteTopicsResponse)> done) {
  Route(std::move(request), &LocalController::DeleteTopics,
        ForwardWith<v1::DeleteTopicsResponse>(
            [](auto* stub, auto* ctx, auto* req, auto* resp, auto cb) {
              stub->async()->DeleteTopics(ctx, req, resp, std::move(cb));
            }),
        Answer::kWhenImageShows, std::move(done));
}

void AdminRouter::CreatePartitions(metadata::CreatePartitionsRequest request,
                                   std::function<void(metadata::CreatePartitionsResponse)> done) {
  Route(std::move(request), &LocalController::CreatePartitions,
        ForwardWith<v1::CreatePartitionsResponse>(
            [](auto* stub, auto* ctx, auto* req, auto* resp, auto cb) {
              stub->async()->CreatePartitions(ctx, req, resp, std::move(cb));
            }),
        Answer::kWhenImageShows, std::move(done));
}

void AdminRouter::ElectLeaders(metadata::ElectLeadersRequest request,
                               std::function<void(metadata::ElectLeadersResponse)> done) {
  // None asked for: nothing to elect (and an empty list would travel to the
  // controller as "all").
  if (request.topic_partitions.has_value() && request.topic_partitions->empty()) {
    done(metadata::ElectLeadersResponse{});
    return;
  }
  Route(std::move(request), &LocalController::ElectLeaders,
        ForwardWith<v1::ElectLeadersResponse>(
            [](auto* stub, auto* ctx, auto* req, auto* resp, auto cb) {
              stub->async()->ElectLeaders(ctx, req, resp, std::move(cb));
            }),
        Answer::kWhenImageShows, std::move(done));
}

void AdminRouter::AlterPartitionReassignments(
    metadata::AlterPartitionReassignmentsRequest request,
    std::function<void(metadata::AlterPartitionReassignmentsResponse)> done) {
  Route(std::move(request), &LocalController::AlterPartitionReassignments,
        ForwardWith<v1::AlterPartitionReassignmentsResponse>(
            [](auto* stub, auto* ctx, auto* req, auto* resp, auto cb) {
              stub->async()->AlterPartitionReassignments(ctx, req, resp, std::move(cb));
            }),
        Answer::kWhenImageShows, std::move(done));
}

void AdminRouter::UnregisterBroker(metadata::UnregisterBrokerRequest request,
                                   std::function<void(metadata::UnregisterBrokerResponse)> done) {
  Route(std::move(request), &LocalController::UnregisterBroker,
        ForwardWith<v1::UnregisterBrokerResponse>(
            [](auto* stub, auto* ctx, auto* req, auto* resp, auto cb) {
              stub->async()->UnregisterBroker(ctx, req, resp, std::move(cb));
            }),
        Answer::kWhenImageShows, std::move(done));
}

void AdminRouter::IncrementalAlterConfigs(
    metadata::IncrementalAlterConfigsRequest request,
    std::function<void(metadata::IncrementalAlterConfigsResponse)> done) {
  // replace_all is the forwarded form of legacy AlterConfigs, for nodes to
  // send the controller; a client would wipe every config it leaves out.
  if (request.replace_all) {
    metadata::IncrementalAlterConfigsResponse refused;
    metadata::FailResponse(&refused, ErrorCode::kInvalidRequest,
                           "replace_all is set only by a node forwarding AlterConfigs; use "
                           "AlterConfigs to replace a resource's configs.");
    done(std::move(refused));
    return;
  }
  Route(std::move(request), &LocalController::IncrementalAlterConfigs,
        ForwardWith<v1::IncrementalAlterConfigsResponse>(
            [](auto* stub, auto* ctx, auto* req, auto* resp, auto cb) {
              stub->async()->IncrementalAlterConfigs(ctx, req, resp, std::move(cb));
            }),
        Answer::kWhenImageShows, std::move(done));
}

void AdminRouter::AlterConfigs(
    metadata::IncrementalAlterConfigsRequest request,
    std::function<void(metadata::IncrementalAlterConfigsResponse)> done) {
  // Decided (and forwarded) as the IncrementalAlterConfigs it amounts to.
  request.replace_all = true;
  for (metadata::AlterConfigsResource& r : request.resources) {
    for (metadata::AlterConfigOp& op : r.ops) op.op = metadata::AlterConfigOpType::kSet;
  }
  Route(std::move(request), &LocalController::IncrementalAlterConfigs,
        ForwardWith<v1::IncrementalAlterConfigsResponse>(
            [](auto* stub, auto* ctx, auto* req, auto* resp, auto cb) {
              stub->async()->IncrementalAlterConfigs(ctx, req, resp, std::move(cb));
            }),
        Answer::kWhenImageShows, std::move(done));
}

template <typename Response, typename Request>
void AdminRouter::RouteSecurity(Request request, std::string_view call,
                                std::function<void(Response)> done) {
  Route(metadata::AlterSecurityRequest{.op = std::move(request)}, &LocalController::AlterSecurity,
        ForwardWith<internal::AlterSecurityResponse>(
            [](auto* stub, auto* ctx, auto* req, auto* resp, auto cb) {
              stub->async()->AlterSecurity(ctx, req, resp, std::move(cb));
            }),
        Answer::kWhenImageShows,
        std::function<void(metadata::AlterSecurityResponse)>(
            [call = std::string(call), done = std::move(done)](metadata::AlterSecurityResponse r) {
              done(metadata::ResponseOf<Response>(std::move(r), call));
            }));
}

void AdminRouter::CreateAcls(metadata::CreateAclsRequest request,
                             std::function<void(metadata::CreateAclsResponse)> done) {
  RouteSecurity<metadata::CreateAclsResponse>(std::move(request), "CreateAcls", std::move(done));
}

void AdminRouter::DeleteAcls(metadata::DeleteAclsRequest request,
                             std::function<void(metadata::DeleteAclsResponse)> done) {
  RouteSecurity<metadata::DeleteAclsResponse>(std::move(request), "DeleteAcls", std::move(done));
}

void AdminRouter::AlterUserScramCredentials(
    metadata::AlterUserScramCredentialsRequest request,
    std::function<void(metadata::AlterUserScramCredentialsResponse)> done) {
  RouteSecurity<metadata::AlterUserScramCredentialsResponse>(
      std::move(request), "AlterUserScramCredentials", std::move(done));
}

void AdminRouter::AlterClientQuotas(metadata::AlterClientQuotasRequest request,
                                    std::function<void(metadata::AlterClientQuotasResponse)> done) {
  RouteSecurity<metadata::AlterClientQuotasResponse>(std::move(request), "AlterClientQuotas",
                                                     std::move(done));
}

metadata::DescribeAclsResponse AdminRouter::DescribeAcls(
    const metadata::DescribeAclsRequest& request) {
  return metadata::DescribeAcls(*metadata_->current(), request);
}

metadata::DescribeUserScramCredentialsResponse AdminRouter::DescribeUserScramCredentials(
    const metadata::DescribeUserScramCredentialsRequest& request) {
  return metadata::DescribeUserScramCredentials(*metadata_->current(), request);
}

metadata::DescribeClientQuotasResponse AdminRouter::DescribeClientQuotas(
    const metadata::DescribeClientQuotasRequest& request) {
  return metadata::DescribeClientQuotas(*metadata_->current(), request);
}

v1::Admin::Stub* AdminRouter::AdminStubFor(int32_t node, const metadata::MetadataImage& image) {
  const metadata::BrokerRegistration* b = image.broker(node);
  const metadata::Endpoint* ep = b ? b->endpoint("PLAINTEXT") : nullptr;
  if (ep == nullptr) return nullptr;
  absl::MutexLock l(&stubs_mu_);
  std::unique_ptr<v1::Admin::Stub>& stub = admin_stubs_[node];
  // The controller's client listener, dialled as this node
  // (SetClientListenerChannelCredentials).
  if (!stub) {
    stub = v1::Admin::NewStub(ClientListenerChannel(absl::StrCat(ep->host, ":", ep->port)));
  }
  return stub.get();
}

namespace {

// The reassignments under way in `image`, as asked.
request::ListPartitionReassignmentsResponse ListReassignments(
    const metadata::MetadataImage& image, const request::ListPartitionReassignmentsRequest& req) {
  request::ListPartitionReassignmentsResponse out;
  auto add = [&out](const metadata::TopicInfo& t, const metadata::PartitionInfo& p,
                    request::OngoingTopicReassignment** topic) {
    if (!p.reassigning()) return;
    if (*topic == nullptr) {
      *topic = &out.topics.emplace_back();
      (*topic)->name = t.name;
    }
    (*topic)->partitions.push_back({
        .partition = p.partition,
        .replicas = p.replicas,
        .adding_replicas = p.adding_replicas,
        .removing_replicas = p.removing_replicas,
    });
  };
  if (!req.topics.has_value()) {
    for (const auto& [name, t] : image.topics()) {
      request::OngoingTopicReassignment* topic = nullptr;
      for (const auto& [pid, p] : t.partitions) add(t, p, &topic);
    }
    return out;
  }
  // As Kafka: partitions that do not exist, or are not moving, are left out.
  for (const request::ListReassignmentsTopic& want : *req.topics) {
    const metadata::TopicInfo* t = image.FindTopic(want.name);
    if (t == nullptr) continue;
    request::OngoingTopicReassignment* topic = nullptr;
    for (int32_t pid : want.partitions) {
      auto it = t->partitions.find(pid);
      if (it != t->partitions.end()) add(*t, it->second, &topic);
    }
  }
  return out;
}

}  // namespace

void AdminRouter::ListPartitionReassignments(
    request::ListPartitionReassignmentsRequest request,
    std::function<void(request::ListPartitionReassignmentsResponse)> done) {
  std::shared_ptr<const metadata::MetadataImage> image = metadata_->current();
  // The controller's image is the newest: a lagging node would call a move
  // just started "not under way" (and `--verify` would clear the throttles
  // of a move still running). Asked of another node, it asks the
  // controller; when that fails, the call fails and the client asks again.
  const int32_t controller = channel_->controller_id();
  if (controller >= 0 && controller != options_.node_id) {
    if (v1::Admin::Stub* stub = AdminStubFor(controller, *image); stub != nullptr) {
      struct Call {
        grpc::ClientContext context;
        v1::ListPartitionReassignmentsRequest request;
        v1::ListPartitionReassignmentsResponse response;
      };
      auto* call = new Call;
      call->request = Encode(request);
      call->context.set_deadline(std::chrono::system_clock::now() + kListForwardTimeout);
      stub->async()->ListPartitionReassignments(
          &call->context, &call->request, &call->response,
          [call, controller, done = std::move(done)](grpc::Status s) {
            request::ListPartitionReassignmentsResponse response;
            if (s.ok()) {
              response = Decode(call->response);
            } else {
              // Not this node's older image instead: the caller retries.
              response.error = ErrorCode::kNotController;
              response.message = absl::StrCat("the controller (node ", controller,
                                              ") did not answer: ", s.error_message());
            }
            delete call;
            done(std::move(response));
          });
      return;
    }
  }
  done(ListReassignments(*image, request));
}

request::DescribeConfigsResult AdminRouter::DescribeHere(
    const metadata::MetadataImage& image, const request::DescribeConfigsResource& res,
    bool synonyms) const {
  request::DescribeConfigsResult out;
  out.type = res.type;
  out.name = res.name;
  std::vector<metadata::DescribedConfig> configs;
  if (res.type == metadata::ConfigResourceType::kTopic) {
    const metadata::TopicInfo* topic = image.FindTopic(res.name);
    if (topic == nullptr) {
      out.error = ErrorCode::kUnknownTopicOrPartition;
      out.message = absl::StrCat("Topic '", res.name, "' does not exist.");
      return out;
    }
    configs =
        metadata::DescribeTopicConfigs(*topic, image, options_.node_id, options_.log_overrides);
  } else {
    // A broker: this one (its static settings known), or another that
    // could not be asked (its dynamic configs only).
    const bool self = res.name == absl::StrCat(options_.node_id);
    static const std::map<std::string, std::string> kUnknownStatic;
    configs = metadata::DescribeBrokerConfigs(res.name, image,
                                              self ? options_.log_overrides : kUnknownStatic);
  }
  for (metadata::DescribedConfig& c : configs) {
    if (res.keys.has_value() &&
        std::find(res.keys->begin(), res.keys->end(), c.name) == res.keys->end()) {
      continue;
    }
    if (!synonyms) c.synonyms.clear();
    out.configs.push_back(std::move(c));
  }
  return out;
}

void AdminRouter::DescribeConfigs(request::DescribeConfigsRequest request,
                                  std::function<void(request::DescribeConfigsResponse)> done) {
  std::shared_ptr<const metadata::MetadataImage> image = metadata_->current();
  // Another broker describes itself: its server.properties are its own.
  struct Forward {
    size_t index = 0;
    int32_t broker = -1;
    v1::Admin::Stub* stub = nullptr;
    grpc::ClientContext context;
    v1::DescribeConfigsRequest request;
    v1::DescribeConfigsResponse response;
  };
  auto response = std::make_shared<request::DescribeConfigsResponse>();
  std::vector<std::unique_ptr<Forward>> forwards;
  for (const request::DescribeConfigsResource& res : request.resources) {
    request::DescribeConfigsResult& out = response->results.emplace_back();
    out.type = res.type;
    out.name = res.name;
    if (res.type == metadata::ConfigResourceType::kBroker && !res.name.empty()) {
      int32_t id = -1;
      if (!absl::SimpleAtoi(res.name, &id) || id < 0) {
        out.error = ErrorCode::kInvalidRequest;
        out.message = absl::StrCat("Broker resource name '", res.name,
                                   "' is not a broker id; use an id, or empty for the "
                                   "cluster default.");
        continue;
      }
      v1::Admin::Stub* stub = nullptr;
      // An empty key list asks for nothing: no need to ask (and no wire
      // of ours tells it from "all").
      const bool asks_some = !res.keys.has_value() || !res.keys->empty();
      if (id != options_.node_id && !request.forwarded && asks_some) {
        stub = AdminStubFor(id, *image);
      }
      if (stub != nullptr) {
        auto f = std::make_unique<Forward>();
        f->index = response->results.size() - 1;
        f->broker = id;
        f->stub = stub;
        f->request = Encode(request::DescribeConfigsRequest{
            .resources = {res}, .include_synonyms = request.include_synonyms});
        forwards.push_back(std::move(f));
        continue;
      }
    } else if (res.type != metadata::ConfigResourceType::kTopic &&
               res.type != metadata::ConfigResourceType::kBroker) {
      out.error = ErrorCode::kInvalidRequest;
      out.message = "Unsupported config resource type; use TOPIC (2) or BROKER (4).";
      continue;
    }
    out = DescribeHere(*image, res, request.include_synonyms);
  }
  if (forwards.empty()) {
    done(std::move(*response));
    return;
  }
  // Every result slot exists before the first answer fills one; each
  // answer fills its own, and the last one to arrive answers.
  auto left = std::make_shared<std::atomic<size_t>>(forwards.size());
  auto shared_done =
      std::make_shared<std::function<void(request::DescribeConfigsResponse)>>(std::move(done));
  for (std::unique_ptr<Forward>& owned : forwards) {
    Forward* f = owned.release();
    f->context.set_deadline(std::chrono::system_clock::now() + kDescribeForwardTimeout);
    f->context.AddMetadata(kForwardedHeader, "1");
    f->stub->async()->DescribeConfigs(
        &f->context, &f->request, &f->response, [f, left, response, shared_done](grpc::Status s) {
          request::DescribeConfigsResult& out = response->results[f->index];
          if (s.ok() && f->response.results_size() == 1) {
            out = Decode(f->response.results(0));
          } else {
            out.error = ErrorCode::kBrokerNotAvailable;
            out.message =
                absl::StrCat("Broker ", f->broker,
                             " did not answer: ", s.ok() ? "no result" : s.error_message());
          }
          delete f;
          if (left->fetch_sub(1, std::memory_order_acq_rel) == 1) {
            (*shared_done)(std::move(*response));
          }
        });
  }
}

}  // namespace strata::server
