#include "tools/config_command.h"

#include <algorithm>
#include <ostream>
#include <set>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "client/errors.h"
#include "fmt/format.h"
#include "tools/kafka_exception.h"
#include "tools/properties.h"

namespace strata::tools {
namespace {

constexpr char kTopics[] = "topics";
constexpr char kBrokers[] = "brokers";
// Kafka's entity types, for its message about one it does not support.
constexpr char kSupported[] = "topics, brokers";

absl::Status Invalid(std::string message) { return absl::InvalidArgumentError(std::move(message)); }

bool Contains(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

absl::string_view Trim(absl::string_view s) { return absl::StripAsciiWhitespace(s); }

// Kafka splits --add-config with the lookahead (?=[^\]]*(?:\[|$)): a
// separator counts when, after it, a '[' or the end comes before any ']'
// (it is not inside brackets).
bool OutsideBrackets(std::string_view text, size_t after) {
  for (size_t i = after; i < text.size(); ++i) {
    if (text[i] == ']') return false;
    if (text[i] == '[') return true;
  }
  return true;
}

std::vector<std::string> SplitOutsideBrackets(std::string_view text, char sep) {
  std::vector<std::string> parts;
  size_t start = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == sep && OutsideBrackets(text, i + 1)) {
      parts.emplace_back(text.substr(start, i - start));
      start = i + 1;
    }
  }
  parts.emplace_back(text.substr(start));
  return parts;
}

bool ValidKey(const std::string& key) {
  return std::all_of(key.begin(), key.end(), [](char c) {
    return absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-';
  });
}

std::string SourceName(v1::ConfigSource source) {
  // Kafka prints ConfigSource's enum names; ours are the same.
  return source == v1::CONFIG_SOURCE_UNKNOWN ? "UNKNOWN" : v1::ConfigSource_Name(source);
}

// What a failed call prints: Kafka's tool catches the ExecutionException
// and prints the command line, then the exception (its stack trace left out).
int ExecutionError(const ConfigCommandOptions& options, const std::string& exception,
                   std::ostream& err) {
  err << "Error while executing config command with args '" << options.args << "'\n"
      << "java.util.concurrent.ExecutionException: " << exception << "\n";
  return 1;
}

int ExecutionError(const ConfigCommandOptions& options, const absl::Status& status,
                   std::ostream& err) {
  v1::ErrorCode code = client::ErrorCodeOf(status);
  if (client::IsNetworkError(status)) code = v1::REQUEST_TIMED_OUT;
  return ExecutionError(options, KafkaExceptionText(code, std::string(status.message())), err);
}

// One resource's configs (with synonyms), or the call's error.
absl::StatusOr<v1::DescribeConfigsResult> Describe(client::Admin& admin,
                                                   const std::string& entity_type,
                                                   const std::string& entity_name) {
  v1::DescribeConfigsRequest request;
  request.set_include_synonyms(true);
  v1::DescribeConfigsResource* r = request.add_resources();
  r->set_resource_type(entity_type == kTopics ? v1::CONFIG_RESOURCE_TOPIC
                                              : v1::CONFIG_RESOURCE_BROKER);
  r->set_resource_name(entity_name);
  absl::StatusOr<v1::DescribeConfigsResponse> response = admin.DescribeConfigs(request);
  if (!response.ok()) return response.status();
  if (response->results_size() != 1) {
    return client::ErrorToStatus(v1::UNKNOWN_SERVER_ERROR,
                                 "The server sent no result for the resource");
  }
  const v1::DescribeConfigsResult& result = response->results(0);
  if (result.error() != v1::NONE) {
    return client::ErrorToStatus(result.error(), result.error_message());
  }
  return result;
}

int RunDescribe(client::Admin& admin, const ConfigCommandOptions& options, std::ostream& out,
                std::ostream& err) {
  const std::string type = EntityTypes(options).front();
  const std::vector<std::string> names = EntityNames(options);
  std::vector<std::string> entities;
  if (!names.empty()) {
    entities.push_back(names.front());
  } else if (type == kTopics) {
    absl::StatusOr<std::vector<std::string>> topics = admin.ListTopics(/*include_internal=*/true);
    if (!topics.ok()) return ExecutionError(options, topics.status(), err);
    entities = *topics;
  } else {
    absl::StatusOr<v1::DescribeClusterResponse> cluster = admin.DescribeCluster();
    if (!cluster.ok()) return ExecutionError(options, cluster.status(), err);
    std::vector<int32_t> ids;
    for (const v1::BrokerDescription& b : cluster->brokers()) {
      if (!b.fenced()) ids.push_back(b.id());
    }
    std::sort(ids.begin(), ids.end());
    for (int32_t id : ids) entities.push_back(std::to_string(id));
    entities.push_back("");  // then the cluster default
  }
  for (const std::string& entity : entities) {
    out << DescribeHeader(type, entity, options.all) << "\n";
    absl::StatusOr<v1::DescribeConfigsResult> result = Describe(admin, type, entity);
    if (!result.ok()) {
      out.flush();
      return ExecutionError(options, result.status(), err);
    }
    std::optional<v1::ConfigSource> source;
    if (!options.all) source = DynamicSourceOf(type, entity);
    for (const v1::ConfigEntry& e : SelectConfigs(*result, source)) {
      out << FormatConfigEntry(e) << "\n";
    }
  }
  return 0;
}

int RunAlter(client::Admin& admin, const ConfigCommandOptions& options, std::ostream& out,
             std::ostream& err) {
  const std::string type = EntityTypes(options).front();
  const std::string name = EntityNames(options).front();

  std::map<std::string, std::string> to_add;
  if (options.add_config_file) {
    absl::StatusOr<client::Properties> file = LoadPropertiesFile(*options.add_config_file);
    if (!file.ok()) {
      err << file.status().message() << "\n";
      return 1;
    }
    for (const auto& [k, v] : *file) {
      if (!ValidKey(k)) {
        err << "Invalid character found for config key: " << k << "\n";
        return 1;
      }
      to_add[k] = v;
    }
  }
  if (options.add_config) {
    absl::StatusOr<std::map<std::string, std::string>> parsed =
        ParseConfigsToAdd(*options.add_config);
    if (!parsed.ok()) {
      err << parsed.status().message() << "\n";
      return 1;
    }
    for (const auto& [k, v] : *parsed) to_add[k] = v;
  }
  const std::vector<std::string> to_delete = ParseConfigsToDelete(options.delete_config);

  // A config can only be deleted where it is set (Kafka asks first).
  absl::StatusOr<v1::DescribeConfigsResult> current = Describe(admin, type, name);
  if (!current.ok()) return ExecutionError(options, current.status(), err);
  std::set<std::string> set_here;
  for (const v1::ConfigEntry& e : SelectConfigs(*current, DynamicSourceOf(type, name))) {
    set_here.insert(e.name());
  }
  std::vector<std::string> invalid;
  for (const std::string& k : to_delete) {
    if (!set_here.contains(k)) invalid.push_back(k);
  }
  if (!invalid.empty()) {
    err << "Invalid config(s): " << absl::StrJoin(invalid, ",") << "\n";
    return 1;
  }

  v1::IncrementalAlterConfigsRequest request;
  v1::AlterConfigsResource* r = request.add_resources();
  r->set_resource_type(type == kTopics ? v1::CONFIG_RESOURCE_TOPIC : v1::CONFIG_RESOURCE_BROKER);
  r->set_resource_name(name);
  for (const std::string& k : to_delete) {
    v1::AlterableConfig* c = r->add_configs();
    c->set_name(k);
    c->set_op(v1::CONFIG_DELETE);
  }
  for (const auto& [k, v] : to_add) {
    v1::AlterableConfig* c = r->add_configs();
    c->set_name(k);
    c->set_op(v1::CONFIG_SET);
    c->set_value(v);
  }
  absl::StatusOr<v1::IncrementalAlterConfigsResponse> response =
      admin.IncrementalAlterConfigs(request);
  if (!response.ok()) return ExecutionError(options, response.status(), err);
  for (const v1::AlterConfigsResourceResponse& res : response->responses()) {
    if (res.error() != v1::NONE) {
      return ExecutionError(options, KafkaExceptionText(res.error(), res.error_message()), err);
    }
  }
  if (response->responses_size() != 1) {
    return ExecutionError(
        options,
        KafkaExceptionText(v1::UNKNOWN_SERVER_ERROR, "The server sent no result for the resource"),
        err);
  }
  if (!name.empty()) {
    out << "Completed updating config for " << type.substr(0, type.size() - 1) << " " << name
        << ".\n";
  } else {
    out << "Completed updating default config for " << type << " in the cluster.\n";
  }
  return 0;
}

}  // namespace

std::vector<std::string> EntityTypes(const ConfigCommandOptions& options) {
  std::vector<std::string> types = options.entity_types;
  if (options.topic) types.push_back(kTopics);
  if (options.broker) types.push_back(kBrokers);
  types.insert(types.end(), options.other_entity_types.begin(), options.other_entity_types.end());
  if (options.broker_defaults) types.push_back(kBrokers);
  return types;
}

std::vector<std::string> EntityNames(const ConfigCommandOptions& options) {
  std::vector<std::string> names = options.entity_names;
  if (options.entity_default) names.push_back("");
  if (options.topic) names.push_back(*options.topic);
  if (options.broker) names.push_back(*options.broker);
  if (options.broker_defaults) names.push_back("");
  return names;
}

absl::Status ValidateConfigCommandOptions(const ConfigCommandOptions& o) {
  if (static_cast<int>(o.describe) + static_cast<int>(o.alter) != 1) {
    return Invalid("Command must include exactly one action: --describe, --alter");
  }
  if (o.describe) {
    if (o.add_config)
      return Invalid("Option \"[describe]\" can't be used with option \"[add-config]\"");
    if (!o.delete_config.empty()) {
      return Invalid("Option \"[describe]\" can't be used with option \"[delete-config]\"");
    }
  }
  const std::vector<std::string> types = EntityTypes(o);
  std::vector<std::string> duplicates;
  for (size_t i = 0; i < types.size(); ++i) {
    if (std::count(types.begin(), types.begin() + static_cast<ptrdiff_t>(i), types[i]) == 1) {
      duplicates.push_back(types[i]);
    }
  }
  if (!duplicates.empty()) {
    return Invalid("Duplicate entity type(s) specified: " + absl::StrJoin(duplicates, ","));
  }
  if (!o.bootstrap_server && !o.bootstrap_controller) {
    return Invalid("Either --bootstrap-server or --bootstrap-controller must be specified.");
  }
  for (const std::string& t : types) {
    if (t != kTopics && t != kBrokers) {
      return Invalid(fmt::format(
          "Invalid entity type {}, the entity type must be one of {} with a --bootstrap-server or "
          "--bootstrap-controller argument",
          t, kSupported));
    }
  }
  if (types.empty()) return Invalid("At least one entity type must be specified");
  if (types.size() > 1)
    return Invalid("Only 'users' and 'clients' entity types may be specified together");
  const bool specific = o.topic || o.broker || o.broker_defaults || !o.other_entity_types.empty();
  if ((!o.entity_names.empty() || !o.entity_types.empty() || o.entity_default) && specific) {
    return Invalid(
        "--entity-{type,name,default} should not be used in conjunction with specific entity "
        "flags");
  }
  const std::vector<std::string> names = EntityNames(o);
  const bool has_name =
      std::any_of(names.begin(), names.end(), [](const std::string& n) { return !n.empty(); });
  const bool has_default = Contains(names, "");
  if (o.bootstrap_server && o.bootstrap_controller) {
    return Invalid("Only one of --bootstrap-server or --bootstrap-controller can be specified");
  }
  const std::string& type = types.front();
  if (has_name && type == kBrokers) {
    std::vector<std::string> ids = o.entity_names;
    if (o.broker) ids.push_back(*o.broker);
    for (const std::string& id : ids) {
      int32_t parsed = 0;
      if (!absl::SimpleAtoi(id, &parsed)) {
        return Invalid(fmt::format(
            "The entity name for {} must be a valid integer broker id, but it is: {}", type, id));
      }
    }
  }
  if (o.describe && type == kTopics && o.entity_default) {
    return Invalid("--entity-default must not be specified with --describe of topics");
  }
  if (o.alter) {
    if (type == kBrokers) {
      if (!has_name && !has_default) {
        return Invalid(
            "An entity-name or default entity must be specified with --alter of users, clients, "
            "brokers or ips");
      }
    } else if (!has_name) {
      return Invalid("An entity name must be specified with --alter of " + type);
    }
    if (o.add_config && o.add_config_file) {
      return Invalid("Only one of --add-config or --add-config-file must be specified");
    }
    if (!o.add_config && !o.add_config_file && o.delete_config.empty()) {
      return Invalid(
          "At least one of --add-config, --add-config-file, or --delete-config must be specified "
          "with --alter");
    }
    if (types.size() != names.size()) {
      return Invalid("An entity name must be specified for every entity type");
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<std::map<std::string, std::string>> ParseConfigsToAdd(std::string_view text) {
  std::vector<std::string> entries = SplitOutsideBrackets(text, ',');
  // Java's String.split drops trailing empty strings (but keeps a lone one).
  while (entries.size() > 1 && entries.back().empty()) entries.pop_back();
  std::map<std::string, std::string> out;
  for (const std::string& entry : entries) {
    std::vector<std::string> kv = SplitOutsideBrackets(entry, '=');
    if (kv.size() != 2) {
      // Scala's require(): its message behind "requirement failed: ".
      return Invalid(
          "requirement failed: Invalid entity config: all configs to be added must be in the "
          "format \"key=val\" or  \"key=[val1,val2]\" to group values which contain commas.");
    }
    std::string key(Trim(kv[0]));
    std::string value = kv[1];
    value.erase(
        std::remove_if(value.begin(), value.end(), [](char c) { return c == '[' || c == ']'; }),
        value.end());
    out[key] = std::string(Trim(value));
  }
  for (const auto& [key, value] : out) {
    if (!ValidKey(key)) return Invalid("Invalid character found for config key: " + key);
  }
  return out;
}

std::vector<std::string> ParseConfigsToDelete(const std::vector<std::string>& values) {
  std::vector<std::string> out;
  for (const std::string& v : values) {
    for (absl::string_view k : absl::StrSplit(v, ',')) out.emplace_back(Trim(k));
  }
  return out;
}

std::string FormatConfigEntry(const v1::ConfigEntry& entry) {
  std::vector<std::string> synonyms;
  for (const v1::ConfigSynonym& s : entry.synonyms()) {
    synonyms.push_back(fmt::format("{}:{}={}", SourceName(s.source()), s.name(), s.value()));
  }
  return fmt::format("  {}={} sensitive={} synonyms={{{}}}", entry.name(),
                     entry.is_sensitive() ? "null" : entry.value(),
                     entry.is_sensitive() ? "true" : "false", absl::StrJoin(synonyms, ", "));
}

std::string DescribeHeader(const std::string& entity_type, const std::string& entity_name,
                           bool all) {
  if (entity_name.empty()) {
    return fmt::format("Default configs for {} in the cluster are:", entity_type);
  }
  return fmt::format("{} configs for {} {} are:", all ? "All" : "Dynamic",
                     entity_type.substr(0, entity_type.size() - 1), entity_name);
}

v1::ConfigSource DynamicSourceOf(const std::string& entity_type, const std::string& entity_name) {
  if (entity_type == kTopics) return v1::DYNAMIC_TOPIC_CONFIG;
  return entity_name.empty() ? v1::DYNAMIC_DEFAULT_BROKER_CONFIG : v1::DYNAMIC_BROKER_CONFIG;
}

std::vector<v1::ConfigEntry> SelectConfigs(const v1::DescribeConfigsResult& result,
                                           std::optional<v1::ConfigSource> source) {
  std::vector<v1::ConfigEntry> out;
  for (const v1::ConfigEntry& e : result.configs()) {
    if (!source || e.source() == *source) out.push_back(e);
  }
  std::stable_sort(out.begin(), out.end(), [](const v1::ConfigEntry& a, const v1::ConfigEntry& b) {
    return a.name() < b.name();
  });
  return out;
}

int RunConfigCommand(client::Admin& admin, const ConfigCommandOptions& options, std::ostream& out,
                     std::ostream& err) {
  return options.alter ? RunAlter(admin, options, out, err) : RunDescribe(admin, options, out, err);
}

}  // namespace strata::tools
