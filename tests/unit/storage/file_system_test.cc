#include "broker/storage/file_system.h"

#include <cstdlib>
#include <string>

#include "broker/storage/caching_file_system.h"
#include "broker/storage/checkpoint_file.h"
#include "broker/storage/mem_file_system.h"
#include "gtest/gtest.h"

namespace strata::storage {
namespace {

TEST(MemFileSystemTest, CrashKeepsOnlySyncedBytes) {
  MemFileSystem fs;
  ASSERT_TRUE(fs.CreateDirs("/d").ok());
  auto f = fs.Open("/d/a", true);
  ASSERT_TRUE(f.ok());
  ASSERT_TRUE((*f)->Append("hello ").ok());
  ASSERT_TRUE((*f)->Sync().ok());
  ASSERT_TRUE((*f)->Append("world").ok());
  EXPECT_EQ(fs.Contents("/d/a"), "hello world");

  fs.SimulateCrash();
  EXPECT_EQ(fs.Contents("/d/a"), "hello ");
  // The old handle is dead: nothing can be written through it after a crash.
  EXPECT_FALSE((*f)->Append("zombie").ok());
  EXPECT_EQ(fs.Contents("/d/a"), "hello ");
}

TEST(MemFileSystemTest, ShortWriteWritesPrefixAndFails) {
  MemFileSystem fs;
  ASSERT_TRUE(fs.CreateDirs("/d").ok());
  auto f = fs.Open("/d/x.log", true);
  ASSERT_TRUE(f.ok());
  fs.InjectShortWrite(".log", 3);
  EXPECT_FALSE((*f)->Append("abcdef").ok());
  EXPECT_EQ((*f)->Size(), 3u);
  EXPECT_TRUE((*f)->Append("gh").ok());  // one-shot
  EXPECT_EQ(fs.Contents("/d/x.log"), "abcgh");
}

TEST(MemFileSystemTest, DirectoriesRenameAndDelete) {
  MemFileSystem fs;
  ASSERT_TRUE(fs.CreateDirs("/r/t-0").ok());
  ASSERT_TRUE(fs.Open("/r/t-0/f", true).ok());
  EXPECT_FALSE(fs.Open("/r/missing/f", true).ok());
  ASSERT_TRUE(fs.Rename("/r/t-0", "/r/t-0.deleting").ok());
  EXPECT_TRUE(fs.Exists("/r/t-0.deleting/f"));
  EXPECT_FALSE(fs.Exists("/r/t-0/f"));
  auto names = fs.ListDir("/r");
  ASSERT_TRUE(names.ok());
  EXPECT_EQ(*names, std::vector<std::string>{"t-0.deleting"});
  ASSERT_TRUE(fs.DeleteDirRecursively("/r/t-0.deleting").ok());
  EXPECT_TRUE(fs.ListDir("/r")->empty());
}

TEST(MemFileSystemTest, CountsOpenHandles) {
  MemFileSystem fs;
  ASSERT_TRUE(fs.CreateDirs("/d").ok());
  {
    auto a = fs.Open("/d/a", true);
    auto b = fs.Open("/d/b", true);
    EXPECT_EQ(fs.open_files(), 2);
    auto r = fs.OpenForReading("/d/a");
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(fs.open_files(), 3);
    EXPECT_TRUE(absl::IsNotFound(fs.OpenForReading("/d/missing").status()));
  }
  EXPECT_EQ(fs.open_files(), 0);
  EXPECT_EQ(fs.peak_open_files(), 3);
  fs.ResetPeakOpenFiles();
  EXPECT_EQ(fs.peak_open_files(), 0);
  // Checkpoints are written and read without keeping a descriptor.
  ASSERT_TRUE(WriteCheckpoint(&fs, "/d/cp", {{"x", 1}}).ok());
  ASSERT_TRUE(ReadCheckpoint(&fs, "/d/cp").ok());
  EXPECT_EQ(fs.open_files(), 0);
  EXPECT_EQ(*fs.FileSize("/d/cp"), fs.Contents("/d/cp")->size());
  EXPECT_TRUE(absl::IsNotFound(fs.FileSize("/d/missing").status()));
}

TEST(CachingFileSystemTest, KeepsAtMostCapacityReadHandles) {
  MemFileSystem mem;
  CachingFileSystem fs(&mem, 3);
  ASSERT_TRUE(fs.CreateDirs("/d/t-0").ok());
  for (int i = 0; i < 6; ++i) {
    auto f = fs.Open("/d/t-0/" + std::to_string(i), true);
    ASSERT_TRUE((*f)->Append("file " + std::to_string(i)).ok());
  }
  EXPECT_EQ(mem.open_files(), 0);
  for (int round = 0; round < 2; ++round) {
    for (int i = 0; i < 6; ++i) {
      auto f = fs.OpenForReading("/d/t-0/" + std::to_string(i));
      ASSERT_TRUE(f.ok());
      EXPECT_EQ(*(*f)->ReadExactly(5, 1), std::to_string(i));
    }
  }
  EXPECT_EQ(fs.cached(), 3u);
  EXPECT_EQ(mem.open_files(), 3);
  // The most recently used ones are kept: reading them again opens nothing.
  auto again = fs.OpenForReading("/d/t-0/5");
  EXPECT_EQ(mem.open_files(), 3);
  EXPECT_EQ(mem.peak_open_files(), 4);  // one over while the LRU end was replaced

  // Deleting a file, or renaming or deleting its directory, closes its
  // cached handle (else it would keep a deleted file's space); a reader
  // still holding it keeps it until done.
  ASSERT_TRUE(fs.DeleteFile("/d/t-0/4").ok());
  EXPECT_EQ(fs.cached(), 2u);
  ASSERT_TRUE(fs.Rename("/d/t-0", "/d/t-0.deleting").ok());
  EXPECT_EQ(fs.cached(), 0u);
  EXPECT_EQ(mem.open_files(), 1);  // `again`
  EXPECT_EQ(*(*again)->ReadExactly(5, 1), "5");
  again->reset();
  EXPECT_EQ(mem.open_files(), 0);
  EXPECT_TRUE(absl::IsNotFound(fs.OpenForReading("/d/t-0/5").status()));
  auto moved = fs.OpenForReading("/d/t-0.deleting/5");
  ASSERT_TRUE(moved.ok());
  moved->reset();
  ASSERT_TRUE(fs.DeleteDirRecursively("/d/t-0.deleting").ok());
  EXPECT_EQ(fs.cached(), 0u);
  EXPECT_EQ(mem.open_files(), 0);
}

TEST(PosixFileSystemTest, AppendReadTruncateAtomicWrite) {
  char tmpl[] = "/tmp/strata-fs-test-XXXXXX";
  ASSERT_NE(mkdtemp(tmpl), nullptr);
  const std::string dir = tmpl;
  FileSystem* fs = FileSystem::Default();
  {
    auto f = fs->Open(dir + "/a", true);
    ASSERT_TRUE(f.ok());
    ASSERT_TRUE((*f)->Append("0123456789").ok());
    EXPECT_EQ(*(*f)->ReadExactly(2, 3), "234");
    EXPECT_FALSE((*f)->ReadExactly(8, 5).ok());
    ASSERT_TRUE((*f)->Truncate(4).ok());
    EXPECT_FALSE((*f)->Truncate(8).ok());
    EXPECT_EQ(*(*f)->ReadAll(), "0123");
  }
  auto reopened = fs->Open(dir + "/a", false);
  ASSERT_TRUE(reopened.ok());
  EXPECT_EQ((*reopened)->Size(), 4u);
  EXPECT_EQ(*fs->FileSize(dir + "/a"), 4u);
  EXPECT_TRUE(absl::IsNotFound(fs->FileSize(dir + "/nope").status()));
  auto reader = fs->OpenForReading(dir + "/a");
  ASSERT_TRUE(reader.ok());
  EXPECT_EQ(*(*reader)->ReadExactly(1, 2), "12");
  EXPECT_TRUE(absl::IsNotFound(fs->Open(dir + "/nope", false).status()));

  ASSERT_TRUE(WriteCheckpoint(fs, dir + "/cp", {{"recovery-point", 42}, {"x", -1}}).ok());
  auto cp = ReadCheckpoint(fs, dir + "/cp");
  ASSERT_TRUE(cp.ok()) << cp.status();
  EXPECT_EQ((*cp)["recovery-point"], 42);
  EXPECT_EQ((*cp)["x"], -1);
  EXPECT_FALSE(fs->Exists(dir + "/cp.tmp"));
  ASSERT_TRUE(fs->DeleteDirRecursively(dir).ok());
}

TEST(CheckpointFileTest, RejectsMalformedFilesNamingTheLine) {
  MemFileSystem fs;
  ASSERT_TRUE(fs.CreateDirs("/c").ok());
  for (const char* text : {"", "1\n0\n", "0\n2\na 1\n", "0\n1\na\n", "0\n1\na x\n"}) {
    auto f = fs.Open("/c/cp", true);
    ASSERT_TRUE((*f)->Truncate(0).ok());
    ASSERT_TRUE((*f)->Append(text).ok());
    auto cp = ReadCheckpoint(&fs, "/c/cp");
    EXPECT_TRUE(absl::IsDataLoss(cp.status())) << "accepted: " << text;
    EXPECT_NE(cp.status().message().find("/c/cp line"), absl::string_view::npos);
  }
}

}  // namespace
}  // namespace strata::storage
