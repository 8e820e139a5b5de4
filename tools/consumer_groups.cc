#include "tools/consumer_groups.h"

#include <algorithm>
#include <fstream>
#include <ostream>
#include <regex>
#include <set>
#include <sstream>
#include <string_view>
#include <tuple>
#include <type_traits>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "client/consumer_protocol.h"
#include "client/errors.h"
#include "fmt/format.h"
#include "tools/kafka_exception.h"

namespace strata::tools {
namespace {

constexpr char kMissing[] = "-";  // Kafka's MISSING_COLUMN_VALUE

// The consumer group states of the classic protocol, in the order of
// Kafka's ConsumerGroupState enum.
const std::vector<std::string>& ValidStates() {
  static const auto* states = new std::vector<std::string>{
      "PreparingRebalance", "CompletingRebalance", "Stable", "Dead", "Empty"};
  return *states;
}

// Java's "%-Ns": left-aligned, padded to `width`, never cut.
std::string Pad(std::string_view s, size_t width) {
  std::string out(s);
  if (out.size() < width) out.append(width - out.size(), ' ');
  return out;
}

template <typename T>
std::string OrMissing(const std::optional<T>& v) {
  if (!v) return kMissing;
  if constexpr (std::is_same_v<T, std::string>) {
    return *v;
  } else {
    return std::to_string(*v);
  }
}

// Kafka's TopicPartition.toString.
std::string Tp(const TopicPartition& tp) { return tp.ToString(); }

bool LessTp(const TopicPartition& a, const TopicPartition& b) {
  return std::tie(a.topic, a.partition) < std::tie(b.topic, b.partition);
}


// Kafka's "Executing consumer group command failed due to ...".
void CommandFailed(const std::string& reason, ToolOutput* out) {
  out->Error("Executing consumer group command failed due to " + reason);
}

// The partitions of a member's assignment (Kafka's ConsumerProtocol
// Assignment). Empty bytes are an empty assignment, as Kafka's admin client
// reads them.
absl::StatusOr<std::vector<TopicPartition>> DecodeAssignmentPartitions(std::string_view bytes) {
  if (bytes.empty()) return std::vector<TopicPartition>{};
  absl::StatusOr<client::ConsumerAssignment> assignment = client::DecodeAssignment(bytes);
  if (!assignment.ok()) return assignment.status();
  return std::move(assignment->partitions);
}

bool IsConsumerProtocol(const v1::DescribedGroup& group) {
  return group.protocol_type() == "consumer" || group.protocol_type().empty();
}

absl::StatusOr<std::vector<TopicPartition>> MemberPartitions(const v1::DescribedGroup& group,
                                                             const v1::DescribedGroupMember& m) {
  if (!IsConsumerProtocol(group)) return std::vector<TopicPartition>{};
  absl::StatusOr<std::vector<TopicPartition>> tps =
      DecodeAssignmentPartitions(m.member_assignment());
  if (!tps.ok()) {
    return absl::Status(tps.status().code(),
                        fmt::format("member {} of group '{}': {}", m.member_id(), group.group_id(),
                                    std::string(tps.status().message())));
  }
  return tps;
}

// Kafka's shouldPrintMemberState: the state's message, and whether a table
// follows.
bool ShouldPrintMemberState(const std::string& group, const std::string& state, size_t rows,
                            ToolOutput* out) {
  if (state == "Dead") {
    out->Error(fmt::format("Consumer group '{}' does not exist.", group));
    return false;
  }
  if (state == "Empty") {
    out->Err("");
    out->Err(fmt::format("Consumer group '{}' has no active members.", group));
  } else if (state == "PreparingRebalance" || state == "CompletingRebalance" ||
             state == "Assigning" || state == "Reconciling") {
    out->Err("");
    out->Err(fmt::format("Warning: Consumer group '{}' is rebalancing.", group));
  } else if (state != "Stable") {
    CommandFailed(fmt::format("Expected a valid consumer group state, but found '{}'.",
                              state.empty() ? "NONE" : state),
                  out);
    return false;
  }
  return rows > 0;
}

// joptsimple's names for options in messages: "[group]".
std::string Opt(std::string_view name) { return fmt::format("[{}]", name); }

std::string CantBeUsedWith(std::string_view used, std::string_view other) {
  return fmt::format("Option \"{}\" can't be used with option \"{}\"", Opt(used), Opt(other));
}

std::string Trim(const std::string& s) { return std::string(absl::StripAsciiWhitespace(s)); }

// A CSV field as Jackson's CsvMapper writes it: quoted only when needed.
std::string CsvField(const std::string& s) {
  if (s.find_first_of(",\"\r\n") == std::string::npos) return s;
  std::string out = "\"";
  for (char c : s) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

}  // namespace

void ToolOutput::Error(const std::string& message) {
  Err("");
  Err("Error: " + message);
  failed = true;
}

void ToolOutput::WriteTo(std::ostream& out, std::ostream& err) const {
  for (const Line& l : lines) (l.to_err ? err : out) << l.text << "\n";
  out.flush();
}

// ---- Flags

absl::Status ValidateConsumerGroupOptions(const ConsumerGroupOptions& o,
                                          std::vector<std::string>* warnings) {
  auto usage = [](const std::string& m) { return absl::InvalidArgumentError(m); };
  // joptsimple's availableIf, checked while parsing.
  for (auto [given, name] : {std::pair{o.members, "members"}, std::pair{o.verbose, "verbose"},
                             std::pair{o.offsets, "offsets"}}) {
    if (given && !o.describe) {
      return usage(fmt::format(
          "Option(s) {} are unavailable given other options on the command line", Opt(name)));
    }
  }
  if (o.state && !o.describe && !o.list) {
    return usage("Option(s) [state] are unavailable given other options on the command line");
  }

  // checkArgs.
  if (o.bootstrap_server.empty()) return usage("Missing required argument \"[bootstrap-server]\"");
  const bool has_group = !o.groups.empty();
  const bool has_topic = !o.topics.empty();
  if (o.describe) {
    if (!has_group && !o.all_groups) {
      return usage("Option [describe] takes one of these options: [group], [all-groups]");
    }
    if (int(o.members) + int(o.offsets) + int(o.state.has_value()) > 1) {
      return usage(
          "Option [describe] takes at most one of these options: [members], [offsets], "
          "[state]");
    }
    if (o.state && !o.state->empty()) {
      return usage("Option [describe] does not take a value for [state]");
    }
  }
  if (o.remove) {
    if (!has_group && !o.all_groups) {
      return usage("Option [delete] takes one of these options: [group], [all-groups]");
    }
    if (has_topic) {
      return usage(
          "The consumer does not support topic-specific offset deletion from a consumer group.");
    }
  }
  if (o.delete_offsets && (!has_group || !has_topic)) {
    return usage("Option [delete-offsets] takes the following options: [group], [topic]");
  }
  if (o.reset_offsets) {
    if (o.dry_run && o.execute) {
      return usage("Option [reset-offsets] only accepts one of [execute] and [dry-run]");
    }
    if (!o.dry_run && !o.execute) {
      warnings->push_back(
          "WARN: No action will be performed as the --execute option is missing.In a future major "
          "release, the default behavior of this command will be to prompt the user before "
          "executing the reset rather than doing a dry run. You should add the --dry-run option "
          "explicitly if you are scripting this command and want to keep the current default "
          "behavior without prompting.");
    }
    if (!has_group && !o.all_groups) {
      return usage("Option [reset-offsets] takes one of these options: [group], [all-groups]");
    }
    const std::vector<std::pair<bool, const char*>> scenarios = {
        {o.to_offset.has_value(), "to-offset"},
        {o.shift_by.has_value(), "shift-by"},
        {o.to_datetime.has_value(), "to-datetime"},
        {o.by_duration.has_value(), "by-duration"},
        {o.to_earliest, "to-earliest"},
        {o.to_latest, "to-latest"},
        {o.to_current, "to-current"},
        {o.from_file.has_value(), "from-file"}};
    for (const auto& [used, name] : scenarios) {
      if (!used) continue;
      for (const auto& [other, other_name] : scenarios) {
        if (other && other_name != name) return usage(CantBeUsedWith(name, other_name));
      }
    }
  }
  if (has_group && o.all_groups) return usage(CantBeUsedWith("group", "all-groups"));
  if (has_group && o.list) return usage(CantBeUsedWith("group", "list"));
  if (has_topic && o.list) return usage(CantBeUsedWith("topic", "list"));
  if (has_topic && o.describe) return usage(CantBeUsedWith("topic", "describe"));

  const int actions =
      int(o.list) + int(o.describe) + int(o.remove) + int(o.reset_offsets) + int(o.delete_offsets);
  if (actions != 1) {
    return usage(
        "Command must include exactly one action: --list, --describe, --delete, --reset-offsets, "
        "--delete-offsets");
  }

  // Kafka finds these once it plans a reset; before any request is better.
  if (o.reset_offsets) {
    const bool any_scenario = o.to_offset || o.shift_by || o.to_datetime || o.by_duration ||
                              o.to_earliest || o.to_latest || o.to_current || o.from_file;
    if (!any_scenario) {
      return usage(
          "Option '[reset-offsets]' requires one of the following scenarios: [[to-offset], "
          "[shift-by], [to-datetime], [by-duration], [to-earliest], [to-latest], [to-current], "
          "[from-file]]");
    }
    if (!o.all_topics && !has_topic && !o.from_file) {
      return usage("One of the reset scopes should be defined: --all-topics, --topic.");
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<std::string>> ParseGroupStates(const std::string& input) {
  std::vector<std::string> states;
  for (const std::string& part : std::vector<std::string>(absl::StrSplit(input, ','))) {
    const std::string name = absl::AsciiStrToLower(Trim(part));
    auto it = std::find_if(ValidStates().begin(), ValidStates().end(),
                           [&](const std::string& s) { return absl::AsciiStrToLower(s) == name; });
    if (it == ValidStates().end()) {
      return absl::InvalidArgumentError(fmt::format("Invalid state list '{}'. Valid states are: {}",
                                                    input, absl::StrJoin(ValidStates(), ", ")));
    }
    if (std::find(states.begin(), states.end(), *it) == states.end()) states.push_back(*it);
  }
  return states;
}

absl::StatusOr<std::vector<TopicPartition>> ParseTopicPartitions(const std::string& arg) {
  std::vector<std::string> parts = absl::StrSplit(arg, ':');
  // Java's split drops trailing empty strings: "t:" is one part.
  while (!parts.empty() && parts.back().empty()) parts.pop_back();
  if (parts.size() != 2) {
    return absl::InvalidArgumentError(
        fmt::format("Invalid topic arg '{}', expected topic name and partitions", arg));
  }
  std::vector<TopicPartition> out;
  for (const std::string& p : std::vector<std::string>(absl::StrSplit(parts[1], ','))) {
    int32_t partition = 0;
    if (p.find_first_of(" \t") != std::string::npos || !absl::SimpleAtoi(p, &partition)) {
      return absl::InvalidArgumentError(
          fmt::format("Invalid partition '{}' specified in topic arg '{}''", p, arg));
    }
    out.push_back(TopicPartition{parts[0], PartitionId(partition)});
  }
  return out;
}

absl::StatusOr<int64_t> ParseDateTime(const std::string& text) {
  const size_t t = text.find('T');
  if (t == std::string::npos || t + 1 >= text.size()) {
    return absl::InvalidArgumentError(fmt::format(
        "Error parsing timestamp. It does not contain a 'T' according to ISO8601 format ({}).",
        text));
  }
  std::string datetime = text;
  const std::string time_part = text.substr(t + 1);
  if (time_part.find_first_of("+-Z") == std::string::npos) datetime += "Z";
  static const std::regex kPattern(
      R"(^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})\.(\d{1,3})(Z|([+-])(\d{2})(?::?(\d{2}))?)$)");
  std::smatch m;
  const auto unparseable =
      absl::InvalidArgumentError(fmt::format("Unparseable date: \"{}\"", datetime));
  if (!std::regex_match(datetime, m, kPattern)) return unparseable;
  auto num = [&](int i) { return std::stoi(m[i].str()); };
  const absl::CivilSecond civil(num(1), num(2), num(3), num(4), num(5), num(6));
  if (civil.year() != num(1) || civil.month() != num(2) || civil.day() != num(3) ||
      civil.hour() != num(4) || civil.minute() != num(5) || civil.second() != num(6)) {
    return unparseable;
  }
  int64_t offset_s = 0;
  if (m[8].str() != "Z") {
    const int hours = num(10);
    const int minutes = m[11].matched ? num(11) : 0;
    if (hours > 23 || minutes > 59) return unparseable;
    offset_s = (hours * 3600 + minutes * 60) * (m[9].str() == "-" ? -1 : 1);
  }
  // SimpleDateFormat's "SSS" reads the digits as a count of milliseconds.
  const int64_t millis = num(7);
  const absl::Time time = absl::FromCivil(civil, absl::UTCTimeZone());
  return absl::ToUnixMillis(time) - offset_s * 1000 + millis;
}

absl::StatusOr<absl::Duration> ParseIsoDuration(const std::string& text) {
  // java.time.Duration.parse's grammar.
  static const std::regex kPattern(
      R"(^([-+]?)P(?:([-+]?[0-9]+)D)?(T(?:([-+]?[0-9]+)H)?(?:([-+]?[0-9]+)M)?(?:([-+]?[0-9]+)(?:[.,]([0-9]{0,9}))?S)?)?$)",
      std::regex::icase);
  std::smatch m;
  const auto bad = absl::InvalidArgumentError("Text cannot be parsed to a Duration");
  if (!std::regex_match(text, m, kPattern)) return bad;
  const bool has_time = m[3].matched;
  if (!m[2].matched && !has_time) return bad;
  if (has_time && !m[4].matched && !m[5].matched && !m[6].matched) return bad;
  auto num = [&](int i) -> absl::StatusOr<int64_t> {
    if (!m[i].matched) return 0;
    int64_t v = 0;
    std::string s = m[i].str();
    if (!s.empty() && s.front() == '+') s.erase(0, 1);
    if (!absl::SimpleAtoi(s, &v)) return bad;
    return v;
  };
  absl::StatusOr<int64_t> days = num(2), hours = num(4), minutes = num(5), seconds = num(6);
  if (!days.ok() || !hours.ok() || !minutes.ok() || !seconds.ok()) return bad;
  absl::Duration d = absl::Hours(24 * *days) + absl::Hours(*hours) + absl::Minutes(*minutes) +
                     absl::Seconds(*seconds);
  if (m[7].matched && !m[7].str().empty()) {
    std::string frac = m[7].str();
    frac.append(9 - frac.size(), '0');
    absl::Duration nanos = absl::Nanoseconds(std::stoll(frac));
    // The fraction takes the sign of the seconds ("-1.5S" is -1.5 s).
    d += (m[6].str().front() == '-') ? -nanos : nanos;
  }
  if (m[1].str() == "-") d = -d;
  return d;
}

absl::StatusOr<std::map<std::string, std::map<TopicPartition, int64_t>>> ParseResetPlanCsv(
    const std::string& csv, const std::vector<std::string>& groups) {
  std::vector<std::vector<std::string>> rows;
  for (std::string line : std::vector<std::string>(absl::StrSplit(csv, '\n'))) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (Trim(line).empty()) continue;
    rows.push_back(absl::StrSplit(line, ','));
  }
  auto three = [](const std::vector<std::string>& f, TopicPartition* tp, int64_t* offset) {
    int32_t p = 0;
    if (f.size() != 3 || !absl::SimpleAtoi(f[1], &p) || !absl::SimpleAtoi(f[2], offset)) {
      return false;
    }
    *tp = TopicPartition{f[0], PartitionId(p)};
    return true;
  };
  std::map<std::string, std::map<TopicPartition, int64_t>> plan;
  TopicPartition tp;
  int64_t offset = 0;
  const bool single = groups.size() == 1 && !rows.empty() && three(rows.front(), &tp, &offset);
  for (const auto& f : rows) {
    if (single) {
      if (!three(f, &tp, &offset)) {
        return absl::InvalidArgumentError(
            fmt::format("Invalid reset plan line '{}': expected topic,partition,offset",
                        absl::StrJoin(f, ",")));
      }
      plan[groups.front()][tp] = offset;
      continue;
    }
    std::vector<std::string> rest(f.begin() + (f.empty() ? 0 : 1), f.end());
    if (f.size() != 4 || !three(rest, &tp, &offset)) {
      return absl::InvalidArgumentError(
          fmt::format("Invalid reset plan line '{}': expected group,topic,partition,offset",
                      absl::StrJoin(f, ",")));
    }
    plan[f[0]][tp] = offset;
  }
  return plan;
}

// ---- --list

std::vector<std::string> FormatGroupList(const v1::ListGroupsResponse& groups, bool with_state) {
  std::vector<const v1::ListedGroup*> consumer;
  for (const auto& g : groups.groups()) {
    if (g.protocol_type() == "consumer" || g.protocol_type().empty()) consumer.push_back(&g);
  }
  std::sort(consumer.begin(), consumer.end(),
            [](const auto* a, const auto* b) { return a->group_id() < b->group_id(); });
  std::vector<std::string> lines;
  if (!with_state) {
    for (const auto* g : consumer) lines.push_back(g->group_id());
    return lines;
  }
  size_t width = 15;
  for (const auto* g : consumer) width = std::max(width, g->group_id().size());
  width += 10;
  lines.push_back(Pad("GROUP", width) + " " + Pad("STATE", 20));
  for (const auto* g : consumer) {
    const std::string state = g->group_state().empty() ? "Unknown" : g->group_state();
    lines.push_back(Pad(g->group_id(), width) + " " + Pad(state, 20));
  }
  return lines;
}

// ---- --describe

std::vector<TopicPartition> PartitionsToDescribe(
    const v1::DescribedGroup& group, const std::map<TopicPartition, int64_t>& committed) {
  std::set<TopicPartition> out;
  for (const auto& m : group.members()) {
    absl::StatusOr<std::vector<TopicPartition>> tps = MemberPartitions(group, m);
    if (tps.ok()) out.insert(tps->begin(), tps->end());
  }
  for (const auto& [tp, offset] : committed) out.insert(tp);
  return {out.begin(), out.end()};
}

absl::StatusOr<std::vector<PartitionAssignmentState>> CollectGroupOffsets(
    const v1::DescribedGroup& group, const std::map<TopicPartition, int64_t>& committed,
    const std::map<TopicPartition, int64_t>& log_end) {
  auto row = [&](const TopicPartition& tp, std::optional<std::string> consumer,
                 std::optional<std::string> host, std::optional<std::string> client) {
    PartitionAssignmentState r;
    r.group = group.group_id();
    r.topic = tp.topic;
    r.partition = tp.partition.value();
    if (auto it = committed.find(tp); it != committed.end() && it->second != -1) {
      r.offset = it->second;
    }
    if (auto it = log_end.find(tp); it != log_end.end()) r.log_end_offset = it->second;
    if (r.offset && r.log_end_offset) r.lag = *r.log_end_offset - *r.offset;
    r.consumer_id = std::move(consumer);
    r.host = std::move(host);
    r.client_id = std::move(client);
    return r;
  };

  struct Member {
    const v1::DescribedGroupMember* member;
    std::vector<TopicPartition> partitions;
  };
  std::vector<Member> members;
  for (const auto& m : group.members()) {
    absl::StatusOr<std::vector<TopicPartition>> tps = MemberPartitions(group, m);
    if (!tps.ok()) return tps.status();
    if (tps->empty()) continue;
    std::sort(tps->begin(), tps->end(), LessTp);
    members.push_back({&m, *std::move(tps)});
  }
  std::stable_sort(members.begin(), members.end(), [](const Member& a, const Member& b) {
    return a.partitions.size() > b.partitions.size();
  });
  std::vector<PartitionAssignmentState> rows;
  std::set<TopicPartition> assigned;
  for (const Member& m : members) {
    for (const TopicPartition& tp : m.partitions) {
      assigned.insert(tp);
      rows.push_back(
          row(tp, m.member->member_id(), m.member->client_host(), m.member->client_id()));
    }
  }
  for (const auto& [tp, offset] : committed) {
    if (!assigned.contains(tp)) rows.push_back(row(tp, kMissing, kMissing, kMissing));
  }
  return rows;
}

void FormatOffsets(const std::string& group, const std::string& state,
                   const std::vector<PartitionAssignmentState>& rows, ToolOutput* out) {
  if (!ShouldPrintMemberState(group, state, rows.size(), out)) return;
  size_t group_w = 15, topic_w = 15, consumer_w = 15, host_w = 15;
  for (const auto& r : rows) {
    group_w = std::max(group_w, r.group.size());
    topic_w = std::max(topic_w, OrMissing(r.topic).size());
    consumer_w = std::max(consumer_w, OrMissing(r.consumer_id).size());
    host_w = std::max(host_w, OrMissing(r.host).size());
  }
  auto line = [&](const std::vector<std::string>& c) {
    return Pad(c[0], group_w) + " " + Pad(c[1], topic_w) + " " + Pad(c[2], 10) + " " +
           Pad(c[3], 15) + " " + Pad(c[4], 15) + " " + Pad(c[5], 15) + " " + Pad(c[6], consumer_w) +
           " " + Pad(c[7], host_w) + " " + c[8];
  };
  out->Out("");
  out->Out(line({"GROUP", "TOPIC", "PARTITION", "CURRENT-OFFSET", "LOG-END-OFFSET", "LAG",
                 "CONSUMER-ID", "HOST", "CLIENT-ID"}));
  for (const auto& r : rows) {
    out->Out(line({r.group, OrMissing(r.topic), OrMissing(r.partition), OrMissing(r.offset),
                   OrMissing(r.log_end_offset), OrMissing(r.lag), OrMissing(r.consumer_id),
                   OrMissing(r.host), OrMissing(r.client_id)}));
  }
}

absl::Status FormatMembers(const v1::DescribedGroup& group, bool verbose, ToolOutput* out) {
  struct Row {
    const v1::DescribedGroupMember* m;
    std::vector<TopicPartition> partitions;
  };
  std::vector<Row> rows;
  for (const auto& m : group.members()) {
    absl::StatusOr<std::vector<TopicPartition>> tps = MemberPartitions(group, m);
    if (!tps.ok()) return tps.status();
    rows.push_back({&m, *std::move(tps)});
  }
  const std::string& id = group.group_id();
  if (!ShouldPrintMemberState(id, group.group_state(), rows.size(), out)) {
    return absl::OkStatus();
  }
  size_t group_w = 15, consumer_w = 15, instance_w = 17, host_w = 15, client_w = 15;
  bool with_instance = false;
  for (const Row& r : rows) {
    group_w = std::max(group_w, id.size());
    consumer_w = std::max(consumer_w, r.m->member_id().size());
    instance_w = std::max(instance_w, r.m->group_instance_id().size());
    host_w = std::max(host_w, r.m->client_host().size());
    client_w = std::max(client_w, r.m->client_id().size());
    with_instance = with_instance || !r.m->group_instance_id().empty();
  }
  auto line = [&](const std::string& g, const std::string& consumer, const std::string& instance,
                  const std::string& host, const std::string& client, const std::string& count) {
    std::string l = Pad(g, group_w) + " " + Pad(consumer, consumer_w) + " ";
    if (with_instance) l += Pad(instance, instance_w) + " ";
    return l + Pad(host, host_w) + " " + Pad(client, client_w) + " " + Pad(count, 15) + " ";
  };
  out->Out("");
  out->Out(line("GROUP", "CONSUMER-ID", "GROUP-INSTANCE-ID", "HOST", "CLIENT-ID", "#PARTITIONS") +
           (verbose ? "ASSIGNMENT" : ""));
  for (const Row& r : rows) {
    std::string l = line(id, r.m->member_id(), r.m->group_instance_id(), r.m->client_host(),
                         r.m->client_id(), std::to_string(r.partitions.size()));
    if (verbose) {
      // "t(0,1), u(2)": topics sorted as strings, partitions as numbers.
      std::map<std::string, std::vector<int32_t>> by_topic;
      for (const auto& tp : r.partitions) by_topic[tp.topic].push_back(tp.partition.value());
      std::vector<std::string> parts;
      for (auto& [topic, ps] : by_topic) {
        std::sort(ps.begin(), ps.end());
        parts.push_back(topic + "(" + absl::StrJoin(ps, ",") + ")");
      }
      std::sort(parts.begin(), parts.end());
      l += parts.empty() ? kMissing : absl::StrJoin(parts, ", ");
    }
    out->Out(std::move(l));
  }
  return absl::OkStatus();
}

void FormatState(const v1::DescribedGroup& group, const v1::Coordinator& coordinator,
                 ToolOutput* out) {
  if (!ShouldPrintMemberState(group.group_id(), group.group_state(), 1, out)) return;
  const std::string co =
      fmt::format("{}:{} ({})", coordinator.host(), coordinator.port(), coordinator.node_id());
  const size_t co_w = std::max<size_t>(25, co.size());
  // Kafka pads the GROUP column to the coordinator's width, and the
  // coordinator to 25.
  auto line = [&](const std::string& a, const std::string& b, const std::string& c,
                  const std::string& d, const std::string& e) {
    return Pad(a, co_w) + " " + Pad(b, 25) + " " + Pad(c, 20) + " " + Pad(d, 15) + " " + e;
  };
  out->Out("");
  out->Out(line("GROUP", "COORDINATOR (ID)", "ASSIGNMENT-STRATEGY", "STATE", "#MEMBERS"));
  out->Out(line(group.group_id(), co, group.protocol_data(), group.group_state(),
                std::to_string(group.members_size())));
}

// ---- --reset-offsets

absl::StatusOr<std::map<TopicPartition, int64_t>> PlanOffsetReset(
    const ConsumerGroupOptions& o, const std::vector<TopicPartition>& partitions,
    const PartitionOffsets& offsets, const std::map<TopicPartition, int64_t>* file_plan,
    ToolOutput* out) {
  // Kafka's checkOffsetsRange.
  auto clamp = [&](const std::map<TopicPartition, int64_t>& requested)
      -> absl::StatusOr<std::map<TopicPartition, int64_t>> {
    std::map<TopicPartition, int64_t> result;
    for (const auto& [tp, offset] : requested) {
      auto end = offsets.log_end.find(tp);
      if (end == offsets.log_end.end()) {
        return absl::FailedPreconditionError(
            fmt::format("Unexpected non-existing offset value for topic partition {}", Tp(tp)));
      }
      auto start = offsets.log_start.find(tp);
      if (offset > end->second) {
        out->Err(
            fmt::format("WARN New offset ({}) is higher than latest offset for topic "
                        "partition {}. Value will be set to {}",
                        offset, Tp(tp), end->second));
        result[tp] = end->second;
      } else if (start != offsets.log_start.end() && offset < start->second) {
        out->Err(
            fmt::format("WARN New offset ({}) is lower than earliest offset for topic "
                        "partition {}. Value will be set to {}",
                        offset, Tp(tp), start->second));
        result[tp] = start->second;
      } else {
        result[tp] = offset;
      }
    }
    return result;
  };
  auto each = [&](const std::map<TopicPartition, int64_t>& source,
                  const char* what) -> absl::StatusOr<std::map<TopicPartition, int64_t>> {
    std::map<TopicPartition, int64_t> result;
    for (const TopicPartition& tp : partitions) {
      auto it = source.find(tp);
      if (it == source.end()) {
        return absl::InvalidArgumentError(
            fmt::format("Error getting {} of topic partition: {}", what, Tp(tp)));
      }
      result[tp] = it->second;
    }
    return result;
  };

  if (o.to_offset) {
    std::map<TopicPartition, int64_t> requested;
    for (const TopicPartition& tp : partitions) requested[tp] = *o.to_offset;
    return clamp(requested);
  }
  if (o.to_earliest) return each(offsets.log_start, "starting offset");
  if (o.to_latest) return each(offsets.log_end, "ending offset");
  if (o.shift_by) {
    std::map<TopicPartition, int64_t> requested;
    for (const TopicPartition& tp : partitions) {
      auto it = offsets.committed.find(tp);
      if (it == offsets.committed.end()) {
        return absl::InvalidArgumentError(
            fmt::format("Cannot shift offset for partition {} since there is no current "
                        "committed offset",
                        Tp(tp)));
      }
      requested[tp] = it->second + *o.shift_by;
    }
    return clamp(requested);
  }
  if (o.to_datetime || o.by_duration) {
    std::map<TopicPartition, int64_t> result;
    for (const TopicPartition& tp : partitions) {
      auto it = offsets.by_timestamp.find(tp);
      if (it != offsets.by_timestamp.end() && it->second != -1) {
        result[tp] = it->second;
        continue;
      }
      if (it != offsets.by_timestamp.end()) {
        out->Out("");
        out->Out(
            fmt::format("Warn: Partition {} from topic {} is empty. Falling back to latest "
                        "known offset.",
                        tp.partition.value(), tp.topic));
        auto end = offsets.log_end.find(tp);
        if (end != offsets.log_end.end()) {
          result[tp] = end->second;
          continue;
        }
      }
      return absl::InvalidArgumentError(
          fmt::format("Error getting offset by timestamp of topic partition: {}", Tp(tp)));
    }
    return result;
  }
  if (o.from_file) {
    if (file_plan == nullptr) return std::map<TopicPartition, int64_t>{};
    return clamp(*file_plan);
  }
  if (o.to_current) {
    std::map<TopicPartition, int64_t> result;
    for (const TopicPartition& tp : partitions) {
      auto it = offsets.committed.find(tp);
      if (it != offsets.committed.end()) {
        result[tp] = it->second;
        continue;
      }
      auto end = offsets.log_end.find(tp);
      if (end == offsets.log_end.end()) {
        return absl::InvalidArgumentError(
            fmt::format("Error getting ending offset of topic partition: {}", Tp(tp)));
      }
      result[tp] = end->second;
    }
    return result;
  }
  return absl::InvalidArgumentError(
      "Option '[reset-offsets]' requires one of the following scenarios: [[to-offset], "
      "[shift-by], [to-datetime], [by-duration], [to-earliest], [to-latest], [to-current], "
      "[from-file]]");
}

std::vector<std::string> FormatResetPlan(
    const std::map<std::string, std::map<TopicPartition, int64_t>>& plans) {
  std::vector<std::string> lines;
  if (plans.empty()) return lines;
  auto line = [](const std::string& g, const std::string& t, const std::string& p,
                 const std::string& o) {
    return Pad(g, 30) + " " + Pad(t, 30) + " " + Pad(p, 10) + " " + Pad(o, 15);
  };
  lines.push_back("");
  lines.push_back(line("GROUP", "TOPIC", "PARTITION", "NEW-OFFSET"));
  for (const auto& [group, plan] : plans) {
    for (const auto& [tp, offset] : plan) {
      lines.push_back(
          line(group, tp.topic, std::to_string(tp.partition.value()), std::to_string(offset)));
    }
  }
  return lines;
}

std::string ExportResetPlanCsv(
    const std::map<std::string, std::map<TopicPartition, int64_t>>& plans, bool single_group) {
  std::string out;
  for (const auto& [group, plan] : plans) {
    for (const auto& [tp, offset] : plan) {
      if (!single_group) out += CsvField(group) + ",";
      out += fmt::format("{},{},{}\n", CsvField(tp.topic), tp.partition.value(), offset);
    }
  }
  return out;
}

// ---- --delete, --delete-offsets

void FormatDeleteGroups(const v1::DeleteGroupsResponse& response, ToolOutput* out) {
  std::vector<std::string> succeeded;
  std::vector<const v1::DeletableGroupResult*> failed;
  for (const auto& r : response.results()) {
    if (r.error() == v1::NONE) {
      succeeded.push_back("'" + r.group_id() + "'");
    } else {
      failed.push_back(&r);
    }
  }
  if (failed.empty()) {
    out->Out(fmt::format("Deletion of requested consumer groups ({}) was successful.",
                         absl::StrJoin(succeeded, ", ")));
    return;
  }
  out->Error("Deletion of some consumer groups failed:");
  for (const auto* r : failed) {
    out->Err(
        fmt::format("* Group '{}' could not be deleted due to: "
                    "java.util.concurrent.ExecutionException: {}",
                    r->group_id(), KafkaExceptionText(r->error(), r->error_message())));
  }
  if (!succeeded.empty()) {
    out->Out("");
    out->Out("These consumer groups were deleted successfully: " + absl::StrJoin(succeeded, ", "));
  }
}

void FormatDeleteOffsets(const std::string& group, const std::vector<std::string>& topic_args,
                         const std::vector<TopicPartition>& partitions,
                         const v1::OffsetDeleteResponse& response,
                         const std::map<std::string, std::string>& topic_errors, ToolOutput* out) {
  // Each partition's outcome: its own error, else the group's.
  std::map<TopicPartition, std::pair<v1::ErrorCode, std::string>> found;
  for (const auto& t : response.topics()) {
    for (const auto& p : t.partitions()) {
      found[TopicPartition{t.name(), PartitionId(p.partition_index())}] = {p.error(),
                                                                           p.error_message()};
    }
  }
  v1::ErrorCode top = response.error();
  struct Row {
    std::string topic;
    std::string partition;
    std::string status;
    std::string sort_key;
  };
  std::vector<Row> rows;
  for (const TopicPartition& tp : partitions) {
    std::pair<v1::ErrorCode, std::string> result = {v1::NONE, ""};
    auto it = found.find(tp);
    if (it != found.end() && it->second.first != v1::NONE) {
      result = it->second;
    } else if (response.error() != v1::NONE) {
      result = {response.error(), response.error_message()};
    } else if (it == found.end()) {
      result = {v1::UNKNOWN_SERVER_ERROR,
                fmt::format("The coordinator sent no result for {}", Tp(tp))};
    }
    if (top == v1::NONE) top = result.first;  // Kafka's all() fails with a partition's error
    rows.push_back({tp.topic, std::to_string(tp.partition.value()),
                    result.first == v1::NONE
                        ? "Successful"
                        : "Error: " + KafkaExceptionText(result.first, result.second),
                    tp.topic + std::to_string(tp.partition.value())});
  }
  for (const auto& [topic, error] : topic_errors) {
    rows.push_back({topic, "Not Provided", "Error: " + error, topic + "-1"});
  }
  switch (top) {
    case v1::NONE:
      out->Out(fmt::format("Request succeed for deleting offsets with topic {} group {}",
                           absl::StrJoin(topic_args, ", "), group));
      break;
    case v1::INVALID_GROUP_ID:
      out->Error(fmt::format("'{}' is not valid.", group));
      break;
    case v1::GROUP_ID_NOT_FOUND:
      out->Error(fmt::format("'{}' does not exist.", group));
      break;
    case v1::NON_EMPTY_GROUP:
      out->Error(fmt::format(
          "Deleting offsets of a consumer group '{}' is forbidden if the group is not empty.",
          group));
      break;
    case v1::GROUP_SUBSCRIBED_TO_TOPIC:
    case v1::UNKNOWN_TOPIC_OR_PARTITION:
      out->Error("Encounter some partition level error, see the follow-up details:");
      break;
    default:
      out->Error("Encounter some unknown error: " + client::ErrorName(top));
  }
  if (!topic_errors.empty()) out->failed = true;
  // Kafka sorts by topic and partition joined as one string.
  std::stable_sort(rows.begin(), rows.end(),
                   [](const Row& a, const Row& b) { return a.sort_key < b.sort_key; });
  out->Out("");
  out->Out(Pad("TOPIC", 30) + " " + Pad("PARTITION", 15) + " " + Pad("STATUS", 15));
  for (const Row& r : rows) {
    out->Out(Pad(r.topic, 30) + " " + Pad(r.partition, 15) + " " + Pad(r.status, 15));
  }
}

// ---- Running it

namespace {

// The consumer groups of the cluster, sorted (for --all-groups).
absl::StatusOr<std::vector<std::string>> ConsumerGroupIds(client::Admin& admin) {
  absl::StatusOr<v1::ListGroupsResponse> listed = admin.ListGroups();
  if (!listed.ok()) return listed.status();
  return FormatGroupList(*listed, /*with_state=*/false);
}

// The groups the command is about: --all-groups, or each --group once, sorted
// as Kafka's TreeMap has them.
absl::StatusOr<std::vector<std::string>> SelectedGroups(client::Admin& admin,
                                                        const ConsumerGroupOptions& o) {
  if (o.all_groups) return ConsumerGroupIds(admin);
  std::set<std::string> unique(o.groups.begin(), o.groups.end());
  return std::vector<std::string>(unique.begin(), unique.end());
}

// Offsets of `partitions` at `timestamp`; partitions whose offset could not
// be listed are left out.
std::map<TopicPartition, int64_t> OffsetsAt(client::Admin& admin,
                                            const std::vector<TopicPartition>& partitions,
                                            int64_t timestamp) {
  std::map<TopicPartition, int64_t> request;
  for (const auto& tp : partitions) request[tp] = timestamp;
  std::map<TopicPartition, int64_t> out;
  if (request.empty()) return out;
  absl::StatusOr<std::map<TopicPartition, client::ListedOffset>> listed =
      admin.ListOffsets(request);
  if (!listed.ok()) return out;
  for (const auto& [tp, r] : *listed) {
    if (r.status.ok()) out[tp] = r.offset;
  }
  return out;
}

// The partitions of plain topic names, through DescribeTopics; per-topic
// errors in `errors` (Kafka's exception text).
absl::StatusOr<std::vector<TopicPartition>> PartitionsOfTopics(
    client::Admin& admin, const std::vector<std::string>& topics,
    std::map<std::string, std::string>* errors) {
  std::vector<TopicPartition> out;
  if (topics.empty()) return out;
  absl::StatusOr<v1::DescribeTopicsResponse> described = admin.DescribeTopics(topics);
  if (!described.ok()) return described.status();
  for (const auto& t : described->topics()) {
    if (t.error() != v1::NONE) {
      (*errors)[t.name()] = KafkaExceptionText(t.error(), t.error_message());
      continue;
    }
    for (const auto& p : t.partitions()) {
      out.push_back(TopicPartition{t.name(), PartitionId(p.partition())});
    }
  }
  return out;
}

// The --topic arguments: whole topics ("t") into `plain`, listed
// partitions ("t:0,1") into `partitions`. False (the error printed) when one
// does not parse.
bool SplitTopicArgs(const std::vector<std::string>& args, std::vector<std::string>* plain,
                    std::vector<TopicPartition>* partitions, ToolOutput* out) {
  for (const std::string& arg : args) {
    if (arg.find(':') == std::string::npos) {
      plain->push_back(arg);
      continue;
    }
    absl::StatusOr<std::vector<TopicPartition>> tps = ParseTopicPartitions(arg);
    if (!tps.ok()) {
      out->Err(std::string(tps.status().message()));
      return false;
    }
    partitions->insert(partitions->end(), tps->begin(), tps->end());
  }
  return true;
}

int RunList(client::Admin& admin, const ConsumerGroupOptions& o, ToolOutput* out) {
  std::vector<std::string> states;
  if (o.state && !o.state->empty()) {
    absl::StatusOr<std::vector<std::string>> parsed = ParseGroupStates(*o.state);
    if (!parsed.ok()) {
      out->Err(std::string(parsed.status().message()));
      return 1;
    }
    states = *parsed;
  }
  absl::StatusOr<v1::ListGroupsResponse> listed = admin.ListGroups(states);
  if (!listed.ok()) {
    CommandFailed(KafkaExceptionText(listed.status()), out);
    return 1;
  }
  for (auto& line : FormatGroupList(*listed, o.state.has_value())) out->Out(std::move(line));
  return 0;
}

int RunDescribe(client::Admin& admin, const ConsumerGroupOptions& o, ToolOutput* out) {
  absl::StatusOr<std::vector<std::string>> groups = SelectedGroups(admin, o);
  if (!groups.ok()) {
    CommandFailed(KafkaExceptionText(groups.status()), out);
    return 1;
  }
  absl::StatusOr<v1::DescribeGroupsResponse> described = admin.DescribeGroups(*groups);
  if (!described.ok()) {
    CommandFailed(KafkaExceptionText(described.status()), out);
    return 1;
  }
  for (const v1::DescribedGroup& g : described->groups()) {
    if (g.error() != v1::NONE) {
      CommandFailed(KafkaExceptionText(g.error(), g.error_message()), out);
      return 1;
    }
  }
  for (const v1::DescribedGroup& g : described->groups()) {
    if (o.members) {
      absl::Status s = FormatMembers(g, o.verbose, out);
      if (!s.ok()) {
        CommandFailed(std::string(s.message()), out);
        return 1;
      }
    } else if (o.state) {
      v1::Coordinator coordinator;
      coordinator.set_node_id(g.coordinator_id());
      absl::StatusOr<v1::Coordinator> found = admin.FindGroupCoordinator(g.group_id());
      if (found.ok()) coordinator = *found;
      FormatState(g, coordinator, out);
    } else {
      absl::StatusOr<std::map<TopicPartition, int64_t>> committed =
          admin.ListGroupOffsets(g.group_id());
      if (!committed.ok()) {
        CommandFailed(KafkaExceptionText(committed.status()), out);
        return 1;
      }
      std::map<TopicPartition, int64_t> log_end =
          OffsetsAt(admin, PartitionsToDescribe(g, *committed), client::Admin::kLatestTimestamp);
      absl::StatusOr<std::vector<PartitionAssignmentState>> rows =
          CollectGroupOffsets(g, *committed, log_end);
      if (!rows.ok()) {
        CommandFailed(std::string(rows.status().message()), out);
        return 1;
      }
      FormatOffsets(g.group_id(), g.group_state(), *rows, out);
    }
  }
  return out->failed ? 1 : 0;
}

int RunDelete(client::Admin& admin, const ConsumerGroupOptions& o, ToolOutput* out) {
  absl::StatusOr<std::vector<std::string>> groups = SelectedGroups(admin, o);
  if (!groups.ok()) {
    CommandFailed(KafkaExceptionText(groups.status()), out);
    return 1;
  }
  absl::StatusOr<v1::DeleteGroupsResponse> deleted = admin.DeleteGroups(*groups);
  if (!deleted.ok()) {
    CommandFailed(KafkaExceptionText(deleted.status()), out);
    return 1;
  }
  FormatDeleteGroups(*deleted, out);
  return out->failed ? 1 : 0;
}

int RunDeleteOffsets(client::Admin& admin, const ConsumerGroupOptions& o, ToolOutput* out) {
  const std::string& group = o.groups.front();
  std::vector<TopicPartition> partitions;
  std::vector<std::string> plain;
  if (!SplitTopicArgs(o.topics, &plain, &partitions, out)) return 1;
  std::map<std::string, std::string> topic_errors;
  absl::StatusOr<std::vector<TopicPartition>> described =
      PartitionsOfTopics(admin, plain, &topic_errors);
  if (!described.ok()) {
    CommandFailed(KafkaExceptionText(described.status()), out);
    return 1;
  }
  partitions.insert(partitions.end(), described->begin(), described->end());
  std::sort(partitions.begin(), partitions.end(), LessTp);
  partitions.erase(std::unique(partitions.begin(), partitions.end()), partitions.end());
  v1::OffsetDeleteResponse response;
  if (!partitions.empty()) {
    absl::StatusOr<v1::OffsetDeleteResponse> deleted = admin.DeleteGroupOffsets(group, partitions);
    if (!deleted.ok()) {
      CommandFailed(KafkaExceptionText(deleted.status()), out);
      return 1;
    }
    response = *std::move(deleted);
  }
  FormatDeleteOffsets(group, o.topics, partitions, response, topic_errors, out);
  return out->failed ? 1 : 0;
}

int RunResetOffsets(client::Admin& admin, const ConsumerGroupOptions& o, ToolOutput* out) {
  // Everything that can be wrong with the flags is found before a request.
  std::optional<std::map<std::string, std::map<TopicPartition, int64_t>>> file_plan;
  if (o.from_file) {
    std::ifstream in(*o.from_file);
    if (!in) {
      CommandFailed(fmt::format("{} (No such file or directory)", *o.from_file), out);
      return 1;
    }
    std::stringstream text;
    text << in.rdbuf();
    absl::StatusOr<std::map<std::string, std::map<TopicPartition, int64_t>>> parsed =
        ParseResetPlanCsv(text.str(), o.groups);
    if (!parsed.ok()) {
      CommandFailed(std::string(parsed.status().message()), out);
      return 1;
    }
    file_plan = *std::move(parsed);
  }
  std::optional<int64_t> timestamp;
  if (o.to_datetime) {
    absl::StatusOr<int64_t> t = ParseDateTime(*o.to_datetime);
    if (!t.ok()) {
      CommandFailed(std::string(t.status().message()), out);
      return 1;
    }
    timestamp = *t;
  } else if (o.by_duration) {
    absl::StatusOr<absl::Duration> d = ParseIsoDuration(*o.by_duration);
    if (!d.ok()) {
      CommandFailed(std::string(d.status().message()), out);
      return 1;
    }
    timestamp = absl::ToUnixMillis(absl::Now() - *d);
  }
  std::vector<TopicPartition> specified;
  std::vector<std::string> plain;
  if (!SplitTopicArgs(o.topics, &plain, &specified, out)) return 1;

  absl::StatusOr<std::vector<std::string>> groups = SelectedGroups(admin, o);
  if (!groups.ok()) {
    CommandFailed(KafkaExceptionText(groups.status()), out);
    return 1;
  }
  absl::StatusOr<v1::DescribeGroupsResponse> described = admin.DescribeGroups(*groups);
  if (!described.ok()) {
    CommandFailed(KafkaExceptionText(described.status()), out);
    return 1;
  }
  const bool execute = o.execute && !o.dry_run;
  std::map<std::string, std::map<TopicPartition, int64_t>> plans;
  for (const v1::DescribedGroup& g : described->groups()) {
    const std::string& id = g.group_id();
    if (g.error() != v1::NONE) {
      CommandFailed(KafkaExceptionText(g.error(), g.error_message()), out);
      return 1;
    }
    if (g.group_state() != "Empty" && g.group_state() != "Dead") {
      out->Error(fmt::format(
          "Assignments can only be reset if the group '{}' is inactive, but the current state "
          "is {}.",
          id, g.group_state()));
      plans[id];
      continue;
    }
    // The partitions to reset.
    std::vector<TopicPartition> partitions;
    PartitionOffsets offsets;
    const bool need_committed = o.all_topics || o.shift_by || o.to_current;
    if (need_committed) {
      absl::StatusOr<std::map<TopicPartition, int64_t>> committed = admin.ListGroupOffsets(id);
      if (!committed.ok()) {
        CommandFailed(KafkaExceptionText(committed.status()), out);
        return 1;
      }
      offsets.committed = *std::move(committed);
    }
    const std::map<TopicPartition, int64_t>* group_file_plan = nullptr;
    if (file_plan) {
      auto it = file_plan->find(id);
      if (it == file_plan->end()) {
        out->Error(fmt::format("No reset plan for group {} found", id));
        plans[id];
        continue;
      }
      group_file_plan = &it->second;
    }
    if (o.all_topics) {
      for (const auto& [tp, offset] : offsets.committed) partitions.push_back(tp);
    } else if (!o.topics.empty()) {
      partitions = specified;
      std::map<std::string, std::string> topic_errors;
      absl::StatusOr<std::vector<TopicPartition>> of_topics =
          PartitionsOfTopics(admin, plain, &topic_errors);
      if (!of_topics.ok()) {
        CommandFailed(KafkaExceptionText(of_topics.status()), out);
        return 1;
      }
      if (!topic_errors.empty()) {
        CommandFailed(topic_errors.begin()->second, out);
        return 1;
      }
      partitions.insert(partitions.end(), of_topics->begin(), of_topics->end());
    }
    // What the plan reads of the logs.
    std::set<TopicPartition> logs(partitions.begin(), partitions.end());
    if (group_file_plan) {
      for (const auto& [tp, offset] : *group_file_plan) logs.insert(tp);
    }
    const std::vector<TopicPartition> log_list(logs.begin(), logs.end());
    offsets.log_start = OffsetsAt(admin, log_list, client::Admin::kEarliestTimestamp);
    offsets.log_end = OffsetsAt(admin, log_list, client::Admin::kLatestTimestamp);
    if (timestamp) {
      std::map<TopicPartition, int64_t> request;
      for (const auto& tp : partitions) request[tp] = *timestamp;
      absl::StatusOr<std::map<TopicPartition, client::ListedOffset>> listed =
          admin.ListOffsets(request);
      if (listed.ok()) {
        for (const auto& [tp, r] : *listed) {
          if (r.status.ok()) offsets.by_timestamp[tp] = r.offset;
        }
      }
    }
    absl::StatusOr<std::map<TopicPartition, int64_t>> plan =
        PlanOffsetReset(o, partitions, offsets, group_file_plan, out);
    if (!plan.ok()) {
      if (absl::IsFailedPrecondition(plan.status())) {
        CommandFailed(std::string(plan.status().message()), out);
      } else {
        out->Err(std::string(plan.status().message()));  // Kafka's usage error
        out->failed = true;
      }
      return 1;
    }
    if (execute) {
      absl::StatusOr<v1::OffsetCommitResponse> committed = admin.AlterGroupOffsets(id, *plan);
      if (!committed.ok()) {
        CommandFailed(KafkaExceptionText(committed.status()), out);
        return 1;
      }
      for (const auto& t : committed->topics()) {
        for (const auto& p : t.partitions()) {
          if (p.error() != v1::NONE) {
            CommandFailed(KafkaExceptionText(p.error(), p.error_message()), out);
            return 1;
          }
        }
      }
    }
    plans[id] = *std::move(plan);
  }
  if (o.export_csv) {
    std::string csv = ExportResetPlanCsv(plans, o.groups.size() == 1);
    // Kafka println()s the CSV, whose rows each end with a newline.
    out->Out(csv.empty() ? "" : csv);
  } else {
    for (auto& line : FormatResetPlan(plans)) out->Out(std::move(line));
  }
  return out->failed ? 1 : 0;
}

}  // namespace

int RunConsumerGroups(client::Admin& admin, const ConsumerGroupOptions& options, std::ostream& out,
                      std::ostream& err) {
  ToolOutput output;
  int code = 0;
  if (options.list) {
    code = RunList(admin, options, &output);
  } else if (options.describe) {
    code = RunDescribe(admin, options, &output);
  } else if (options.remove) {
    code = RunDelete(admin, options, &output);
  } else if (options.reset_offsets) {
    code = RunResetOffsets(admin, options, &output);
  } else if (options.delete_offsets) {
    code = RunDeleteOffsets(admin, options, &output);
  }
  output.WriteTo(out, err);
  return code;
}

}  // namespace strata::tools
