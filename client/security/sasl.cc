#include "client/security/sasl.h"

#include <cstddef>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace strata::security {

namespace {
// absl's string_view is its own type in this build of abseil.
absl::string_view AbslView(std::string_view s) { return absl::string_view(s.data(), s.size()); }
}  // namespace

std::string AuthenticationFailedMessage(std::string_view mechanism_name_view) {
  absl::string_view mechanism_name = AbslView(mechanism_name_view);
  return absl::StrCat(
      "Authentication failed during authentication due to invalid credentials with SASL "
      "mechanism ",
      mechanism_name);
}

// --- PLAIN --------------------------------------------------------------------

absl::StatusOr<PlainCredentials> ParsePlainMessage(std::string_view message_view) {
  absl::string_view message = AbslView(message_view);
  std::vector<absl::string_view> tokens = absl::StrSplit(message, '\0');
  if (tokens.size() != 3) {
    return absl::InvalidArgumentError(
        absl::StrCat("Invalid SASL/PLAIN response: expected 3 tokens, got ", tokens.size()));
  }
  PlainCredentials credentials{std::string(tokens[0]), std::string(tokens[1]),
                               std::string(tokens[2])};
  if (credentials.username.empty()) {
    return absl::InvalidArgumentError("Authentication failed: username not specified");
  }
  if (credentials.password.empty()) {
    return absl::InvalidArgumentError("Authentication failed: password not specified");
  }
  if (!credentials.authzid.empty() && credentials.authzid != credentials.username) {
    return absl::InvalidArgumentError(
        "Authentication failed: Client requested an authorization id that is different from "
        "username");
  }
  return credentials;
}

std::string MakePlainMessage(std::string_view username, std::string_view password) {
  std::string message;
  message.reserve(username.size() + password.size() + 2);
  message += '\0';
  message += username;
  message += '\0';
  message += password;
  return message;
}

// --- JAAS ---------------------------------------------------------------------

namespace {

struct Token {
  enum Kind { kWord, kQuoted, kEquals, kSemicolon, kEnd };
  Kind kind = kEnd;
  std::string text;
};

std::string Describe(const Token& token) {
  switch (token.kind) {
    case Token::kWord:
      return absl::StrCat("'", token.text, "'");
    case Token::kQuoted:
      return "a quoted value";  // not shown: it may be a password
    case Token::kEquals:
      return "'='";
    case Token::kSemicolon:
      return "';'";
    case Token::kEnd:
      break;
  }
  return "the end of the text";
}

// The tokens of Java's StreamTokenizer as Kafka's JaasConfig sets it up.
class JaasLexer {
 public:
  explicit JaasLexer(absl::string_view text) : text_(text) {}

  absl::StatusOr<Token> Next() {
    if (absl::Status s = SkipSpaceAndComments(); !s.ok()) return s;
    Token token;
    if (pos_ == text_.size()) return token;
    char c = text_[pos_];
    if (c == '=' || c == ';') {
      ++pos_;
      token.kind = c == '=' ? Token::kEquals : Token::kSemicolon;
      return token;
    }
    if (c == '"' || c == '\'') return Quoted();
    if (!IsWordChar(c)) {
      return absl::InvalidArgumentError(
          absl::StrCat("Unexpected character '", absl::string_view(&text_[pos_], 1),
                       "' in JAAS config (quote values that contain it)"));
    }
    token.kind = Token::kWord;
    while (pos_ < text_.size() && IsWordChar(text_[pos_])) token.text += text_[pos_++];
    return token;
  }

 private:
  static bool IsWordChar(char c) {
    auto u = static_cast<unsigned char>(c);
    return absl::ascii_isalnum(u) || c == '.' || c == '_' || c == '-' || c == '$' || u >= 0x80;
  }

  absl::Status SkipSpaceAndComments() {
    while (pos_ < text_.size()) {
      if (static_cast<unsigned char>(text_[pos_]) <= ' ') {
        ++pos_;
      } else if (text_.substr(pos_, 2) == "//") {
        size_t end = text_.find('\n', pos_);
        pos_ = end == absl::string_view::npos ? text_.size() : end + 1;
      } else if (text_.substr(pos_, 2) == "/*") {
        size_t end = text_.find("*/", pos_ + 2);
        if (end == absl::string_view::npos) {
          return absl::InvalidArgumentError("Comment not closed by */ in JAAS config");
        }
        pos_ = end + 2;
      } else {
        break;
      }
    }
    return absl::OkStatus();
  }

  absl::StatusOr<Token> Quoted() {
    char quote = text_[pos_++];
    Token token;
    token.kind = Token::kQuoted;
    while (pos_ < text_.size() && text_[pos_] != quote && text_[pos_] != '\n' &&
           text_[pos_] != '\r') {
      char c = text_[pos_++];
      if (c != '\\' || pos_ == text_.size()) {
        token.text += c;
        continue;
      }
      c = text_[pos_++];
      switch (c) {
        case 'a':
          token.text += '\a';
          break;
        case 'b':
          token.text += '\b';
          break;
        case 'f':
          token.text += '\f';
          break;
        case 'n':
          token.text += '\n';
          break;
        case 'r':
          token.text += '\r';
          break;
        case 't':
          token.text += '\t';
          break;
        case 'v':
          token.text += '\v';
          break;
        default:
          if (c >= '0' && c <= '7') {
            // Java's octal escape: up to three digits, the first of three at most '3'.
            int value = c - '0';
            size_t max_digits = c <= '3' ? 3 : 2;
            for (size_t digits = 1; digits < max_digits && pos_ < text_.size() &&
                                    text_[pos_] >= '0' && text_[pos_] <= '7';
                 ++digits) {
              value = value * 8 + (text_[pos_++] - '0');
            }
            token.text += static_cast<char>(value);
          } else {
            token.text += c;  // \" \' \\ and any other: the character itself
          }
      }
    }
    if (pos_ == text_.size() || text_[pos_] != quote) {
      return absl::InvalidArgumentError(absl::StrCat("Quoted value not closed by ",
                                                     std::string(1, quote),
                                                     " before the end of the line in JAAS config"));
    }
    ++pos_;
    return token;
  }

  absl::string_view text_;
  size_t pos_ = 0;
};

absl::StatusOr<std::string> ControlFlag(const Token& token) {
  if (token.kind == Token::kEnd) {
    return absl::InvalidArgumentError("Login module control flag not specified in JAAS config");
  }
  if (token.kind != Token::kWord) {
    return absl::InvalidArgumentError(
        absl::StrCat("Login module control flag is not available in the JAAS config (found ",
                     Describe(token), ")"));
  }
  std::string flag = absl::AsciiStrToLower(token.text);
  if (flag != "required" && flag != "requisite" && flag != "sufficient" && flag != "optional") {
    return absl::InvalidArgumentError(
        absl::StrCat("Invalid login module control flag '", token.text, "' in JAAS config"));
  }
  return flag;
}

// One entry, from its first token (already read) to its ';'.
absl::StatusOr<JaasConfig> ParseEntry(JaasLexer& lexer, const Token& first) {
  JaasConfig entry;
  if (first.kind != Token::kWord) {
    return absl::InvalidArgumentError(
        absl::StrCat("Login module class name expected in JAAS config, found ", Describe(first)));
  }
  entry.login_module = first.text;

  absl::StatusOr<Token> token = lexer.Next();
  if (!token.ok()) return token.status();
  absl::StatusOr<std::string> flag = ControlFlag(*token);
  if (!flag.ok()) return flag.status();
  entry.control_flag = std::move(*flag);

  while (true) {
    token = lexer.Next();
    if (!token.ok()) return token.status();
    if (token->kind == Token::kEnd || token->kind == Token::kSemicolon) break;
    if (token->kind != Token::kWord) {
      return absl::InvalidArgumentError(
          absl::StrCat("Option name expected in JAAS config, found ", Describe(*token)));
    }
    std::string key = std::move(token->text);
    absl::StatusOr<Token> equals = lexer.Next();
    if (!equals.ok()) return equals.status();
    absl::StatusOr<Token> value = equals->kind == Token::kEquals ? lexer.Next() : Token();
    if (!value.ok()) return value.status();
    if (equals->kind != Token::kEquals ||
        (value->kind != Token::kWord && value->kind != Token::kQuoted)) {
      return absl::InvalidArgumentError(
          absl::StrCat("Value not specified for key '", key, "' in JAAS config"));
    }
    entry.options[key] = std::move(value->text);  // a repeated key: the last wins, as in Kafka
  }
  if (token->kind != Token::kSemicolon) {
    return absl::InvalidArgumentError("JAAS config entry not terminated by semi-colon");
  }
  return entry;
}

}  // namespace

absl::StatusOr<JaasConfig> ParseJaasConfig(std::string_view text) {
  JaasLexer lexer(AbslView(text));
  std::vector<JaasConfig> entries;
  while (true) {
    absl::StatusOr<Token> first = lexer.Next();
    if (!first.ok()) return first.status();
    if (first->kind == Token::kEnd) break;
    absl::StatusOr<JaasConfig> entry = ParseEntry(lexer, *first);
    if (!entry.ok()) return entry.status();
    entries.push_back(std::move(*entry));
  }
  if (entries.empty()) {
    return absl::InvalidArgumentError("Login module not specified in JAAS config");
  }
  if (entries.size() != 1) {
    return absl::InvalidArgumentError(absl::StrCat("JAAS config property contains ", entries.size(),
                                                   " login modules, should be 1 module"));
  }
  return std::move(entries[0]);
}

}  // namespace strata::security
