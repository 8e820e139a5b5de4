#include "tools/config_command.h"

#include <openssl/evp.h>
#include <openssl/rand.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdlib>
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
constexpr char kUsers[] = "users";
constexpr char kClients[] = "clients";
// Kafka's entity types, for its message about one it does not support.
constexpr char kSupported[] = "topics, clients, users, brokers";

bool IsClientEntity(const std::string& type) { return type == kUsers || type == kClients; }

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

// --- users and clients (issue 16) ---

constexpr char kScramSha256[] = "SCRAM-SHA-256";
constexpr char kScramSha512[] = "SCRAM-SHA-512";

bool IsScramKey(const std::string& key) { return key == kScramSha256 || key == kScramSha512; }

// Kafka's QuotaConfig.isClientOrUserQuotaConfig.
bool IsQuotaKey(const std::string& key) {
  return key == "producer_byte_rate" || key == "consumer_byte_rate" ||
         key == "request_percentage" || key == "controller_mutation_rate";
}

// Kafka's quota entity types for the command's.
std::string QuotaEntityType(const std::string& type) {
  return type == kUsers ? "user" : "client-id";
}

// Scala's toString of a collection: "Set(a, b)", "List(a)".
std::string ScalaCollection(const char* kind, const std::vector<std::string>& items) {
  return fmt::format("{}({})", kind, absl::StrJoin(items, ", "));
}

// Java's Double.parseDouble, which trims and takes an 'd' / 'f' suffix.
std::optional<double> ParseJavaDouble(const std::string& text) {
  std::string s(Trim(text));
  if (!s.empty() && std::string("dDfF").find(s.back()) != std::string::npos) s.pop_back();
  if (s.empty()) return std::nullopt;
  char* end = nullptr;
  const double v = std::strtod(s.c_str(), &end);
  if (end != s.c_str() + s.size()) return std::nullopt;
  return v;
}

// Kafka's ClientQuotaFilter.containsOnly of the command's entities: a name
// is EXACT, "" the DEFAULT, no name SPECIFIED.
absl::StatusOr<v1::DescribeClientQuotasRequest> QuotaFilter(const std::vector<std::string>& types,
                                                            const std::vector<std::string>& names) {
  if (names.size() > types.size()) {
    return Invalid("More entity names specified than entity types");
  }
  v1::DescribeClientQuotasRequest request;
  request.set_strict(true);
  for (size_t i = 0; i < types.size(); ++i) {
    v1::ClientQuotaFilterComponent* c = request.add_components();
    c->set_entity_type(QuotaEntityType(types[i]));
    if (i >= names.size()) {
      c->set_match_type(2);  // SPECIFIED
    } else if (names[i].empty()) {
      c->set_match_type(1);  // DEFAULT
    } else {
      c->set_match_type(0);  // EXACT
      c->set_match(names[i]);
    }
  }
  return request;
}

// ClientQuotaEntity.hashCode: its entries map's (type ^ name, 0 for null).
int32_t QuotaEntityHash(const v1::ClientQuotaEntry& entry) {
  uint32_t sum = 0;
  for (const v1::ClientQuotaEntityPart& p : entry.entity()) {
    const int32_t name = p.has_entity_name() ? JavaStringHash(p.entity_name()) : 0;
    sum += static_cast<uint32_t>(JavaStringHash(p.entity_type()) ^ name);
  }
  return static_cast<int32_t>(sum);
}

// The entries as Kafka's admin client hands them to the tool (a HashMap
// keyed by entity, each entity's values a HashMap keyed by name).
std::vector<v1::ClientQuotaEntry> InJavaOrder(const v1::DescribeClientQuotasResponse& response) {
  std::vector<int32_t> hashes;
  for (const v1::ClientQuotaEntry& e : response.entries()) hashes.push_back(QuotaEntityHash(e));
  std::vector<v1::ClientQuotaEntry> out;
  for (size_t i : JavaHashMapOrder(hashes)) {
    v1::ClientQuotaEntry e = response.entries(static_cast<int>(i));
    std::vector<int32_t> keys;
    for (const v1::ClientQuotaValue& v : e.values()) keys.push_back(JavaStringHash(v.key()));
    google::protobuf::RepeatedPtrField<v1::ClientQuotaValue> values;
    for (size_t j : JavaHashMapOrder(keys)) *values.Add() = e.values(static_cast<int>(j));
    *e.mutable_values() = std::move(values);
    out.push_back(std::move(e));
  }
  return out;
}

int RunDescribeClientEntities(client::Admin& admin, const ConfigCommandOptions& options,
                              std::ostream& out, std::ostream& err) {
  const std::vector<std::string> types = EntityTypes(options);
  const std::vector<std::string> names = EntityNames(options);
  absl::StatusOr<v1::DescribeClientQuotasRequest> filter = QuotaFilter(types, names);
  if (!filter.ok()) {
    err << filter.status().message() << "\n";
    return 1;
  }
  absl::StatusOr<v1::DescribeClientQuotasResponse> quotas = admin.DescribeClientQuotas(*filter);
  if (!quotas.ok()) return ExecutionError(options, quotas.status(), err);
  for (const v1::ClientQuotaEntry& e : InJavaOrder(*quotas)) out << QuotaConfigsLine(e) << "\n";
  // SCRAM credentials only for users alone, and not for the default.
  if (Contains(types, kClients) || Contains(names, "")) return 0;
  v1::DescribeUserScramCredentialsRequest request;
  for (const std::string& n : names) request.add_users(n);
  absl::StatusOr<v1::DescribeUserScramCredentialsResponse> scram =
      admin.DescribeUserScramCredentials(request);
  if (!scram.ok()) {
    out.flush();
    return ExecutionError(options, scram.status(), err);
  }
  for (const v1::DescribeUserScramCredentialsResult& r : scram->results()) {
    // The admin client's users(): those with a credential.
    if (r.error() == v1::RESOURCE_NOT_FOUND) continue;
    if (r.error() != v1::NONE) {
      out << "Error retrieving SCRAM credential configs for user-principal '" << r.user()
          << "': ExecutionException: " << KafkaExceptionText(r.error(), r.error_message()) << "\n";
      continue;
    }
    out << ScramConfigsLine(r) << "\n";
  }
  return 0;
}

int AlterQuotas(client::Admin& admin, const ConfigCommandOptions& options,
                const std::map<std::string, std::string>& to_add,
                const std::vector<std::string>& to_delete, std::ostream& err) {
  const std::vector<std::string> types = EntityTypes(options);
  const std::vector<std::string> names = EntityNames(options);
  if (types.size() != names.size()) {
    err << "Exactly one entity name must be specified for every entity type\n";
    return 1;
  }
  absl::StatusOr<v1::DescribeClientQuotasRequest> filter = QuotaFilter(types, names);
  if (!filter.ok()) {
    err << filter.status().message() << "\n";
    return 1;
  }
  absl::StatusOr<v1::DescribeClientQuotasResponse> current = admin.DescribeClientQuotas(*filter);
  if (!current.ok()) return ExecutionError(options, current.status(), err);
  std::set<std::string> set_now;
  const std::vector<v1::ClientQuotaEntry> entries = InJavaOrder(*current);
  if (!entries.empty()) {
    for (const v1::ClientQuotaValue& v : entries.front().values()) set_now.insert(v.key());
  }
  std::vector<std::string> invalid;
  for (const std::string& k : to_delete) {
    if (!set_now.contains(k)) invalid.push_back(k);
  }
  if (!invalid.empty()) {
    err << "Invalid config(s): " << absl::StrJoin(invalid, ",") << "\n";
    return 1;
  }
  v1::AlterClientQuotasRequest request;
  v1::ClientQuotaAlteration* entry = request.add_entries();
  for (size_t i = 0; i < types.size(); ++i) {
    v1::ClientQuotaEntityPart* part = entry->add_entity();
    part->set_entity_type(QuotaEntityType(types[i]));
    if (!names[i].empty()) part->set_entity_name(names[i]);
  }
  for (const auto& [key, value] : to_add) {
    std::optional<double> parsed = ParseJavaDouble(value);
    if (!parsed) {
      err << "Cannot parse quota configuration value for " << key << ": " << value << "\n";
      return 1;
    }
    v1::ClientQuotaOp* op = entry->add_ops();
    op->set_key(key);
    op->set_value(*parsed);
  }
  for (const std::string& key : to_delete) {
    v1::ClientQuotaOp* op = entry->add_ops();
    op->set_key(key);
    op->set_remove(true);
  }
  absl::StatusOr<v1::AlterClientQuotasResponse> response = admin.AlterClientQuotas(request);
  if (!response.ok()) return ExecutionError(options, response.status(), err);
  for (const v1::ClientQuotaAlterationResult& r : response->entries()) {
    if (r.error() != v1::NONE) {
      return ExecutionError(options, KafkaExceptionText(r.error(), r.error_message()), err);
    }
  }
  return 0;
}

int AlterScram(client::Admin& admin, const ConfigCommandOptions& options, const std::string& user,
               const std::map<std::string, std::string>& to_add,
               const std::vector<std::string>& to_delete, std::ostream& err) {
  v1::AlterUserScramCredentialsRequest request;
  auto mechanism_of = [](const std::string& name) {
    return name == kScramSha256 ? v1::SCRAM_SHA_256 : v1::SCRAM_SHA_512;
  };
  for (const std::string& name : to_delete) {
    v1::ScramCredentialDeletion* d = request.add_deletions();
    d->set_name(user);
    d->set_mechanism(mechanism_of(name));
  }
  for (const auto& [name, value] : to_add) {
    absl::StatusOr<std::pair<int32_t, std::string>> parsed =
        ParseScramCredentialConfig(name, value);
    if (!parsed.ok()) {
      err << parsed.status().message() << "\n";
      return 1;
    }
    // Salted here, as Kafka's admin client salts: a fresh random salt.
    std::string salt(32, '\0');
    if (RAND_bytes(reinterpret_cast<unsigned char*>(salt.data()), static_cast<int>(salt.size())) !=
        1) {
      err << "Could not generate a random salt\n";
      return 1;
    }
    v1::ScramCredentialUpsertion* u = request.add_upsertions();
    u->set_name(user);
    u->set_mechanism(mechanism_of(name));
    u->set_iterations(parsed->first);
    u->set_salted_password(SaltedPassword(u->mechanism(), parsed->second, salt, parsed->first));
    u->set_salt(std::move(salt));
  }
  absl::StatusOr<v1::AlterUserScramCredentialsResponse> response =
      admin.AlterUserScramCredentials(request);
  if (!response.ok()) return ExecutionError(options, response.status(), err);
  for (const v1::AlterUserScramCredentialsResult& r : response->results()) {
    if (r.error() != v1::NONE) {
      return ExecutionError(options, KafkaExceptionText(r.error(), r.error_message()), err);
    }
  }
  return 0;
}

// Kafka's alterConfig for users and clients: which configs may go where,
// then quotas or SCRAM credentials.
int RunAlterClientEntities(client::Admin& admin, const ConfigCommandOptions& options,
                           const std::map<std::string, std::string>& to_add,
                           const std::vector<std::string>& to_delete, std::ostream& err) {
  const std::vector<std::string> types = EntityTypes(options);
  const std::vector<std::string> names = EntityNames(options);
  std::vector<std::string> unknown_add, scram_add, unknown_delete, scram_delete;
  bool quota_changes = false;
  for (const auto& [key, value] : to_add) {
    if (IsScramKey(key)) {
      scram_add.push_back(key);
    } else if (IsQuotaKey(key)) {
      quota_changes = true;
    } else {
      unknown_add.push_back(key);
    }
  }
  for (const std::string& key : to_delete) {
    if (IsScramKey(key)) {
      scram_delete.push_back(key);
    } else if (IsQuotaKey(key)) {
      quota_changes = true;
    } else {
      unknown_delete.push_back(key);
    }
  }
  auto concat = [](std::vector<std::string> a, const std::vector<std::string>& b) {
    a.insert(a.end(), b.begin(), b.end());
    return a;
  };
  if (types.front() == kClients || types.size() == 2) {
    if (!unknown_add.empty() || !scram_add.empty()) {
      err << "Only quota configs can be added for 'clients' using --bootstrap-server. Unexpected "
             "config names: "
          << ScalaCollection("Set", concat(unknown_add, scram_add)) << "\n";
      return 1;
    }
    if (!unknown_delete.empty() || !scram_delete.empty()) {
      err << "Only quota configs can be deleted for 'clients' using --bootstrap-server. "
             "Unexpected config names: "
          << ScalaCollection("List", concat(unknown_delete, scram_delete)) << "\n";
      return 1;
    }
  } else {
    if (!unknown_add.empty()) {
      err << "Only quota and SCRAM credential configs can be added for 'users' using "
             "--bootstrap-server. Unexpected config names: "
          << ScalaCollection("Set", unknown_add) << "\n";
      return 1;
    }
    if (!unknown_delete.empty()) {
      err << "Only quota and SCRAM credential configs can be deleted for 'users' using "
             "--bootstrap-server. Unexpected config names: "
          << ScalaCollection("List", unknown_delete) << "\n";
      return 1;
    }
    if (!scram_add.empty() || !scram_delete.empty()) {
      if (Contains(names, "")) {
        err << "The use of --entity-default or --user-defaults is not allowed with User SCRAM "
               "Credentials using --bootstrap-server.\n";
        return 1;
      }
      if (quota_changes) {
        err << "Cannot alter both quota and SCRAM credential configs simultaneously for 'users' "
               "using --bootstrap-server.\n";
        return 1;
      }
    }
  }
  if (quota_changes) {
    std::map<std::string, std::string> quota_add;
    std::vector<std::string> quota_delete;
    for (const auto& [k, v] : to_add) {
      if (IsQuotaKey(k)) quota_add[k] = v;
    }
    for (const std::string& k : to_delete) {
      if (IsQuotaKey(k)) quota_delete.push_back(k);
    }
    return AlterQuotas(admin, options, quota_add, quota_delete, err);
  }
  std::map<std::string, std::string> scram_values;
  for (const std::string& k : scram_add) scram_values[k] = to_add.at(k);
  return AlterScram(admin, options, names.front(), scram_values, scram_delete, err);
}

int RunDescribe(client::Admin& admin, const ConfigCommandOptions& options, std::ostream& out,
                std::ostream& err) {
  const std::string type = EntityTypes(options).front();
  if (IsClientEntity(type)) return RunDescribeClientEntities(admin, options, out, err);
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

  if (IsClientEntity(type)) {
    const int code = RunAlterClientEntities(admin, options, to_add, to_delete, err);
    if (code != 0) return code;
    if (!name.empty()) {
      out << "Completed updating config for " << type.substr(0, type.size() - 1) << " " << name
          << ".\n";
    } else {
      out << "Completed updating default config for " << type << " in the cluster.\n";
    }
    return 0;
  }

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
  // Kafka's order: --entity-type values, the entity flags (topic, client,
  // user, broker, then the ones Strata refuses), the -defaults flags.
  std::vector<std::string> types = options.entity_types;
  if (options.topic) types.push_back(kTopics);
  if (options.client) types.push_back(kClients);
  if (options.user) types.push_back(kUsers);
  if (options.broker) types.push_back(kBrokers);
  types.insert(types.end(), options.other_entity_types.begin(), options.other_entity_types.end());
  if (options.client_defaults) types.push_back(kClients);
  if (options.user_defaults) types.push_back(kUsers);
  if (options.broker_defaults) types.push_back(kBrokers);
  return types;
}

std::vector<std::string> EntityNames(const ConfigCommandOptions& options) {
  std::vector<std::string> names = options.entity_names;
  if (options.entity_default) {
    const size_t at =
        std::min(options.entity_default_position.value_or(names.size()), names.size());
    names.insert(names.begin() + static_cast<ptrdiff_t>(at), "");
  }
  if (options.topic) names.push_back(*options.topic);
  if (options.client) names.push_back(*options.client);
  if (options.user) names.push_back(*options.user);
  if (options.broker) names.push_back(*options.broker);
  if (options.client_defaults) names.push_back("");
  if (options.user_defaults) names.push_back("");
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
    if (t != kTopics && t != kBrokers && !IsClientEntity(t)) {
      return Invalid(fmt::format(
          "Invalid entity type {}, the entity type must be one of {} with a --bootstrap-server or "
          "--bootstrap-controller argument",
          t, kSupported));
    }
  }
  if (types.empty()) return Invalid("At least one entity type must be specified");
  if (types.size() > 1 &&
      !(types.size() == 2 && Contains(types, kUsers) && Contains(types, kClients))) {
    return Invalid("Only 'users' and 'clients' entity types may be specified together");
  }
  const bool specific = o.topic || o.client || o.user || o.broker || o.client_defaults ||
                        o.user_defaults || o.broker_defaults || !o.other_entity_types.empty();
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
  if (has_name && Contains(types, kBrokers)) {
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
    if (type == kBrokers || IsClientEntity(type)) {
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

std::string JavaDoubleString(double value) {
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value > 0 ? "Infinity" : "-Infinity";
  if (value == 0) return std::signbit(value) ? "-0.0" : "0.0";
  // The shortest digits that read back as `value` (Java's since JDK 19).
  char buf[64];
  const std::to_chars_result r =
      std::to_chars(buf, buf + sizeof(buf), value, std::chars_format::scientific);
  std::string_view text(buf, static_cast<size_t>(r.ptr - buf));
  const bool negative = text.front() == '-';
  if (negative) text.remove_prefix(1);
  const size_t e = text.find('e');
  std::string digits;
  for (char c : text.substr(0, e)) {
    if (c != '.') digits.push_back(c);
  }
  int exponent = 0;
  std::from_chars(text.data() + e + (text[e + 1] == '+' ? 2 : 1), text.data() + text.size(),
                  exponent);
  const double magnitude = std::abs(value);
  std::string out = negative ? "-" : "";
  if (magnitude >= 1e-3 && magnitude < 1e7) {
    if (exponent >= 0) {
      const size_t int_len = static_cast<size_t>(exponent) + 1;
      if (digits.size() < int_len) digits.append(int_len - digits.size(), '0');
      out += digits.substr(0, int_len);
      out += '.';
      out += digits.size() > int_len ? digits.substr(int_len) : "0";
    } else {
      out += "0.";
      out.append(static_cast<size_t>(-exponent - 1), '0');
      out += digits;
    }
    return out;
  }
  out += digits.substr(0, 1);
  out += '.';
  out += digits.size() > 1 ? digits.substr(1) : "0";
  return out + "E" + std::to_string(exponent);
}

int32_t JavaStringHash(std::string_view s) {
  uint32_t h = 0;
  for (unsigned char c : s) h = 31 * h + c;
  return static_cast<int32_t>(h);
}

std::vector<size_t> JavaHashMapOrder(const std::vector<int32_t>& hashes) {
  return JavaHashMapOrder(hashes, hashes.size());
}

std::vector<size_t> JavaHashMapOrder(const std::vector<int32_t>& hashes, size_t initial_capacity) {
  // new HashMap<>(n): the table is tableSizeFor(n) on the first put, and
  // doubles whenever the size passes 0.75 of it.
  auto table_size_for = [](size_t n) {
    size_t cap = 1;
    while (cap < n) cap <<= 1;
    return cap;
  };
  size_t capacity = table_size_for(initial_capacity);
  size_t threshold = capacity * 3 / 4;
  for (size_t size = 1; size <= hashes.size(); ++size) {
    if (size > threshold) {
      capacity <<= 1;
      threshold = capacity * 3 / 4;
    }
  }
  auto bucket = [capacity](int32_t h) {
    const uint32_t u = static_cast<uint32_t>(h);
    return static_cast<size_t>((u ^ (u >> 16)) & (capacity - 1));
  };
  std::vector<size_t> order(hashes.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return bucket(hashes[a]) < bucket(hashes[b]); });
  return order;
}

std::string QuotaConfigsLine(const v1::ClientQuotaEntry& entry) {
  std::vector<std::string> parts;
  for (const char* type : {"user", "client-id", "ip"}) {
    for (const v1::ClientQuotaEntityPart& p : entry.entity()) {
      if (p.entity_type() != type) continue;
      const std::string label = p.entity_type() == "user" ? "user-principal" : p.entity_type();
      parts.push_back(p.has_entity_name() ? fmt::format("{} '{}'", label, p.entity_name())
                                          : fmt::format("the default {}", label));
    }
  }
  std::vector<std::string> values;
  for (const v1::ClientQuotaValue& v : entry.values()) {
    values.push_back(v.key() + "=" + JavaDoubleString(v.value()));
  }
  return fmt::format("Quota configs for {} are {}", absl::StrJoin(parts, ", "),
                     absl::StrJoin(values, ", "));
}

std::string ScramConfigsLine(const v1::DescribeUserScramCredentialsResult& result) {
  std::vector<std::string> infos;
  for (const v1::ScramCredentialInfo& c : result.credential_infos()) {
    infos.push_back(fmt::format("{}=iterations={}",
                                c.mechanism() == v1::SCRAM_SHA_256   ? kScramSha256
                                : c.mechanism() == v1::SCRAM_SHA_512 ? kScramSha512
                                                                     : "UNKNOWN",
                                c.iterations()));
  }
  return fmt::format("SCRAM credential configs for user-principal '{}' are {}", result.user(),
                     absl::StrJoin(infos, ", "));
}

absl::StatusOr<std::pair<int32_t, std::string>> ParseScramCredentialConfig(
    const std::string& mechanism, const std::string& value) {
  // Kafka's "(?:iterations=(\-?[0-9]*),)?password=(.*)", matched whole.
  constexpr int32_t kDefaultIterations = 4096;
  std::string rest = value;
  std::optional<std::string> iterations;
  static constexpr std::string_view kIterations = "iterations=";
  if (rest.starts_with(kIterations)) {
    const size_t comma = rest.find(',');
    std::string number = rest.substr(kIterations.size(), comma - kIterations.size());
    const bool numeric =
        comma != std::string::npos &&
        std::all_of(number.begin() + (number.starts_with("-") ? 1 : 0), number.end(),
                    [](char c) { return absl::ascii_isdigit(static_cast<unsigned char>(c)); });
    if (numeric && rest.compare(comma + 1, 9, "password=") == 0) {
      iterations = number;
      rest = rest.substr(comma + 1);
    }
  }
  if (!rest.starts_with("password=")) {
    return Invalid(fmt::format("Invalid credential property {}={}", mechanism, value));
  }
  int32_t count = kDefaultIterations;
  if (iterations && *iterations != "-1") {
    if (!absl::SimpleAtoi(*iterations, &count)) {
      // Scala's toInt on "" or "-": a NumberFormatException.
      return Invalid(fmt::format("For input string: \"{}\"", *iterations));
    }
  }
  if (count < kDefaultIterations) {
    return Invalid(fmt::format("Iterations {} is less than the minimum {} required for {}", count,
                               kDefaultIterations, mechanism));
  }
  return std::make_pair(count, rest.substr(9));
}

std::string SaltedPassword(v1::ScramMechanism mechanism, const std::string& password,
                           const std::string& salt, int32_t iterations) {
  const EVP_MD* md = mechanism == v1::SCRAM_SHA_512 ? EVP_sha512() : EVP_sha256();
  std::string out(static_cast<size_t>(EVP_MD_get_size(md)), '\0');
  PKCS5_PBKDF2_HMAC(password.data(), static_cast<int>(password.size()),
                    reinterpret_cast<const unsigned char*>(salt.data()),
                    static_cast<int>(salt.size()), iterations, md, static_cast<int>(out.size()),
                    reinterpret_cast<unsigned char*>(out.data()));
  return out;
}

int RunConfigCommand(client::Admin& admin, const ConfigCommandOptions& options, std::ostream& out,
                     std::ostream& err) {
  return options.alter ? RunAlter(admin, options, out, err) : RunDescribe(admin, options, out, err);
}

}  // namespace strata::tools
