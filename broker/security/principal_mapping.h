// ssl.principal.mapping.rules (Kafka's SslPrincipalMapper, KIP-371): how an
// SSL listener turns the client certificate's distinguished name into the
// principal's name.
//
//   rules := "DEFAULT" | rule ("," rule)*
//   rule  := "DEFAULT" | "RULE:" regex "/" replacement "/" ["L" | "U"]
//
// Rules are split and parsed with Kafka's own two regular expressions, so
// the same strings are accepted and rejected: "/" and "," may appear inside a
// rule when escaped with "\" ("RULE:^CN=((\\, *|\w)+)(,.*|$)/$1/"), blanks
// around rules are dropped, empty rules are ignored, and anything after the
// flag up to the next "," is tolerated (as Kafka does).
//
// Map(dn): the first rule whose regex matches the whole DN gives the name:
// the DN with every match of the regex replaced by the replacement ($0..$n
// are groups; "$n" with n above the group count stays literal, as Kafka
// escapes it; "\x" is a literal x), then lower- or upper-cased for /L or /U.
// DEFAULT gives the DN unchanged. No rule matching is an error, as Kafka
// throws NoMatchingRule.
//
// Differences from Kafka, which uses java.util.regex: the regexes are
// std::regex ECMAScript. The common syntax (groups, classes, lazy
// quantifiers, anchors, \w \d \s, escapes) behaves the same; Java-only
// syntax - possessive quantifiers (a*+), lookbehind ((?<=..)), named groups
// ((?<n>..) and ${n}), inline flags ((?i)), \A \Z \p{..} - is rejected by
// Parse with InvalidArgument. /L and /U change ASCII letters only (Java
// changes every Unicode letter).
//
// Immutable after Parse; thread-safe to share.
#pragma once

#include <memory>
#include <regex>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace strata::security {

class SslPrincipalMapper {
 public:
  // "DEFAULT" or a comma list of RULE:<regex>/<replacement>/[LU] and
  // DEFAULT. InvalidArgument naming the bad rule ("Invalid rule: ..."), or
  // the regex that does not compile. An empty string parses to no rules.
  static absl::StatusOr<SslPrincipalMapper> Parse(std::string_view rules);

  // The principal name for an RFC 2253 distinguished name
  // ("CN=alice,OU=eng,O=Strata"). InvalidArgument "No rules apply to <dn>,
  // rules [<ToString of each rule>]" when no rule matches.
  absl::StatusOr<std::string> Map(std::string_view distinguished_name) const;

  // Kafka's toString: "SslPrincipalMapper(rules = [RULE:^CN=(.*?)/$1/L, DEFAULT])".
  std::string ToString() const;

 private:
  struct Rule {
    bool is_default = true;
    std::string pattern;      // as written, for ToString
    std::string replacement;  // as written
    bool to_lower = false;
    bool to_upper = false;
    std::shared_ptr<const std::regex> regex;  // null for DEFAULT

    std::string ToString() const;
  };

  explicit SslPrincipalMapper(std::vector<Rule> rules) : rules_(std::move(rules)) {}

  std::string RulesToString() const;

  std::vector<Rule> rules_;
};

}  // namespace strata::security
