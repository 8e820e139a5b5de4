// ChannelSecurity: how a client's channels to the nodes authenticate, from
// its SecurityConfig (security_config.h).
//
//   PLAINTEXT       insecure channels, as before.
//   SSL             TLS: the server's certificate must chain to
//                   ssl.truststore.location (or the system's roots) and,
//                   unless ssl.endpoint.identification.algorithm is empty,
//                   name the host dialled; ssl.keystore.location's
//                   certificate is presented when the server asks.
//   SASL_PLAINTEXT  SCRAM-SHA-256/512 or PLAIN with strata.v1.Sasl
//   SASL_SSL        (proto/strata/v1/security.proto), over an insecure
//                   channel or TLS as above. One SaslLogin per node: it
//                   authenticates on the channel's first call and again
//                   before its session runs out (at 80% of the lifetime the
//                   node gave), and an interceptor puts the session token on
//                   every call as the metadata "strata-sasl-token".
//
// Client id: with a non-empty client id (client.id), an interceptor puts it
// on every call as the metadata "strata-client-id", which the node's client
// quotas key on (security.proto). Bytes gRPC cannot carry in a text header
// (outside printable ASCII) and '%' are sent percent-encoded ("%C3%A9"),
// which the node decodes. The value is encoded once, when the
// ChannelSecurity is created; a call costs the metadata insert.
//
// Why an interceptor rather than call credentials (a
// MetadataCredentialsPlugin): gRPC's C++ API (1.51) will not compose call
// credentials with insecure channel credentials, and SASL_PLAINTEXT has
// nothing else; one mechanism serves both SASL protocols. The interceptor
// runs on the thread starting the call, so the exchange (two round trips)
// happens there when no live token is at hand: on a channel's first call,
// and after a node restarted (it forgot its tokens: the call fails
// UNAVAILABLE, which callers retry, and the next one authenticates anew).
//
// Failures: a call whose authentication failed gets UNAUTHENTICATED with
// the node's reason ("... invalid credentials with SASL mechanism ..."), or
// UNAVAILABLE when the node could not be reached to authenticate.
//
// Create reads the PEM files once: InvalidArgument naming the key on an
// unreadable file, a store without certificates, a keystore without a key
// or a wrong ssl.key.password. Thread-safe.
#pragma once

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "client/security_config.h"
#include "grpcpp/channel.h"
#include "grpcpp/security/credentials.h"
#include "grpcpp/support/channel_arguments.h"

namespace strata::client {

class ChannelSecurity {
 public:
  // `client_id`: what every call names its client as; empty: nothing.
  static absl::StatusOr<std::shared_ptr<const ChannelSecurity>> Create(
      SecurityConfig config, const std::string& client_id = "");

  // A new channel to `target` ("host:port").
  std::shared_ptr<grpc::Channel> MakeChannel(const std::string& target,
                                             const grpc::ChannelArguments& args) const;

  const SecurityConfig& config() const { return config_; }

 private:
  ChannelSecurity(SecurityConfig config, std::shared_ptr<grpc::ChannelCredentials> transport,
                  std::string client_id_value)
      : config_(std::move(config)),
        transport_(std::move(transport)),
        client_id_value_(std::move(client_id_value)) {}

  const SecurityConfig config_;
  // TLS or insecure: what every channel (and a SASL login's own) dials with.
  const std::shared_ptr<grpc::ChannelCredentials> transport_;
  // The client id as the metadata value (percent-encoded); empty: none.
  const std::string client_id_value_;
};

}  // namespace strata::client
