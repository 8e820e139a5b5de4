// Produce (0, v3-7), Fetch (1, v4-11), ListOffsets (2, v1-3),
// OffsetForLeaderEpoch (23, v2-4) and InitProducerId (22, v0-4) between
// Kafka's structs and the request layer (notes/issue14-design.md §2.2).
// Pure functions; the adapters in produce_fetch_adapter.cc call the request
// layer between them.
//
//   Produce   v2 batches pass through as the client built them, a
//             transactional producer's too (TransactionalId is not looked
//             at: the partition log validates each batch). acks=0 gets no
//             answer; if a partition failed, the connection is closed
//             instead, so the client refreshes its metadata (as Kafka).
//   Fetch     always a consumer's fetch, whatever ReplicaId says (followers
//             replicate over the CONTROLLER listener). Sessionless, as
//             Kafka with an empty session cache: a full fetch (epoch -1 or
//             0, whatever the session id) is answered in full with
//             SessionId 0, which tells a client asking for a session that
//             none was created; an incremental fetch (epoch > 0) names a
//             session we never gave: FETCH_SESSION_ID_NOT_FOUND, no
//             partitions. LastStableOffset as the request layer answers
//             it (the high watermark when it gives none);
//             AbortedTransactions listed for read_committed, null otherwise.
//   ListOffsets  -1 latest, -2 earliest, >= 0 the first offset at or after
//             that time.
//   InitProducerId  an idempotent producer's id and epoch, or with a
//             TransactionalId a transactional producer's (the request layer
//             routes it to the transaction coordinator); see
//             RequestHandlers::InitProducerId. PRODUCER_FENCED (KIP-588) is
//             new in v4: producer_fenced_supported = version >= 4, and older
//             clients are told INVALID_PRODUCER_EPOCH instead.
#pragma once

#include <cstdint>
#include <optional>

#include "broker/kafka/messages.h"
#include "broker/request/api.h"
#include "client/common/error_code.h"

namespace strata::kafka {

request::ProduceRequest ToRequestLayer(ProduceRequest request);
ProduceResponse FromRequestLayer(const request::ProduceResponse& response);
// The first partition error of an answer, if any (acks=0 closes on it).
std::optional<ErrorCode> FirstError(const ProduceResponse& response);

// The top-level error a fetch's session fields call for, if any.
std::optional<ErrorCode> FetchSessionError(const FetchRequest& request);
request::FetchRequest ToRequestLayer(const FetchRequest& request);
// An answer to a fetch with only a top-level error.
FetchResponse FetchError(ErrorCode error);
FetchResponse FromRequestLayer(request::FetchResponse response, const FetchRequest& request);

request::ListOffsetsRequest ToRequestLayer(const ListOffsetsRequest& request);
ListOffsetsResponse FromRequestLayer(const request::ListOffsetsResponse& response);

request::InitProducerIdRequest ToRequestLayer(const InitProducerIdRequest& request,
                                              int16_t version);
InitProducerIdResponse FromRequestLayer(const request::InitProducerIdResponse& response);

std::vector<request::EpochRequestPartition> ToRequestLayer(
    const OffsetForLeaderEpochRequest& request);
// Nested by topic in the order topics first appear.
OffsetForLeaderEpochResponse FromRequestLayer(const std::vector<request::EpochEndResult>& results);

}  // namespace strata::kafka
