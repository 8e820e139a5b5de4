// FindCoordinator and the group APIs between Kafka's structs and the request layer (adapter.h).
#include "broker/kafka/adapter.h"

namespace strata::kafka {

absl::Span<const AdapterRow> GroupAdapters() { return {}; }

}  // namespace strata::kafka
