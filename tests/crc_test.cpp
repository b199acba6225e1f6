// CRC-16/MODBUS against the spec's vectors (alphaess.md §2).
#include "protocol/alphaess/crc16.hpp"
#include "protocol/alphaess/encoder.hpp"
#include "tests/support/fixtures.hpp"

#include <doctest/doctest.h>

#include <string>
#include <utility>
#include <vector>

using namespace sunkeep;
using namespace sunkeep::alphaess;

TEST_CASE("crc16: spec vectors V1-V4") {
  CHECK(crc16_modbus(std::string_view("123456789")) == 0x4B37);
  CHECK(crc16_modbus(std::string_view("")) == 0xFFFF);
  CHECK(crc16_modbus(std::string_view("\x01\x01\x00\x00\x00\x00\x00", 7)) == 0x110A);
  const std::string v4 = std::string("\x01\x01\x08\x00\x00\x00\x2D", 7) + R"({"Command":"SetConfig","CmdIndex":"51422094"})";
  CHECK(crc16_modbus(v4) == 0x8D96);
}

TEST_CASE("crc16: the table form equals the bit-by-bit definition on every byte and long input") {
  const auto bitwise = [](std::string_view bytes) {
    unsigned crc = 0xFFFF;
    for (const char c : bytes) {
      crc ^= static_cast<unsigned char>(c);
      for (int bit = 0; bit < 8; ++bit) crc = (crc & 1U) ? (crc >> 1) ^ 0xA001U : crc >> 1;
    }
    return static_cast<std::uint16_t>(crc);
  };
  std::string all;
  for (int b = 0; b < 256; ++b) {
    const std::string one(1, static_cast<char>(b));
    CHECK(crc16_modbus(one) == bitwise(one));
    all += one;
    all += static_cast<char>(b * 7 + 3);
  }
  CHECK(crc16_modbus(all) == bitwise(all));
}

TEST_CASE("crc16: the empty command-0 fixture carries its CRC high byte first") {
  const std::string frame = test::hex_fixture("alphaess/frame_dev_cmd0_empty.hex");
  REQUIRE(frame.size() == 9);
  CHECK(static_cast<unsigned char>(frame[7]) == 0x11);
  CHECK(static_cast<unsigned char>(frame[8]) == 0x0A);
}

TEST_CASE("crc16: success acks carry the CRC bytes of the spec table") {
  const std::vector<std::pair<int, std::pair<int, int>>> table{
      {0x00, {0xC2, 0xF8}}, {0x02, {0x70, 0x53}}, {0x03, {0x89, 0x07}}, {0x04, {0xE7, 0xAD}},
      {0x05, {0x1E, 0xF9}}, {0x09, {0x71, 0x06}}, {0x0C, {0xAD, 0x07}}, {0x10, {0x57, 0xAC}}};
  for (const auto& [command, crc] : table) {
    CAPTURE(command);
    const auto bytes = make_success_ack(static_cast<std::uint8_t>(command)).bytes();
    CHECK(bytes[bytes.size() - 2] == crc.first);
    CHECK(bytes[bytes.size() - 1] == crc.second);
  }
}
