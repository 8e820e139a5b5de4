// the topic, config, partition and cluster admin APIs between Kafka's structs and the request layer (adapter.h).
#include "broker/kafka/adapter.h"

namespace strata::kafka {

absl::Span<const AdapterRow> AdminAdapters() { return {}; }

}  // namespace strata::kafka
