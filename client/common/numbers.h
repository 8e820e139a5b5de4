// Parsing integers from text with no surprises: the whole string must be the
// number (no sign games, spaces or trailing bytes), and overflow fails.
#pragma once

#include <charconv>
#include <optional>
#include <string_view>

namespace strata {

template <typename T>
std::optional<T> ParseInteger(std::string_view text) {
  T value{};
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (text.empty() || ec != std::errc() || ptr != end) return std::nullopt;
  return value;
}

}  // namespace strata
