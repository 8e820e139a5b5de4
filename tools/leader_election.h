// `strata leader-election` (Kafka's kafka-leader-election.sh):
//
//   strata leader-election --bootstrap-server H:P --election-type PREFERRED|UNCLEAN
//       (--topic T --partition P | --all-topic-partitions)
//
// PREFERRED moves leadership back to each partition's first replica when it
// is live and in sync; UNCLEAN gives a partition without a leader to a live
// replica outside the ISR (records only the old ISR had are lost).
#pragma once

#include <iosfwd>
#include <optional>
#include <string>
#include <vector>

#include "client/admin.h"
#include "strata/v1/admin.pb.h"

namespace strata::tools {

struct LeaderElectionOptions {
  std::string election_type;  // PREFERRED or UNCLEAN, any case
  std::optional<std::string> topic;
  std::optional<int32_t> partition;
  bool all_topic_partitions = false;
};

// Checks the options and builds the request; the error names what is wrong
// as Kafka's tool does.
absl::StatusOr<v1::ElectLeadersRequest> BuildElectLeadersRequest(
    const LeaderElectionOptions& options);

// Kafka's output lines:
//   Successfully completed leader election (PREFERRED) for partitions t-0, t-1
//   Valid replica already elected for partitions t-2
//   Error completing leader election (PREFERRED) for partition: t-3: <error>
// `failed` gets the number of partitions in the last group.
std::vector<std::string> FormatElectionResults(v1::ElectionType type,
                                               const v1::ElectLeadersResponse& response,
                                               int* failed);

int RunLeaderElection(client::Admin& admin, const LeaderElectionOptions& options,
                      std::ostream& out, std::ostream& err);

}  // namespace strata::tools
