// StrongInt: an integer with a type of its own, so that an Offset cannot be
// passed where an Epoch is expected. The template is raft/'s (raft/ sits
// below broker/ and may not include it); this header brings it into the
// strata namespace for the broker's ids.
#pragma once

#include "raft/types.h"

namespace strata {

template <typename Tag, typename T>
using StrongInt = raft::StrongInt<Tag, T>;

}  // namespace strata
