#include "tools/acls_command.h"

#include <algorithm>
#include <array>
#include <istream>
#include <map>
#include <ostream>
#include <set>
#include <tuple>

#include "absl/strings/ascii.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "client/errors.h"
#include "fmt/format.h"
#include "tools/kafka_exception.h"

namespace strata::tools {
namespace {

// Kafka's codes (its ResourceType, PatternType, AclOperation and
// AclPermissionType).
enum ResourceType : int32_t {
  kAnyResource = 1,
  kTopic = 2,
  kGroup = 3,
  kCluster = 4,
  kTransactionalId = 5,
  kDelegationToken = 6,
  kUser = 7,
};
enum PatternType : int32_t { kAnyPattern = 1, kMatch = 2, kLiteral = 3, kPrefixed = 4 };
enum Operation : int32_t {
  kUnknownOp = 0,
  kAnyOp = 1,
  kAll = 2,
  kRead = 3,
  kWrite = 4,
  kCreate = 5,
  kDelete = 6,
  kAlter = 7,
  kDescribe = 8,
  kClusterAction = 9,
  kDescribeConfigs = 10,
  kAlterConfigs = 11,
  kIdempotentWrite = 12,
  kCreateTokens = 13,
  kDescribeTokens = 14,
};
enum Permission : int32_t { kAnyPermission = 1, kDeny = 2, kAllow = 3 };

constexpr char kClusterName[] = "kafka-cluster";

// Java's enum constant names, as Kafka's toString prints them.
constexpr std::array<const char*, 8> kResourceTypeNames = {
    "UNKNOWN", "ANY", "TOPIC", "GROUP", "CLUSTER", "TRANSACTIONAL_ID", "DELEGATION_TOKEN", "USER"};
constexpr std::array<const char*, 5> kPatternTypeNames = {"UNKNOWN", "ANY", "MATCH", "LITERAL",
                                                          "PREFIXED"};
constexpr std::array<const char*, 15> kOperationEnumNames = {"UNKNOWN",
                                                             "ANY",
                                                             "ALL",
                                                             "READ",
                                                             "WRITE",
                                                             "CREATE",
                                                             "DELETE",
                                                             "ALTER",
                                                             "DESCRIBE",
                                                             "CLUSTER_ACTION",
                                                             "DESCRIBE_CONFIGS",
                                                             "ALTER_CONFIGS",
                                                             "IDEMPOTENT_WRITE",
                                                             "CREATE_TOKENS",
                                                             "DESCRIBE_TOKENS"};
// SecurityUtils.operationName: the names the tool takes and prints in help.
constexpr std::array<const char*, 15> kOperationNames = {"Unknown",
                                                         "Any",
                                                         "All",
                                                         "Read",
                                                         "Write",
                                                         "Create",
                                                         "Delete",
                                                         "Alter",
                                                         "Describe",
                                                         "ClusterAction",
                                                         "DescribeConfigs",
                                                         "AlterConfigs",
                                                         "IdempotentWrite",
                                                         "CreateTokens",
                                                         "DescribeTokens"};
constexpr std::array<const char*, 4> kPermissionNames = {"UNKNOWN", "ANY", "DENY", "ALLOW"};

template <size_t N>
const char* NameOf(const std::array<const char*, N>& names, int32_t code) {
  return code >= 0 && static_cast<size_t>(code) < N ? names[code] : names[0];
}

// Kafka's AclEntry.supportedOperations.
std::vector<int32_t> SupportedOperations(int32_t type) {
  switch (type) {
    case kTopic:
      return {kRead, kWrite, kCreate, kDescribe, kDelete, kAlter, kDescribeConfigs, kAlterConfigs};
    case kGroup:
      return {kRead, kDescribe, kDelete};
    case kCluster:
      return {kCreate,          kClusterAction, kDescribeConfigs, kAlterConfigs,
              kIdempotentWrite, kAlter,         kDescribe};
    case kTransactionalId:
      return {kDescribe, kWrite};
    case kDelegationToken:
      return {kDescribe};
    case kUser:
      return {kCreateTokens, kDescribeTokens};
    default:
      return {};
  }
}

// SecurityUtils.operation: the PascalCase name, or any case without
// underscores; UNKNOWN otherwise (which no resource type supports).
int32_t ParseOperation(const std::string& text) {
  const std::string key =
      absl::AsciiStrToUpper(absl::StrReplaceAll(absl::StripAsciiWhitespace(text), {{"_", ""}}));
  for (size_t i = 1; i < kOperationNames.size(); ++i) {
    if (absl::AsciiStrToUpper(kOperationNames[i]) == key) return static_cast<int32_t>(i);
  }
  return kUnknownOp;
}

absl::Status Usage(std::string message) { return absl::InvalidArgumentError(std::move(message)); }

std::string Trim(const std::string& s) { return std::string(absl::StripAsciiWhitespace(s)); }

// SecurityUtils.parseKafkaPrincipal.
absl::StatusOr<std::string> ParsePrincipal(const std::string& text) {
  const std::string s = Trim(text);
  const size_t colon = s.find(':');
  if (s.empty() || colon == std::string::npos) {
    return Usage("expected a string in format principalType:principalName but got " + s);
  }
  return s;
}

v1::AclBindingFilter ResourceFilter(int32_t type, const std::string& name, int32_t pattern_type) {
  v1::AclBindingFilter f;
  f.set_resource_type(type);
  f.set_resource_name(name);
  f.set_pattern_type(pattern_type);
  f.set_operation(kAnyOp);
  f.set_permission_type(kAnyPermission);
  return f;
}

// Kafka's getResourceFilter: the resources named, in its order.
absl::StatusOr<std::vector<v1::AclBindingFilter>> ResourceFilters(const AclCommandOptions& o,
                                                                  bool die_if_none) {
  absl::StatusOr<int32_t> pattern = PatternTypeOf(o);
  if (!pattern.ok()) return pattern.status();
  std::vector<v1::AclBindingFilter> out;
  auto add = [&out](v1::AclBindingFilter f) {
    for (const v1::AclBindingFilter& have : out) {
      if (have.SerializeAsString() == f.SerializeAsString()) return;
    }
    out.push_back(std::move(f));
  };
  for (const std::string& t : o.topics) add(ResourceFilter(kTopic, Trim(t), *pattern));
  if (*pattern == kLiteral && (o.cluster || o.idempotent)) {
    add(ResourceFilter(kCluster, kClusterName, kLiteral));
  }
  for (const std::string& g : o.groups) add(ResourceFilter(kGroup, Trim(g), *pattern));
  // (Kafka does not trim transactional ids.)
  for (const std::string& x : o.transactional_ids) {
    add(ResourceFilter(kTransactionalId, x, *pattern));
  }
  for (const std::string& d : o.delegation_tokens) {
    add(ResourceFilter(kDelegationToken, Trim(d), *pattern));
  }
  for (const std::string& u : o.user_principals) add(ResourceFilter(kUser, Trim(u), *pattern));
  if (out.empty() && die_if_none) {
    return Usage(
        "You must provide at least one resource: --topic <topic> or --cluster or --group <group> "
        "or --delegation-token <Delegation Token ID>");
  }
  return out;
}

// Kafka's getAcl: allowed principals x operations x hosts, then denied ones.
absl::StatusOr<std::vector<AclEntry>> Entries(const AclCommandOptions& o,
                                              const std::vector<int32_t>& operations) {
  std::vector<AclEntry> out;
  auto add = [&](const std::vector<std::string>& principals, std::vector<std::string> hosts,
                 int32_t permission) -> absl::Status {
    if (principals.empty()) return absl::OkStatus();
    if (hosts.empty()) hosts = {"*"};
    for (const std::string& p : principals) {
      absl::StatusOr<std::string> principal = ParsePrincipal(p);
      if (!principal.ok()) return principal.status();
      for (int32_t op : operations) {
        for (const std::string& h : hosts) {
          AclEntry e{*principal, Trim(h), op, permission};
          const bool seen = std::any_of(out.begin(), out.end(), [&e](const AclEntry& x) {
            return std::tie(x.principal, x.host, x.operation, x.permission) ==
                   std::tie(e.principal, e.host, e.operation, e.permission);
          });
          if (!seen) out.push_back(std::move(e));
        }
      }
    }
    return absl::OkStatus();
  };
  if (absl::Status s = add(o.allow_principals, o.allow_hosts, kAllow); !s.ok()) return s;
  if (absl::Status s = add(o.deny_principals, o.deny_hosts, kDeny); !s.ok()) return s;
  return out;
}

std::string FilterKey(const v1::AclBindingFilter& f) { return f.SerializeAsString(); }

// "Error while executing ACL command: ..." and the exception line.
int ExecutionError(const std::string& exception, std::ostream& err) {
  err << "Error while executing ACL command: " << exception << "\n"
      << "java.util.concurrent.ExecutionException: " << exception << "\n";
  return 1;
}

int ExecutionError(const absl::Status& status, std::ostream& err) {
  return ExecutionError(KafkaExceptionText(status), err);
}

using PatternKey = std::tuple<int32_t, std::string, int32_t>;

// The ACLs of `filters` (all when empty), by resource pattern.
absl::StatusOr<std::map<PatternKey, std::vector<AclEntry>>> CurrentAcls(
    client::Admin& admin, const std::vector<v1::AclBindingFilter>& filters) {
  std::vector<v1::AclBindingFilter> asks = filters;
  if (asks.empty()) {
    v1::AclBindingFilter any;
    any.set_resource_type(kAnyResource);
    any.set_pattern_type(kAnyPattern);
    any.set_operation(kAnyOp);
    any.set_permission_type(kAnyPermission);
    asks.push_back(any);
  }
  std::map<PatternKey, std::vector<AclEntry>> out;
  std::set<std::tuple<PatternKey, std::string, std::string, int32_t, int32_t>> seen;
  for (const v1::AclBindingFilter& f : asks) {
    v1::DescribeAclsRequest request;
    *request.mutable_filter() = f;
    absl::StatusOr<v1::DescribeAclsResponse> response = admin.DescribeAcls(request);
    if (!response.ok()) return response.status();
    for (const v1::DescribeAclsResource& r : response->resources()) {
      PatternKey key{r.resource_type(), r.resource_name(), r.pattern_type()};
      std::vector<AclEntry>& entries = out[key];
      for (const v1::AclDescription& a : r.acls()) {
        if (!seen.insert({key, a.principal(), a.host(), a.operation(), a.permission_type()})
                 .second) {
          continue;
        }
        entries.push_back({a.principal(), a.host(), a.operation(), a.permission_type()});
      }
    }
  }
  return out;
}

int ListAcls(client::Admin& admin, const AclCommandOptions& o, std::ostream& out,
             std::ostream& err) {
  absl::StatusOr<std::vector<v1::AclBindingFilter>> filters = ResourceFilters(o, false);
  if (!filters.ok()) {
    err << filters.status().message() << "\n";
    return 1;
  }
  absl::StatusOr<std::map<PatternKey, std::vector<AclEntry>>> acls = CurrentAcls(admin, *filters);
  if (!acls.ok()) return ExecutionError(acls.status(), err);
  auto print = [&out](const std::map<PatternKey, std::vector<AclEntry>>& by_resource,
                      const std::string* principal) {
    for (const auto& [key, entries] : by_resource) {
      std::vector<AclEntry> shown;
      for (const AclEntry& e : entries) {
        if (principal == nullptr || e.principal == *principal) shown.push_back(e);
      }
      if (shown.empty() && principal != nullptr) continue;
      out << AclsBlock("Current ACLs for resource",
                       ResourcePatternText(std::get<0>(key), std::get<1>(key), std::get<2>(key)),
                       shown);
    }
  };
  if (o.list_principals.empty()) {
    print(*acls, nullptr);
    return 0;
  }
  for (const std::string& p : o.list_principals) {
    absl::StatusOr<std::string> principal = ParsePrincipal(p);
    if (!principal.ok()) {
      err << principal.status().message() << "\n";
      return 1;
    }
    out << "ACLs for principal `" << *principal << "`\n";
    print(*acls, &*principal);
  }
  return 0;
}

v1::AclBinding BindingOf(const v1::AclBindingFilter& pattern, const AclEntry& e) {
  v1::AclBinding b;
  b.set_resource_type(pattern.resource_type());
  b.set_resource_name(pattern.resource_name());
  b.set_pattern_type(pattern.pattern_type());
  b.set_principal(e.principal);
  b.set_host(e.host);
  b.set_operation(e.operation);
  b.set_permission_type(e.permission);
  return b;
}

int AddAcls(client::Admin& admin, const AclCommandOptions& o, std::ostream& out,
            std::ostream& err) {
  absl::StatusOr<int32_t> pattern = PatternTypeOf(o);
  if (!pattern.ok()) {
    err << pattern.status().message() << "\n";
    return 1;
  }
  if (*pattern != kLiteral && *pattern != kPrefixed) {
    err << "A '--resource-pattern-type' value of '" << NameOf(kPatternTypeNames, *pattern)
        << "' is not valid when adding acls.\n";
    return 1;
  }
  auto to_add = FilterToAcls(o);
  if (!to_add.ok()) {
    err << to_add.status().message() << "\n";
    return 1;
  }
  for (const auto& [filter, entries] : *to_add) {
    if (entries.empty()) {
      err << "You must specify one of: --allow-principal, --deny-principal when trying to add "
             "ACLs.\n";
      return 1;
    }
  }
  for (const auto& [filter, entries] : *to_add) {
    out << AclsBlock(
        "Adding ACLs for resource",
        ResourcePatternText(filter.resource_type(), filter.resource_name(), filter.pattern_type()),
        entries);
    out.flush();
    v1::CreateAclsRequest request;
    for (const AclEntry& e : entries) *request.add_creations() = BindingOf(filter, e);
    absl::StatusOr<v1::CreateAclsResponse> response = admin.CreateAcls(request);
    if (!response.ok()) return ExecutionError(response.status(), err);
    for (const v1::AclCreationResult& r : response->results()) {
      if (r.error() != v1::NONE) {
        return ExecutionError(KafkaExceptionText(r.error(), r.error_message()), err);
      }
    }
  }
  return ListAcls(admin, o, out, err);
}

// Kafka's confirmAction: true with --force; else the prompt on `out` and
// the answer from `in`. No line at all is Kafka's NullPointerException.
absl::StatusOr<bool> Confirm(const AclCommandOptions& o, const std::string& prompt,
                             std::istream& in, std::ostream& out) {
  if (o.force) return true;
  out << prompt << "\n";
  out.flush();
  std::string answer;
  if (!std::getline(in, answer)) {
    return absl::FailedPreconditionError(
        "Cannot invoke \"String.equalsIgnoreCase(String)\" because the return value of "
        "\"scala.io.StdIn$.readLine()\" is null");
  }
  return absl::AsciiStrToLower(answer) == "y";
}

int RemoveAcls(client::Admin& admin, const AclCommandOptions& o, std::istream& in,
               std::ostream& out, std::ostream& err) {
  auto to_remove = FilterToAcls(o);
  if (!to_remove.ok()) {
    err << to_remove.status().message() << "\n";
    return 1;
  }
  for (const auto& [filter, entries] : *to_remove) {
    const std::string resource = ResourceFilterText(filter);
    std::string prompt;
    if (entries.empty()) {
      prompt =
          "Are you sure you want to delete all ACLs for resource filter `" + resource + "`? (y/n)";
    } else {
      std::vector<std::string> lines;
      for (const AclEntry& e : entries) lines.push_back("\t" + AclEntryText(e));
      prompt = "Are you sure you want to remove ACLs: \n " + absl::StrJoin(lines, "\n") +
               " \n from resource filter `" + resource + "`? (y/n)";
    }
    absl::StatusOr<bool> yes = Confirm(o, prompt, in, out);
    if (!yes.ok()) {
      err << "Error while executing ACL command: " << yes.status().message() << "\n"
          << "java.lang.NullPointerException: " << yes.status().message() << "\n";
      return 1;
    }
    if (!*yes) continue;
    v1::DeleteAclsRequest request;
    if (entries.empty()) {
      *request.add_filters() = filter;  // every entry (ANY)
    } else {
      for (const AclEntry& e : entries) {
        v1::AclBindingFilter* f = request.add_filters();
        *f = filter;
        f->set_principal(e.principal);
        f->set_host(e.host);
        f->set_operation(e.operation);
        f->set_permission_type(e.permission);
      }
    }
    absl::StatusOr<v1::DeleteAclsResponse> response = admin.DeleteAcls(request);
    if (!response.ok()) return ExecutionError(response.status(), err);
    for (const v1::DeleteAclsFilterResult& r : response->filter_results()) {
      if (r.error() != v1::NONE) {
        return ExecutionError(KafkaExceptionText(r.error(), r.error_message()), err);
      }
    }
  }
  return ListAcls(admin, o, out, err);
}

}  // namespace

absl::StatusOr<int32_t> PatternTypeOf(const AclCommandOptions& options) {
  if (!options.resource_pattern_type) return kLiteral;
  const std::string upper = absl::AsciiStrToUpper(Trim(*options.resource_pattern_type));
  for (int32_t code : {kAnyPattern, kMatch, kLiteral, kPrefixed}) {
    if (upper == NameOf(kPatternTypeNames, code)) return code;
  }
  return Usage("Unknown resource-pattern-type: " + *options.resource_pattern_type);
}

absl::Status ValidateAclCommandOptions(const AclCommandOptions& o) {
  if (!o.bootstrap_server && !o.bootstrap_controller) {
    return Usage("One of --bootstrap-server or --bootstrap-controller must be specified");
  }
  if (o.bootstrap_server && o.bootstrap_controller) {
    return Usage("Only one of --bootstrap-server or --bootstrap-controller must be specified");
  }
  if (static_cast<int>(o.add) + static_cast<int>(o.remove) + static_cast<int>(o.list) != 1) {
    return Usage("Command must include exactly one action: --list, --add, --remove. ");
  }
  auto invalid = [](const char* used, const char* other) {
    return Usage(fmt::format("Option \"[{}]\" can't be used with option \"[{}]\"", used, other));
  };
  if (o.list) {
    if (o.producer) return invalid("list", "producer");
    if (o.consumer) return invalid("list", "consumer");
    if (!o.allow_hosts.empty()) return invalid("list", "allow-host");
    if (!o.allow_principals.empty()) return invalid("list", "allow-principal");
    if (!o.deny_hosts.empty()) return invalid("list", "deny-host");
    if (!o.deny_principals.empty()) return invalid("list", "deny-principal");
  }
  for (const auto& [set, name] : {std::pair{o.producer, "producer"}, {o.consumer, "consumer"}}) {
    if (!set) continue;
    if (!o.operations.empty()) return invalid(name, "operation");
    if (!o.deny_principals.empty()) return invalid(name, "deny-principal");
    if (!o.deny_hosts.empty()) return invalid(name, "deny-host");
  }
  if (!o.list_principals.empty() && !o.list) {
    return Usage("The --principal option is only available if --list is set");
  }
  if (o.producer && o.topics.empty()) return Usage("With --producer you must specify a --topic");
  if (o.idempotent && !o.producer) {
    return Usage("The --idempotent option is only available if --producer is set");
  }
  if (o.consumer && (o.topics.empty() || o.groups.empty() ||
                     (!o.producer && (o.cluster || !o.transactional_ids.empty())))) {
    return Usage(
        "With --consumer you must specify a --topic and a --group and no --cluster or "
        "--transactional-id option should be specified.");
  }
  if (absl::StatusOr<int32_t> pattern = PatternTypeOf(o); !pattern.ok()) return pattern.status();
  return absl::OkStatus();
}

absl::StatusOr<std::vector<std::pair<v1::AclBindingFilter, std::vector<AclEntry>>>> FilterToAcls(
    const AclCommandOptions& o) {
  std::vector<std::pair<v1::AclBindingFilter, std::vector<AclEntry>>> out;
  // Kafka's Map ++: a later resource's ACLs replace (--producer) or join
  // (--consumer) an earlier one's.
  auto put = [&out](const v1::AclBindingFilter& f, std::vector<AclEntry> entries, bool merge) {
    for (auto& [have, acls] : out) {
      if (FilterKey(have) != FilterKey(f)) continue;
      if (!merge) {
        acls = std::move(entries);
        return;
      }
      for (AclEntry& e : entries) {
        const bool seen = std::any_of(acls.begin(), acls.end(), [&e](const AclEntry& x) {
          return std::tie(x.principal, x.host, x.operation, x.permission) ==
                 std::tie(e.principal, e.host, e.operation, e.permission);
        });
        if (!seen) acls.push_back(std::move(e));
      }
      return;
    }
    out.emplace_back(f, std::move(entries));
  };
  absl::StatusOr<std::vector<v1::AclBindingFilter>> filters = ResourceFilters(o, true);
  if (!filters.ok()) return filters.status();
  if (!o.producer && !o.consumer) {
    std::vector<int32_t> ops;
    for (const std::string& op : o.operations) {
      const int32_t code = ParseOperation(op);
      if (std::find(ops.begin(), ops.end(), code) == ops.end()) ops.push_back(code);
    }
    if (ops.empty()) ops.push_back(kAll);
    absl::StatusOr<std::vector<AclEntry>> entries = Entries(o, ops);
    if (!entries.ok()) return entries.status();
    for (const v1::AclBindingFilter& f : *filters) put(f, *entries, false);
  }
  if (o.producer) {
    absl::StatusOr<std::vector<AclEntry>> topic = Entries(o, {kWrite, kDescribe, kCreate});
    absl::StatusOr<std::vector<AclEntry>> txn = Entries(o, {kWrite, kDescribe});
    absl::StatusOr<std::vector<AclEntry>> idempotent = Entries(o, {kIdempotentWrite});
    if (!topic.ok()) return topic.status();
    for (const v1::AclBindingFilter& f : *filters) {
      if (f.resource_type() == kTopic) put(f, *topic, false);
    }
    for (const v1::AclBindingFilter& f : *filters) {
      if (f.resource_type() == kTransactionalId) put(f, *txn, false);
    }
    if (o.idempotent) put(ResourceFilter(kCluster, kClusterName, kLiteral), *idempotent, false);
  }
  if (o.consumer) {
    absl::StatusOr<std::vector<AclEntry>> topic = Entries(o, {kRead, kDescribe});
    absl::StatusOr<std::vector<AclEntry>> group = Entries(o, {kRead});
    if (!topic.ok()) return topic.status();
    for (const v1::AclBindingFilter& f : *filters) {
      if (f.resource_type() == kTopic) put(f, *topic, true);
    }
    for (const v1::AclBindingFilter& f : *filters) {
      if (f.resource_type() == kGroup) put(f, *group, true);
    }
  }
  // Kafka's validateOperation.
  for (const auto& [f, entries] : out) {
    std::vector<int32_t> valid = SupportedOperations(f.resource_type());
    valid.push_back(kAll);
    for (const AclEntry& e : entries) {
      if (std::find(valid.begin(), valid.end(), e.operation) != valid.end()) continue;
      std::vector<std::string> names;
      for (int32_t op : valid) names.push_back(NameOf(kOperationNames, op));
      return Usage(fmt::format("ResourceType {} only supports operations {}",
                               NameOf(kResourceTypeNames, f.resource_type()),
                               absl::StrJoin(names, ", ")));
    }
  }
  return out;
}

std::string ResourcePatternText(int32_t type, const std::string& name, int32_t pattern_type) {
  return fmt::format("ResourcePattern(resourceType={}, name={}, patternType={})",
                     NameOf(kResourceTypeNames, type), name,
                     NameOf(kPatternTypeNames, pattern_type));
}

std::string ResourceFilterText(const v1::AclBindingFilter& f) {
  return fmt::format("ResourcePatternFilter(resourceType={}, name={}, patternType={})",
                     NameOf(kResourceTypeNames, f.resource_type()),
                     f.has_resource_name() ? f.resource_name() : "<any>",
                     NameOf(kPatternTypeNames, f.pattern_type()));
}

std::string AclEntryText(const AclEntry& e) {
  return fmt::format("(principal={}, host={}, operation={}, permissionType={})", e.principal,
                     e.host, NameOf(kOperationEnumNames, e.operation),
                     NameOf(kPermissionNames, e.permission));
}

std::string AclsBlock(const std::string& lead, const std::string& resource,
                      const std::vector<AclEntry>& entries) {
  std::vector<std::string> lines;
  for (const AclEntry& e : entries) lines.push_back("\t" + AclEntryText(e));
  return fmt::format("{} `{}`: \n {} \n\n", lead, resource, absl::StrJoin(lines, "\n"));
}

int RunAclCommand(client::Admin& admin, const AclCommandOptions& options, std::istream& in,
                  std::ostream& out, std::ostream& err) {
  if (options.add) return AddAcls(admin, options, out, err);
  if (options.remove) return RemoveAcls(admin, options, in, out, err);
  return ListAcls(admin, options, out, err);
}

}  // namespace strata::tools
