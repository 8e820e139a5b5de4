// Dynamic configuration: which broker configs change without a restart,
// the topic configs they are the defaults of, and where the value of a
// topic's or a broker's config comes from (DescribeConfigs' answer).
//
// A topic config's value is the first of, in Kafka's ConfigSource order:
//   DYNAMIC_TOPIC_CONFIG           the topic's own (a ConfigRecord for it)
//   DYNAMIC_BROKER_CONFIG          the broker's dynamic config (resource "<id>")
//   DYNAMIC_DEFAULT_BROKER_CONFIG  the cluster-wide dynamic default (resource "")
//   STATIC_BROKER_CONFIG           the broker's server.properties
//   DEFAULT_CONFIG                 Kafka's default
// At the broker levels a topic config goes by its broker names (Kafka's
// synonyms: retention.ms is log.retention.ms, log.retention.minutes and
// log.retention.hours there). As in Kafka, only the first broker name of
// each (log.retention.ms, log.roll.ms, ...) can be set dynamically; the
// others (hours, minutes) are read-only, so the dynamic levels always hold
// the value in the topic config's own unit.
//
// The static level comes as ServerConfig::log_overrides holds it: by topic
// config name, in the topic config's unit (server.properties'
// log.retention.hours=168 is retention.ms=604800000 there). It is shown
// under the first broker name (STATIC_BROKER_CONFIG:log.retention.ms=
// 604800000), since the name it was written under is not kept.
//
// Synonym lists follow Kafka's shape, oddities included: ordered by source,
// then by broker name, and cut before the first entry named as the config
// described (a topic's retention.ms shows synonyms={} at its default,
// because Kafka's default is log.retention.hours=168).
//
// Pure functions over an image and the static settings, thread-compatible;
// BrokerLogDefaultsCache is thread-safe. Implementation: dynamic_config.cc.
//
// A stored value that does not validate (a ConfigRecord from a build that
// checked less, or one written by hand) is never applied: its level is
// skipped, so the level below it decides, and it is logged once per
// process. Replaying such a record therefore never fails or wedges a node.
#pragma once
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "broker/metadata/metadata_image.h"
#include "broker/storage/log_config.h"

namespace strata::metadata {

// Kafka's ConfigSource, in its numbering.
enum class ConfigSource {
  kUnknown = 0,
  kDynamicTopic = 1,
  kDynamicBroker = 2,
  kDynamicDefaultBroker = 3,
  kStaticBroker = 4,
  kDefault = 5,
};

// A broker config that is the default of a topic config.
struct BrokerLogConfig {
  std::string_view name;          // log.retention.ms
  std::string_view topic_config;  // retention.ms
  // Settable dynamically (the topic config's first broker name); the others
  // differ in unit or are read only at start-up.
  bool dynamic;
  // Kafka's default, as Kafka shows it; empty when Kafka has none (null).
  std::string_view kafka_default;
};

// Every broker name of a topic config (Kafka's ServerTopicConfigSynonyms),
// grouped by topic config, the dynamic one of each group first. Every
// topic_config is a name of storage::TopicConfigDefaults().
const std::vector<BrokerLogConfig>& BrokerLogConfigs();

const BrokerLogConfig* FindBrokerLogConfig(std::string_view name);

// The dynamic broker name of a topic config ("retention.ms" ->
// "log.retention.ms"); empty when it has none.
std::string_view DynamicBrokerNameOf(std::string_view topic_config);

// Whether a topic config is of Kafka's type LIST (cleanup.policy, the
// throttled-replica lists): the ones IncrementalAlterConfigs' APPEND and
// SUBTRACT act on. A broker name is a list when its topic config is.
bool IsListTopicConfig(std::string_view name);
bool IsListBrokerConfig(std::string_view name);

// OK when `name` is a dynamic broker config (so that it may be deleted);
// otherwise Kafka's "Cannot update these configs dynamically: Set(name)".
absl::Status ValidateDynamicBrokerConfigName(const std::string& name);

// OK when dynamic broker config `name` may be set to `value`. Refusals use
// Kafka's wording: "Invalid value abc for configuration log.retention.ms:
// Not a number of type LONG", "Cannot update these configs dynamically:
// Set(log.dirs)".
absl::Status ValidateDynamicBrokerConfig(const std::string& name, const std::string& value);

// The checks across the keys of a topic's whole set of configs (each value
// already valid alone), Kafka's LogConfig.validateValues: the absent ones
// are Kafka's defaults. "conflict topic config setting
// min.compaction.lag.ms (X) > max.compaction.lag.ms (Y)".
absl::Status ValidateTopicConfigSet(const std::map<std::string, std::string>& configs);

// The topic-config defaults broker `broker_id` applies, by topic config
// name: its static ones (`static_log_overrides`, ServerConfig's
// log_overrides), then the cluster-wide dynamic default, then its own
// dynamic configs, each level over the one before (a stored value that
// does not validate is skipped). What LogConfigFor takes as the broker's
// overrides.
std::map<std::string, std::string> BrokerLogDefaults(
    const std::map<std::string, std::string>& static_log_overrides, const MetadataImage& image,
    int32_t broker_id);

// A topic's LogConfig on a broker whose defaults are `broker_defaults`
// (BrokerLogDefaults): the topic's own configs over them. A stored topic
// value that does not validate is skipped (the broker's value stands) and
// logged once, not at every call.
storage::LogConfig TopicLogConfig(const std::map<std::string, std::string>& broker_defaults,
                                  const TopicInfo& topic);

// BrokerLogDefaults of the image last asked about, computed once per image
// (by its offset) however many partitions ask. Thread-safe.
class BrokerLogDefaultsCache {
 public:
  BrokerLogDefaultsCache(std::map<std::string, std::string> static_log_overrides,
                         int32_t broker_id);

  std::shared_ptr<const std::map<std::string, std::string>> For(const MetadataImage& image);

 private:
  const std::map<std::string, std::string> static_log_overrides_;
  const int32_t broker_id_;
  absl::Mutex mu_;
  bool cached_ ABSL_GUARDED_BY(mu_) = false;
  int64_t offset_ ABSL_GUARDED_BY(mu_) = -1;
  std::shared_ptr<const std::map<std::string, std::string>> defaults_ ABSL_GUARDED_BY(mu_);
};

// unclean.leader.election.enable as Kafka's KRaft controller resolves it
// for an election (ConfigurationControlManager.getTopicConfig): the topic's
// own, else the dynamic config of the controller's node `controller_id`,
// else the cluster-wide dynamic default, else `static_enable` (the
// controller's server.properties). A stored value that is neither true nor
// false (any case) is skipped.
bool UncleanLeaderElectionEnabled(const MetadataImage& image, const TopicInfo& topic,
                                  int32_t controller_id, bool static_enable);

// Whether a replica of `topic` may truncate below its high watermark (what
// an unclean election asks of the old ISR): true whenever
// UncleanLeaderElectionEnabled holds for any node of `controller_ids` (the
// metadata quorum's voters, any of which may have decided the election),
// each taken to have this node's `static_enable` (Kafka, too, expects
// server.properties to agree across nodes). So a replica never refuses the
// truncation an election the controller allowed leads to.
bool UncleanTruncationAllowed(const MetadataImage& image, const TopicInfo& topic,
                              const std::vector<int32_t>& controller_ids, bool static_enable);

struct ConfigSynonym {
  std::string name;
  std::string value;
  ConfigSource source = ConfigSource::kUnknown;

  bool operator==(const ConfigSynonym&) const = default;
};

// One config as DescribeConfigs gives it.
struct DescribedConfig {
  std::string name;
  std::string value;
  ConfigSource source = ConfigSource::kUnknown;
  bool read_only = false;
  // Where it is set, the one in effect first.
  std::vector<ConfigSynonym> synonyms;
};

// Every topic config of `topic` as broker `broker_id` (this node) applies
// it, by name, with its source and synonyms.
std::vector<DescribedConfig> DescribeTopicConfigs(
    const TopicInfo& topic, const MetadataImage& image, int32_t broker_id,
    const std::map<std::string, std::string>& static_log_overrides);

// A broker resource's configs. `resource` "" is the cluster-wide default:
// the dynamic defaults set, nothing else, each with only its
// DYNAMIC_DEFAULT_BROKER_CONFIG synonyms (Kafka's
// ConfigHelper.createBrokerConfigEntry keeps no other for it). Otherwise
// `resource` is this broker's id, and every broker name of a topic config
// that has a value anywhere is described (only these log settings: a
// broker's other settings are not listed), with the dynamic configs set for
// it or by default that are not such names (the throttle rates).
std::vector<DescribedConfig> DescribeBrokerConfigs(
    const std::string& resource, const MetadataImage& image,
    const std::map<std::string, std::string>& static_log_overrides);

}  // namespace strata::metadata
