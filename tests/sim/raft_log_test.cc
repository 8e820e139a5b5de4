// Unit tests of the log layers under the core: MemoryLogStorage and RaftLog.
#include "gtest/gtest.h"
#include "raft/memory_log_storage.h"
#include "raft/raft_log.h"

namespace strata::raft {
namespace {

std::vector<Entry> Ents(uint64_t first, const std::vector<uint64_t>& terms) {
  std::vector<Entry> out;
  for (size_t i = 0; i < terms.size(); ++i) {
    out.push_back(Entry{Term(terms[i]), Index(first + i), "e" + std::to_string(first + i)});
  }
  return out;
}

ConfState Three() { return ConfState{{NodeId(1), NodeId(2), NodeId(3)}, {}}; }

TEST(MemoryLogStorage, AppendTruncatesConflictingSuffix) {
  MemoryLogStorage s(Three());
  ASSERT_TRUE(s.Append(Ents(1, {1, 1, 2, 2})).ok());
  ASSERT_TRUE(s.Append(Ents(3, {3})).ok());
  EXPECT_EQ(s.LastIndex(), Index(3));
  EXPECT_EQ(*s.TermAt(Index(3)), Term(3));
  EXPECT_FALSE(s.Append(Ents(6, {3})).ok());  // gap
  EXPECT_TRUE(IsIndexUnavailable(s.TermAt(Index(4)).status()));
}

TEST(MemoryLogStorage, SnapshotAndCompact) {
  MemoryLogStorage s(Three());
  ASSERT_TRUE(s.Append(Ents(1, {1, 1, 2, 2, 3})).ok());
  EXPECT_FALSE(s.Compact(Index(3)).ok());  // no snapshot covers it yet
  ASSERT_TRUE(s.CreateSnapshot(Index(4), "state").ok());
  ASSERT_TRUE(s.Compact(Index(3)).ok());
  EXPECT_EQ(s.FirstIndex(), Index(4));
  EXPECT_EQ(*s.TermAt(Index(3)), Term(2));  // the sentinel keeps its term
  EXPECT_TRUE(IsCompacted(s.TermAt(Index(2)).status()));
  EXPECT_TRUE(IsCompacted(s.Entries(Index(3), Index(5), 100).status()));
  auto ents = s.Entries(Index(4), Index(6), 0);
  ASSERT_TRUE(ents.ok());
  EXPECT_EQ(ents->size(), 1u);  // max_bytes 0 still returns one entry
  EXPECT_TRUE(IsSnapshotOutOfDate(s.CreateSnapshot(Index(4), "again")));
  Snapshot newer{SnapshotMetadata{Index(10), Term(5), Three()}, "newer"};
  ASSERT_TRUE(s.ApplySnapshot(newer).ok());
  EXPECT_EQ(s.FirstIndex(), Index(11));
  EXPECT_EQ(s.LastIndex(), Index(10));
  EXPECT_EQ(*s.TermAt(Index(10)), Term(5));
}

TEST(RaftLog, UnstableTailShadowsStorageUntilStable) {
  MemoryLogStorage s(Three());
  ASSERT_TRUE(s.Append(Ents(1, {1, 1, 1})).ok());
  RaftLog log(&s, Index(1), Index(0));
  // A new leader's entries replace 3 onward (uncommitted).
  auto last = log.MaybeAppend(Index(2), Term(1), Index(3), Ents(3, {2, 2}));
  ASSERT_TRUE(last.has_value());
  EXPECT_EQ(*last, Index(4));
  EXPECT_EQ(*log.TermAt(Index(3)), Term(2));
  EXPECT_EQ(log.committed(), Index(3));
  ASSERT_EQ(log.unstable_entries().size(), 2u);
  ASSERT_TRUE(s.Append(log.unstable_entries()).ok());
  log.StableTo(Index(4), false);
  EXPECT_TRUE(log.unstable_entries().empty());
  EXPECT_EQ(log.LastIndex(), Index(4));
  EXPECT_EQ(*log.TermAt(Index(3)), Term(2));
  // Mismatching previous entry: refused.
  EXPECT_FALSE(log.MaybeAppend(Index(4), Term(3), Index(4), {}).has_value());
}

TEST(RaftLog, UpToDateAndConflictHints) {
  MemoryLogStorage s(Three());
  ASSERT_TRUE(s.Append(Ents(1, {1, 1, 1, 4, 4, 5, 5, 6, 6, 6})).ok());
  RaftLog log(&s, Index(0), Index(0));
  EXPECT_TRUE(log.IsUpToDate(Index(1), Term(7)));
  EXPECT_TRUE(log.IsUpToDate(Index(10), Term(6)));
  EXPECT_FALSE(log.IsUpToDate(Index(11), Term(5)));
  EXPECT_FALSE(log.IsUpToDate(Index(9), Term(6)));
  EXPECT_EQ(log.FindConflictByTerm(Index(10), Term(3)), std::make_pair(Index(3), Term(1)));
  EXPECT_EQ(log.FindConflictByTerm(Index(10), Term(5)), std::make_pair(Index(7), Term(5)));
  EXPECT_EQ(log.FindConflictByTerm(Index(10), Term(0)), std::make_pair(Index(0), Term(0)));
}

TEST(RaftLog, CommitsOnlyEntriesOfTheGivenTerm) {
  MemoryLogStorage s(Three());
  ASSERT_TRUE(s.Append(Ents(1, {1, 2, 3})).ok());
  RaftLog log(&s, Index(0), Index(0));
  EXPECT_FALSE(log.MaybeCommit(Index(2), Term(3)));  // entry 2 is of term 2
  EXPECT_TRUE(log.MaybeCommit(Index(3), Term(3)));
  EXPECT_EQ(log.committed(), Index(3));
  EXPECT_EQ(log.NextCommittedEntries(UINT64_MAX).size(), 3u);
}

}  // namespace
}  // namespace strata::raft
