#include "broker/security/principal_mapping.h"

#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace strata::security {
namespace {

// Kafka's RULE_PATTERN, verbatim: group 1 DEFAULT, group 2 the regex, group 4
// the replacement, group 6 the flag, group 7 anything else (an invalid rule,
// or an empty one).
constexpr char kRulePattern[] =
    R"((DEFAULT)|RULE:((\\.|[^\\/])*)/((\\.|[^\\/])*)/([LU]?).*?|(.*?))";

const std::regex& RuleSplitter() {
  static const std::regex* const re =
      new std::regex(std::string(R"(\s*()") + kRulePattern + R"()\s*(,\s*|$))");
  return *re;
}

const std::regex& RuleParser() {
  static const std::regex* const re = new std::regex(kRulePattern);
  return *re;
}

// Java's String.trim: drops leading and trailing characters <= ' '.
std::string_view JavaTrim(std::string_view s) {
  while (!s.empty() && static_cast<unsigned char>(s.front()) <= ' ') s.remove_prefix(1);
  while (!s.empty() && static_cast<unsigned char>(s.back()) <= ' ') s.remove_suffix(1);
  return s;
}

// Kafka's splitRules: group 1 of every successive find() of the splitter.
// Java's find() continues at the end of the previous match, or one past it
// when the match was empty.
std::vector<std::string> SplitRules(std::string_view rules) {
  const std::string input(JavaTrim(rules));
  std::vector<std::string> out;
  size_t from = 0;
  while (from <= input.size()) {
    std::smatch m;
    const auto flags =
        from == 0 ? std::regex_constants::match_default : std::regex_constants::match_prev_avail;
    if (!std::regex_search(input.cbegin() + from, input.cend(), m, RuleSplitter(), flags)) break;
    out.push_back(m[1].str());
    const size_t start = from + m.position(0);
    const size_t end = start + m.length(0);
    from = end == start ? end + 1 : end;
  }
  return out;
}

// Java's Matcher.appendReplacement expansion of `replacement` for match `m`
// with Kafka's escapeLiteralBackReferences applied first: "$n" whose first
// digit exceeds the group count is literal (when there are groups at all).
absl::Status ExpandReplacement(const std::string& replacement, const std::smatch& m,
                               std::string* out) {
  const size_t groups = m.size() - 1;
  size_t i = 0;
  while (i < replacement.size()) {
    const char c = replacement[i];
    if (c == '\\') {
      if (++i == replacement.size()) {
        return absl::InvalidArgumentError("character to be escaped is missing");
      }
      out->push_back(replacement[i++]);
      continue;
    }
    if (c != '$') {
      out->push_back(c);
      ++i;
      continue;
    }
    if (i + 1 == replacement.size()) {
      return absl::InvalidArgumentError("Illegal group reference: group index is missing");
    }
    const char first = replacement[i + 1];
    if (first < '0' || first > '9') {
      // Includes ${name}: std::regex has no named groups.
      return absl::InvalidArgumentError("Illegal group reference");
    }
    size_t ref = first - '0';
    if (groups > 0 && ref > groups) {
      // Kafka escaped this "$" (a back reference to a group that does not
      // exist); the digits follow as ordinary characters.
      out->push_back('$');
      ++i;
      continue;
    }
    i += 2;
    while (i < replacement.size() && replacement[i] >= '0' && replacement[i] <= '9') {
      const size_t longer = ref * 10 + (replacement[i] - '0');
      if (longer > groups) break;
      ref = longer;
      ++i;
    }
    if (ref > groups) return absl::InvalidArgumentError(absl::StrCat("No group ", ref));
    if (m[ref].matched) out->append(m[ref].first, m[ref].second);
  }
  return absl::OkStatus();
}

// Java's String.replaceAll(regex, replacement).
absl::StatusOr<std::string> ReplaceAll(const std::string& input, const std::regex& re,
                                       const std::string& replacement) {
  std::string out;
  size_t from = 0;
  size_t copied = 0;
  while (from <= input.size()) {
    std::smatch m;
    const auto flags =
        from == 0 ? std::regex_constants::match_default : std::regex_constants::match_prev_avail;
    if (!std::regex_search(input.cbegin() + from, input.cend(), m, re, flags)) break;
    const size_t start = from + m.position(0);
    const size_t end = start + m.length(0);
    out.append(input, copied, start - copied);
    if (absl::Status s = ExpandReplacement(replacement, m, &out); !s.ok()) return s;
    copied = end;
    from = end == start ? end + 1 : end;
  }
  out.append(input, copied, std::string::npos);
  return out;
}

}  // namespace

std::string SslPrincipalMapper::Rule::ToString() const {
  if (is_default) return "DEFAULT";
  std::string out = absl::StrCat("RULE:", pattern, "/", replacement);
  if (to_lower) {
    out += "/L";
  } else if (to_upper) {
    out += "/U";
  }
  return out;
}

absl::StatusOr<SslPrincipalMapper> SslPrincipalMapper::Parse(std::string_view rules_text) {
  std::vector<Rule> rules;
  try {
    for (const std::string& text : SplitRules(rules_text)) {
      std::smatch m;
      // Kafka's lookingAt(): a match at the start, not necessarily to the end.
      if (!std::regex_search(text, m, RuleParser(), std::regex_constants::match_continuous)) {
        return absl::InvalidArgumentError(absl::StrCat("Invalid rule: ", text));
      }
      if (static_cast<size_t>(m.length(0)) != text.size()) {
        return absl::InvalidArgumentError(absl::StrCat(
            "Invalid rule: `", text, "`, unmatched substring: `", text.substr(m.length(0)), "`"));
      }
      if (m[1].matched) {
        rules.push_back(Rule{});
      } else if (m[2].matched) {
        Rule rule;
        rule.is_default = false;
        rule.pattern = m[2].str();
        rule.replacement = m[4].str();
        rule.to_lower = m[6].str() == "L";
        rule.to_upper = m[6].str() == "U";
        try {
          rule.regex = std::make_shared<const std::regex>(rule.pattern, std::regex::ECMAScript);
        } catch (const std::regex_error& e) {
          return absl::InvalidArgumentError(absl::StrCat(
              "Invalid rule: `", text, "`: the regex `", rule.pattern, "` does not compile (",
              e.what(), "); rules use ECMAScript regex syntax"));
        }
        rules.push_back(std::move(rule));
      }
      // Otherwise an empty rule: ignored, as in Kafka.
    }
  } catch (const std::regex_error& e) {
    // The rules text is too complex for std::regex's backtracking matcher.
    return absl::InvalidArgumentError(
        absl::StrCat("Invalid rules: ", std::string(rules_text), " (", e.what(), ")"));
  }
  return SslPrincipalMapper(std::move(rules));
}

absl::StatusOr<std::string> SslPrincipalMapper::Map(std::string_view distinguished_name) const {
  const std::string dn(distinguished_name);
  for (const Rule& rule : rules_) {
    if (rule.is_default) return dn;
    try {
      if (!std::regex_match(dn, *rule.regex)) continue;
      absl::StatusOr<std::string> name = ReplaceAll(dn, *rule.regex, rule.replacement);
      if (!name.ok()) {
        return absl::InvalidArgumentError(
            absl::StrCat("Rule ", rule.ToString(), ": ", name.status().message()));
      }
      if (rule.to_lower) {
        absl::AsciiStrToLower(&*name);
      } else if (rule.to_upper) {
        absl::AsciiStrToUpper(&*name);
      }
      return name;
    } catch (const std::regex_error& e) {
      return absl::InvalidArgumentError(
          absl::StrCat("Rule ", rule.ToString(), " failed on ", dn, ": ", e.what()));
    }
  }
  return absl::InvalidArgumentError(
      absl::StrCat("No rules apply to ", dn, ", rules ", RulesToString()));
}

std::string SslPrincipalMapper::RulesToString() const {
  return absl::StrCat("[",
                      absl::StrJoin(rules_, ", ",
                                    [](std::string* out, const Rule& rule) {
                                      absl::StrAppend(out, rule.ToString());
                                    }),
                      "]");
}

std::string SslPrincipalMapper::ToString() const {
  return absl::StrCat("SslPrincipalMapper(rules = ", RulesToString(), ")");
}

}  // namespace strata::security
