// Metadata (key 3, v0-6) between Kafka's structs and the request layer's
// (notes/issue14-design.md §2.2). Pure functions: the dispatcher calls
// RequestHandlers::Metadata between them.
//
//   topics:  v0 empty = every topic (v0 cannot say null); v1+ null = every
//            topic, empty = none (librdkafka refreshes brokers that way).
//   AllowAutoTopicCreation: implied true for v0-3, the request's from v4.
//   brokers: the unfenced ones with an endpoint on the connection's listener
//            (the request layer already leaves out the others); rack "" =
//            null.
//   a partition whose leader has no endpoint on the listener:
//            LISTENER_NOT_FOUND (72) in v6, LEADER_NOT_AVAILABLE (5) below,
//            as Kafka 3.7.1's KafkaApis.
#pragma once

#include <cstdint>

#include "broker/kafka/messages.h"
#include "broker/request/api.h"

namespace strata::kafka {

request::MetadataRequest ToRequestLayer(const MetadataRequest& request, int16_t version);
MetadataResponse FromRequestLayer(const request::MetadataResponse& response, int16_t version);

}  // namespace strata::kafka
