#include "broker/storage/file_system.h"

#include <cstdlib>
#include <string>

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
