#include "tools/leader_election.h"

#include <ostream>

#include "absl/strings/ascii.h"
#include "absl/strings/str_join.h"
#include "fmt/format.h"

namespace strata::tools {

absl::StatusOr<v1::ElectLeadersRequest> BuildElectLeadersRequest(
    const LeaderElectionOptions& options) {
  v1::ElectLeadersRequest request;
  const std::string type = absl::AsciiStrToUpper(options.election_type);
  if (type == "PREFERRED") {
    request.set_election_type(v1::PREFERRED);
  } else if (type == "UNCLEAN") {
    request.set_election_type(v1::UNCLEAN);
  } else {
    return absl::InvalidArgumentError(
        fmt::format("Invalid election type '{}': must be PREFERRED or UNCLEAN",
                    options.election_type));
  }
  if (options.all_topic_partitions == options.topic.has_value()) {
    return absl::InvalidArgumentError(
        "One and only one of the following options is required: --all-topic-partitions, "
        "--topic");
  }
  if (options.partition.has_value() && !options.topic.has_value()) {
    return absl::InvalidArgumentError("--partition requires --topic");
  }
  if (options.topic.has_value()) {
    if (!options.partition.has_value()) {
      return absl::InvalidArgumentError(
          "Missing required option(s): partition (--topic requires --partition)");
    }
    v1::ElectLeadersPartitions* tp = request.add_topic_partitions();
    tp->set_topic(*options.topic);
    tp->add_partitions(*options.partition);
  }
  request.set_timeout_ms(30000);
  return request;
}

std::vector<std::string> FormatElectionResults(v1::ElectionType type,
                                               const v1::ElectLeadersResponse& response,
                                               int* failed) {
  const std::string name = v1::ElectionType_Name(type);
  std::vector<std::string> succeeded;
  std::vector<std::string> noop;
  std::vector<std::string> errors;
  for (const v1::PartitionElectionResult& r : response.results()) {
    const std::string tp = fmt::format("{}-{}", r.topic(), r.partition());
    if (r.error() == v1::NONE) {
      succeeded.push_back(tp);
    } else if (r.error() == v1::ELECTION_NOT_NEEDED) {
      noop.push_back(tp);
    } else {
      errors.push_back(fmt::format("Error completing leader election ({}) for partition: {}: {}: {}",
                                   name, tp, v1::ErrorCode_Name(r.error()), r.error_message()));
    }
  }
  std::vector<std::string> lines;
  if (!succeeded.empty()) {
    lines.push_back(fmt::format("Successfully completed leader election ({}) for partitions {}",
                                name, absl::StrJoin(succeeded, ", ")));
  }
  if (!noop.empty()) {
    lines.push_back(
        fmt::format("Valid replica already elected for partitions {}", absl::StrJoin(noop, ", ")));
  }
  lines.insert(lines.end(), errors.begin(), errors.end());
  *failed = static_cast<int>(errors.size());
  return lines;
}

int RunLeaderElection(client::Admin& admin, const LeaderElectionOptions& options,
                      std::ostream& out, std::ostream& err) {
  absl::StatusOr<v1::ElectLeadersRequest> request = BuildElectLeadersRequest(options);
  if (!request.ok()) {
    err << request.status().message() << "\n";
    return 1;
  }
  absl::StatusOr<v1::ElectLeadersResponse> response = admin.ElectLeaders(*request);
  if (!response.ok()) {
    err << "Error while electing leaders: " << response.status().message() << "\n";
    return 1;
  }
  if (response->error() != v1::NONE) {
    err << "Error while electing leaders: " << response->error_message() << "\n";
    return 1;
  }
  int failed = 0;
  for (const std::string& line : FormatElectionResults(request->election_type(), *response, &failed)) {
    out << line << "\n";
  }
  if (failed > 0) {
    err << "Error: " << failed << " replica(s) could not be elected\n";
    return 1;
  }
  return 0;
}

}  // namespace strata::tools
