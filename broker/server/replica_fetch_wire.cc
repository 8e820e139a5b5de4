#include "broker/server/replica_fetch_wire.h"

#include <memory>
#include <utility>

#include "client/common/varint.h"
#include "glog/logging.h"

namespace strata::server {

namespace {

// replica.proto: ReplicaFetchResponse.partitions = 1,
// ReplicaFetchPartitionResponse.records = 8, both length-delimited; records
// is the partition's last field, so it follows the others as protobuf
// orders them.
constexpr char kPartitionsKey = (1 << 3) | 2;
constexpr char kRecordsKey = (8 << 3) | 2;

void DeleteString(void* p) { delete static_cast<std::string*>(p); }

// The layout above holds while records is the partition's highest field
// number: checked once, against the compiled-in descriptor.
bool RecordsIsTheLastField() {
  const google::protobuf::Descriptor* d = internal::ReplicaFetchPartitionResponse::descriptor();
  const google::protobuf::FieldDescriptor* records = d->FindFieldByName("records");
  if (records == nullptr || records->number() != 8) return false;
  for (int i = 0; i < d->field_count(); ++i) {
    if (d->field(i)->number() > records->number()) return false;
  }
  return true;
}

}  // namespace

void ReplicaFetchResponseWriter::Add(const internal::ReplicaFetchPartitionResponse& fields,
                                     std::string records) {
  static const bool kLayoutHolds = RecordsIsTheLastField();
  CHECK(kLayoutHolds) << "replica.proto changed: records is no longer field 8, the last";
  CHECK(fields.records().empty()) << "the records go in as the second argument";
  const size_t fields_size = fields.ByteSizeLong();
  const size_t records_size =
      records.empty() ? 0 : 1 + UnsignedVarintSize(records.size()) + records.size();
  head_.push_back(kPartitionsKey);
  PutUnsignedVarint(&head_, fields_size + records_size);
  fields.AppendToString(&head_);
  if (records.empty()) return;
  head_.push_back(kRecordsKey);
  PutUnsignedVarint(&head_, records.size());
  FlushHead();
  auto* owned = new std::string(std::move(records));
  slices_.emplace_back(owned->data(), owned->size(), &DeleteString, owned);
}

void ReplicaFetchResponseWriter::FlushHead() {
  if (head_.empty()) return;
  slices_.emplace_back(head_.data(), head_.size());  // copied
  head_.clear();
}

grpc::ByteBuffer ReplicaFetchResponseWriter::Finish(const internal::ReplicaFetchResponse& rest) {
  CHECK(rest.partitions().empty()) << "the partitions go in through Add";
  // Protobuf writes fields in number order: partitions (1) first, then the
  // session's fields, as appended here.
  rest.AppendToString(&head_);
  FlushHead();
  grpc::ByteBuffer buffer(slices_.data(), slices_.size());
  slices_.clear();
  return buffer;
}

}  // namespace strata::server
