#include "client/consumer_protocol.h"

#include <algorithm>
#include <map>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace strata::client {
namespace {

// The smallest encodings of one element, so a count can be checked against
// the bytes left before anything is allocated for it.
constexpr size_t kMinStringSize = 2;           // int16 length, no bytes
constexpr size_t kMinTopicPartitionsSize = 6;  // empty topic, empty array

class Writer {
 public:
  void Int16(int16_t v) { Fixed(static_cast<uint16_t>(v), 2); }
  void Int32(int32_t v) { Fixed(static_cast<uint32_t>(v), 4); }
  void String(const std::string& s) {
    Int16(static_cast<int16_t>(s.size()));
    out_ += s;
  }
  void NullableString(const std::string& s) {
    if (s.empty()) {
      Int16(-1);
    } else {
      String(s);
    }
  }
  void Bytes(const std::string& b) {
    Int32(static_cast<int32_t>(b.size()));
    out_ += b;
  }
  void NullBytes() { Int32(-1); }
  void Strings(const std::vector<std::string>& strings) {
    Int32(static_cast<int32_t>(strings.size()));
    for (const std::string& s : strings) String(s);
  }
  // [topic:string partitions:[int32]], grouped by topic in the order topics
  // first appear in `partitions`.
  void TopicPartitions(const std::vector<TopicPartition>& partitions) {
    std::vector<std::pair<std::string, std::vector<int32_t>>> by_topic;
    std::map<std::string, size_t> index;
    for (const TopicPartition& tp : partitions) {
      auto [it, added] = index.try_emplace(tp.topic, by_topic.size());
      if (added) by_topic.emplace_back(tp.topic, std::vector<int32_t>{});
      by_topic[it->second].second.push_back(tp.partition.value());
    }
    Int32(static_cast<int32_t>(by_topic.size()));
    for (const auto& [topic, ids] : by_topic) {
      String(topic);
      Int32(static_cast<int32_t>(ids.size()));
      for (int32_t id : ids) Int32(id);
    }
  }

  std::string Take() { return std::move(out_); }

 private:
  void Fixed(uint32_t v, int bytes) {
    for (int i = bytes - 1; i >= 0; --i) out_.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
  }

  std::string out_;
};

// Reads fields front to back; every read checks the bytes left and names
// the field it failed on.
class Reader {
 public:
  Reader(std::string_view bytes, const char* what) : bytes_(bytes), what_(what) {}

  size_t remaining() const { return bytes_.size(); }

  absl::StatusOr<int16_t> Int16(const char* field) {
    absl::StatusOr<uint32_t> v = Fixed(2, field);
    if (!v.ok()) return v.status();
    return static_cast<int16_t>(static_cast<uint16_t>(*v));
  }
  absl::StatusOr<int32_t> Int32(const char* field) {
    absl::StatusOr<uint32_t> v = Fixed(4, field);
    if (!v.ok()) return v.status();
    return static_cast<int32_t>(*v);
  }
  absl::StatusOr<std::string> String(const char* field) {
    absl::StatusOr<int16_t> length = Int16(field);
    if (!length.ok()) return length.status();
    if (*length < 0) return Error(field, absl::StrCat("negative length ", *length));
    return Take(static_cast<size_t>(*length), field);
  }
  // Null (length -1) reads as nullopt.
  absl::StatusOr<std::optional<std::string>> NullableString(const char* field) {
    absl::StatusOr<int16_t> length = Int16(field);
    if (!length.ok()) return length.status();
    if (*length == -1) return std::optional<std::string>();
    if (*length < 0) return Error(field, absl::StrCat("negative length ", *length));
    absl::StatusOr<std::string> s = Take(static_cast<size_t>(*length), field);
    if (!s.ok()) return s.status();
    return std::optional<std::string>(*std::move(s));
  }
  absl::StatusOr<std::optional<std::string>> NullableBytes(const char* field) {
    absl::StatusOr<int32_t> length = Int32(field);
    if (!length.ok()) return length.status();
    if (*length == -1) return std::optional<std::string>();
    if (*length < 0) return Error(field, absl::StrCat("negative length ", *length));
    absl::StatusOr<std::string> b = Take(static_cast<size_t>(*length), field);
    if (!b.ok()) return b.status();
    return std::optional<std::string>(*std::move(b));
  }
  // An array's count, checked against the bytes left: each element takes
  // at least `min_element_size` bytes.
  absl::StatusOr<size_t> Count(const char* field, size_t min_element_size) {
    absl::StatusOr<int32_t> count = Int32(field);
    if (!count.ok()) return count.status();
    if (*count < 0) return Error(field, absl::StrCat("negative count ", *count));
    const size_t n = static_cast<size_t>(*count);
    if (n > remaining() / min_element_size) {
      return Error(field, absl::StrCat("count ", n, " exceeds the ", remaining(), " bytes left"));
    }
    return n;
  }
  absl::StatusOr<std::vector<std::string>> Strings(const char* field) {
    absl::StatusOr<size_t> n = Count(field, kMinStringSize);
    if (!n.ok()) return n.status();
    std::vector<std::string> out;
    out.reserve(*n);
    for (size_t i = 0; i < *n; ++i) {
      absl::StatusOr<std::string> s = String(field);
      if (!s.ok()) return s.status();
      out.push_back(*std::move(s));
    }
    return out;
  }
  absl::StatusOr<std::vector<TopicPartition>> TopicPartitions(const char* field) {
    absl::StatusOr<size_t> topics = Count(field, kMinTopicPartitionsSize);
    if (!topics.ok()) return topics.status();
    std::vector<TopicPartition> out;
    for (size_t t = 0; t < *topics; ++t) {
      absl::StatusOr<std::string> topic = String(field);
      if (!topic.ok()) return topic.status();
      absl::StatusOr<size_t> partitions = Count(field, 4);
      if (!partitions.ok()) return partitions.status();
      for (size_t p = 0; p < *partitions; ++p) {
        absl::StatusOr<int32_t> id = Int32(field);
        if (!id.ok()) return id.status();
        out.push_back(TopicPartition{*topic, PartitionId(*id)});
      }
    }
    return out;
  }

 private:
  absl::Status Error(const char* field, const std::string& problem) const {
    return absl::InvalidArgumentError(absl::StrCat(what_, " ", field, ": ", problem));
  }
  absl::StatusOr<std::string> Take(size_t n, const char* field) {
    if (n > bytes_.size()) {
      return Error(field, absl::StrCat("needs ", n, " bytes, ", bytes_.size(), " left"));
    }
    std::string out(bytes_.substr(0, n));
    bytes_.remove_prefix(n);
    return out;
  }
  absl::StatusOr<uint32_t> Fixed(size_t n, const char* field) {
    if (n > bytes_.size()) {
      return Error(field, absl::StrCat("needs ", n, " bytes, ", bytes_.size(), " left"));
    }
    uint32_t v = 0;
    for (size_t i = 0; i < n; ++i) v = (v << 8) | static_cast<uint8_t>(bytes_[i]);
    bytes_.remove_prefix(n);
    return v;
  }

  std::string_view bytes_;
  const char* what_;
};

int16_t SupportedVersion(int16_t version) {
  return std::clamp<int16_t>(version, 0, kConsumerProtocolMaxVersion);
}

// Reads the version prefix: negative is an error, newer than we know reads
// as the newest we know.
absl::StatusOr<int16_t> ReadVersion(Reader* reader, const char* what) {
  absl::StatusOr<int16_t> version = reader->Int16("version");
  if (!version.ok()) return version.status();
  if (*version < 0) {
    return absl::InvalidArgumentError(absl::StrCat(what, " version ", *version, " is negative"));
  }
  return std::min(*version, kConsumerProtocolMaxVersion);
}

}  // namespace

std::string EncodeSubscription(const ConsumerSubscription& subscription, int16_t version) {
  version = SupportedVersion(version);
  Writer w;
  w.Int16(version);
  w.Strings(subscription.topics);
  if (subscription.has_user_data || !subscription.user_data.empty()) {
    w.Bytes(subscription.user_data);
  } else {
    w.NullBytes();
  }
  if (version >= 1) w.TopicPartitions(subscription.owned_partitions);
  if (version >= 2) w.Int32(subscription.generation_id);
  if (version >= 3) w.NullableString(subscription.rack_id);
  return w.Take();
}

absl::StatusOr<ConsumerSubscription> DecodeSubscription(std::string_view bytes) {
  Reader r(bytes, "subscription");
  absl::StatusOr<int16_t> version = ReadVersion(&r, "subscription");
  if (!version.ok()) return version.status();
  ConsumerSubscription out;
  absl::StatusOr<std::vector<std::string>> topics = r.Strings("topics");
  if (!topics.ok()) return topics.status();
  out.topics = *std::move(topics);
  absl::StatusOr<std::optional<std::string>> user_data = r.NullableBytes("user_data");
  if (!user_data.ok()) return user_data.status();
  out.has_user_data = user_data->has_value();
  out.user_data = user_data->value_or("");
  if (*version >= 1) {
    absl::StatusOr<std::vector<TopicPartition>> owned = r.TopicPartitions("owned_partitions");
    if (!owned.ok()) return owned.status();
    out.owned_partitions = *std::move(owned);
  }
  if (*version >= 2) {
    absl::StatusOr<int32_t> generation = r.Int32("generation_id");
    if (!generation.ok()) return generation.status();
    out.generation_id = *generation;
  }
  if (*version >= 3) {
    absl::StatusOr<std::optional<std::string>> rack = r.NullableString("rack_id");
    if (!rack.ok()) return rack.status();
    out.rack_id = rack->value_or("");
  }
  return out;
}

std::string EncodeAssignment(const ConsumerAssignment& assignment, int16_t version) {
  Writer w;
  w.Int16(SupportedVersion(version));
  w.TopicPartitions(assignment.partitions);
  if (assignment.user_data.empty()) {
    w.NullBytes();
  } else {
    w.Bytes(assignment.user_data);
  }
  return w.Take();
}

absl::StatusOr<ConsumerAssignment> DecodeAssignment(std::string_view bytes) {
  Reader r(bytes, "assignment");
  absl::StatusOr<int16_t> version = ReadVersion(&r, "assignment");
  if (!version.ok()) return version.status();
  ConsumerAssignment out;
  absl::StatusOr<std::vector<TopicPartition>> partitions = r.TopicPartitions("partitions");
  if (!partitions.ok()) return partitions.status();
  out.partitions = *std::move(partitions);
  absl::StatusOr<std::optional<std::string>> user_data = r.NullableBytes("user_data");
  if (!user_data.ok()) return user_data.status();
  out.user_data = user_data->value_or("");
  return out;
}

std::string EncodeStickyUserData(const StickyUserData& data) {
  Writer w;
  w.TopicPartitions(data.partitions);
  if (data.generation.has_value()) w.Int32(*data.generation);
  return w.Take();
}

absl::StatusOr<StickyUserData> DecodeStickyUserData(std::string_view bytes) {
  Reader r(bytes, "sticky assignor user data");
  StickyUserData out;
  absl::StatusOr<std::vector<TopicPartition>> partitions = r.TopicPartitions("previous_assignment");
  if (!partitions.ok()) return partitions.status();
  out.partitions = *std::move(partitions);
  // v1 appends the generation; v0 ends here.
  if (r.remaining() >= 4) {
    absl::StatusOr<int32_t> generation = r.Int32("generation");
    if (!generation.ok()) return generation.status();
    out.generation = *generation;
  }
  return out;
}

std::string EncodeCooperativeUserData(int32_t generation) {
  Writer w;
  w.Int32(generation);
  return w.Take();
}

absl::StatusOr<int32_t> DecodeCooperativeUserData(std::string_view bytes) {
  Reader r(bytes, "cooperative-sticky user data");
  return r.Int32("generation");
}

}  // namespace strata::client
