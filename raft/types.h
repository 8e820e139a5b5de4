// Strong integer types for the Raft core: NodeId, Term, Index.
//
// Contract: a StrongInt<Tag> is a plain value (trivially copyable, totally
// ordered, hashable) whose tag makes a Term unusable where an Index is
// expected. Arithmetic with the underlying integer is allowed where it has a
// meaning for a counter (index + 1); values of two different tags never mix.
// Raft numbers everything from 1; 0 means "none" (no vote, no leader, the
// empty log's last index and term).
//
// The template is shared upward: broker/common/strong_int.h uses it for
// Offset and Epoch (through the header-only strata_raft_types target), since
// raft/ must not depend on broker/ but broker/ may depend on raft/.
#pragma once

#include <compare>
#include <cstdint>
#include <functional>
#include <ostream>
#include <utility>

namespace strata::raft {

template <typename Tag, typename T = uint64_t>
class StrongInt {
 public:
  using ValueType = T;

  constexpr StrongInt() = default;
  constexpr explicit StrongInt(T v) : value_(v) {}

  constexpr T value() const { return value_; }

  constexpr auto operator<=>(const StrongInt&) const = default;

  constexpr StrongInt operator+(T n) const { return StrongInt(value_ + n); }
  constexpr StrongInt operator-(T n) const { return StrongInt(value_ - n); }
  // The distance between two values of one kind is a plain number.
  constexpr T operator-(StrongInt o) const { return value_ - o.value_; }
  constexpr StrongInt& operator+=(T n) {
    value_ += n;
    return *this;
  }
  constexpr StrongInt& operator++() {
    ++value_;
    return *this;
  }

  friend std::ostream& operator<<(std::ostream& os, StrongInt v) { return os << v.value_; }

  template <typename H>
  friend H AbslHashValue(H h, StrongInt v) {
    return H::combine(std::move(h), v.value_);
  }

 private:
  T value_{};
};

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

template <typename Tag, typename T>
struct std::hash<strata::raft::StrongInt<Tag, T>> {
  size_t operator()(strata::raft::StrongInt<Tag, T> v) const noexcept {
    return std::hash<T>{}(v.value());
  }
};
