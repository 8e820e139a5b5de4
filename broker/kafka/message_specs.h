// The field table of each top-level request and response (messages.cc),
// found by API key: what codec.cc interprets and schema_test checks.
#pragma once

#include "broker/kafka/api_versions.h"
#include "broker/kafka/schema.h"

namespace strata::kafka {

// nullptr for a key without a codec (SupportedApis()).
const StructSpec* RequestSpec(ApiKey key);
const StructSpec* ResponseSpec(ApiKey key);

}  // namespace strata::kafka
