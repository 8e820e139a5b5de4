// `strata metadata-quorum describe --status|--replication` (Kafka's
// kafka-metadata-quorum.sh) and `strata brokers --list`.
//
// Format* are pure; Run* talk to the cluster through client::Admin and
// return the process exit code.
#pragma once

#include <iosfwd>
#include <string>
#include <vector>

#include "client/admin.h"
#include "strata/v1/admin.pb.h"

namespace strata::tools {

// Kafka's --status lines:
//   ClusterId:              <id>
//   LeaderId:               1
//   LeaderEpoch:            5
//   HighWatermark:          123
//   MaxFollowerLag:         0      leader's LEO minus the lowest voter LEO
//   MaxFollowerLagTimeMs:   0      leader's minus that voter's last caught-up time
//   CurrentVoters:          [1,2,3]
//   CurrentObservers:       []
// With no leader among the voters, both lag fields are -1.
std::vector<std::string> FormatQuorumStatus(const v1::DescribeQuorumResponse& quorum);

// Kafka's --replication table: the leader, the other voters, then the
// observers; columns NodeId LogEndOffset Lag LastFetchTimestamp
// LastCaughtUpTimestamp Status, each cell padded to its column's width and
// followed by a tab (Kafka's ToolsUtils.prettyPrintTable).
std::vector<std::string> FormatQuorumReplication(const v1::DescribeQuorumResponse& quorum);

// `brokers --list`: the ids of the registered, unfenced brokers, ascending,
// one per line -- the brokers `ls /brokers/ids` listed in ZooKeeper (live
// brokers only; a fenced broker is one whose session lapsed, whose znode
// would have gone).
std::vector<std::string> FormatBrokerList(const v1::DescribeClusterResponse& cluster);

int RunQuorumStatus(client::Admin& admin, std::ostream& out, std::ostream& err);
int RunQuorumReplication(client::Admin& admin, std::ostream& out, std::ostream& err);
int RunBrokerList(client::Admin& admin, std::ostream& out, std::ostream& err);

// `strata cluster unregister --bootstrap-server H:P --id N` (Kafka's
// kafka-cluster.sh unregister): forgets a stopped broker, printing "Broker N
// is no longer registered."; the broker's error (not registered, still
// running, still holding replicas) goes to `err` with exit code 1.
int RunUnregisterBroker(client::Admin& admin, int32_t broker_id, std::ostream& out,
                        std::ostream& err);

}  // namespace strata::tools
