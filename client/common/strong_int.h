// StrongInt: an integer with a type of its own, so that an Offset cannot be
// passed where an Epoch is expected, nor a Raft Term where an Index is.
//
// Contract: a StrongInt<Tag> is a plain value (trivially copyable, totally
// ordered, hashable) whose tag makes it unusable where another kind is
// expected. Arithmetic with the underlying integer is allowed where it has a
// meaning for a counter (offset + 1); values of two different tags never mix.
//
// Standard library only: raft/'s core builds its NodeId, Term and Index on
// it, the broker and the client their Offset, Epoch and ids.
#pragma once

#include <compare>
#include <cstdint>
#include <functional>
#include <ostream>
#include <utility>

namespace strata {

template <typename Tag, typename T = int64_t>
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

}  // namespace strata

template <typename Tag, typename T>
struct std::hash<strata::StrongInt<Tag, T>> {
  size_t operator()(strata::StrongInt<Tag, T> v) const noexcept {
    return std::hash<T>{}(v.value());
  }
};
