// `strata acls`: Kafka's kafka-acls.sh (3.x, --bootstrap-server), with its
// flags and its output lines:
//
//   --add      "Adding ACLs for resource `ResourcePattern(resourceType=TOPIC,
//              name=t1, patternType=LITERAL)`: " then one "\t(principal=
//              User:alice, host=*, operation=WRITE, permissionType=ALLOW)"
//              line per ACL, then the --list output for the resources.
//   --remove   asks "Are you sure you want to remove ACLs: ... from resource
//              filter `ResourcePatternFilter(...)`? (y/n)" (or "... delete
//              all ACLs for resource filter ...") for each resource unless
//              --force, reading the answer from stdin as Kafka's tool does:
//              "y" (any case) removes, any other line keeps; no line at all
//              (stdin closed, e.g. a script without --force) fails the
//              command as Kafka's does (it reads null). Then --list.
//   --list     "Current ACLs for resource `ResourcePattern(...)`: " and the
//              ACLs, for the resources named (all when none is); with
//              --principal P, "ACLs for principal `P`" first and only P's.
//
// Resources: --topic T, --group G, --transactional-id X,
// --delegation-token D, --user-principal U (each repeatable), --cluster;
// --resource-pattern-type literal (default) | prefixed | any | match (the
// last two only to list or remove). ACLs: --allow-principal /
// --deny-principal (repeatable, "User:alice"), --allow-host / --deny-host
// (default "*"), --operation (repeatable, default All). Conveniences:
// --producer (Write, Describe, Create on topics; Write, Describe on
// transactional ids; with --idempotent IdempotentWrite on the cluster) and
// --consumer (Read, Describe on topics, Read on groups).
//
// Argument errors are Kafka's messages, alone on stderr, exit code 1. A
// failed call prints "Error while executing ACL command: <exception>" and
// the exception line on stderr, exit code 1 (Kafka prints them on stdout;
// Strata's tools keep errors on stderr).
//
// ACLs are printed in the order they were generated (add/remove) or the
// server's order (list); Kafka's own order is its hash sets' (not stable).
#pragma once

#include <cstdint>
#include <iosfwd>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "client/admin.h"
#include "strata/v1/admin.pb.h"

namespace strata::tools {

struct AclCommandOptions {
  std::optional<std::string> bootstrap_server;
  std::optional<std::string> bootstrap_controller;  // taken as the bootstrap list
  std::optional<std::string> command_config;
  bool add = false;
  bool remove = false;
  bool list = false;
  std::vector<std::string> topics;
  std::vector<std::string> groups;
  std::vector<std::string> transactional_ids;
  std::vector<std::string> delegation_tokens;
  std::vector<std::string> user_principals;  // --user-principal (resource type USER)
  bool cluster = false;
  std::optional<std::string> resource_pattern_type;  // default literal
  std::vector<std::string> allow_principals;
  std::vector<std::string> deny_principals;
  std::vector<std::string> allow_hosts;
  std::vector<std::string> deny_hosts;
  std::vector<std::string> operations;       // empty: All
  std::vector<std::string> list_principals;  // --principal, with --list
  bool producer = false;
  bool consumer = false;
  bool idempotent = false;
  bool force = false;
};

// Kafka's AclCommandOptions.checkArgs; the error is the message to print.
absl::Status ValidateAclCommandOptions(const AclCommandOptions& options);

// --resource-pattern-type as Kafka's PatternType (LITERAL when absent):
// 1 ANY, 2 MATCH, 3 LITERAL, 4 PREFIXED; any case. InvalidArgument
// "Unknown resource-pattern-type: x" otherwise.
absl::StatusOr<int32_t> PatternTypeOf(const AclCommandOptions& options);

// An access control entry (Kafka's AccessControlEntry), codes Kafka's.
struct AclEntry {
  std::string principal;
  std::string host;
  int32_t operation = 0;
  int32_t permission = 0;
};

// Kafka's getResourceFilterToAcls: each resource filter the options name
// (pattern_type as given) with the entries for it, in the order the
// options name them (topics, cluster, groups, transactional ids, delegation
// tokens, user principals; --producer / --consumer add theirs). An
// argument error (a bad principal, an operation the resource type does not
// support) is InvalidArgument with Kafka's message.
absl::StatusOr<std::vector<std::pair<v1::AclBindingFilter, std::vector<AclEntry>>>> FilterToAcls(
    const AclCommandOptions& options);

// Kafka's toString forms:
//   "ResourcePattern(resourceType=TOPIC, name=t1, patternType=LITERAL)"
//   "ResourcePatternFilter(resourceType=TOPIC, name=t1, patternType=ANY)"
//   "(principal=User:alice, host=*, operation=WRITE, permissionType=ALLOW)"
std::string ResourcePatternText(int32_t type, const std::string& name, int32_t pattern_type);
std::string ResourceFilterText(const v1::AclBindingFilter& filter);
std::string AclEntryText(const AclEntry& entry);
// Kafka's "<lead> `<resource>`: \n \t<acl>\n\t<acl> \n" block (println adds
// the last newline), e.g. "Current ACLs for resource `...`".
std::string AclsBlock(const std::string& lead, const std::string& resource,
                      const std::vector<AclEntry>& entries);

// Runs a validated command; prompts and results to `out`, answers read from
// `in`, errors to `err`. Returns the process exit code.
int RunAclCommand(client::Admin& admin, const AclCommandOptions& options, std::istream& in,
                  std::ostream& out, std::ostream& err);

}  // namespace strata::tools
