// The topic-changing admin requests (create, delete, add partitions) answer
// with one TopicResult per topic named. Shared by the Admin service, which
// forwards them, and the QuorumController, which decides them.
#pragma once

#include <string>
#include <vector>

#include "strata/v1/admin.pb.h"

namespace strata::server {

inline std::vector<std::string> TopicNamesOf(const v1::CreateTopicsRequest& r) {
  std::vector<std::string> out;
  for (const auto& t : r.topics()) out.push_back(t.name());
  return out;
}
inline std::vector<std::string> TopicNamesOf(const v1::DeleteTopicsRequest& r) {
  return {r.names().begin(), r.names().end()};
}
inline std::vector<std::string> TopicNamesOf(const v1::CreatePartitionsRequest& r) {
  std::vector<std::string> out;
  for (const auto& t : r.topics()) out.push_back(t.name());
  return out;
}

// Replaces the results with `code` and `message` for every topic named.
template <typename Response>
void FailEveryTopic(const std::vector<std::string>& names, v1::ErrorCode code,
                    const std::string& message, Response* response) {
  response->clear_results();
  for (const std::string& name : names) {
    v1::TopicResult* r = response->add_results();
    r->set_name(name);
    r->set_error(code);
    r->set_error_message(message);
  }
}

template <typename Response>
bool TopicSucceeded(const Response& response, const std::string& name) {
  for (const auto& r : response.results()) {
    if (r.name() == name) return r.error() == v1::NONE;
  }
  return false;
}

}  // namespace strata::server
