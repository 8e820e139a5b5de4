// Checkpoint files: small `key value` text files that record how far
// something got (recovery point, log start offset, ...), in the layout of
// Kafka's checkpoint files — a version line, an entry-count line, then one
// `key value` line per entry. They are replaced atomically (write, sync,
// rename), so a crash leaves either the old or the new checkpoint.
#pragma once

#include <cstdint>
#include <map>
#include <string>

#include "absl/status/statusor.h"
#include "broker/storage/file_system.h"

namespace strata::storage {

using CheckpointEntries = std::map<std::string, int64_t>;

absl::Status WriteCheckpoint(FileSystem* fs, const std::string& path,
                             const CheckpointEntries& entries);

// NotFound when the file is absent; DataLoss, naming the file and line, when
// it does not parse.
absl::StatusOr<CheckpointEntries> ReadCheckpoint(FileSystem* fs, const std::string& path);

}  // namespace strata::storage
