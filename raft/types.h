// Strong integer types for the Raft core: NodeId, Term, Index.
//
// Each is a StrongInt (client/common/strong_int.h, the neutral module raft,
// the broker and the client share): a Term is unusable where an Index is
// expected. Raft numbers everything from 1; 0 means "none" (no vote, no
// leader, the empty log's last index and term).
#pragma once

#include <cstdint>

#include "client/common/strong_int.h"

namespace strata::raft {

template <typename Tag, typename T = uint64_t>
using StrongInt = ::strata::StrongInt<Tag, T>;

struct NodeIdTag {};
struct TermTag {};
struct IndexTag {};

// A cluster member. NodeId() (0) is "nobody": no leader known, no vote cast.
using NodeId = StrongInt<NodeIdTag>;
// A Raft term (election epoch). Term() (0) precedes every election.
using Term = StrongInt<TermTag>;
// A position in the replicated log, starting at 1. Index() (0) is "before
// the first entry".
using Index = StrongInt<IndexTag>;

inline constexpr NodeId kNoNode{};

}  // namespace strata::raft
