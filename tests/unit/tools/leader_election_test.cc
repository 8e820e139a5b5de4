#include "tools/leader_election.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace strata::tools {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

TEST(LeaderElectionTest, OptionsAreCheckedAsKafkasToolDoes) {
  LeaderElectionOptions o;
  o.election_type = "preferred";
  o.all_topic_partitions = true;
  absl::StatusOr<v1::ElectLeadersRequest> r = BuildElectLeadersRequest(o);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->election_type(), v1::PREFERRED);
  EXPECT_EQ(r->topic_partitions_size(), 0) << "every partition";

  o.all_topic_partitions = false;
  o.election_type = "UNCLEAN";
  o.topic = "t";
  o.partition = 3;
  r = BuildElectLeadersRequest(o);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->election_type(), v1::UNCLEAN);
  ASSERT_EQ(r->topic_partitions_size(), 1);
  EXPECT_EQ(r->topic_partitions(0).topic(), "t");
  EXPECT_THAT(r->topic_partitions(0).partitions(), ElementsAre(3));

  o.election_type = "fastest";
  EXPECT_THAT(BuildElectLeadersRequest(o).status().message(), HasSubstr("'fastest'"));
  o.election_type = "preferred";
  o.all_topic_partitions = true;  // and --topic
  EXPECT_THAT(BuildElectLeadersRequest(o).status().message(), HasSubstr("One and only one"));
  o.all_topic_partitions = false;
  o.partition.reset();
  EXPECT_THAT(BuildElectLeadersRequest(o).status().message(), HasSubstr("--partition"));
}

TEST(LeaderElectionTest, ResultsPrintAsKafkaPrintsThem) {
  v1::ElectLeadersResponse resp;
  auto add = [&](const std::string& t, int p, v1::ErrorCode e, const std::string& m = "") {
    v1::PartitionElectionResult* r = resp.add_results();
    r->set_topic(t);
    r->set_partition(p);
    r->set_error(e);
    r->set_error_message(m);
  };
  add("t", 0, v1::NONE);
  add("t", 1, v1::ELECTION_NOT_NEEDED);
  add("t", 2, v1::NONE);
  add("u", 0, v1::PREFERRED_LEADER_NOT_AVAILABLE, "the preferred replica 2 is not live");
  int failed = 0;
  EXPECT_THAT(
      FormatElectionResults(v1::PREFERRED, resp, &failed),
      ElementsAre("Successfully completed leader election (PREFERRED) for partitions t-0, t-2",
                  "Valid replica already elected for partitions t-1",
                  "Error completing leader election (PREFERRED) for partition: u-0: "
                  "PREFERRED_LEADER_NOT_AVAILABLE: the preferred replica 2 is not live"));
  EXPECT_EQ(failed, 1);
}

}  // namespace
}  // namespace strata::tools
