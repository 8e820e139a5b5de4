// Connection: ordered response slots, the in-flight window, back-pressure
// and failed requests, without a socket.
#include "broker/kafka/connection.h"

#include <memory>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "tests/common/kafka_test_client.h"

namespace strata::kafka {
namespace {

std::string Frame(const std::string& body) { return testing::Prefixed(body); }

// Takes everything CollectReady makes writable.
std::string Drain(Connection& c) {
  c.CollectReady();
  std::string out(c.unsent());
  c.Consumed(out.size());
  return out;
}

TEST(ConnectionTest, PipelinedRequestsAreAnsweredInOrderWhenCompletionsArriveReversed) {
  Connection c({.max_frame_bytes = 1 << 20, .max_inflight = 8, .max_unsent_bytes = 1 << 20},
               "peer");
  ASSERT_TRUE(c.OnBytes(Frame("r0") + Frame("r1") + Frame("r2")).ok());
  std::vector<Connection::Request> requests;
  while (auto r = c.NextRequest()) requests.push_back(*r);
  ASSERT_EQ(requests.size(), 3u);
  EXPECT_EQ(requests[0].frame, "r0");
  EXPECT_EQ(requests[2].frame, "r2");

  c.Complete(requests[2].seq, "A2");
  EXPECT_EQ(Drain(c), "");
  c.Complete(requests[1].seq, "A1");
  EXPECT_EQ(Drain(c), "");
  EXPECT_EQ(c.inflight(), 3);
  c.Complete(requests[0].seq, "A0");
  EXPECT_EQ(Drain(c), "A0A1A2");
  EXPECT_EQ(c.inflight(), 0);
}

// With may_overlap, only requests it admits share the window ("p..." here,
// as the listener's produce requests); any other waits for the window to
// empty and keeps it to itself.
TEST(ConnectionTest, OnlyOverlappingRequestsShareTheWindow) {
  Connection c({.max_frame_bytes = 1 << 20,
                .max_inflight = 5,
                .max_unsent_bytes = 1 << 20,
                .may_overlap = [](std::string_view f) { return f.starts_with("p"); }},
               "peer");
  ASSERT_TRUE(
      c.OnBytes(Frame("p0") + Frame("p1") + Frame("x2") + Frame("p3") + Frame("p4")).ok());
  auto p0 = c.NextRequest();
  auto p1 = c.NextRequest();
  ASSERT_TRUE(p0.has_value() && p1.has_value());
  EXPECT_EQ(p1->frame, "p1");
  EXPECT_FALSE(c.NextRequest().has_value()) << "x2 waits for the produce requests";
  c.Complete(p1->seq, "A1");
  EXPECT_EQ(Drain(c), "");
  EXPECT_FALSE(c.NextRequest().has_value());
  c.Complete(p0->seq, "A0");
  EXPECT_EQ(Drain(c), "A0A1");
  auto x2 = c.NextRequest();
  ASSERT_TRUE(x2.has_value());
  EXPECT_EQ(x2->frame, "x2");
  EXPECT_FALSE(c.NextRequest().has_value()) << "nothing beside x2";
  EXPECT_FALSE(c.WantsRead());
  c.Complete(x2->seq, "A2");
  EXPECT_EQ(Drain(c), "A2");
  auto p3 = c.NextRequest();
  auto p4 = c.NextRequest();
  ASSERT_TRUE(p3.has_value() && p4.has_value());
  EXPECT_EQ(c.inflight(), 2);
  EXPECT_TRUE(c.WantsRead()) << "produce requests leave the window open";
  c.Complete(p3->seq, "A3");
  c.Complete(p4->seq, "A4");
  EXPECT_EQ(Drain(c), "A3A4");
  EXPECT_EQ(c.inflight(), 0);
  // A non-overlapping request alone in flight mutes the connection.
  ASSERT_TRUE(c.OnBytes(Frame("x5")).ok());
  auto x5 = c.NextRequest();
  ASSERT_TRUE(x5.has_value());
  EXPECT_FALSE(c.WantsRead());
  c.Complete(x5->seq, "A5");
  EXPECT_EQ(Drain(c), "A5");
  EXPECT_TRUE(c.WantsRead());
}

// The listener's rule: by the request header's api key, big-endian.
TEST(ConnectionTest, OnlyAProduceHeaderIsAProduceRequest) {
  EXPECT_TRUE(IsProduceRequest(std::string("\x00\x00\x00\x09", 4)));  // Produce v9
  EXPECT_FALSE(IsProduceRequest(std::string("\x00\x01\x00\x0c", 4)));  // Fetch
  EXPECT_FALSE(IsProduceRequest(std::string("\x00\x03\x00\x09", 4)));  // Metadata
  EXPECT_FALSE(IsProduceRequest(std::string("\x00\x1a\x00\x03", 4)));  // EndTxn (26)
  EXPECT_FALSE(IsProduceRequest(std::string("\x01\x00\x00\x00", 4)));  // key 256
  EXPECT_FALSE(IsProduceRequest(std::string("\x00", 1)));
  EXPECT_FALSE(IsProduceRequest(""));
}

TEST(ConnectionTest, WindowOfOneHoldsTheNextRequestUntilTheAnswerIsOut) {
  Connection c({.max_frame_bytes = 1 << 20, .max_inflight = 1, .max_unsent_bytes = 1 << 20},
               "peer");
  ASSERT_TRUE(c.OnBytes(Frame("r0") + Frame("r1")).ok());
  auto r0 = c.NextRequest();
  ASSERT_TRUE(r0.has_value());
  EXPECT_FALSE(c.NextRequest().has_value());
  EXPECT_FALSE(c.WantsRead());  // window full, and a frame waits
  c.Complete(r0->seq, "A0");
  EXPECT_EQ(Drain(c), "A0");
  auto r1 = c.NextRequest();
  ASSERT_TRUE(r1.has_value());
  EXPECT_EQ(r1->frame, "r1");
  c.Complete(r1->seq, "A1");
  EXPECT_EQ(Drain(c), "A1");
  EXPECT_TRUE(c.WantsRead());
}

TEST(ConnectionTest, WindowClosesWhenTheAnswerIsWrittenNotWhenItIsReady) {
  // A client that pipelines and does not read holds one answer, not more:
  // no request starts while an earlier answer is only partly written.
  Connection c({.max_frame_bytes = 1 << 20, .max_inflight = 1, .max_unsent_bytes = 1 << 20},
               "peer");
  ASSERT_TRUE(c.OnBytes(Frame("r0") + Frame("r1")).ok());
  auto r0 = c.NextRequest();
  ASSERT_TRUE(r0.has_value());
  c.Complete(r0->seq, "ANSWER0");
  c.CollectReady();
  EXPECT_EQ(c.inflight(), 0);
  EXPECT_FALSE(c.NextRequest().has_value()) << "the answer is not on the wire yet";
  c.Consumed(3);
  EXPECT_FALSE(c.NextRequest().has_value()) << "part of it still is not";
  c.Consumed(4);
  auto r1 = c.NextRequest();
  ASSERT_TRUE(r1.has_value());
  EXPECT_EQ(r1->frame, "r1");
  EXPECT_EQ(c.buffered_bytes(), 0u) << "both frames handed out";
}

TEST(ConnectionTest, WhatAnAnswerHoldsIsReleasedOnlyOnceItsLastByteIsWritten) {
  Connection c({.max_frame_bytes = 1 << 20, .max_inflight = 2, .max_unsent_bytes = 1 << 20},
               "peer");
  ASSERT_TRUE(c.OnBytes(Frame("r0") + Frame("r1")).ok());
  auto r0 = c.NextRequest();
  auto r1 = c.NextRequest();
  ASSERT_TRUE(r0 && r1);
  auto memory0 = std::make_shared<int>(0);
  auto memory1 = std::make_shared<int>(1);
  std::weak_ptr<int> held0 = memory0, held1 = memory1;
  c.Complete(r0->seq, "AAAA", std::move(memory0));
  c.Complete(r1->seq, "BB", std::move(memory1));
  c.CollectReady();
  EXPECT_FALSE(held0.expired()) << "nothing written yet";
  c.Consumed(3);
  EXPECT_FALSE(held0.expired()) << "one byte of the first answer is still unsent";
  c.Consumed(1);
  EXPECT_TRUE(held0.expired()) << "the first answer is out";
  EXPECT_FALSE(held1.expired());
  c.Consumed(2);
  EXPECT_TRUE(held1.expired());
}

TEST(ConnectionTest, UnsentOutputOverTheBoundStopsReading) {
  Connection c({.max_frame_bytes = 1 << 20, .max_inflight = 4, .max_unsent_bytes = 10}, "peer");
  ASSERT_TRUE(c.OnBytes(Frame("r0")).ok());
  auto r0 = c.NextRequest();
  c.Complete(r0->seq, std::string(11, 'a'));
  c.CollectReady();
  EXPECT_FALSE(c.WantsRead());
  c.Consumed(5);
  EXPECT_TRUE(c.WantsRead());
}

TEST(ConnectionTest, EmptyResponseSendsNothingAndFreesTheSlot) {
  Connection c({.max_frame_bytes = 1 << 20, .max_inflight = 1, .max_unsent_bytes = 1 << 20},
               "peer");
  ASSERT_TRUE(c.OnBytes(Frame("acks0") + Frame("next")).ok());
  auto r0 = c.NextRequest();
  c.Complete(r0->seq, "");
  EXPECT_EQ(Drain(c), "");
  EXPECT_TRUE(c.NextRequest().has_value());
}

TEST(ConnectionTest, FailedRequestClosesAfterTheAnswersBeforeIt) {
  Connection c({.max_frame_bytes = 1 << 20, .max_inflight = 3, .max_unsent_bytes = 1 << 20},
               "peer");
  ASSERT_TRUE(c.OnBytes(Frame("r0") + Frame("bad") + Frame("r2")).ok());
  auto r0 = c.NextRequest();
  auto r1 = c.NextRequest();
  auto r2 = c.NextRequest();
  c.Complete(r2->seq, "A2");
  c.Fail(r1->seq, "unknown api key");
  EXPECT_FALSE(c.close_reason().has_value());
  c.Complete(r0->seq, "A0");
  EXPECT_EQ(Drain(c), "A0");
  ASSERT_TRUE(c.close_reason().has_value());
  EXPECT_EQ(*c.close_reason(), "unknown api key");
  EXPECT_FALSE(c.WantsRead());
  EXPECT_FALSE(c.NextRequest().has_value());
}

TEST(ConnectionTest, OversizedFrameIsAnError) {
  Connection c({.max_frame_bytes = 4, .max_inflight = 1, .max_unsent_bytes = 1 << 20}, "peer");
  EXPECT_FALSE(c.OnBytes(Frame("12345")).ok());
}

TEST(ConnectionTest, ARefusalWithAnAnswerClosesOnceTheAnswerIsOut) {
  Connection c({.max_frame_bytes = 1 << 20, .max_inflight = 2, .max_unsent_bytes = 1 << 20},
               "peer");
  ASSERT_TRUE(c.OnBytes(Frame("r0") + Frame("login") + Frame("r2")).ok());
  auto r0 = c.NextRequest();
  auto r1 = c.NextRequest();
  c.Fail(r1->seq, "authentication failed", "A-failed");
  c.Complete(r0->seq, "A0");
  EXPECT_EQ(Drain(c), "A0A-failed") << "the refusal's own answer goes out before the close";
  ASSERT_TRUE(c.close_reason().has_value());
  EXPECT_EQ(*c.close_reason(), "authentication failed");
  EXPECT_FALSE(c.NextRequest().has_value());
}

TEST(ConnectionTest, TheFrameBoundCanChangeAndNamesItsKey) {
  Connection c({.max_frame_bytes = 1 << 20, .max_inflight = 1, .max_unsent_bytes = 1 << 20},
               "peer");
  c.SetMaxFrameBytes(4, "sasl.server.max.receive.size");
  ASSERT_TRUE(c.OnBytes(Frame("1234")).ok());
  c.SetMaxFrameBytes(8, "socket.request.max.bytes");
  ASSERT_TRUE(c.OnBytes(Frame("12345678")).ok());
  c.SetMaxFrameBytes(4, "sasl.server.max.receive.size");
  absl::Status s = c.OnBytes(Frame("12345"));
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find("over sasl.server.max.receive.size (4)"), absl::string_view::npos)
      << s;
}

}  // namespace
}  // namespace strata::kafka
