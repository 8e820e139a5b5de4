// KafkaListener in process on loopback, answering ApiVersions only: the
// listener-wide bound on request bytes read and not yet answered
// (queued.max.request.bytes) stops reading every connection, and reading
// resumes once the bytes are gone.
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <thread>

#include "broker/kafka/kafka_listener.h"
#include "gtest/gtest.h"
#include "tests/common/free_port.h"
#include "tests/common/kafka_test_client.h"

namespace strata::kafka {
namespace {

using testing::Client;
using testing::Request;

// Whether ApiVersions v0 is answered on `client` within its timeout.
bool Answers(Client& client, int32_t correlation_id) {
  if (!client.Send(Request(18, 0, correlation_id, ApiVersionsRequest{}, 1))) return false;
  std::optional<std::string> frame = client.ReadFrame();
  if (!frame) return false;
  Reader r(*frame);
  absl::StatusOr<int32_t> correlation = ReadResponseHeader(r, 0);
  return correlation.ok() && *correlation == correlation_id;
}

TEST(KafkaListenerBoundsTest, QueuedRequestBytesOverTheBoundStopReadingUntilTheyAreGone) {
  KafkaListener::Options o;
  o.host = "127.0.0.1";
  o.port = ::strata::testing::PickFreePort();
  o.num_network_threads = 2;
  o.num_io_threads = 2;
  o.queued_max_request_bytes = 1 << 20;
  absl::StatusOr<std::unique_ptr<KafkaListener>> listener = KafkaListener::Start(o, {});
  ASSERT_TRUE(listener.ok()) << listener.status();
  const int port = (*listener)->port();

  Client good(port, /*timeout_s=*/1);
  ASSERT_TRUE(good.connected());
  ASSERT_TRUE(Answers(good, 1));

  // A frame begun before the bound is reached: 256 bytes declared, half
  // sent.
  Client mid(port, /*timeout_s=*/3);
  ASSERT_TRUE(mid.connected());
  ASSERT_TRUE(mid.Send(std::string("\x00\x00\x01\x00", 4) + std::string(128, 'y')));
  std::this_thread::sleep_for(std::chrono::milliseconds(100));

  // A partial frame of 2 MiB (of 3 declared): the listener now holds more
  // than its 1 MiB, so it reads no connection.
  auto hog = std::make_unique<Client>(port);
  ASSERT_TRUE(hog->connected());
  const uint32_t declared = 3 << 20;
  std::string partial(4, '\0');
  partial[0] = static_cast<char>(declared >> 24);
  partial[1] = static_cast<char>(declared >> 16);
  partial[2] = static_cast<char>(declared >> 8);
  partial[3] = static_cast<char>(declared);
  partial += std::string(2 << 20, 'x');
  std::thread sender([&] { hog->Send(partial); });  // may block once reading stops
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  EXPECT_FALSE(Answers(good, 2)) << "over queued.max.request.bytes: nothing is read";

  // A request whose size came in before the bound was reached reads on to
  // its end (Kafka admits a request whole): being no Kafka request, it
  // closes its connection rather than hanging.
  ASSERT_TRUE(mid.Send(std::string(128, 'y')));
  EXPECT_TRUE(mid.ClosedByServer());

  // The hog goes (a reset: a FIN would queue behind its unread bytes): its
  // bytes no longer count, and reading resumes (at the latest on the
  // loops' next tick, a second).
  hog->Abort();
  sender.join();
  hog->Close();
  hog.reset();
  Client fresh(port, /*timeout_s=*/3);
  ASSERT_TRUE(fresh.connected());
  EXPECT_TRUE(Answers(fresh, 3)) << "reading resumed once the bytes were released";
  (*listener)->Stop();
}

}  // namespace
}  // namespace strata::kafka
