// What every Kafka API adapter sees, and what it answers with. An adapter
// turns one decoded Kafka request into calls on the protocol-neutral request
// layer (request::RequestHandlers, group::GroupCoordinator,
// request::AdminOps) and their answers back into the Kafka response
// (notes/issue14-design.md §2.2, §3). Each family of APIs lives in its own
// file and exports its rows of the dispatcher's table:
//
//   produce_fetch_adapter  Produce, Fetch, ListOffsets, OffsetForLeaderEpoch
//   group_adapter          FindCoordinator and the group APIs
//   admin_adapter          topic, config, partition and cluster admin APIs
//
// Contract for an adapter
//   - It runs on the listener's I/O pool and must not block: anything that
//     waits (an acks=all produce, a long-poll fetch, a join, an admin write)
//     goes through the request layer's asynchronous calls, which park in the
//     purgatory.
//   - It calls `reply` exactly once, on any thread: a response, or an error
//     status for a request no response can answer (the connection is closed
//     with the status's message in the log line). `reply(std::nullopt)` sends
//     nothing back (a Produce with acks=0).
//   - No rule of the request layer is repeated here: an adapter maps fields
//     and error codes, nothing else.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "broker/kafka/codec.h"
#include "broker/kafka/request_header.h"
#include "broker/request/authorized.h"
#include "broker/request/throttler.h"
#include "broker/security/principal.h"

namespace strata::request {
class RequestHandlers;
class AdminOps;
class AccessControl;
class Throttler;
}  // namespace strata::request
namespace strata::group {
class GroupCoordinator;
}
namespace strata::txn {
class TransactionCoordinator;
}

namespace strata::metrics {
class Metrics;
}

namespace strata::kafka {

// The request layer an adapter calls into. Any may be null in tests that
// exercise only some APIs; an adapter whose dependency is missing closes
// the connection.
struct AdapterDeps {
  request::RequestHandlers* handlers = nullptr;
  group::GroupCoordinator* groups = nullptr;
  request::AdminOps* admin = nullptr;
  // The transaction coordinator (AddPartitionsToTxn, AddOffsetsToTxn,
  // EndTxn, DescribeTransactions, ListTransactions; the group coordinator
  // above serves TxnOffsetCommit, the handlers DescribeProducers).
  txn::TransactionCoordinator* txns = nullptr;
  // Authorization (null or disabled: everything allowed) and client quotas
  // (null: none): every adapter calls the request layer through
  // AdapterCall::authz(), and produce and fetch answers through the
  // throttler.
  const request::AccessControl* access = nullptr;
  request::Throttler* throttler = nullptr;
  // Each request's time from arrival to answer, by API (null: not recorded).
  metrics::Metrics* metrics = nullptr;
};

// Where a request came from, and who sent it: what adapters pass to the
// request layer.
struct RequestContext {
  std::string peer;      // "127.0.0.1:53122", for log lines and ClientHost
  std::string listener;  // the listener name the connection arrived on
  // The connection's authenticated principal (principal.h): User:<SASL
  // user> on SASL listeners, User:<mapped certificate DN> on SSL listeners
  // with a client certificate, User:ANONYMOUS otherwise.
  // (Initialized here, so that designated initializers may leave them out.)
  security::Principal principal = security::Principal::Anonymous();
  std::string host = "";  // the peer's IP address without the port ("127.0.0.1"), as ACLs name it
};

struct AdapterCall {
  const AdapterDeps& deps;
  const RequestContext& context;
  const RequestHeader& header;
  int16_t version() const { return header.api_version; }
  // Who sent it: the connection's principal and address, the header's
  // client id.
  security::Session session() const {
    security::Session s;
    s.principal = context.principal;
    s.host = context.host;
    s.listener = context.listener;
    s.client_id = header.client_id.value_or("");
    return s;
  }
  // The request layer behind the session's authorization checks (the
  // session is built only when an authorizer needs it).
  request::Authorized authz() const {
    if (deps.access == nullptr || !deps.access->enabled()) return request::Authorized(nullptr, {});
    return request::Authorized(deps.access, session());
  }
  // The session for the quota throttler; empty when no quota is set.
  // (Request quotas are the dispatcher's: every API but the exempt ones.)
  security::Session quota_session() const {
    return deps.throttler == nullptr || !deps.throttler->active() ? security::Session{} : session();
  }
};

// The response, nothing (std::nullopt: no answer is sent), or why to close;
// and optionally what must stay alive until the answer is on the wire (a
// fetch's share of the broker's fetch memory, so a client that reads its
// answers slowly still counts against strata.fetch.max.inflight.bytes).
class Reply {
 public:
  using Answer = absl::StatusOr<std::optional<Response>>;
  // `throttled_ms`: how long a byte-rate quota has already held the answer
  // (request::Throttled), so that the request quota holds it only for what
  // it asks beyond that (Kafka holds by the larger of the two). A response
  // says it in its throttle_time_ms; this says it when none is sent.
  using Fn = std::function<void(Answer, std::shared_ptr<void>, int32_t throttled_ms)>;
  explicit Reply(Fn fn) : fn_(std::move(fn)) {}
  void operator()(Answer answer, std::shared_ptr<void> hold = nullptr) const {
    fn_(std::move(answer), std::move(hold), 0);
  }
  // No answer is sent (a Produce with acks=0), after a byte-rate quota held
  // it `throttled_ms`.
  void Nothing(int32_t throttled_ms) const {
    fn_(std::optional<Response>(), nullptr, throttled_ms);
  }

 private:
  Fn fn_;
};
using Adapter = void (*)(const AdapterCall& call, Request request, Reply reply);

struct AdapterRow {
  ApiKey key;
  Adapter adapter;
};

// Each family's rows.
absl::Span<const AdapterRow> ProduceFetchAdapters();
absl::Span<const AdapterRow> GroupAdapters();
absl::Span<const AdapterRow> AdminAdapters();
absl::Span<const AdapterRow> TxnAdapters();

}  // namespace strata::kafka
