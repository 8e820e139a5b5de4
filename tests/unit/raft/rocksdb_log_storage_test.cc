#include "raft/node/rocksdb_log_storage.h"

#include <cstdlib>
#include <filesystem>

#include "gtest/gtest.h"

namespace strata::raft {
namespace {

Entry E(uint64_t term, uint64_t index, std::string data = "") {
  return Entry{Term(term), Index(index), data.empty() ? "d" + std::to_string(index) : data};
}

class RocksDbLogStorageTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/strata-raft-storage-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::unique_ptr<RocksDbLogStorage> Open() {
    auto s = RocksDbLogStorage::Open(dir_, conf_);
    EXPECT_TRUE(s.ok()) << s.status();
    return s.ok() ? std::move(*s) : nullptr;
  }

  std::string dir_;
  ConfState conf_{{NodeId(1), NodeId(2), NodeId(3)}, {NodeId(4)}};
};

TEST_F(RocksDbLogStorageTest, FreshStorageIsBootstrappedWithTheMembership) {
  auto s = Open();
  EXPECT_EQ(s->FirstIndex(), Index(1));
  EXPECT_EQ(s->LastIndex(), Index(0));
  EXPECT_EQ(s->GetInitialState().conf_state, conf_);
  EXPECT_EQ(s->GetInitialState().hard_state, HardState{});
  EXPECT_EQ(*s->TermAt(Index(0)), Term(0));
  EXPECT_TRUE(IsIndexUnavailable(s->TermAt(Index(1)).status()));
  EXPECT_TRUE(s->GetSnapshot()->empty());
}

TEST_F(RocksDbLogStorageTest, TermVoteAndLogSurviveReopen) {
  {
    auto s = Open();
    ASSERT_TRUE(s->Save(std::nullopt, {E(1, 1), E(1, 2), E(2, 3)},
                        HardState{Term(2), NodeId(3), Index(2)})
                    .ok());
  }
  // A reopen with another bootstrap membership keeps the stored one.
  conf_ = ConfState{{NodeId(9)}, {}};
  auto s = Open();
  EXPECT_EQ(s->GetInitialState().hard_state, (HardState{Term(2), NodeId(3), Index(2)}));
  EXPECT_EQ(s->GetInitialState().conf_state.voters.size(), 3u);
  EXPECT_EQ(s->LastIndex(), Index(3));
  auto entries = s->Entries(Index(1), Index(4), UINT64_MAX);
  ASSERT_TRUE(entries.ok());
  EXPECT_EQ(*entries, (std::vector<Entry>{E(1, 1), E(1, 2), E(2, 3)}));
  EXPECT_EQ(*s->TermAt(Index(3)), Term(2));
}

TEST_F(RocksDbLogStorageTest, AppendOverwritesADivergentSuffix) {
  auto s = Open();
  ASSERT_TRUE(s->Append({E(1, 1), E(1, 2), E(1, 3), E(1, 4)}).ok());
  ASSERT_TRUE(s->Append({E(2, 3, "new")}).ok());
  EXPECT_EQ(s->LastIndex(), Index(3));
  EXPECT_EQ(*s->TermAt(Index(3)), Term(2));
  s.reset();
  s = Open();
  EXPECT_EQ(s->LastIndex(), Index(3));
  EXPECT_EQ((*s->Entries(Index(3), Index(4), UINT64_MAX))[0].data, "new");
}

TEST_F(RocksDbLogStorageTest, EntriesHonoursMaxBytesButReturnsOne) {
  auto s = Open();
  ASSERT_TRUE(s->Append({E(1, 1, std::string(10, 'a')), E(1, 2, std::string(10, 'b')),
                         E(1, 3, std::string(10, 'c'))})
                  .ok());
  EXPECT_EQ(s->Entries(Index(1), Index(4), 0)->size(), 1u);
  EXPECT_EQ(s->Entries(Index(1), Index(4), 20)->size(), 2u);
  EXPECT_TRUE(IsIndexUnavailable(s->Entries(Index(1), Index(5), 100).status()));
}

TEST_F(RocksDbLogStorageTest, SnapshotAndCompactionSurviveReopen) {
  {
    auto s = Open();
    std::vector<Entry> entries;
    for (uint64_t i = 1; i <= 10; ++i) entries.push_back(E(i <= 5 ? 1 : 2, i));
    ASSERT_TRUE(s->Append(entries).ok());
    ASSERT_TRUE(s->CreateSnapshot(Index(8), "state@8").ok());
    EXPECT_TRUE(IsSnapshotOutOfDate(s->CreateSnapshot(Index(7), "old")));
    EXPECT_FALSE(s->Compact(Index(9)).ok());  // would pass the snapshot
    ASSERT_TRUE(s->Compact(Index(6)).ok());
    EXPECT_EQ(s->FirstIndex(), Index(7));
    EXPECT_EQ(*s->TermAt(Index(6)), Term(2));  // the compaction point's term stays readable
    EXPECT_TRUE(IsCompacted(s->TermAt(Index(5)).status()));
    EXPECT_TRUE(IsCompacted(s->Entries(Index(6), Index(8), 100).status()));
  }
  auto s = Open();
  EXPECT_EQ(s->FirstIndex(), Index(7));
  EXPECT_EQ(s->LastIndex(), Index(10));
  auto snap = s->GetSnapshot();
  ASSERT_TRUE(snap.ok());
  EXPECT_EQ(snap->metadata.index, Index(8));
  EXPECT_EQ(snap->metadata.term, Term(2));
  EXPECT_EQ(snap->data, "state@8");
  EXPECT_EQ(snap->metadata.conf_state, conf_);
}

TEST_F(RocksDbLogStorageTest, ApplyingALeadersSnapshotReplacesTheLog) {
  auto s = Open();
  ASSERT_TRUE(s->Append({E(1, 1), E(1, 2)}).ok());
  Snapshot snap{SnapshotMetadata{Index(50), Term(4), ConfState{{NodeId(1), NodeId(2)}, {}}}, "big"};
  ASSERT_TRUE(s->Save(snap, {E(4, 51)}, HardState{Term(4), NodeId(), Index(50)}).ok());
  EXPECT_EQ(s->FirstIndex(), Index(51));
  EXPECT_EQ(s->LastIndex(), Index(51));
  EXPECT_EQ(*s->TermAt(Index(50)), Term(4));
  s.reset();
  s = Open();
  EXPECT_EQ(s->FirstIndex(), Index(51));
  EXPECT_EQ(s->LastIndex(), Index(51));
  EXPECT_EQ(s->GetInitialState().conf_state.voters.size(), 2u);
  EXPECT_EQ(s->GetSnapshot()->data, "big");
  EXPECT_TRUE(IsSnapshotOutOfDate(s->ApplySnapshot(snap)));
}

}  // namespace
}  // namespace strata::raft
