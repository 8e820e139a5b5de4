// Security of the gRPC listeners (PLAINTEXT-named client listener,
// CONTROLLER) and of the channels nodes open to each other.
//
// Server side, per listener (GrpcListenerSecurity):
//   PLAINTEXT       insecure credentials, no gate: every caller is
//                   User:ANONYMOUS.
//   SSL             TLS (grpc::experimental::TlsServerCredentials) from the
//                   listener's PEM keystore and truststore, re-read when the
//                   files change (FileWatcherCertificateProvider, every
//                   kTlsRefreshSeconds); ssl.client.auth picks the client
//                   certificate request: required -> request, require and
//                   verify; requested -> request and verify if sent; none ->
//                   don't request. The caller is User:<the certificate's RFC
//                   2253 subject mapped by ssl.principal.mapping.rules>, or
//                   User:ANONYMOUS without a certificate.
//   SASL_PLAINTEXT  insecure credentials; every call but Sasl/Authenticate
//   SASL_SSL        (and the gRPC health service) must carry a session token
//                   (metadata "strata-sasl-token") that SaslSessions issued;
//                   the caller is User:<the SASL user>. SASL_SSL is TLS as
//                   SSL underneath. On SASL_SSL a call without a token is
//                   also let in when its client certificate maps to one of
//                   `node_principals` (a node forwarding an admin request).
//
// The gate is an AuthMetadataProcessor on the server credentials, so it runs
// in gRPC's auth filter on each call's initial metadata, before any handler
// (and before the request body is read): a refused call never reaches a
// service. It records the caller as the auth context property
// kPrincipalProperty, which GrpcSession() reads.
//
// CONTROLLER listener (allowed_principals set): on top of the above, only
// those principals may call anything (Raft, Controller, Replica,
// TxnMarker, ...); others get PERMISSION_DENIED, a call without a usable
// identity UNAUTHENTICATED. With the CONTROLLER listener on PLAINTEXT there
// is no identity to check and no gate.
//
// Encrypted private keys (ssl.key.password): gRPC cannot read them, so the
// key is decrypted once at start (and again whenever the keystore changes)
// into "<work_dir>/<listener>-keystore.pem", mode 0600, which gRPC watches
// instead; the copy is removed when GrpcListenerSecurity goes away. Start
// fails with a message naming the key when the keystore or truststore does
// not load (checked with OpenSSL before gRPC sees the files).
//
// Client side: peer_channel_credentials() are TLS credentials that present
// this listener's keystore and trust its truststore (the server's host name
// is checked against its certificate, as Kafka's default
// ssl.endpoint.identification.algorithm=https does), or insecure ones for a
// PLAINTEXT / SASL_PLAINTEXT listener. The node sets the CONTROLLER
// listener's as every node-to-node channel's (raft::SetPeerChannelCredentials)
// and the client listener's for admin forwarding
// (SetClientListenerChannelCredentials).
//
// Thread-safe after Create.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "broker/security/listener_security.h"
#include "broker/security/principal.h"

namespace grpc {
class Channel;
class ChannelCredentials;
class ServerContextBase;
class ServerCredentials;
}  // namespace grpc

namespace strata::server {

// The auth context property holding the caller's principal ("User:alice").
inline constexpr char kPrincipalProperty[] = "strata.principal";
// The call metadata key carrying a SASL session token.
inline constexpr char kSaslTokenMetadataKey[] = "strata-sasl-token";
// The call metadata key carrying the client's client.id, Kafka's request
// header client id: what client quotas key on. Bytes outside printable
// ASCII, and '%', come percent-encoded ("%25"); GrpcSession decodes them.
inline constexpr char kClientIdMetadataKey[] = "strata-client-id";
// How often gRPC looks at the keystore and truststore files for changes.
inline constexpr unsigned kTlsRefreshSeconds = 2;

// Who is calling: the principal the listener's gate recorded (User:ANONYMOUS
// on a listener without one), the peer's IP address ("127.0.0.1", "::1";
// empty for a non-IP peer), the client id the call names
// (kClientIdMetadataKey, on any listener; empty without one) and
// `listener`. For every client service's authorization and quotas; cheap (a
// lookup in the call's auth context and metadata).
security::Session GrpcSession(const grpc::ServerContextBase* ctx, const std::string& listener);

// "ipv4:127.0.0.1:5000" -> "127.0.0.1", "ipv6:[::1]:5000" -> "::1", else "".
std::string PeerHost(std::string_view grpc_peer);

struct GrpcListenerOptions {
  // The listener name ("PLAINTEXT", "CONTROLLER"): in messages and file names.
  std::string name;
  security::ListenerSecurity security;
  // Only these principals may call ("User:CN=node1"); nullopt: anyone the
  // protocol lets in. Refused at Create when set but empty, or when no
  // caller could ever be in it (ssl.client.auth=none without
  // User:ANONYMOUS), since the node's own peers would be refused.
  std::optional<std::set<std::string>> allowed_principals;
  // SASL_SSL only: client certificates mapping to these may call without a
  // session token (nodes forwarding requests).
  std::set<std::string> node_principals;
  // SASL listeners: the principal ("User:bob") a session token stands for,
  // or nullopt when it is unknown or expired.
  std::function<std::optional<std::string>(std::string_view token)> resolve_token;
  // Where a decrypted copy of an encrypted key goes (created if missing).
  std::string work_dir;
};

class GrpcListenerSecurity {
 public:
  // InvalidArgument naming the key (and file) when the settings cannot work.
  static absl::StatusOr<std::unique_ptr<GrpcListenerSecurity>> Create(GrpcListenerOptions options);
  ~GrpcListenerSecurity();
  GrpcListenerSecurity(const GrpcListenerSecurity&) = delete;
  GrpcListenerSecurity& operator=(const GrpcListenerSecurity&) = delete;

  // For ServerBuilder::AddListeningPort. A new object each call, sharing
  // the certificate watcher and gate.
  std::shared_ptr<grpc::ServerCredentials> server_credentials() const;
  // For channels this node opens to the same listener of other nodes.
  std::shared_ptr<grpc::ChannelCredentials> peer_channel_credentials() const;

  const GrpcListenerOptions& options() const;

  class Impl;

 private:
  explicit GrpcListenerSecurity(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// The credentials this node dials other nodes' client listeners with (admin
// requests forwarded to the controller); insecure until set. Process-wide,
// as raft::SetPeerChannelCredentials.
void SetClientListenerChannelCredentials(std::shared_ptr<grpc::ChannelCredentials> credentials);
// A channel to a node's client listener ("host:port") with those
// credentials and raft::PeerChannel's reconnect settings.
std::shared_ptr<grpc::Channel> ClientListenerChannel(const std::string& address);

}  // namespace strata::server
