// The controller's IncrementalAlterConfigs (and legacy AlterConfigs, which
// arrives as one with replace_all), as KRaft's ConfigurationControlManager
// decides it: each resource's ops are applied to a copy of its dynamic
// configs, the result is validated as a whole, and only then are the
// differences written, as ConfigRecords. A resource with any refused op,
// or whose result is refused, writes nothing.
#include <algorithm>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "broker/metadata/controller.h"
#include "broker/metadata/dynamic_config.h"
#include "broker/storage/log_config.h"

namespace strata::metadata {
namespace {

using Configs = std::map<std::string, std::string>;

std::string OpName(AlterConfigOpType op) {
  switch (op) {
    case AlterConfigOpType::kSet:
      return "SET";
    case AlterConfigOpType::kDelete:
      return "DELETE";
    case AlterConfigOpType::kAppend:
      return "APPEND";
    case AlterConfigOpType::kSubtract:
      return "SUBTRACT";
    case AlterConfigOpType::kUnknown:
      break;
  }
  return "UNKNOWN";
}

// Java's String.split(","): trailing empty strings dropped, "" itself kept.
std::vector<std::string> JavaSplit(const std::string& s) {
  if (s.empty()) return {""};
  std::vector<std::string> parts = absl::StrSplit(s, ',');
  while (!parts.empty() && parts.back().empty()) parts.pop_back();
  return parts;
}

// A list config's items now (Kafka's getParts): its value, else its
// default, split at commas, empty items dropped.
std::vector<std::string> ListItems(const std::string* value, const std::string& fallback) {
  std::vector<std::string> out;
  for (absl::string_view part : absl::StrSplit(value ? *value : fallback, ',')) {
    if (!part.empty()) out.emplace_back(part);
  }
  return out;
}

// One resource: what it is and how its configs are checked.
struct ResourceRules {
  internal::ConfigResourceType type = internal::CONFIG_RESOURCE_UNKNOWN;
  const Configs* current = nullptr;  // its dynamic configs now
  absl::Status (*validate_name)(const std::string&) = nullptr;
  absl::Status (*validate)(const std::string&, const std::string&) = nullptr;
  bool (*is_list)(std::string_view) = nullptr;
  // A list config's value when it is not set here (APPEND and SUBTRACT
  // start from it): Kafka's default.
  std::string (*list_default)(const std::string&) = nullptr;
  // Checks across keys of the resulting set; nullptr: none.
  absl::Status (*validate_set)(const Configs&) = nullptr;
};

absl::Status ValidateTopicConfigName(const std::string& n) {
  return storage::TopicConfigDefaults().contains(n)
             ? absl::OkStatus()
             : absl::InvalidArgumentError(absl::StrCat("Unknown topic config name: ", n));
}
absl::Status ValidateTopicConfigValue(const std::string& n, const std::string& v) {
  return storage::ValidateTopicConfig(n, v);
}
std::string TopicListDefault(const std::string& n) {
  auto it = storage::TopicConfigDefaults().find(n);
  return it == storage::TopicConfigDefaults().end() ? "" : it->second;
}
std::string BrokerListDefault(const std::string& n) {
  const BrokerLogConfig* c = FindBrokerLogConfig(n);
  return c == nullptr ? "" : std::string(c->kafka_default);
}

// The resource's configs once `ops` apply (`replace_all`: to nothing but
// the ops'), or the refusal: {code, message}.
struct Outcome {
  ErrorCode error = ErrorCode::kNone;
  std::string message;
  Configs next;
};

Outcome Apply(const ResourceRules& rules, const std::vector<AlterConfigOp>& ops, bool replace_all) {
  Outcome o;
  auto fail = [&o](ErrorCode code, std::string message) {
    o.error = code;
    o.message = std::move(message);
    return o;
  };
  o.next = replace_all ? Configs{} : *rules.current;
  std::set<std::string> names;
  for (const AlterConfigOp& op : ops) {
    if (!names.insert(op.name).second) {
      return fail(ErrorCode::kInvalidRequest, "Error due to duplicate config keys");
    }
    if (op.op == AlterConfigOpType::kUnknown) {
      return fail(ErrorCode::kInvalidRequest,
                  absl::StrCat("Unknown config operation for ", op.name,
                               "; use SET (0), DELETE (1), APPEND (2) or SUBTRACT (3)."));
    }
    if (replace_all && op.op != AlterConfigOpType::kSet) {
      return fail(ErrorCode::kInvalidRequest,
                  absl::StrCat("AlterConfigs sets configs; '", op.name, "' cannot be ",
                               OpName(op.op), " by it."));
    }
    const bool list_op =
        op.op == AlterConfigOpType::kAppend || op.op == AlterConfigOpType::kSubtract;
    // Kafka checks the type before the name: an unknown key is "not LIST".
    if (list_op && !rules.is_list(op.name)) {
      return fail(ErrorCode::kInvalidConfig,
                  absl::StrCat("Can't ", OpName(op.op), " to key ", op.name,
                               " because its type is not LIST."));
    }
    if (absl::Status s = rules.validate_name(op.name); !s.ok()) {
      return fail(ErrorCode::kInvalidConfig, std::string(s.message()));
    }
    auto it = o.next.find(op.name);
    switch (op.op) {
      case AlterConfigOpType::kSet:
        o.next[op.name] = op.value;
        break;
      case AlterConfigOpType::kDelete:
        if (it != o.next.end()) o.next.erase(it);
        continue;  // nothing to validate
      case AlterConfigOpType::kAppend:
      case AlterConfigOpType::kSubtract: {
        std::vector<std::string> items =
            ListItems(it == o.next.end() ? nullptr : &it->second, rules.list_default(op.name));
        for (const std::string& item : JavaSplit(op.value)) {
          auto at = std::find(items.begin(), items.end(), item);
          if (op.op == AlterConfigOpType::kAppend) {
            if (at == items.end()) items.push_back(item);
          } else if (at != items.end()) {
            items.erase(at);  // Java's List.remove: the first only
          }
        }
        o.next[op.name] = absl::StrJoin(items, ",");
        break;
      }
      case AlterConfigOpType::kUnknown:
        break;
    }
    // The value it ends with, as the resource takes it.
    if (absl::Status s = rules.validate(op.name, o.next[op.name]); !s.ok()) {
      return fail(ErrorCode::kInvalidConfig, std::string(s.message()));
    }
  }
  if (rules.validate_set != nullptr) {
    if (absl::Status s = rules.validate_set(o.next); !s.ok()) {
      return fail(ErrorCode::kInvalidConfig, std::string(s.message()));
    }
  }
  return o;
}

}  // namespace

Decision<IncrementalAlterConfigsResponse> Controller::IncrementalAlterConfigs(
    const MetadataImage& image, const IncrementalAlterConfigsRequest& request) {
  Decision<IncrementalAlterConfigsResponse> d;
  // A resource named twice is refused every time (Kafka's ConfigAdminManager):
  // which of its changes should win is not the controller's to guess.
  std::map<std::pair<ConfigResourceType, std::string>, int> seen;
  for (const AlterConfigsResource& res : request.resources) ++seen[{res.type, res.name}];
  static const Configs kNone;
  for (const AlterConfigsResource& res : request.resources) {
    AlterConfigsResult* result = &d.response.results.emplace_back();
    result->type = res.type;
    result->name = res.name;
    auto fail = [result](ErrorCode code, std::string message) {
      result->error = code;
      result->error_message = std::move(message);
    };
    if (seen[{res.type, res.name}] > 1) {
      fail(ErrorCode::kInvalidRequest, "Each resource must appear at most once.");
      continue;
    }
    ResourceRules rules;
    if (res.type == ConfigResourceType::kTopic) {
      const TopicInfo* topic = image.FindTopic(res.name);
      if (topic == nullptr) {
        fail(ErrorCode::kUnknownTopicOrPartition,
             absl::StrCat("Topic '", res.name, "' does not exist."));
        continue;
      }
      rules = {.type = internal::CONFIG_RESOURCE_TOPIC,
               .current = &topic->configs,
               .validate_name = ValidateTopicConfigName,
               .validate = ValidateTopicConfigValue,
               .is_list = IsListTopicConfig,
               .list_default = TopicListDefault,
               .validate_set = ValidateTopicConfigSet};
    } else if (res.type == ConfigResourceType::kBroker) {
      int32_t id = 0;
      if (!res.name.empty() && (!absl::SimpleAtoi(res.name, &id) || id < 0)) {
        fail(ErrorCode::kInvalidRequest,
             absl::StrCat("Broker resource name '", res.name,
                          "' is not a broker id; use an id, or empty for the cluster default."));
        continue;
      }
      auto it = image.broker_configs().find(res.name);
      rules = {.type = internal::CONFIG_RESOURCE_BROKER,
               .current = it == image.broker_configs().end() ? &kNone : &it->second,
               .validate_name = ValidateDynamicBrokerConfigName,
               .validate = ValidateDynamicBrokerConfig,
               .is_list = IsListBrokerConfig,
               .list_default = BrokerListDefault,
               .validate_set = nullptr};
    } else {
      fail(ErrorCode::kInvalidRequest,
           absl::StrCat("Unsupported config resource type ", static_cast<int>(res.type),
                        "; use TOPIC (2) or BROKER (4)."));
      continue;
    }
    Outcome o = Apply(rules, res.ops, request.replace_all);
    if (o.error != ErrorCode::kNone) {
      fail(o.error, std::move(o.message));
      continue;
    }
    if (request.validate_only) continue;
    // The differences, as records: a value set, or one deleted.
    auto add_record = [&](const std::string& name, const std::string* value) {
      internal::ConfigRecord* c = d.records.add_records()->mutable_config();
      c->set_resource_type(rules.type);
      c->set_resource_name(res.name);
      c->set_name(name);
      if (value != nullptr) c->set_value(*value);
    };
    for (const auto& [name, value] : o.next) {
      auto it = rules.current->find(name);
      if (it == rules.current->end() || it->second != value) add_record(name, &value);
    }
    for (const auto& [name, value] : *rules.current) {
      if (!o.next.contains(name)) add_record(name, nullptr);
    }
  }
  return d;
}

}  // namespace strata::metadata
