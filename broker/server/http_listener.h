// HttpListener: a node's HTTP listener (the HTTP entry of `listeners`),
// serving GET and HEAD on routes: /metrics, the console and its JSON API.
// A small HTTP/1.1 server of our own: an accept thread and a bounded pool
// of workers, each serving one connection at a time, one request per
// connection (`Connection: close`). TLS through the Kafka listener's
// TlsTransport and the listener's security::TlsContext, so certificates
// reload as on the other listeners, and ssl.client.auth asks for client
// certificates. (Debian 12's civetweb loads OpenSSL 1.1's symbols at run
// time and cannot do TLS against OpenSSL 3, hence not civetweb.)
//
//   HttpListener::Options o{.host = "127.0.0.1", .port = 9644, ...};
//   auto http = HttpListener::Start(std::move(o), {
//       {"/metrics", [&](const HttpRequest&) { return HttpResponse::Text(200, metrics.Scrape()); }},
//       {"/api/v1/", ...},   // a route ending in '/' takes every path under it
//       {"/", ...},          // (but "/" itself only "/")
//   });
//   ...
//   (*http)->Stop();
//
// Contract
//   - Only GET and HEAD (HEAD answers the headers alone); any other method
//     gets 405, a path no route takes 404, a request line or header that
//     is not HTTP/1.x 400, headers beyond max_header_bytes 431, a request
//     with a body 400 (nothing here takes one), a handler that throws 500.
//     A connection that has not sent its whole request (TLS handshake
//     included) within request_timeout_ms of its accept is closed; so is
//     one that does not take its answer in that time. Stop() cuts the
//     connections being served short. IPv4 only.
//   - The broker's own threads never serve HTTP: num_threads workers do,
//     and connections beyond max_connections waiting for one are closed at
//     accept, so slow or hostile clients tie up at most these.
//   - `authorize`, when set, is asked for every request with the session:
//     the principal (User:<mapped DN> for a client certificate, else
//     User:ANONYMOUS), the peer's address and the listener's name; false
//     answers 403.
//   - Handlers run on the workers and must be thread-safe.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "broker/security/principal.h"
#include "broker/security/principal_mapping.h"
#include "broker/security/tls_context.h"


namespace strata::server {

struct HttpRequest {
  std::string method;  // GET or HEAD
  std::string path;    // decoded, without the query
  std::string query;   // after '?', undecoded
  std::string principal;
  std::string peer_host;
  std::string origin;  // the Origin header, "" without one
};

struct HttpResponse {
  int status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;
  std::string extra_headers;  // whole lines, each ending in "\r\n"

  static HttpResponse Text(int status, std::string body);
  static HttpResponse Json(int status, std::string body);
};

using HttpHandler = std::function<HttpResponse(const HttpRequest&)>;

class HttpListener {
 public:
  struct Options {
    std::string name = "HTTP";
    std::string host;  // empty or 0.0.0.0: every interface
    int32_t port = 0;  // 0 picks one: port()
    // TLS when set; principals from certificates through `mapping`.
    std::shared_ptr<security::TlsContext> tls;
    std::shared_ptr<const security::SslPrincipalMapper> mapping;
    std::function<bool(const security::Session& session)> authorize;
    int num_threads = 4;
    int max_connections = 64;  // accepted and not yet answered
    int request_timeout_ms = 10000;
    int max_header_bytes = 16384;
  };

  static absl::StatusOr<std::unique_ptr<HttpListener>> Start(
      Options options, std::map<std::string, HttpHandler> routes);
  ~HttpListener();  // Stop()s
  HttpListener(const HttpListener&) = delete;
  HttpListener& operator=(const HttpListener&) = delete;

  void Stop();
  int32_t port() const { return port_; }

 private:
  HttpListener(Options options, std::map<std::string, HttpHandler> routes)
      : options_(std::move(options)), routes_(std::move(routes)) {}

  void AcceptLoop();
  void WorkerLoop();
  void Serve(int fd, const std::string& peer_host, std::chrono::steady_clock::time_point accepted);
  HttpResponse Answer(const HttpRequest& request, const security::Principal& principal) const;
  const HttpHandler* Route(const std::string& path) const;

  const Options options_;
  const std::map<std::string, HttpHandler> routes_;
  int listen_fd_ = -1;
  int wake_fd_ = -1;
  int32_t port_ = 0;
  std::thread acceptor_;
  std::vector<std::thread> workers_;
  std::mutex mu_;
  std::condition_variable ready_;
  struct Accepted {
    int fd;
    std::string peer_host;
    std::chrono::steady_clock::time_point at;
  };
  std::deque<Accepted> queue_;
  std::set<int> in_service_;  // the descriptors being served (Stop shuts them down)
  bool stopping_ = false;
};

}  // namespace strata::server
