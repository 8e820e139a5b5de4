#include "tools/transactions_command.h"

#include <algorithm>
#include <cctype>
#include <chrono>
#include <limits>
#include <ostream>
#include <set>
#include <utility>

#include "absl/strings/str_join.h"
#include "client/errors.h"
#include "fmt/format.h"
#include "tools/properties.h"

namespace strata::tools {
namespace {

// ---- Arguments, as argparse4j 0.7.0 (Kafka 3.7's) parses them

constexpr char kProg[] = "strata transactions";
// argparse4j's width when the terminal's is unknown.
constexpr size_t kFormatWidth = 75;

enum class ArgType { kHelp, kVersion, kString, kInteger, kLong, kShort };

struct ArgSpec {
  std::vector<std::string> flags;  // e.g. {"-h", "--help"}
  std::string metavar;             // empty for -h and -v
  ArgType type = ArgType::kString;
  bool required = false;
  std::string help;
  std::string group;  // abort's argument groups: their title, "" for none
};

struct GroupSpec {
  std::string title;
  std::string description;
};

struct CommandSpec {
  std::string name;
  std::string help;
  std::string description;
  std::vector<ArgSpec> args;
  std::vector<GroupSpec> groups;
};

ArgSpec HelpArg() {
  return {{"-h", "--help"}, "", ArgType::kHelp, false, "show this help message and exit", ""};
}

const std::vector<ArgSpec>& MainArgs() {
  static const auto* args = new std::vector<ArgSpec>{
      HelpArg(),
      {{"-v", "--version"},
       "",
       ArgType::kVersion,
       false,
       "show the version of this Strata distribution and exit",
       ""},
      {{"--command-config"},
       "FILE",
       ArgType::kString,
       false,
       "property file containing configs to be passed to admin client",
       ""},
      {{"--bootstrap-server"},
       "host:port",
       ArgType::kString,
       true,
       "hostname and port for the broker to connect to, in the form `host:port`  (multiple "
       "comma-separated entries can be given)",
       ""},
  };
  return *args;
}

constexpr char kMainDescription[] =
    "This tool is used to analyze the transactional state of producers in the cluster. It can be "
    "used to detect and recover from hanging transactions.";

constexpr char kNewBrokers[] = "Brokers on versions 3.0 and above";
constexpr char kOlderBrokers[] = "Brokers on versions older than 3.0";

// In Kafka's order (the order of "invalid choice" and of the help).
const std::vector<CommandSpec>& Commands() {
  static const auto* commands = new std::vector<CommandSpec>{
      {"list", "list transactions", "", {HelpArg()}, {}},
      {"describe",
       "describe the state of an active transactional-id",
       "Describe the state of an active transactional-id.",
       {HelpArg(),
        {{"--transactional-id"},
         "TRANSACTIONAL_ID",
         ArgType::kString,
         true,
         "transactional id",
         ""}},
       {}},
      {"describe-producers",
       "describe the states of active producers for a topic partition",
       "",
       {HelpArg(),
        {{"--broker-id"},
         "BROKER_ID",
         ArgType::kInteger,
         false,
         "optional broker id to describe the producer state on a specific replica",
         ""},
        {{"--topic"}, "TOPIC", ArgType::kString, true, "topic name", ""},
        {{"--partition"}, "PARTITION", ArgType::kInteger, true, "partition number", ""}},
       {}},
      {"abort",
       "abort a hanging transaction (requires administrative privileges)",
       "",
       {HelpArg(),
        {{"--topic"}, "TOPIC", ArgType::kString, true, "topic name", ""},
        {{"--partition"}, "PARTITION", ArgType::kInteger, true, "partition number", ""},
        {{"--start-offset"},
         "START_OFFSET",
         ArgType::kLong,
         false,
         "start offset of the transaction to abort",
         kNewBrokers},
        {{"--producer-id"}, "PRODUCER_ID", ArgType::kLong, false, "producer id", kOlderBrokers},
        {{"--producer-epoch"},
         "PRODUCER_EPOCH",
         ArgType::kShort,
         false,
         "producer epoch",
         kOlderBrokers},
        {{"--coordinator-epoch"},
         "COORDINATOR_EPOCH",
         ArgType::kInteger,
         false,
         "coordinator epoch",
         kOlderBrokers}},
       {{kNewBrokers,
         "For newer brokers, only the start offset of the transaction to be aborted "
         "is required"},
        {kOlderBrokers, "For older brokers, you must provide all of these arguments"}}},
      {"find-hanging",
       "find hanging transactions",
       "",
       {HelpArg(),
        {{"--broker-id"},
         "BROKER_ID",
         ArgType::kInteger,
         false,
         "broker id to search for hanging transactions",
         ""},
        {{"--max-transaction-timeout"},
         "MAX_TRANSACTION_TIMEOUT",
         ArgType::kInteger,
         false,
         "maximum transaction timeout in minutes to limit the scope of the search (15 minutes by "
         "default)",
         ""},
        {{"--topic"},
         "TOPIC",
         ArgType::kString,
         false,
         "topic name to limit search to (required if --partition is specified)",
         ""},
        {{"--partition"}, "PARTITION", ArgType::kInteger, false, "partition number", ""}},
       {}},
  };
  return *commands;
}

std::string ShortSyntax(const ArgSpec& a) {
  std::string s = a.flags[0];
  if (!a.metavar.empty()) s += " " + a.metavar;
  return a.required ? s : "[" + s + "]";
}

// argparse4j's usage: "usage: <prog>" and the options, wrapped at the
// format width under the end of the program's name.
std::string Usage(const CommandSpec* command) {
  std::vector<std::string> opts;
  if (command == nullptr) {
    for (const ArgSpec& a : MainArgs()) opts.push_back(ShortSyntax(a));
    opts.push_back("COMMAND");
    opts.push_back("...");
  } else {
    for (const ArgSpec& a : MainArgs()) {
      if (a.required) opts.push_back(ShortSyntax(a));
    }
    opts.push_back(command->name);
    for (const ArgSpec& a : command->args) opts.push_back(ShortSyntax(a));
  }
  const std::string prog = std::string("usage: ") + kProg;
  std::string out = prog;
  std::string indent;
  size_t width = 0;
  if (prog.size() > 30) {
    out += "\n";
    indent = std::string(6, ' ');
    width = 6 + indent.size();
    out += indent;
  } else {
    indent = std::string(prog.size(), ' ');
    width = prog.size();
  }
  bool first = true;
  for (const std::string& o : opts) {
    if (!first && width + o.size() + 1 > kFormatWidth) {
      out += "\n" + indent + " " + o;
      width = indent.size() + 1 + o.size();
    } else {
      out += " " + o;
      width += 1 + o.size();
      first = false;
    }
  }
  return out + "\n";
}

// Where a line may break, as Java's line BreakIterator mostly has it: after
// a run of spaces (kept with the text before it), after a newline, and
// after a hyphen between letters ("describe-producers").
std::vector<std::string> LineSegments(const std::string& s) {
  auto letter = [](char c) { return std::isalpha(static_cast<unsigned char>(c)) != 0; };
  std::vector<std::string> out;
  std::string cur;
  for (size_t i = 0; i < s.size(); ++i) {
    cur += s[i];
    const bool next_is_space = i + 1 < s.size() && s[i + 1] == ' ';
    const bool at_break =
        s[i] == '\n' || (s[i] == ' ' && !next_is_space) ||
        (s[i] == '-' && i > 0 && letter(s[i - 1]) && i + 1 < s.size() && letter(s[i + 1]));
    if (at_break) {
      out.push_back(std::move(cur));
      cur.clear();
    }
  }
  if (!cur.empty()) out.push_back(std::move(cur));
  return out;
}

// argparse4j's TextHelper.adjustSpace: `line` trimmed, then widened to
// `width` by spreading spaces over its blocks of spaces, the odd ones to
// the middle blocks.
std::string AdjustSpace(std::string line, size_t width) {
  const size_t first = line.find_first_not_of(' ');
  if (first == std::string::npos) return "";
  line = line.substr(first, line.find_last_not_of(' ') - first + 1);
  size_t blocks = 0;
  for (size_t i = 0; i < line.size(); ++i) {
    if (line[i] == ' ' && (i == 0 || line[i - 1] != ' ')) ++blocks;
  }
  if (blocks == 0 || line.size() >= width) return line;
  const size_t need = width - line.size();
  const size_t each = need / blocks, rem = need % blocks;
  const size_t rem_start = (blocks - rem + 1) / 2, rem_end = rem_start + rem;
  std::string out;
  size_t b = 0;
  for (size_t i = 0; i < line.size(); ++i) {
    if (line[i] == ' ' && (i == 0 || line[i - 1] != ' ')) {
      out.append(each + (rem_start <= b && b < rem_end ? 1 : 0), ' ');
      ++b;
    }
    out += line[i];
  }
  return out;
}

// argparse4j's TextHelper.wrap at the format width: `initial_offset`
// columns are taken before the text, full lines are justified, and each
// new line starts with `subsequent_indent`.
std::string Wrap(const std::string& text, size_t initial_offset,
                 const std::string& subsequent_indent) {
  std::string out, line;
  size_t width = initial_offset;
  for (const std::string& seg : LineSegments(text)) {
    width += seg.size();
    if (width > kFormatWidth) {
      out += AdjustSpace(line, kFormatWidth - (width - seg.size() - line.size())) + "\n" +
             subsequent_indent;
      line.clear();
      width = subsequent_indent.size() + seg.size();
    }
    line += seg;
    if (seg.ends_with('\n')) {
      out += line + subsequent_indent;
      line.clear();
      width = subsequent_indent.size();
    }
  }
  return out + line;
}

// One help entry: "  title" and the help from column 25.
std::string HelpEntry(const std::string& title, const std::string& help) {
  constexpr size_t kIndent = 25;
  std::string out = "  " + title;
  if (help.empty()) return out + "\n";
  if (title.size() <= 21) {
    out += std::string(kIndent - title.size() - 2, ' ');
  } else {
    out += "\n" + std::string(kIndent, ' ');
  }
  return out + Wrap(help, kIndent, std::string(kIndent, ' ')) + "\n";
}

std::string HelpTitle(const ArgSpec& a) {
  std::vector<std::string> parts;
  for (const std::string& f : a.flags) parts.push_back(a.metavar.empty() ? f : f + " " + a.metavar);
  return absl::StrJoin(parts, ", ");
}

std::string Help(const CommandSpec* command) {
  std::string out = Usage(command);
  const std::string description = command == nullptr ? kMainDescription : command->description;
  if (!description.empty()) out += "\n" + Wrap(description, 0, "") + "\n";
  out += "\noptional arguments:\n";
  const std::vector<ArgSpec>& args = command == nullptr ? MainArgs() : command->args;
  for (const ArgSpec& a : args) {
    if (a.group.empty()) out += HelpEntry(HelpTitle(a), a.help);
  }
  if (command == nullptr) {
    out += "\ncommands:\n";
    out += HelpEntry("COMMAND", "");
    for (const CommandSpec& c : Commands()) out += HelpEntry("  " + c.name, c.help);
  } else {
    for (const GroupSpec& g : command->groups) {
      out += "\n" + g.title + ":\n  " + Wrap(g.description, 2, "  ") + "\n\n";
      for (const ArgSpec& a : args) {
        if (a.group == g.title) out += HelpEntry(HelpTitle(a), a.help);
      }
    }
  }
  return out;
}

struct ParseError {
  const CommandSpec* command;  // whose usage to print; nullptr: the main one
  std::string message;
};

// Java's Integer/Long.parseInt (an optional sign, then decimal digits in
// range); Short.parseShort adds its own message for values out of its range.
std::optional<std::string> ConvertNumber(const std::string& value, ArgType type, int64_t* out) {
  const std::string bad = fmt::format("For input string: \"{}\"", value);
  size_t i = 0;
  bool negative = false;
  if (!value.empty() && (value[0] == '-' || value[0] == '+')) {
    negative = value[0] == '-';
    i = 1;
  }
  if (i >= value.size()) return bad;
  const int64_t max = type == ArgType::kLong ? std::numeric_limits<int64_t>::max()
                                             : std::numeric_limits<int32_t>::max();
  // Accumulated negatively, as Java does, so that the minimum fits.
  const int64_t limit = negative ? (type == ArgType::kLong ? std::numeric_limits<int64_t>::min()
                                                           : std::numeric_limits<int32_t>::min())
                                 : -max;
  int64_t result = 0;
  for (; i < value.size(); ++i) {
    const char c = value[i];
    if (c < '0' || c > '9') return bad;
    const int digit = c - '0';
    if (result < limit / 10) return bad;
    result *= 10;
    if (result < limit + digit) return bad;
    result -= digit;
  }
  *out = negative ? result : -result;
  if (type == ArgType::kShort &&
      (*out < std::numeric_limits<int16_t>::min() || *out > std::numeric_limits<int16_t>::max())) {
    return fmt::format("Value out of range. Value:\"{}\" Radix:10", value);
  }
  return std::nullopt;
}

const char* JavaTypeName(ArgType type) {
  switch (type) {
    case ArgType::kInteger:
      return "Integer";
    case ArgType::kLong:
      return "Long";
    case ArgType::kShort:
      return "Short";
    default:
      return "String";
  }
}

// argparse4j: a term is a flag when it starts with '-', is more than "-",
// and is not a negative number.
bool IsFlag(const std::string& term) {
  if (term.size() < 2 || term[0] != '-') return false;
  size_t i = 1;
  bool digits = false;
  while (i < term.size() && term[i] >= '0' && term[i] <= '9') {
    ++i;
    digits = true;
  }
  if (i == term.size() && digits) return false;  // -5
  if (i < term.size() && term[i] == '.') {       // -.5, -1.5
    size_t j = i + 1;
    bool frac = false;
    while (j < term.size() && term[j] >= '0' && term[j] <= '9') {
      ++j;
      frac = true;
    }
    if (j == term.size() && frac) return false;
  }
  return true;
}

// The argument `flag` names, exactly or by an unambiguous prefix.
const ArgSpec* ResolveFlag(const std::vector<ArgSpec>& args, const std::string& flag,
                           std::optional<ParseError>* error, const CommandSpec* command) {
  std::vector<std::pair<std::string, const ArgSpec*>> candidates;
  for (const ArgSpec& a : args) {
    for (const std::string& f : a.flags) {
      if (f == flag) return &a;
      if (f.starts_with(flag)) candidates.emplace_back(f, &a);
    }
  }
  if (candidates.size() == 1) return candidates[0].second;
  if (candidates.size() > 1) {
    std::vector<std::string> names;
    for (const auto& [name, a] : candidates) names.push_back(name);
    std::sort(names.begin(), names.end());
    *error = ParseError{command, fmt::format("ambiguous option: {} could match {}", flag,
                                             absl::StrJoin(names, ", "))};
  }
  return nullptr;
}

std::string Dest(const ArgSpec& a) { return a.flags.back(); }

// Stores `value` of `a` into `o`, converted to its type.
std::optional<ParseError> Store(const ArgSpec& a, const std::string& value,
                                const CommandSpec* command, TransactionsOptions* o) {
  int64_t number = 0;
  if (a.type != ArgType::kString) {
    if (std::optional<std::string> why = ConvertNumber(value, a.type, &number)) {
      return ParseError{
          command, fmt::format("argument {}: could not convert '{}' to {} ({})",
                               absl::StrJoin(a.flags, "/"), value, JavaTypeName(a.type), *why)};
    }
  }
  const std::string dest = Dest(a);
  if (dest == "--bootstrap-server") {
    o->bootstrap_server = value;
  } else if (dest == "--command-config") {
    o->command_config = value;
  } else if (dest == "--transactional-id") {
    o->transactional_id = value;
  } else if (dest == "--topic") {
    o->topic = value;
  } else if (dest == "--partition") {
    o->partition = static_cast<int32_t>(number);
  } else if (dest == "--broker-id") {
    o->broker_id = static_cast<int32_t>(number);
  } else if (dest == "--start-offset") {
    o->start_offset = number;
  } else if (dest == "--producer-id") {
    o->producer_id = number;
  } else if (dest == "--producer-epoch") {
    o->producer_epoch = static_cast<int16_t>(number);
  } else if (dest == "--coordinator-epoch") {
    o->coordinator_epoch = static_cast<int32_t>(number);
  } else if (dest == "--max-transaction-timeout") {
    o->max_transaction_timeout_minutes = static_cast<int32_t>(number);
  }
  return std::nullopt;
}

}  // namespace

ParsedTransactionsArgs ParseTransactionsArgs(const std::vector<std::string>& args,
                                             const std::string& version) {
  ParsedTransactionsArgs parsed;
  TransactionsOptions o;
  const CommandSpec* command = nullptr;  // the parser in use: nullptr is the main one
  std::set<std::string> given;           // by Dest
  std::optional<ParseError> error;
  bool separator = false;  // "--" seen: the rest are positional

  auto check_required = [&](const std::vector<ArgSpec>& specs) {
    for (const ArgSpec& a : specs) {
      if (a.required && !given.contains(Dest(a))) {
        error = ParseError{command,
                           fmt::format("argument {} is required", absl::StrJoin(a.flags, "/"))};
        return;
      }
    }
  };

  size_t i = 0;
  while (i < args.size() && !error) {
    const std::string& term = args[i];
    const std::vector<ArgSpec>& specs = command == nullptr ? MainArgs() : command->args;
    if (!separator && term == "--") {
      separator = true;
      ++i;
      continue;
    }
    if (!separator && IsFlag(term)) {
      const size_t eq = term.find('=');
      const std::string flag = eq == std::string::npos ? term : term.substr(0, eq);
      std::optional<std::string> embedded;
      if (eq != std::string::npos) embedded = term.substr(eq + 1);
      const ArgSpec* a = ResolveFlag(specs, flag, &error, command);
      if (error) break;
      if (a == nullptr) {
        error = ParseError{command, fmt::format("unrecognized arguments: '{}'", term)};
        break;
      }
      ++i;
      if (a->type == ArgType::kHelp || a->type == ArgType::kVersion) {
        if (embedded) {
          error = ParseError{command, fmt::format("argument {}: ignore implicit argument '{}'",
                                                  absl::StrJoin(a->flags, "/"), *embedded)};
          break;
        }
        if (a->type == ArgType::kHelp) {
          // Kafka's tool exits 1 after printing the help.
          parsed.out = Help(command);
          parsed.exit_code = 1;
        } else {
          parsed.out = version + "\n";
          parsed.exit_code = 0;
        }
        return parsed;
      }
      std::string value;
      if (embedded) {
        value = *embedded;
      } else if (i < args.size() && (separator || !IsFlag(args[i]))) {
        value = args[i++];
      } else {
        error = ParseError{command, fmt::format("argument {}: expected one argument",
                                                absl::StrJoin(a->flags, "/"))};
        break;
      }
      error = Store(*a, value, command, &o);
      given.insert(Dest(*a));
      continue;
    }
    // A positional: the command in the main parser, nothing in a command's.
    if (command != nullptr) {
      std::vector<std::string> rest(args.begin() + static_cast<std::ptrdiff_t>(i), args.end());
      error = ParseError{command,
                         fmt::format("unrecognized arguments: '{}'", absl::StrJoin(rest, " "))};
      break;
    }
    check_required(MainArgs());
    if (error) break;
    std::vector<const CommandSpec*> matches;
    for (const CommandSpec& c : Commands()) {
      if (c.name == term) {
        matches = {&c};
        break;
      }
      if (!term.empty() && c.name.starts_with(term)) matches.push_back(&c);
    }
    if (matches.size() == 1) {
      command = matches[0];
      o.command = command->name;
      ++i;
      continue;
    }
    if (matches.empty()) {
      std::vector<std::string> names;
      for (const CommandSpec& c : Commands()) names.push_back("'" + c.name + "'");
      error = ParseError{nullptr, fmt::format("invalid choice: '{}' (choose from {})", term,
                                              absl::StrJoin(names, ", "))};
    } else {
      std::vector<std::string> names;
      for (const CommandSpec* c : matches) names.push_back(c->name);
      std::sort(names.begin(), names.end());
      error = ParseError{nullptr, fmt::format("ambiguous command: {} could match {}", term,
                                              absl::StrJoin(names, ", "))};
    }
  }
  if (!error) {
    if (command == nullptr) {
      error = ParseError{nullptr, "too few arguments"};
    } else {
      check_required(command->args);
    }
  }
  if (error) {
    parsed.err =
        Usage(error->command) + Wrap(fmt::format("{}: error: {}\n", kProg, error->message), 0, "");
    parsed.exit_code = 1;
    return parsed;
  }
  parsed.options = std::move(o);
  return parsed;
}

std::vector<std::string> PrettyPrintTable(const std::vector<std::string>& headers,
                                          const std::vector<std::vector<std::string>>& rows) {
  std::vector<size_t> widths;
  for (const std::string& h : headers) widths.push_back(h.size());
  for (const auto& row : rows) {
    for (size_t c = 0; c < widths.size() && c < row.size(); ++c) {
      widths[c] = std::max(widths[c], row[c].size());
    }
  }
  auto line = [&](const std::vector<std::string>& cells) {
    std::string out;
    for (size_t c = 0; c < cells.size(); ++c) {
      out += cells[c];
      if (c < widths.size() && cells[c].size() < widths[c]) {
        out.append(widths[c] - cells[c].size(), ' ');
      }
      out += '\t';
    }
    return out;
  };
  std::vector<std::string> lines{line(headers)};
  for (const auto& row : rows) lines.push_back(line(row));
  return lines;
}

std::vector<std::string> FormatTransactionList(
    const std::map<int32_t, v1::ListTransactionsResponse>& by_broker) {
  std::vector<std::vector<std::string>> rows;
  for (const auto& [broker, response] : by_broker) {
    for (const v1::ListedTransaction& t : response.transaction_states()) {
      rows.push_back({t.transactional_id(), std::to_string(broker), std::to_string(t.producer_id()),
                      t.transaction_state()});
    }
  }
  return PrettyPrintTable({"TransactionalId", "Coordinator", "ProducerId", "TransactionState"},
                          rows);
}

std::vector<std::string> FormatTransactionDescription(const client::TransactionDescription& d,
                                                      int64_t now_ms) {
  const v1::TransactionState& s = d.state;
  std::string start = "None", duration = "None";
  if (s.transaction_start_time_ms() >= 0) {
    start = std::to_string(s.transaction_start_time_ms());
    duration = std::to_string(now_ms - s.transaction_start_time_ms());
  }
  std::vector<TopicPartition> partitions;
  for (const v1::TxnTopic& t : s.topics()) {
    for (int32_t p : t.partitions()) partitions.push_back({t.name(), PartitionId(p)});
  }
  std::sort(partitions.begin(), partitions.end());
  std::vector<std::string> names;
  for (const TopicPartition& tp : partitions) names.push_back(tp.ToString());
  return PrettyPrintTable(
      {"CoordinatorId", "TransactionalId", "ProducerId", "ProducerEpoch", "TransactionState",
       "TransactionTimeoutMs", "CurrentTransactionStartTimeMs", "TransactionDurationMs",
       "TopicPartitions"},
      {{std::to_string(d.coordinator_id), s.transactional_id(), std::to_string(s.producer_id()),
        std::to_string(s.producer_epoch()), s.transaction_state(),
        std::to_string(s.transaction_timeout_ms()), start, duration, absl::StrJoin(names, ",")}});
}

std::vector<std::string> FormatProducers(const std::vector<v1::ProducerState>& producers) {
  std::vector<std::vector<std::string>> rows;
  for (const v1::ProducerState& p : producers) {
    rows.push_back({std::to_string(p.producer_id()), std::to_string(p.producer_epoch()),
                    std::to_string(p.coordinator_epoch() < 0 ? -1 : p.coordinator_epoch()),
                    std::to_string(p.last_sequence()), std::to_string(p.last_timestamp()),
                    p.current_txn_start_offset() < 0
                        ? std::string("None")
                        : std::to_string(p.current_txn_start_offset())});
  }
  return PrettyPrintTable({"ProducerId", "ProducerEpoch", "LatestCoordinatorEpoch", "LastSequence",
                           "LastTimestamp", "CurrentTransactionStartOffset"},
                          rows);
}

std::vector<OpenTransaction> CollectCandidateOpenTransactions(
    const std::map<TopicPartition, std::vector<v1::ProducerState>>& by_partition,
    int64_t max_timeout_ms, int64_t now_ms) {
  std::vector<OpenTransaction> out;
  for (const auto& [tp, producers] : by_partition) {
    for (const v1::ProducerState& p : producers) {
      if (p.current_txn_start_offset() < 0) continue;
      if (now_ms - p.last_timestamp() > max_timeout_ms) out.push_back({tp, p});
    }
  }
  return out;
}

std::vector<OpenTransaction> FindHangingTransactions(
    const std::vector<OpenTransaction>& candidates,
    const std::map<int64_t, std::string>& transactional_ids,
    const std::map<std::string, v1::TransactionState>& descriptions) {
  std::vector<OpenTransaction> hanging;
  for (const OpenTransaction& t : candidates) {
    auto id = transactional_ids.find(t.producer.producer_id());
    if (id == transactional_ids.end()) {
      hanging.push_back(t);  // no coordinator knows the producer
      continue;
    }
    auto d = descriptions.find(id->second);
    if (d == descriptions.end()) {
      hanging.push_back(t);
      continue;
    }
    // DescribeTransactions names the partitions of an ongoing transaction,
    // and those still waiting for markers while it is PrepareCommit or
    // PrepareAbort: the coordinator will still finish these.
    bool named = false;
    for (const v1::TxnTopic& topic : d->second.topics()) {
      if (topic.name() != t.partition.topic) continue;
      for (int32_t p : topic.partitions()) named = named || p == t.partition.partition.value();
    }
    if (!named) hanging.push_back(t);
  }
  return hanging;
}

std::vector<std::string> FormatHangingTransactions(const std::vector<OpenTransaction>& hanging,
                                                   int64_t now_ms) {
  std::vector<std::vector<std::string>> rows;
  for (const OpenTransaction& t : hanging) {
    const v1::ProducerState& p = t.producer;
    rows.push_back(
        {t.partition.topic, std::to_string(t.partition.partition.value()),
         std::to_string(p.producer_id()), std::to_string(p.producer_epoch()),
         std::to_string(p.coordinator_epoch() < 0 ? -1 : p.coordinator_epoch()),
         std::to_string(p.current_txn_start_offset() < 0 ? -1 : p.current_txn_start_offset()),
         std::to_string(p.last_timestamp()),
         std::to_string((now_ms - p.last_timestamp()) / 60000)});
  }
  return PrettyPrintTable({"Topic", "Partition", "ProducerId", "ProducerEpoch", "CoordinatorEpoch",
                           "StartOffset", "LastTimestamp", "Duration(min)"},
                          rows);
}

std::string AbortSpecText(const client::AbortTransactionSpec& spec) {
  return fmt::format(
      "AbortTransactionSpec(topicPartition={}, producerId={}, producerEpoch={}, "
      "coordinatorEpoch={})",
      spec.partition.ToString(), spec.producer_id, spec.producer_epoch, spec.coordinator_epoch);
}

namespace {

// Kafka's printErrorAndExit(message, cause).
std::string Failure(const std::string& what, const std::string& cause) {
  return fmt::format("{}: {}. Enable debug logging for additional detail.", what, cause);
}

std::string Message(const absl::Status& s) { return std::string(s.message()); }

// The cause Kafka's admin client gives a DescribeTransactions error of `id`.
std::string DescribeTransactionsCause(const std::string& id, v1::ErrorCode code,
                                      const std::string& message) {
  switch (code) {
    case v1::TRANSACTIONAL_ID_NOT_FOUND:
      return fmt::format(
          "DescribeTransactions request for transactionalId `{}` failed because the ID could not "
          "be found",
          id);
    case v1::TRANSACTIONAL_ID_AUTHORIZATION_FAILED:
      return fmt::format(
          "DescribeTransactions request for transactionalId `{}` failed due to authorization "
          "failure",
          id);
    case v1::NOT_COORDINATOR:
    case v1::COORDINATOR_NOT_AVAILABLE:
    case v1::COORDINATOR_LOAD_IN_PROGRESS:
      // Still not answered when the admin's time ran out.
      return message.empty() ? client::DefaultErrorMessage(code) : message;
    default:
      return fmt::format(
          "DescribeTransactions request for transactionalId `{}` failed due to unexpected error",
          id);
  }
}

// The cause Kafka's admin client gives a failed WriteTxnMarkers.
std::string AbortCause(const client::AbortTransactionSpec& spec, const absl::Status& s) {
  const v1::ErrorCode code = client::ErrorCodeOf(s);
  const std::string text = AbortSpecText(spec);
  switch (code) {
    case v1::INVALID_PRODUCER_EPOCH:
      return fmt::format("WriteTxnMarkers request with {} failed due an invalid producer epoch",
                         text);
    case v1::TRANSACTION_COORDINATOR_FENCED:
      return fmt::format(
          "WriteTxnMarkers request with {} failed since the provided coordinator epoch {} has been "
          "fenced by the active coordinator",
          text, spec.coordinator_epoch);
    default:
      // A transport failure, or retriable errors until the time ran out.
      if (code == v1::UNKNOWN_SERVER_ERROR || client::IsRetriable(code) ||
          absl::IsDeadlineExceeded(s)) {
        return Message(s);
      }
      return fmt::format("WriteTxnMarkers request with {} failed due to unexpected error: {}", text,
                         client::DefaultErrorMessage(code));
  }
}

void Print(const std::vector<std::string>& lines, std::ostream& out) {
  for (const std::string& l : lines) out << l << "\n";
}

// Kafka prints an Optional<Integer> as such.
std::string JavaOptional(std::optional<int32_t> v) {
  return v ? fmt::format("Optional[{}]", *v) : "Optional.empty";
}

constexpr size_t kMaxBatchSize = 500;  // Kafka's, per DescribeTopics / DescribeProducers

int RunList(client::Admin& admin, std::ostream& out, std::ostream& err) {
  absl::StatusOr<std::map<int32_t, v1::ListTransactionsResponse>> listed = admin.ListTransactions();
  if (!listed.ok()) {
    err << Failure("Failed to list transactions", Message(listed.status())) << "\n";
    return 1;
  }
  Print(FormatTransactionList(*listed), out);
  return 0;
}

int RunDescribe(client::Admin& admin, const TransactionsOptions& o, std::ostream& out,
                std::ostream& err, const std::function<int64_t()>& now_ms) {
  const std::string& id = *o.transactional_id;
  const std::string what =
      fmt::format("Failed to describe transaction state of transactional-id `{}`", id);
  absl::StatusOr<std::vector<client::TransactionDescription>> described =
      admin.DescribeTransactions({id});
  if (!described.ok()) {
    err << Failure(what, Message(described.status())) << "\n";
    return 1;
  }
  if (described->size() != 1) {
    err << Failure(what, "The admin client gave no description") << "\n";
    return 1;
  }
  const client::TransactionDescription& d = described->front();
  if (d.state.error() != v1::NONE) {
    err << Failure(what, DescribeTransactionsCause(id, d.state.error(), d.state.error_message()))
        << "\n";
    return 1;
  }
  Print(FormatTransactionDescription(d, now_ms()), out);
  return 0;
}

int RunDescribeProducers(client::Admin& admin, const TransactionsOptions& o, std::ostream& out,
                         std::ostream& err) {
  const TopicPartition tp{*o.topic, PartitionId(*o.partition)};
  const std::string what =
      fmt::format("Failed to describe producers for partition {} on {}", tp.ToString(),
                  o.broker_id ? fmt::format("broker {}", *o.broker_id) : std::string("leader"));
  absl::StatusOr<std::map<TopicPartition, client::PartitionProducers>> described =
      admin.DescribeProducers({tp}, o.broker_id);
  if (!described.ok()) {
    err << Failure(what, Message(described.status())) << "\n";
    return 1;
  }
  auto it = described->find(tp);
  if (it == described->end() || !it->second.status.ok()) {
    err << Failure(what, it == described->end() ? "no answer" : Message(it->second.status)) << "\n";
    return 1;
  }
  Print(FormatProducers(it->second.producers), out);
  return 0;
}

int RunAbort(client::Admin& admin, const TransactionsOptions& o, std::ostream& err) {
  const TopicPartition tp{*o.topic, PartitionId(*o.partition)};
  if (!o.start_offset && !o.producer_id) {
    err << "The transaction to abort must be identified either with --start-offset (for brokers "
           "on 3.0 or above) or with --producer-id, --producer-epoch, and --coordinator-epoch "
           "(for older brokers)\n";
    return 1;
  }
  client::AbortTransactionSpec spec;
  spec.partition = tp;
  if (!o.start_offset) {
    if (!o.producer_epoch) {
      err << "Missing required argument --producer-epoch\n";
      return 1;
    }
    if (!o.coordinator_epoch) {
      err << "Missing required argument --coordinator-epoch\n";
      return 1;
    }
    spec.producer_id = *o.producer_id;
    spec.producer_epoch = *o.producer_epoch;
    // A transaction that hung before its producer's first marker shows
    // coordinator epoch -1; 0 is at most any coordinator's epoch.
    spec.coordinator_epoch = std::max(*o.coordinator_epoch, 0);
  } else {
    const std::string what =
        fmt::format("Failed to validate producer state for partition {}", tp.ToString());
    absl::StatusOr<std::map<TopicPartition, client::PartitionProducers>> described =
        admin.DescribeProducers({tp});
    if (!described.ok()) {
      err << Failure(what, Message(described.status())) << "\n";
      return 1;
    }
    auto it = described->find(tp);
    if (it == described->end() || !it->second.status.ok()) {
      err << Failure(what, it == described->end() ? "no answer" : Message(it->second.status))
          << "\n";
      return 1;
    }
    const v1::ProducerState* found = nullptr;
    for (const v1::ProducerState& p : it->second.producers) {
      if (p.current_txn_start_offset() >= 0 && p.current_txn_start_offset() == *o.start_offset) {
        found = &p;
        break;
      }
    }
    if (found == nullptr) {
      err << fmt::format(
                 "Could not find any open transactions starting at offset {} on partition {}",
                 *o.start_offset, tp.ToString())
          << "\n";
      return 1;
    }
    spec.producer_id = found->producer_id();
    spec.producer_epoch = static_cast<int16_t>(found->producer_epoch());
    spec.coordinator_epoch = std::max(found->coordinator_epoch(), 0);
  }
  absl::Status aborted = admin.AbortTransaction(spec);
  if (!aborted.ok()) {
    err << Failure(fmt::format("Failed to abort transaction {}", AbortSpecText(spec)),
                   AbortCause(spec, aborted))
        << "\n";
    return 1;
  }
  return 0;
}

int RunFindHanging(client::Admin& admin, const TransactionsOptions& o, std::ostream& out,
                   std::ostream& err, const std::function<int64_t()>& now_ms) {
  if (!o.topic && !o.broker_id) {
    err << "The `find-hanging` command requires either --topic or --broker-id to limit the scope "
           "of the search\n";
    return 1;
  }
  if (o.partition && !o.topic) {
    err << "The --partition argument requires --topic to be provided\n";
    return 1;
  }
  const int64_t max_timeout_ms = int64_t{o.max_transaction_timeout_minutes} * 60 * 1000;

  // The partitions to search.
  std::vector<TopicPartition> partitions;
  if (o.topic && o.partition) {
    partitions.push_back({*o.topic, PartitionId(*o.partition)});
  } else {
    std::vector<std::string> topics;
    if (o.topic) {
      topics.push_back(*o.topic);
    } else {
      absl::StatusOr<std::vector<std::string>> listed = admin.ListTopics(/*include_internal=*/true);
      if (!listed.ok()) {
        err << Failure("Failed to list topics", Message(listed.status())) << "\n";
        return 1;
      }
      topics = *std::move(listed);
    }
    for (size_t start = 0; start < topics.size(); start += kMaxBatchSize) {
      const std::vector<std::string> batch(
          topics.begin() + static_cast<std::ptrdiff_t>(start),
          topics.begin() +
              static_cast<std::ptrdiff_t>(std::min(topics.size(), start + kMaxBatchSize)));
      const std::string what = fmt::format("Failed to describe {} topics", batch.size());
      absl::StatusOr<v1::DescribeTopicsResponse> described =
          admin.DescribeTopics(batch, /*include_internal=*/true);
      if (!described.ok()) {
        err << Failure(what, Message(described.status())) << "\n";
        return 1;
      }
      for (const v1::TopicDescription& t : described->topics()) {
        if (t.error() != v1::NONE) {
          err << Failure(what, t.error_message().empty() ? client::DefaultErrorMessage(t.error())
                                                         : t.error_message())
              << "\n";
          return 1;
        }
        for (const v1::PartitionDescription& p : t.partitions()) {
          if (o.broker_id && std::find(p.replicas().begin(), p.replicas().end(), *o.broker_id) ==
                                 p.replicas().end()) {
            continue;
          }
          partitions.push_back({t.name(), PartitionId(p.partition())});
        }
      }
    }
  }

  // Their open transactions older than the timeout. Strata's followers do
  // not describe producers, so each partition is asked of its leader (the
  // same log), also with --broker-id.
  std::vector<OpenTransaction> candidates;
  for (size_t start = 0; start < partitions.size(); start += kMaxBatchSize) {
    const std::vector<TopicPartition> batch(
        partitions.begin() + static_cast<std::ptrdiff_t>(start),
        partitions.begin() +
            static_cast<std::ptrdiff_t>(std::min(partitions.size(), start + kMaxBatchSize)));
    const std::string what =
        fmt::format("Failed to describe producers for {} partitions on broker {}", batch.size(),
                    JavaOptional(o.broker_id));
    absl::StatusOr<std::map<TopicPartition, client::PartitionProducers>> described =
        admin.DescribeProducers(batch);
    if (!described.ok()) {
      err << Failure(what, Message(described.status())) << "\n";
      return 1;
    }
    std::map<TopicPartition, std::vector<v1::ProducerState>> by_partition;
    for (const auto& [tp, p] : *described) {
      if (!p.status.ok()) {
        err << Failure(what, Message(p.status)) << "\n";
        return 1;
      }
      by_partition[tp] = p.producers;
    }
    std::vector<OpenTransaction> found =
        CollectCandidateOpenTransactions(by_partition, max_timeout_ms, now_ms());
    candidates.insert(candidates.end(), found.begin(), found.end());
  }

  std::vector<OpenTransaction> hanging;
  if (!candidates.empty()) {
    // Their producers' transactional ids, at every coordinator.
    std::set<int64_t> producer_ids;
    for (const OpenTransaction& t : candidates) producer_ids.insert(t.producer.producer_id());
    absl::StatusOr<std::map<int32_t, v1::ListTransactionsResponse>> listed =
        admin.ListTransactions({}, {producer_ids.begin(), producer_ids.end()});
    if (!listed.ok()) {
      err << Failure(
                 fmt::format("Failed to list transactions for {} producers", producer_ids.size()),
                 Message(listed.status()))
          << "\n";
      return 1;
    }
    std::map<int64_t, std::string> transactional_ids;
    for (const auto& [broker, response] : *listed) {
      for (const v1::ListedTransaction& t : response.transaction_states()) {
        if (producer_ids.contains(t.producer_id())) {
          transactional_ids[t.producer_id()] = t.transactional_id();
        }
      }
    }
    // Their transactions at their coordinators; an id the coordinator no
    // longer knows leaves its producer's transactions hanging.
    std::vector<std::string> ids;
    for (const auto& [pid, id] : transactional_ids) ids.push_back(id);
    std::map<std::string, v1::TransactionState> descriptions;
    if (!ids.empty()) {
      const std::string what = fmt::format("Failed to describe {} transactions", ids.size());
      absl::StatusOr<std::vector<client::TransactionDescription>> described =
          admin.DescribeTransactions(ids);
      if (!described.ok()) {
        err << Failure(what, Message(described.status())) << "\n";
        return 1;
      }
      for (const client::TransactionDescription& d : *described) {
        const v1::ErrorCode e = d.state.error();
        if (e == v1::TRANSACTIONAL_ID_NOT_FOUND) continue;
        if (e != v1::NONE) {
          err << Failure(what, DescribeTransactionsCause(d.state.transactional_id(), e,
                                                         d.state.error_message()))
              << "\n";
          return 1;
        }
        descriptions[d.state.transactional_id()] = d.state;
      }
    }
    hanging = FindHangingTransactions(candidates, transactional_ids, descriptions);
  }
  Print(FormatHangingTransactions(hanging, now_ms()), out);
  return 0;
}

int64_t WallClockMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

int RunTransactions(client::Admin& admin, const TransactionsOptions& options, std::ostream& out,
                    std::ostream& err, const std::function<int64_t()>& now_ms) {
  const std::function<int64_t()> now = now_ms ? now_ms : std::function<int64_t()>(&WallClockMs);
  const std::string& c = options.command;
  if (c == "list") return RunList(admin, out, err);
  if (c == "describe") return RunDescribe(admin, options, out, err, now);
  if (c == "describe-producers") return RunDescribeProducers(admin, options, out, err);
  if (c == "abort") return RunAbort(admin, options, err);
  if (c == "find-hanging") return RunFindHanging(admin, options, out, err, now);
  err << "Unexpected command " << c << "\n";
  return 1;
}

int RunTransactionsCommand(const std::vector<std::string>& args, const std::string& version,
                           std::ostream& out, std::ostream& err) {
  ParsedTransactionsArgs parsed = ParseTransactionsArgs(args, version);
  out << parsed.out;
  err << parsed.err;
  if (!parsed.options) return parsed.exit_code;
  const TransactionsOptions& o = *parsed.options;
  client::AdminConfig config;
  config.bootstrap_servers = o.bootstrap_server;
  if (o.command_config) {
    absl::StatusOr<client::Properties> props = LoadPropertiesFile(*o.command_config);
    if (!props.ok()) {
      err << Failure("Failed to load admin client properties", Message(props.status())) << "\n";
      return 1;
    }
    for (const auto& [key, target] :
         {std::pair<const char*, absl::Duration*>{"request.timeout.ms", &config.request_timeout},
          {"retry.backoff.ms", &config.retry_backoff}}) {
      auto it = props->find(key);
      if (it == props->end()) continue;
      int64_t ms = 0;
      if (ConvertNumber(it->second, ArgType::kLong, &ms) || ms < 0) {
        err << Failure("Failed to load admin client properties",
                       fmt::format("Invalid value {} for configuration {}", it->second, key))
            << "\n";
        return 1;
      }
      *target = absl::Milliseconds(ms);
    }
    absl::StatusOr<client::SecurityConfig> security =
        client::SecurityConfig::FromProperties(*props);
    if (!security.ok()) {
      err << Failure("Failed to load admin client properties", Message(security.status())) << "\n";
      return 1;
    }
    config.security = *std::move(security);
  }
  absl::StatusOr<std::unique_ptr<client::Admin>> admin = client::Admin::Create(config);
  if (!admin.ok()) {
    err << Message(admin.status()) << "\n";
    return 1;
  }
  return RunTransactions(**admin, o, out, err);
}

}  // namespace strata::tools
