// The incremental frame decoder: split and batched streams, and every rejection (alphaess.md §5.1).
#include "protocol/alphaess/encoder.hpp"
#include "protocol/alphaess/frame_decoder.hpp"
#include "tests/support/fixtures.hpp"

#include <doctest/doctest.h>

#include <string>
#include <variant>
#include <vector>

using namespace sunkeep;
using namespace sunkeep::alphaess;

namespace {

std::span<const std::uint8_t> bytes_of(const std::string& s) {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

std::string as_string(const std::vector<std::uint8_t>& v) { return {v.begin(), v.end()}; }

// Feeds `stream` in chunks of `chunk` bytes and collects every frame and the final rejection.
struct Outcome {
  std::vector<Frame> frames;
  std::optional<Rejection> rejection;
};

Outcome decode_in_chunks(const std::string& stream, std::size_t chunk, std::uint32_t cap = 65536) {
  FrameDecoder decoder(cap);
  Outcome out;
  for (std::size_t at = 0; at < stream.size() && !out.rejection; at += chunk) {
    decoder.feed(bytes_of(stream.substr(at, chunk)));
    while (true) {
      auto step = decoder.next();
      if (auto* f = std::get_if<Frame>(&step)) {
        out.frames.push_back(std::move(*f));
      } else if (auto* r = std::get_if<Rejection>(&step)) {
        out.rejection = *r;
        break;
      } else {
        break;
      }
    }
  }
  return out;
}

const std::string realtime_payload = R"({"Time":"2024/03/03 22:05:21","SN":"AL1","Pbat":"1.0"})";

}  // namespace

TEST_CASE("decoder: the three hex fixtures decode to whole frames") {
  for (const char* name : {"alphaess/frame_dev_cmd0_empty.hex", "alphaess/frame_srv_ack16_success.hex",
                           "alphaess/frame_proxy_setconfig_cmd.hex"}) {
    CAPTURE(name);
    const std::string raw = test::hex_fixture(name);
    const auto out = decode_in_chunks(raw, raw.size());
    REQUIRE(out.frames.size() == 1);
    CHECK_FALSE(out.rejection);
    CHECK(as_string(out.frames[0].raw) == raw);
  }
  const auto setconfig = decode_in_chunks(test::hex_fixture("alphaess/frame_proxy_setconfig_cmd.hex"), 1000);
  CHECK(setconfig.frames[0].command() == 8);
  CHECK(setconfig.frames[0].payload() == R"({"Command":"SetConfig","CmdIndex":"51422094"})");
}

TEST_CASE("decoder: a frame fed one byte at a time / and frames split at every offset") {
  const std::string a = as_string(frame_bytes(1, 16, realtime_payload));
  const std::string b = test::hex_fixture("alphaess/frame_dev_cmd0_empty.hex");
  const std::string c = as_string(frame_bytes(1, 5, R"({"Time":"2024/03/03 22:10:04"})"));
  const std::string stream = a + b + c;
  for (std::size_t chunk = 1; chunk <= stream.size(); ++chunk) {
    CAPTURE(chunk);
    const auto out = decode_in_chunks(stream, chunk);
    REQUIRE(out.frames.size() == 3);
    CHECK(as_string(out.frames[0].raw) == a);
    CHECK(as_string(out.frames[1].raw) == b);
    CHECK(as_string(out.frames[2].raw) == c);
    CHECK_FALSE(out.rejection);
  }
}

TEST_CASE("decoder: a short header waits for more bytes") {
  FrameDecoder decoder(65536);
  decoder.feed(bytes_of(std::string("\x01\x01\x10\x00", 4)));
  CHECK(std::holds_alternative<NeedMoreBytes>(decoder.next()));
  CHECK(decoder.buffered() == 4);
}

TEST_CASE("decoder: LEN over the cap is rejected as soon as the header is complete") {
  FrameDecoder decoder(65536);
  decoder.feed(bytes_of(std::string("\x01\x01\x10\x00\x01\x00\x01", 7)));  // LEN 65537, no payload yet
  auto step = decoder.next();
  REQUIRE(std::holds_alternative<Rejection>(step));
  const auto& r = std::get<Rejection>(step);
  CHECK(r.reason == RejectReason::length_over_cap);
  CHECK(r.length == 65537);
  CHECK(r.command == 16);
  CHECK(decoder.buffered() == 0);
  // Once rejected it stays rejected and holds nothing.
  decoder.feed(bytes_of(std::string(1000, 'x')));
  CHECK(std::holds_alternative<Rejection>(decoder.next()));
  CHECK(decoder.buffered() == 0);
}

TEST_CASE("decoder: LEN exactly at the cap is accepted") {
  const std::string payload(100, 'a');
  const auto out = decode_in_chunks(as_string(frame_bytes(1, 77, payload)), 7, 100);
  REQUIRE(out.frames.size() == 1);
  CHECK_FALSE(out.rejection);
}

TEST_CASE("decoder: a CRC mismatch is rejected after the frames before it") {
  std::string bad = as_string(frame_bytes(1, 16, realtime_payload));
  bad.back() = static_cast<char>(bad.back() ^ 0x01);
  const std::string good = test::hex_fixture("alphaess/frame_dev_cmd0_empty.hex");
  const auto out = decode_in_chunks(good + bad + good, 5);
  REQUIRE(out.frames.size() == 1);
  REQUIRE(out.rejection);
  CHECK(out.rejection->reason == RejectReason::crc_mismatch);
  CHECK(out.rejection->header_complete);
  CHECK(out.rejection->describe().find("CRC") != std::string::npos);
}

TEST_CASE("decoder: F1 other than 0x01 is rejected / with the leading bytes for the log") {
  const auto out = decode_in_chunks(std::string("\x02\x01\x10\x00\x00\x00\x00\xAA\xBB", 9), 9);
  REQUIRE(out.rejection);
  CHECK(out.rejection->reason == RejectReason::bad_start_byte);
  CHECK(out.rejection->leading_hex == "020110000000" "00aabb");
}

TEST_CASE("decoder: a TLS ClientHello at the start of the stream is told apart") {
  const std::string hello("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", 11);
  SUBCASE("whole") {
    const auto out = decode_in_chunks(hello, hello.size());
    REQUIRE(out.rejection);
    CHECK(out.rejection->reason == RejectReason::tls_client_hello);
    CHECK(out.rejection->describe().find("TLS") != std::string::npos);
  }
  SUBCASE("first byte alone waits for the second") {
    FrameDecoder decoder(65536);
    decoder.feed(bytes_of(hello.substr(0, 1)));
    CHECK(std::holds_alternative<NeedMoreBytes>(decoder.next()));
    decoder.feed(bytes_of(hello.substr(1)));
    auto step = decoder.next();
    REQUIRE(std::holds_alternative<Rejection>(step));
    CHECK(std::get<Rejection>(step).reason == RejectReason::tls_client_hello);
  }
  SUBCASE("0x16 0x03 after a valid frame is only a bad start byte") {
    const auto out = decode_in_chunks(test::hex_fixture("alphaess/frame_dev_cmd0_empty.hex") + hello, 64);
    REQUIRE(out.rejection);
    CHECK(out.rejection->reason == RejectReason::bad_start_byte);
  }
}

TEST_CASE("decoder: rejection text never includes payload bytes") {
  std::string bad = as_string(frame_bytes(1, 2, R"({"UserName":"AL1","Password":"hunter2"})"));
  bad[bad.size() - 1] = static_cast<char>(bad.back() ^ 0xFF);
  const auto out = decode_in_chunks(bad, bad.size());
  REQUIRE(out.rejection);
  CHECK(out.rejection->describe().find("hunter2") == std::string::npos);
  CHECK(out.rejection->leading_hex.empty());
}
