// TxnIndex: a segment's aborted transactions in Kafka's .txnindex format.
#include "broker/storage/txn_index.h"

#include "broker/storage/mem_file_system.h"
#include "gtest/gtest.h"

namespace strata::storage {
namespace {

constexpr char kPath[] = "/d/00000000000000000000.txnindex";

AbortedTxn Txn(int64_t pid, int64_t first, int64_t last, int64_t lso) {
  return AbortedTxn{pid, Offset(first), Offset(last), Offset(lso)};
}

TEST(TxnIndexTest, WritesKafkasLayoutOnlyOnceThereIsAnAbort) {
  MemFileSystem fs;
  ASSERT_TRUE(fs.CreateDirs("/d").ok());
  auto index = TxnIndex::Open(&fs, kPath);
  ASSERT_TRUE(index.ok()) << index.status();
  ASSERT_TRUE(index->Sync().ok());
  EXPECT_FALSE(fs.Exists(kPath)) << "no abort, no file";

  ASSERT_TRUE(index->Append(Txn(0x0102030405060708, 9, 12, 13)).ok());
  ASSERT_TRUE(index->Sync().ok());
  const std::optional<std::string> bytes = fs.Contents(kPath);
  ASSERT_TRUE(bytes.has_value());
  const std::string expected = std::string("\0\0", 2) +                // version 0
                               std::string("\1\2\3\4\5\6\7\x08", 8) +  // producer id
                               std::string("\0\0\0\0\0\0\0\x09", 8) +  // first offset
                               std::string("\0\0\0\0\0\0\0\x0c", 8) +  // last offset
                               std::string("\0\0\0\0\0\0\0\x0d", 8);   // last stable offset
  EXPECT_EQ(*bytes, expected);

  auto reopened = TxnIndex::Open(&fs, kPath);
  ASSERT_TRUE(reopened.ok()) << reopened.status();
  EXPECT_EQ(reopened->entries(), std::vector<AbortedTxn>{Txn(0x0102030405060708, 9, 12, 13)});
  ASSERT_TRUE(reopened->Delete().ok());
  EXPECT_FALSE(fs.Exists(kPath));
}

TEST(TxnIndexTest, CollectsWhatOverlapsTheRangeAndTruncatesBySuffix) {
  MemFileSystem fs;
  ASSERT_TRUE(fs.CreateDirs("/d").ok());
  auto index = TxnIndex::Open(&fs, kPath);
  ASSERT_TRUE(index.ok());
  ASSERT_TRUE(index->Append(Txn(1, 0, 10, 5)).ok());
  ASSERT_TRUE(index->Append(Txn(2, 5, 20, 21)).ok());
  ASSERT_TRUE(index->Append(Txn(3, 30, 31, 32)).ok());
  auto collect = [&](int64_t from, int64_t upper) {
    std::vector<AbortedTxn> out;
    index->Collect(Offset(from), Offset(upper), &out);
    std::vector<int64_t> pids;
    for (const AbortedTxn& t : out) pids.push_back(t.producer_id);
    return pids;
  };
  EXPECT_EQ(collect(0, 100), (std::vector<int64_t>{1, 2, 3}));
  EXPECT_EQ(collect(11, 30), (std::vector<int64_t>{2})) << "upper bound is exclusive";
  EXPECT_EQ(collect(10, 31), (std::vector<int64_t>{1, 2, 3})) << "last offset is inclusive";
  EXPECT_EQ(collect(21, 30), (std::vector<int64_t>{}));

  ASSERT_TRUE(index->TruncateTo(Offset(20)).ok());  // drops the markers at 20 and 31
  EXPECT_EQ(collect(0, 100), (std::vector<int64_t>{1}));
  ASSERT_TRUE(index->Sync().ok());
  auto reopened = TxnIndex::Open(&fs, kPath);
  ASSERT_TRUE(reopened.ok());
  EXPECT_EQ(reopened->entries(), index->entries());
}

TEST(TxnIndexTest, ATornLastEntryIsCutAndACorruptOneNamed) {
  MemFileSystem fs;
  ASSERT_TRUE(fs.CreateDirs("/d").ok());
  {
    auto index = TxnIndex::Open(&fs, kPath);
    ASSERT_TRUE(index->Append(Txn(1, 0, 10, 11)).ok());
    ASSERT_TRUE(index->Append(Txn(2, 11, 12, 13)).ok());
    ASSERT_TRUE(index->Sync().ok());
  }
  fs.TruncateFile(kPath, TxnIndex::kEntrySize + 7);
  auto torn = TxnIndex::Open(&fs, kPath);
  ASSERT_TRUE(torn.ok()) << torn.status();
  EXPECT_EQ(torn->entries(), std::vector<AbortedTxn>{Txn(1, 0, 10, 11)});
  EXPECT_EQ(fs.Contents(kPath)->size(), TxnIndex::kEntrySize);
  // Appending after the cut goes on from the whole entries.
  ASSERT_TRUE(torn->Append(Txn(2, 11, 12, 13)).ok());
  ASSERT_TRUE(torn->Sync().ok());
  EXPECT_EQ(TxnIndex::Open(&fs, kPath)->entries().size(), 2u);

  fs.CorruptByte(kPath, TxnIndex::kEntrySize + 1);  // the second entry's version
  auto corrupt = TxnIndex::Open(&fs, kPath);
  ASSERT_FALSE(corrupt.ok());
  EXPECT_TRUE(absl::IsDataLoss(corrupt.status())) << corrupt.status();
  EXPECT_NE(corrupt.status().message().find(
                "corrupt transaction index /d/00000000000000000000.txnindex: entry 1"),
            absl::string_view::npos)
      << corrupt.status();
}

// Power loss may leave the file longer than what reached the disk, the
// tail zeros: those entries were never synced, and are cut.
TEST(TxnIndexTest, ZeroedEntriesAtTheEndAreTornAndCut) {
  MemFileSystem fs;
  ASSERT_TRUE(fs.CreateDirs("/d").ok());
  {
    auto index = TxnIndex::Open(&fs, kPath);
    ASSERT_TRUE(index->Append(Txn(3, 10, 12, 13)).ok());
    ASSERT_TRUE(index->Sync().ok());
  }
  auto file = fs.Open(kPath, /*create=*/false);
  ASSERT_TRUE(file.ok());
  ASSERT_TRUE((*file)->Append(std::string(2 * TxnIndex::kEntrySize, '\0')).ok());
  ASSERT_TRUE((*file)->Sync().ok());
  file->reset();
  auto reopened = TxnIndex::Open(&fs, kPath);
  ASSERT_TRUE(reopened.ok()) << reopened.status();
  EXPECT_EQ(reopened->entries(), std::vector<AbortedTxn>{Txn(3, 10, 12, 13)});
  EXPECT_EQ(fs.Contents(kPath)->size(), TxnIndex::kEntrySize);
}

}  // namespace
}  // namespace strata::storage
