#include "broker/storage/file_system.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>

#include "absl/strings/str_cat.h"
#include "broker/storage/kafka_error.h"

namespace strata::storage {
namespace {

// Every failure but a missing or already existing file, or the process
// running short of descriptors or memory, is the disk's (ENOSPC, EDQUOT,
// EIO, EROFS, EACCES, ...): it carries KAFKA_STORAGE_ERROR,
// which takes the log directory offline and tells clients to retry
// elsewhere. A full disk is no MESSAGE_TOO_LARGE.
absl::Status ErrnoError(const char* what, const std::string& path, int err) {
  std::string msg = absl::StrCat(what, " ", path, ": ", std::strerror(err));
  switch (err) {
    case ENOENT:
      return absl::NotFoundError(msg);
    case EEXIST:
      return absl::AlreadyExistsError(msg);
    case EMFILE:
    case ENFILE:
    case ENOMEM:
    case EAGAIN:
    case EINTR:
      // The process, not the disk: out of descriptors or memory for a
      // moment. Retriable, and no reason to give up on the directory.
      return absl::UnavailableError(msg);
    case EACCES:
    case EPERM:
      return WithKafkaError(absl::PermissionDeniedError(msg), kKafkaStorageError);
    default:
      return WithKafkaError(absl::UnavailableError(msg), kKafkaStorageError);
  }
}

class PosixFile final : public File {
 public:
  PosixFile(std::string path, int fd, uint64_t size)
      : path_(std::move(path)), fd_(fd), size_(size) {}
  ~PosixFile() override { ::close(fd_); }

  absl::Status Append(std::string_view data) override {
    while (!data.empty()) {
      ssize_t n = ::pwrite(fd_, data.data(), data.size(), static_cast<off_t>(size_));
      if (n < 0) {
        if (errno == EINTR) continue;
        return ErrnoError("write", path_, errno);
      }
      size_ += static_cast<uint64_t>(n);
      data.remove_prefix(static_cast<size_t>(n));
    }
    return absl::OkStatus();
  }

  absl::StatusOr<size_t> ReadAt(uint64_t offset, size_t n, char* dst) const override {
    size_t done = 0;
    while (done < n) {
      ssize_t r = ::pread(fd_, dst + done, n - done, static_cast<off_t>(offset + done));
      if (r < 0) {
        if (errno == EINTR) continue;
        return ErrnoError("read", path_, errno);
      }
      if (r == 0) break;
      done += static_cast<size_t>(r);
    }
    return done;
  }

  absl::Status Truncate(uint64_t size) override {
    if (size > size_) {
      return absl::InvalidArgumentError(
          absl::StrCat("truncate ", path_, " to ", size, " would grow it from ", size_));
    }
    if (::ftruncate(fd_, static_cast<off_t>(size)) != 0)
      return ErrnoError("truncate", path_, errno);
    size_ = size;
    return absl::OkStatus();
  }

  absl::Status Sync() override {
    if (::fdatasync(fd_) != 0) return ErrnoError("fsync", path_, errno);
    return absl::OkStatus();
  }

  uint64_t Size() const override { return size_; }
  const std::string& path() const override { return path_; }

 private:
  std::string path_;
  int fd_;
  uint64_t size_;
};

class PosixFileSystem final : public FileSystem {
 public:
  absl::StatusOr<std::unique_ptr<File>> Open(const std::string& path, bool create) override {
    int flags = O_RDWR | O_CLOEXEC | (create ? O_CREAT : 0);
    int fd = ::open(path.c_str(), flags, 0644);
    if (fd < 0) return ErrnoError("open", path, errno);
    struct stat st;
    if (::fstat(fd, &st) != 0) {
      int err = errno;
      ::close(fd);
      return ErrnoError("stat", path, err);
    }
    return std::make_unique<PosixFile>(path, fd, static_cast<uint64_t>(st.st_size));
  }

  absl::StatusOr<uint64_t> FileSize(const std::string& path) override {
    struct stat st;
    if (::stat(path.c_str(), &st) != 0) return ErrnoError("stat", path, errno);
    return static_cast<uint64_t>(st.st_size);
  }

  bool Exists(const std::string& path) override { return ::access(path.c_str(), F_OK) == 0; }

  absl::Status CreateDirs(const std::string& path) override {
    std::error_code ec;
    std::filesystem::create_directories(path, ec);
    if (ec) return ErrnoError("mkdir", path, ec.value());
    return absl::OkStatus();
  }

  absl::StatusOr<std::vector<std::string>> ListDir(const std::string& path) override {
    DIR* dir = ::opendir(path.c_str());
    if (dir == nullptr) return ErrnoError("list", path, errno);
    std::vector<std::string> names;
    while (struct dirent* e = ::readdir(dir)) {
      std::string_view name = e->d_name;
      if (name != "." && name != "..") names.emplace_back(name);
    }
    ::closedir(dir);
    std::sort(names.begin(), names.end());
    return names;
  }

  absl::Status DeleteFile(const std::string& path) override {
    if (::unlink(path.c_str()) != 0) return ErrnoError("delete", path, errno);
    return absl::OkStatus();
  }

  absl::Status DeleteDirRecursively(const std::string& path) override {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
    if (ec) return ErrnoError("delete", path, ec.value());
    return absl::OkStatus();
  }

  absl::Status Rename(const std::string& from, const std::string& to) override {
    if (::rename(from.c_str(), to.c_str()) != 0) return ErrnoError("rename", from, errno);
    return absl::OkStatus();
  }

  absl::Status SyncDir(const std::string& path) override {
    int fd = ::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return ErrnoError("open", path, errno);
    int rc = ::fsync(fd);
    int err = errno;
    ::close(fd);
    if (rc != 0) return ErrnoError("fsync", path, err);
    return absl::OkStatus();
  }
};

}  // namespace

absl::StatusOr<std::string> File::ReadExactly(uint64_t offset, size_t n) const {
  std::string out(n, '\0');
  absl::StatusOr<size_t> got = ReadAt(offset, n, out.data());
  if (!got.ok()) return got.status();
  if (*got != n) {
    return absl::DataLossError(absl::StrCat("short read of ", path(), ": wanted ", n, " bytes at ",
                                            offset, ", file has ", Size()));
  }
  return out;
}

absl::StatusOr<std::string> File::ReadAll() const { return ReadExactly(0, Size()); }

absl::StatusOr<std::shared_ptr<const File>> FileSystem::OpenForReading(const std::string& path) {
  absl::StatusOr<std::unique_ptr<File>> file = Open(path, /*create=*/false);
  if (!file.ok()) return file.status();
  return std::shared_ptr<const File>(std::move(*file));
}

absl::Status FileSystem::WriteFileAtomically(const std::string& path, std::string_view contents) {
  const std::string tmp = path + ".tmp";
  if (Exists(tmp)) {
    if (absl::Status s = DeleteFile(tmp); !s.ok()) return s;
  }
  {
    absl::StatusOr<std::unique_ptr<File>> f = Open(tmp, /*create=*/true);
    if (!f.ok()) return f.status();
    if (absl::Status s = (*f)->Append(contents); !s.ok()) return s;
    if (absl::Status s = (*f)->Sync(); !s.ok()) return s;
  }
  if (absl::Status s = Rename(tmp, path); !s.ok()) return s;
  return SyncDir(DirName(path));
}

FileSystem* FileSystem::Default() {
  static PosixFileSystem* fs = new PosixFileSystem();
  return fs;
}

std::string JoinPath(std::string_view dir, std::string_view name) {
  std::string out(dir);
  if (!out.empty() && out.back() != '/') out += '/';
  out += name;
  return out;
}

std::string DirName(std::string_view path) {
  size_t slash = path.rfind('/');
  if (slash == std::string_view::npos) return ".";
  if (slash == 0) return "/";
  return std::string(path.substr(0, slash));
}

}  // namespace strata::storage
