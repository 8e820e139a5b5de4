// SslPrincipalMapper against Kafka's own SslPrincipalMapperTest cases.
#include "broker/security/principal_mapping.h"

#include <string>

#include "gtest/gtest.h"

namespace strata::security {
namespace {

std::string MapOrDie(const SslPrincipalMapper& mapper, const std::string& dn) {
  absl::StatusOr<std::string> name = mapper.Map(dn);
  EXPECT_TRUE(name.ok()) << dn << ": " << name.status();
  return name.ok() ? *name : "";
}

TEST(SslPrincipalMapperTest, ValidRules) {
  for (const char* rules : {
           "DEFAULT",
           "RULE:^CN=(.*?),OU=ServiceUsers.*$/$1/",
           "RULE:^CN=(.*?),OU=ServiceUsers.*$/$1/L, DEFAULT",
           "RULE:^CN=(.*?),OU=(.*?),O=(.*?),L=(.*?),ST=(.*?),C=(.*?)$/$1@$2/",
           "RULE:^.*[Cc][Nn]=([a-zA-Z0-9.]*).*$/$1/L",
           "RULE:^cn=(.?),ou=(.?),dc=(.?),dc=(.?)$/$1@$2/U",
           "RULE:^CN=([^,ADEFLTU,]+)(,.*|$)/$1/",
           "RULE:^CN=([^,DEFAULT,]+)(,.*|$)/$1/",
       }) {
    EXPECT_TRUE(SslPrincipalMapper::Parse(rules).ok()) << rules;
  }
}

TEST(SslPrincipalMapperTest, InvalidRules) {
  for (const char* rules : {
           "default",
           "DEFAUL",
           "DEFAULT/L",
           "DEFAULT/U",
           "RULE:CN=(.*?),OU=ServiceUsers.*/$1",
           "rule:^CN=(.*?),OU=ServiceUsers.*$/$1/",
           "RULE:^CN=(.*?),OU=ServiceUsers.*$/$1/L/U",
           "RULE:^CN=(.*?),OU=ServiceUsers.*$/L",
           "RULE:^CN=(.*?),OU=ServiceUsers.*$/U",
           "RULE:^CN=(.*?),OU=ServiceUsers.*$/LU",
       }) {
    absl::StatusOr<SslPrincipalMapper> mapper = SslPrincipalMapper::Parse(rules);
    ASSERT_FALSE(mapper.ok()) << rules;
    EXPECT_EQ(mapper.status().code(), absl::StatusCode::kInvalidArgument) << rules;
    EXPECT_NE(mapper.status().message().find("Invalid rule"), std::string::npos) << mapper.status();
  }
}

TEST(SslPrincipalMapperTest, InvalidRuleNamesTheRule) {
  absl::StatusOr<SslPrincipalMapper> mapper = SslPrincipalMapper::Parse("DEFAULT/L");
  ASSERT_FALSE(mapper.ok());
  EXPECT_EQ(mapper.status().message(), "Invalid rule: `DEFAULT/L`, unmatched substring: `/L`");
}

TEST(SslPrincipalMapperTest, RegexThatDoesNotCompileIsInvalidArgument) {
  absl::StatusOr<SslPrincipalMapper> mapper = SslPrincipalMapper::Parse("RULE:^CN=(.*$/$1/");
  ASSERT_FALSE(mapper.ok());
  EXPECT_EQ(mapper.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(mapper.status().message().find("^CN=(.*$"), std::string::npos) << mapper.status();
  // Java-only syntax: lookbehind.
  EXPECT_FALSE(SslPrincipalMapper::Parse("RULE:(?<=CN=)(\\w+).*/$1/").ok());
}

TEST(SslPrincipalMapperTest, KafkaMapperCases) {
  absl::StatusOr<SslPrincipalMapper> mapper = SslPrincipalMapper::Parse(
      "RULE:^CN=(.*?),OU=ServiceUsers.*$/$1/L, "
      "RULE:^CN=(.*?),OU=(.*?),O=(.*?),L=(.*?),ST=(.*?),C=(.*?)$/$1@$2/L, "
      "RULE:^cn=(.*?),ou=(.*?),dc=(.*?),dc=(.*?)$/$1@$2/U, "
      "RULE:^.*[Cc][Nn]=([a-zA-Z0-9.]*).*$/$1/U, "
      "DEFAULT");
  ASSERT_TRUE(mapper.ok()) << mapper.status();
  EXPECT_EQ(MapOrDie(*mapper, "CN=Duke,OU=ServiceUsers,O=Org,C=US"), "duke");
  EXPECT_EQ(MapOrDie(*mapper, "CN=Duke,OU=SME,O=mycp,L=Fulton,ST=MD,C=US"), "duke@sme");
  EXPECT_EQ(MapOrDie(*mapper, "cn=duke,ou=sme,dc=mycp,dc=com"), "DUKE@SME");
  EXPECT_EQ(MapOrDie(*mapper, "cN=duke,OU=JavaSoft,O=Sun Microsystems"), "DUKE");
  EXPECT_EQ(MapOrDie(*mapper, "OU=JavaSoft,O=Sun Microsystems,C=US"),
            "OU=JavaSoft,O=Sun Microsystems,C=US");
}

TEST(SslPrincipalMapperTest, ServiceUsersRuleWithoutFlag) {
  absl::StatusOr<SslPrincipalMapper> mapper =
      SslPrincipalMapper::Parse("RULE:^CN=(.*?),OU=ServiceUsers.*$/$1/");
  ASSERT_TRUE(mapper.ok());
  EXPECT_EQ(MapOrDie(*mapper, "CN=Alice,OU=ServiceUsers,O=Strata"), "Alice");
}

TEST(SslPrincipalMapperTest, DefaultKeepsTheDn) {
  absl::StatusOr<SslPrincipalMapper> mapper = SslPrincipalMapper::Parse("DEFAULT");
  ASSERT_TRUE(mapper.ok());
  EXPECT_EQ(MapOrDie(*mapper, "CN=alice,OU=eng,O=Strata"), "CN=alice,OU=eng,O=Strata");
}

TEST(SslPrincipalMapperTest, FirstMatchingRuleWins) {
  absl::StatusOr<SslPrincipalMapper> mapper =
      SslPrincipalMapper::Parse("RULE:^CN=([^,]*),OU=eng.*$/eng-$1/, RULE:^CN=([^,]*).*$/$1/U");
  ASSERT_TRUE(mapper.ok());
  EXPECT_EQ(MapOrDie(*mapper, "CN=alice,OU=eng,O=Strata"), "eng-alice");
  EXPECT_EQ(MapOrDie(*mapper, "CN=bob,OU=ops,O=Strata"), "BOB");
}

TEST(SslPrincipalMapperTest, NoRuleMatchingIsAnError) {
  absl::StatusOr<SslPrincipalMapper> mapper =
      SslPrincipalMapper::Parse("RULE:^CN=(.*?),OU=ServiceUsers.*$/$1/L");
  ASSERT_TRUE(mapper.ok());
  absl::StatusOr<std::string> name = mapper->Map("CN=alice,OU=eng");
  ASSERT_FALSE(name.ok());
  EXPECT_EQ(name.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(name.status().message(),
            "No rules apply to CN=alice,OU=eng, rules [RULE:^CN=(.*?),OU=ServiceUsers.*$/$1/L]");
}

TEST(SslPrincipalMapperTest, RegexMustMatchTheWholeDn) {
  // "CN=(\w+)" matches a part of the DN only: the rule does not apply.
  absl::StatusOr<SslPrincipalMapper> mapper = SslPrincipalMapper::Parse("RULE:CN=(\\w+)/$1/");
  ASSERT_TRUE(mapper.ok());
  EXPECT_FALSE(mapper->Map("CN=alice,OU=eng").ok());
  EXPECT_EQ(MapOrDie(*mapper, "CN=alice"), "alice");
}

TEST(SslPrincipalMapperTest, EmptyRulesMatchNothing) {
  absl::StatusOr<SslPrincipalMapper> mapper = SslPrincipalMapper::Parse("");
  ASSERT_TRUE(mapper.ok());
  EXPECT_FALSE(mapper->Map("CN=alice").ok());
}

TEST(SslPrincipalMapperTest, BackReferenceBeyondGroupsStaysLiteral) {
  // Kafka escapes "$4" when there are fewer groups (NiFi's IdentityMappingUtil).
  absl::StatusOr<SslPrincipalMapper> mapper =
      SslPrincipalMapper::Parse("RULE:^CN=(.*?),OU=(.*?)$/$1@$4/");
  ASSERT_TRUE(mapper.ok());
  EXPECT_EQ(MapOrDie(*mapper, "CN=alice,OU=eng"), "alice@$4");
}

TEST(SslPrincipalMapperTest, MultiDigitBackReferenceTruncatesAsJava) {
  // One group: "$12" is group 1 followed by "2".
  absl::StatusOr<SslPrincipalMapper> mapper = SslPrincipalMapper::Parse("RULE:^CN=(\\w+)$/$12/");
  ASSERT_TRUE(mapper.ok());
  EXPECT_EQ(MapOrDie(*mapper, "CN=alice"), "alice2");
}

TEST(SslPrincipalMapperTest, ReplacementIsJavasReplaceAll) {
  // Kafka applies the replacement with String.replaceAll: a regex that can
  // match empty also replaces the empty match at the end ("abc".replaceAll(
  // "(.*)", "<$1>") is "<abc><>").
  absl::StatusOr<SslPrincipalMapper> mapper = SslPrincipalMapper::Parse("RULE:(.*)/<$1>/");
  ASSERT_TRUE(mapper.ok());
  EXPECT_EQ(MapOrDie(*mapper, "CN=alice"), "<CN=alice><>");
}

TEST(SslPrincipalMapperTest, EscapedSlashInReplacementIsLiteral) {
  absl::StatusOr<SslPrincipalMapper> mapper =
      SslPrincipalMapper::Parse("RULE:^CN=(\\w+),OU=(\\w+)$/$2\\/$1/");
  ASSERT_TRUE(mapper.ok()) << mapper.status();
  EXPECT_EQ(MapOrDie(*mapper, "CN=alice,OU=eng"), "eng/alice");
}

TEST(SslPrincipalMapperTest, CommaWithWhitespace) {
  absl::StatusOr<SslPrincipalMapper> mapper =
      SslPrincipalMapper::Parse("RULE:^CN=((\\\\, *|\\w)+)(,.*|$)/$1/,DEFAULT");
  ASSERT_TRUE(mapper.ok()) << mapper.status();
  EXPECT_EQ(MapOrDie(*mapper, "CN=Tkac\\, Adam,OU=ITZ,DC=geodis,DC=cz"), "Tkac\\, Adam");
}

// Kafka's testRulesSplitting: what the rules string splits into, through the
// mapper's toString.
TEST(SslPrincipalMapperTest, RulesSplitting) {
  const std::pair<const char*, const char*> cases[] = {
      {"[]", ""},
      {"[DEFAULT]", "DEFAULT"},
      {"[RULE:/]", "RULE://"},
      {"[RULE:/.*]", "RULE:/.*/"},
      {"[RULE:/.*/L]", "RULE:/.*/L"},
      {"[RULE:/, DEFAULT]", "RULE://,DEFAULT"},
      {"[RULE:/, DEFAULT]", "  RULE:// ,  DEFAULT  "},
      {"[RULE:   /     , DEFAULT]", "  RULE:   /     / ,  DEFAULT  "},
      {"[RULE:  /     /U, DEFAULT]", "  RULE:  /     /U   ,DEFAULT  "},
      {"[RULE:([A-Z]*)/$1/U, RULE:([a-z]+)/$1, DEFAULT]",
       "  RULE:([A-Z]*)/$1/U   ,RULE:([a-z]+)/$1/,   DEFAULT  "},
      // Empty rules are ignored.
      {"[]", ",   , , ,      , , ,   "},
      {"[RULE:/, DEFAULT]", ",,RULE://,,,DEFAULT,,"},
      {"[RULE: /   , DEFAULT]", ",  , RULE: /   /    ,,,   DEFAULT, ,   "},
      {"[RULE:   /  /U, DEFAULT]", "     ,  , RULE:   /  /U    ,,  ,DEFAULT, ,"},
      // Escape sequences.
      {R"([RULE:\/\\\(\)\n\t/\/\/])", R"(RULE:\/\\\(\)\n\t/\/\//)"},
      {R"([RULE:\**\/+/*/L, RULE:\/*\**/**])", R"(RULE:\**\/+/*/L,RULE:\/*\**/**/)"},
      // Rules rule.
      {R"([RULE:,RULE:,/,RULE:,\//U, RULE:,/RULE:,, RULE:,RULE:,/L,RULE:,/L, RULE:, DEFAULT, /DEFAULT, DEFAULT])",
       R"(RULE:,RULE:,/,RULE:,\//U,RULE:,/RULE:,/,RULE:,RULE:,/L,RULE:,/L,RULE:, DEFAULT, /DEFAULT/,DEFAULT)"},
  };
  for (const auto& [expected, rules] : cases) {
    absl::StatusOr<SslPrincipalMapper> mapper = SslPrincipalMapper::Parse(rules);
    ASSERT_TRUE(mapper.ok()) << rules << ": " << mapper.status();
    EXPECT_EQ(mapper->ToString(), std::string("SslPrincipalMapper(rules = ") + expected + ")")
        << rules;
  }
}

}  // namespace
}  // namespace strata::security
