#include "broker/group/group_metadata.h"

#include <algorithm>

#include "absl/strings/str_cat.h"

namespace strata::group {
namespace {

// Decodes one UTF-8 sequence at `*i`; a malformed one is one byte of
// U+FFFD.
char32_t NextCodePoint(std::string_view s, size_t* i) {
  const auto byte = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
  const unsigned char b0 = byte(*i);
  int length = 0;
  char32_t cp = 0;
  if (b0 < 0x80) {
    ++*i;
    return b0;
  } else if ((b0 & 0xE0) == 0xC0) {
    length = 2;
    cp = b0 & 0x1F;
  } else if ((b0 & 0xF0) == 0xE0) {
    length = 3;
    cp = b0 & 0x0F;
  } else if ((b0 & 0xF8) == 0xF0) {
    length = 4;
    cp = b0 & 0x07;
  } else {
    ++*i;
    return 0xFFFD;
  }
  if (*i + length > s.size()) {
    ++*i;
    return 0xFFFD;
  }
  for (int k = 1; k < length; ++k) {
    const unsigned char b = byte(*i + k);
    if ((b & 0xC0) != 0x80) {
      ++*i;
      return 0xFFFD;
    }
    cp = (cp << 6) | (b & 0x3F);
  }
  // Overlong forms, surrogates and values past U+10FFFF are malformed too.
  static constexpr char32_t kMin[] = {0, 0, 0x80, 0x800, 0x10000};
  if (cp < kMin[length] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
    ++*i;
    return 0xFFFD;
  }
  *i += length;
  return cp;
}

}  // namespace

int32_t JavaStringHashCode(std::string_view utf8) {
  // Java's int arithmetic wraps; unsigned arithmetic here wraps the same.
  uint32_t h = 0;
  for (size_t i = 0; i < utf8.size();) {
    const char32_t cp = NextCodePoint(utf8, &i);
    if (cp >= 0x10000) {
      const char32_t v = cp - 0x10000;
      h = 31 * h + static_cast<uint32_t>(0xD800 + (v >> 10));
      h = 31 * h + static_cast<uint32_t>(0xDC00 + (v & 0x3FF));
    } else {
      h = 31 * h + static_cast<uint32_t>(cp);
    }
  }
  return static_cast<int32_t>(h);
}

int32_t OffsetsPartitionFor(std::string_view group_id, int32_t offsets_topic_partitions) {
  const int32_t hash = JavaStringHashCode(group_id);
  const int32_t abs = hash == INT32_MIN ? 0 : (hash < 0 ? -hash : hash);
  return abs % offsets_topic_partitions;
}

const char* GroupStateName(GroupState state) {
  switch (state) {
    case GroupState::kEmpty:
      return "Empty";
    case GroupState::kPreparingRebalance:
      return "PreparingRebalance";
    case GroupState::kCompletingRebalance:
      return "CompletingRebalance";
    case GroupState::kStable:
      return "Stable";
    case GroupState::kDead:
      return "Dead";
  }
  return "Unknown";
}

std::string MemberMetadata::Vote(const std::vector<std::string>& candidates) const {
  for (const auto& [name, metadata] : protocols) {
    if (std::find(candidates.begin(), candidates.end(), name) != candidates.end()) return name;
  }
  return "";
}

bool MemberMetadata::Supports(const std::string& protocol) const {
  return std::any_of(protocols.begin(), protocols.end(),
                     [&](const auto& p) { return p.first == protocol; });
}

const MemberMetadata* GroupMetadata::Get(const std::string& member_id) const {
  auto it = members_.find(member_id);
  return it == members_.end() ? nullptr : &it->second;
}

MemberMetadata* GroupMetadata::Mutable(const std::string& member_id) {
  auto it = members_.find(member_id);
  return it == members_.end() ? nullptr : &it->second;
}

GroupMetadata GroupMetadata::Restore(std::string group_id, int32_t generation_id,
                                     std::string protocol_type, std::string protocol_name,
                                     std::string leader_id, std::vector<MemberMetadata> members) {
  GroupMetadata group(std::move(group_id));
  group.generation_id_ = generation_id;
  group.protocol_type_ = std::move(protocol_type);
  for (MemberMetadata& m : members) {
    if (!m.group_instance_id.empty()) group.static_members_[m.group_instance_id] = m.member_id;
    const std::string id = m.member_id;
    group.members_.emplace(id, std::move(m));
  }
  if (group.members_.empty()) return group;  // Empty, no protocol
  group.protocol_name_ = std::move(protocol_name);
  group.leader_id_ =
      group.members_.contains(leader_id) ? std::move(leader_id) : group.members_.begin()->first;
  group.state_ = GroupState::kStable;
  return group;
}

std::optional<std::string> GroupMetadata::StaticMemberId(
    const std::string& group_instance_id) const {
  auto it = static_members_.find(group_instance_id);
  if (it == static_members_.end()) return std::nullopt;
  return it->second;
}

absl::Status GroupMetadata::TransitionTo(GroupState target) {
  bool allowed = false;
  switch (target) {
    case GroupState::kEmpty:
      allowed = state_ == GroupState::kPreparingRebalance;
      break;
    case GroupState::kPreparingRebalance:
      allowed = state_ == GroupState::kEmpty || state_ == GroupState::kStable ||
                state_ == GroupState::kCompletingRebalance;
      break;
    case GroupState::kCompletingRebalance:
      allowed = state_ == GroupState::kPreparingRebalance;
      break;
    case GroupState::kStable:
      allowed = state_ == GroupState::kCompletingRebalance;
      break;
    case GroupState::kDead:
      allowed = true;
      break;
  }
  if (!allowed) {
    return absl::FailedPreconditionError(absl::StrCat("Group ", group_id_, " cannot move from ",
                                                      GroupStateName(state_), " to ",
                                                      GroupStateName(target)));
  }
  state_ = target;
  return absl::OkStatus();
}

bool GroupMetadata::SupportsProtocols(const std::string& protocol_type,
                                      const std::vector<std::string>& protocols) const {
  // An empty group takes any protocol type; otherwise the newcomer must
  // share the type and one protocol every member supports.
  if (state_ == GroupState::kEmpty || members_.empty()) {
    return !protocol_type.empty() && !protocols.empty();
  }
  if (protocol_type != protocol_type_) return false;
  const std::vector<std::string> candidates = CandidateProtocols();
  return std::any_of(protocols.begin(), protocols.end(), [&](const std::string& p) {
    return std::find(candidates.begin(), candidates.end(), p) != candidates.end();
  });
}

absl::Status GroupMetadata::Add(MemberMetadata member) {
  std::vector<std::string> names;
  for (const auto& [name, metadata] : member.protocols) names.push_back(name);
  if (!SupportsProtocols(member.protocol_type, names)) {
    return absl::InvalidArgumentError(
        absl::StrCat("Member ", member.member_id, " of group ", group_id_, " (protocol type '",
                     member.protocol_type, "') shares no protocol with the group's members"));
  }
  if (members_.contains(member.member_id)) {
    return absl::AlreadyExistsError(
        absl::StrCat("Member ", member.member_id, " is already in group ", group_id_));
  }
  if (members_.empty()) protocol_type_ = member.protocol_type;
  if (leader_id_.empty()) leader_id_ = member.member_id;
  if (!member.group_instance_id.empty()) {
    static_members_[member.group_instance_id] = member.member_id;
  }
  const std::string id = member.member_id;
  members_.emplace(id, std::move(member));
  return absl::OkStatus();
}

bool GroupMetadata::Remove(const std::string& member_id) {
  auto it = members_.find(member_id);
  if (it == members_.end()) return false;
  if (!it->second.group_instance_id.empty()) {
    auto s = static_members_.find(it->second.group_instance_id);
    if (s != static_members_.end() && s->second == member_id) static_members_.erase(s);
  }
  members_.erase(it);
  if (leader_id_ == member_id) leader_id_ = members_.empty() ? "" : members_.begin()->first;
  return true;
}

absl::Status GroupMetadata::ReplaceStaticMember(const std::string& old_member_id,
                                                const std::string& new_member_id) {
  auto it = members_.find(old_member_id);
  if (it == members_.end()) {
    return absl::NotFoundError(
        absl::StrCat("Member ", old_member_id, " is not in group ", group_id_));
  }
  MemberMetadata member = std::move(it->second);
  members_.erase(it);
  member.member_id = new_member_id;
  if (!member.group_instance_id.empty()) {
    static_members_[member.group_instance_id] = new_member_id;
  }
  if (leader_id_ == old_member_id) leader_id_ = new_member_id;
  members_.emplace(new_member_id, std::move(member));
  return absl::OkStatus();
}

bool GroupMetadata::SetLeader(const std::string& member_id) {
  if (!members_.contains(member_id)) return false;
  leader_id_ = member_id;
  return true;
}

bool GroupMetadata::SetAssignment(const std::string& member_id, std::string assignment) {
  auto it = members_.find(member_id);
  if (it == members_.end()) return false;
  it->second.assignment = std::move(assignment);
  return true;
}

std::vector<std::string> GroupMetadata::CandidateProtocols() const {
  std::vector<std::string> candidates;
  if (members_.empty()) return candidates;
  // Ordered by the leader's preference (any member's order would do for
  // the set; this one makes ties deterministic).
  const MemberMetadata& first =
      members_.contains(leader_id_) ? members_.at(leader_id_) : members_.begin()->second;
  for (const auto& [name, metadata] : first.protocols) {
    const bool everyone = std::all_of(members_.begin(), members_.end(),
                                      [&](const auto& m) { return m.second.Supports(name); });
    if (everyone && std::find(candidates.begin(), candidates.end(), name) == candidates.end()) {
      candidates.push_back(name);
    }
  }
  return candidates;
}

std::string GroupMetadata::SelectProtocol() const {
  const std::vector<std::string> candidates = CandidateProtocols();
  if (candidates.empty()) return "";
  std::map<std::string, int> votes;
  for (const auto& [id, member] : members_) ++votes[member.Vote(candidates)];
  std::string best = candidates.front();
  for (const std::string& c : candidates) {
    if (votes[c] > votes[best]) best = c;
  }
  return best;
}

absl::Status GroupMetadata::InitNextGeneration() {
  if (state_ != GroupState::kPreparingRebalance) {
    return absl::FailedPreconditionError(
        absl::StrCat("Group ", group_id_,
                     " starts a new generation only while preparing a "
                     "rebalance, not in ",
                     GroupStateName(state_)));
  }
  ++generation_id_;
  for (auto& [id, member] : members_) member.assignment.clear();
  if (!members_.empty()) {
    protocol_name_ = SelectProtocol();
    return TransitionTo(GroupState::kCompletingRebalance);
  }
  protocol_name_.clear();
  return TransitionTo(GroupState::kEmpty);
}

}  // namespace strata::group
