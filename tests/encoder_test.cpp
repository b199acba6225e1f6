// Proof that sunkeep's AlphaESS encoder can build nothing but Success acks and Resume
// (alphaess.md §5.4).
#include "protocol/alphaess/crc16.hpp"
#include "protocol/alphaess/encoder.hpp"
#include "protocol/alphaess/frame.hpp"
#include "tests/support/fixtures.hpp"

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include <string>
#include <type_traits>
#include <vector>

using namespace sunkeep;
using namespace sunkeep::alphaess;

// No way to wrap arbitrary bytes, a verb or a payload into something the server can send.
static_assert(!std::is_default_constructible_v<OutboundFrame>);
static_assert(!std::is_constructible_v<OutboundFrame, std::vector<std::uint8_t>>);
static_assert(!std::is_constructible_v<OutboundFrame, std::string>);
static_assert(!std::is_constructible_v<OutboundFrame, std::uint8_t, std::uint8_t, std::string>);
static_assert(!std::is_convertible_v<std::vector<std::uint8_t>, OutboundFrame>);

namespace {

std::string payload_of(const OutboundFrame& f) {
  const auto& b = f.bytes();
  return {b.begin() + header_size, b.end() - crc_size};
}

bool crc_ok(const std::vector<std::uint8_t>& b) {
  const std::uint16_t crc = crc16_modbus(std::span<const std::uint8_t>(b.data(), b.size() - 2));
  return b[b.size() - 2] == (crc >> 8) && b[b.size() - 1] == (crc & 0xFF);
}

ResumeRequest sample_resume() {
  return {.cmd_index = 35967905, .from = {2021, 3, 24, 10, 17, 43}, .gap_minutes = 641};
}

}  // namespace

TEST_CASE("encoder: every ack / for all 256 command codes / is 1/2/F3 with exactly Success") {
  for (int code = 0; code < 256; ++code) {
    CAPTURE(code);
    const OutboundFrame ack = make_success_ack(static_cast<std::uint8_t>(code));
    const auto& b = ack.bytes();
    CHECK(b[0] == 1);
    CHECK(b[1] == 2);
    CHECK(b[2] == code);
    CHECK(payload_of(ack) == R"({"Status":"Success"})");
    CHECK(crc_ok(b));
  }
}

TEST_CASE("encoder: the 1/2/16 ack equals the captured fixture byte for byte") {
  const std::string golden = test::hex_fixture("alphaess/frame_srv_ack16_success.hex");
  const OutboundFrame ack = make_success_ack(16);
  const auto& b = ack.bytes();
  CHECK(std::string(b.begin(), b.end()) == golden);
}

TEST_CASE("encoder: Resume has the spec's key order and values / and nothing else") {
  const OutboundFrame resume = make_resume(sample_resume());
  CHECK(resume.f2() == 1);
  CHECK(resume.command() == 8);
  CHECK(payload_of(resume) ==
        R"({"CmdIndex":"35967905","Command":"Resume","Parameter1":"2021/03/24 10:17:43","Parameter2":"641"})");
  CHECK(crc_ok(resume.bytes()));
  // Same content as the real cloud's Resume capture.
  const auto captured = nlohmann::json::parse(test::fixture("alphaess/tidalvirus_1-1-8_resume_cmd.json"));
  CHECK(nlohmann::json::parse(payload_of(resume)) == captured);
}

TEST_CASE("encoder: out-of-range Resume parameters are refused") {
  ResumeRequest r = sample_resume();
  r.cmd_index = 86'400'000;
  CHECK_THROWS_AS(make_resume(r), std::invalid_argument);
  r = sample_resume();
  r.gap_minutes = -1;
  CHECK_THROWS_AS(make_resume(r), std::invalid_argument);
  r = sample_resume();
  r.from.month = 13;
  CHECK_THROWS_AS(make_resume(r), std::invalid_argument);
}

TEST_CASE("encoder: no buildable frame is the SetConfig command of the proxy capture") {
  const std::string setconfig = test::hex_fixture("alphaess/frame_proxy_setconfig_cmd.hex");
  for (int code = 0; code < 256; ++code) {
    const OutboundFrame ack = make_success_ack(static_cast<std::uint8_t>(code));
    CHECK(std::string(ack.bytes().begin(), ack.bytes().end()) != setconfig);
  }
  const OutboundFrame resume = make_resume(sample_resume());
  CHECK(std::string(resume.bytes().begin(), resume.bytes().end()) != setconfig);
  // The only initiating frame the encoder makes is command 8 with Command "Resume".
  CHECK(nlohmann::json::parse(payload_of(make_resume(sample_resume())))["Command"] == "Resume");
}
