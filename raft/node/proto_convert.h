// Mapping between the Raft core's plain structs and their protobuf form
// (strata/internal/raft.proto), used on the wire and in RocksDB storage.
// Every field is carried both ways: FromProto(ToProto(x)) == x.
#pragma once

#include "raft/message.h"
#include "strata/internal/raft.pb.h"

namespace strata::raft {

internal::RaftEntry ToProto(const Entry& e);
Entry FromProto(const internal::RaftEntry& p);

internal::RaftHardState ToProto(const HardState& hs);
HardState FromProto(const internal::RaftHardState& p);

internal::RaftConfState ToProto(const ConfState& cs);
ConfState FromProto(const internal::RaftConfState& p);

internal::RaftSnapshotMetadata ToProto(const SnapshotMetadata& m);
SnapshotMetadata FromProto(const internal::RaftSnapshotMetadata& p);

internal::RaftMessage ToProto(const Message& m);
Message FromProto(const internal::RaftMessage& p);

}  // namespace strata::raft
