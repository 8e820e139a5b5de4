// libFuzzer target: a Kafka client connection's byte stream, as the
// listener's event loop meets it, through the connection state machine
// (broker/kafka/connection.h: frame cutting under socket.request.max.bytes,
// the in-flight window, ordered answers) with a fake request layer that
// decodes each frame's header and body and completes requests in an order
// the input chooses, some failing, some answering nothing (acks=0).
//
// Input: byte 0 picks the window (1-4); then each step is a control byte
// and, for a read, up to 64 bytes of stream. Checked after every step:
//   - no more requests are handed out than the window allows;
//   - the bytes written are exactly the answers of the requests in request
//     order, each whole, stopping at the first failed one, after which the
//     connection hands out nothing and is closed;
//   - memory stays bounded: the partial frame never reserves more than the
//     bytes that arrived (plus the reader's growth), whatever size it
//     declared;
//   - nothing crashes, leaks or trips ASan/UBSan.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <string>
#include <string_view>

#include "broker/kafka/codec.h"
#include "broker/kafka/connection.h"
#include "broker/kafka/request_header.h"

namespace {

using namespace strata::kafka;

constexpr int32_t kMaxFrameBytes = 1 << 20;  // socket.request.max.bytes, small

[[noreturn]] void Fail(const char* what) {
  std::fprintf(stderr, "kafka_stream_fuzzer: %s\n", what);
  std::abort();
}

// The fake request layer's answer to request `seq`: a framed, recognisable
// response; empty for "no answer" (acks=0).
std::string AnswerFor(uint64_t seq, bool none) {
  if (none) return "";
  const std::string body = "answer-" + std::to_string(seq);
  std::string out(4, '\0');
  out[3] = static_cast<char>(body.size());
  return out + body;
}

struct Pending {
  uint64_t seq;
  bool none;  // answered with nothing
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const int32_t window = 1 + (data[0] & 3);
  Connection c({.max_frame_bytes = kMaxFrameBytes, .max_inflight = window, .max_unsent_bytes = 256},
               "fuzz");
  std::deque<Pending> pending;      // handed out, not completed
  std::string expected;             // what must be written, in order
  std::deque<uint64_t> order;       // handed-out seqs, in request order
  std::deque<std::string> answers;  // their answers once completed, by order
  std::deque<bool> done;
  std::deque<bool> failed;
  std::string written;
  bool closed = false;
  size_t pos = 1;
  while (pos < size && !closed) {
    const uint8_t control = data[pos++];
    switch (control & 7) {
      case 0:
      case 1:
      case 2: {  // read up to 64 bytes of stream
        const size_t n = std::min<size_t>(size - pos, 1 + (control >> 3) * 2);
        if (c.WantsRead() || (control & 8)) {  // a careless loop may read anyway
          if (!c.OnBytes(std::string_view(reinterpret_cast<const char*>(data) + pos, n)).ok()) {
            closed = true;  // a refused frame size: the listener closes
          }
        }
        pos += n;
        if (c.mid_frame() && c.buffered_bytes() > size + 4) Fail("more buffered than read");
        break;
      }
      case 3: {  // hand out what the window admits, decoding each frame
        while (auto r = c.NextRequest()) {
          absl::StatusOr<RequestHeader> header = PeekRequestHeader(r->frame);
          if (header.ok() && IsAdvertised(header->api_key, header->api_version)) {
            std::string_view body;
            if (ParseRequestHeader(r->frame, &body).ok()) {
              (void)DecodeRequest(header->api_key, header->api_version, body);
            }
          }
          pending.push_back({r->seq, (control & 8) != 0});
          order.push_back(r->seq);
          answers.emplace_back();
          done.push_back(false);
          failed.push_back(false);
        }
        if (c.inflight() > window) Fail("more requests in flight than the window");
        break;
      }
      case 4:
      case 5: {  // complete one pending request, oldest or newest
        if (pending.empty()) break;
        const bool newest = control & 8;
        Pending p = newest ? pending.back() : pending.front();
        if (newest)
          pending.pop_back();
        else
          pending.pop_front();
        size_t i = 0;
        while (order[i] != p.seq) ++i;
        done[i] = true;
        if ((control & 7) == 5 && (control & 16)) {
          failed[i] = true;
          c.Fail(p.seq, "fuzz failure");
        } else {
          answers[i] = AnswerFor(p.seq, p.none);
          c.Complete(p.seq, answers[i]);
        }
        break;
      }
      default: {  // collect and write some of the output
        c.CollectReady();
        const size_t n = std::min<size_t>(c.unsent().size(), (control >> 3) * 3 + 1);
        written.append(c.unsent().substr(0, n));
        c.Consumed(n);
        if (c.unsent().empty() && c.close_reason()) closed = true;
        break;
      }
    }
    // The written bytes are a prefix of the answers in request order, up
    // to the first failure.
    std::string allowed;
    for (size_t i = 0; i < order.size() && done[i] && !failed[i]; ++i) allowed += answers[i];
    if (written.size() > allowed.size() || allowed.compare(0, written.size(), written) != 0) {
      Fail("written bytes are not the answers in request order");
    }
    if (c.close_reason() && c.NextRequest().has_value()) Fail("a request after the close");
  }
  return 0;
}
