// Who sent a request: the principal a listener authenticated (Kafka's
// KafkaPrincipal, "User:alice"), and the session the request layer
// authorizes against (principal, client address, listener, client id).
//
// Listeners produce a Session per connection (per call on gRPC):
//   PLAINTEXT                  User:ANONYMOUS
//   SSL                        User:<the client certificate's DN mapped by
//                              ssl.principal.mapping.rules>, or
//                              User:ANONYMOUS without a certificate
//                              (ssl.client.auth=requested|none)
//   SASL_PLAINTEXT / SASL_SSL  User:<the SASL username>
#pragma once

#include <string>

namespace strata::security {

struct Principal {
  std::string type = "User";
  std::string name = "ANONYMOUS";

  static Principal User(std::string name) { return Principal{"User", std::move(name)}; }
  static Principal Anonymous() { return Principal{}; }
  // "User:alice", as ACLs and super.users name principals.
  std::string ToString() const { return type + ":" + name; }
  bool operator==(const Principal&) const = default;
};

struct Session {
  Principal principal;
  std::string host;       // the client's IP address ("127.0.0.1"), ACLs' host
  std::string listener;   // the listener name the request arrived on
  std::string client_id;  // the request header's client id (quotas)
};

}  // namespace strata::security
