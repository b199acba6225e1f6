// The Sermatec codec against the spec's vectors and the captured dumps: checksum, stream parsing
// with resynchronisation, RC4, the allow-listed query builder over all 256 codes, versioned
// layouts, and field decoding against the expected values (sermatec.md §2–§5, §6.5).
#include "common/hex.hpp"
#include "protocol/sermatec/alarms.hpp"
#include "protocol/sermatec/decode.hpp"
#include "protocol/sermatec/definitions.hpp"
#include "protocol/sermatec/frame_decoder.hpp"
#include "protocol/sermatec/queries.hpp"
#include "protocol/sermatec/rc4.hpp"
#include "tests/support/fixtures.hpp"

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include <map>
#include <sstream>
#include <variant>

using namespace sunkeep;
using namespace sunkeep::sermatec;

namespace {

std::vector<std::uint8_t> bytes_of_hex(const std::string& hex) {
  std::string raw;
  REQUIRE(from_hex(hex, raw));
  return {raw.begin(), raw.end()};
}

std::vector<std::uint8_t> dump(const std::string& name) {
  const std::string raw = test::fixture("sermatec/dumps/" + name);
  return {raw.begin(), raw.end()};
}

struct Parsed {
  std::vector<Frame> frames;
  std::size_t junk = 0;
};

Parsed parse(const std::vector<std::uint8_t>& stream, std::size_t chunk) {
  FrameDecoder decoder;
  Parsed out;
  for (std::size_t at = 0; at < stream.size(); at += chunk) {
    decoder.feed(std::span<const std::uint8_t>(stream).subspan(at, std::min(chunk, stream.size() - at)));
    while (true) {
      auto step = decoder.next();
      if (auto* f = std::get_if<Frame>(&step)) {
        out.frames.push_back(std::move(*f));
      } else if (auto* j = std::get_if<Junk>(&step)) {
        out.junk += j->count;
      } else {
        break;
      }
    }
  }
  return out;
}

nlohmann::ordered_json expected_values() { return nlohmann::ordered_json::parse(test::fixture("sermatec/dumps/decoded_expected.pcu411.json")); }

// Each table field decoded on its own, in table order: (offset, number or text).
std::vector<std::pair<int, std::variant<double, std::string>>> values_by_offset(const Layout& layout,
                                                                               std::span<const std::uint8_t> payload) {
  std::vector<std::pair<int, std::variant<double, std::string>>> out;
  for (const auto& f : layout.fields) {
    const Layout single{layout.code, layout.length, {}, {f}};
    const Decoded d = decode_payload(single, payload);
    if (!d.numbers.empty()) out.emplace_back(f.offset, d.numbers[0].value);
    if (!d.texts.empty()) out.emplace_back(f.offset, d.texts[0].value);
  }
  return out;
}

void check_against_expected(const nlohmann::ordered_json& expected, const std::vector<std::uint8_t>& frame, int pcu) {
  const Definitions defs(pcu);
  const Layout* layout = defs.layout(frame[4]);
  REQUIRE(layout);
  const std::span<const std::uint8_t> payload(frame.data() + 7, frame[6]);
  const auto ours = values_by_offset(*layout, payload);
  std::vector<std::pair<int, nlohmann::json>> theirs;
  for (const auto& [key, value] : expected["fields"].items()) theirs.emplace_back(std::stoi(key.substr(1)), value);
  REQUIRE(ours.size() == theirs.size());
  for (std::size_t i = 0; i < ours.size(); ++i) {
    CAPTURE(i);
    CHECK(ours[i].first == theirs[i].first);
    if (theirs[i].second.is_string()) {
      CHECK(std::get<std::string>(ours[i].second) == theirs[i].second.get<std::string>());
    } else {
      CHECK(std::get<double>(ours[i].second) == doctest::Approx(theirs[i].second.get<double>()));
    }
  }
}

}  // namespace

TEST_CASE("sermatec checksum: the spec's worked examples") {
  CHECK(checksum(std::vector<std::uint8_t>{0xfe, 0x55, 0x64, 0x14, 0x98, 0x00, 0x00}) == 0x4c);
  const auto d = bytes_of_hex("fe5514640d0006000000000c1e");
  CHECK(checksum(d) == 0xcd);
}

TEST_CASE("sermatec frames: every captured dump parses - the anonymised 0x98 is flagged") {
  std::istringstream lines(test::fixture("sermatec/dumps/all_frames.hex.txt"));
  std::string name;
  std::string hex;
  int count = 0;
  while (lines >> name >> hex) {
    CAPTURE(name);
    const auto parsed = parse(bytes_of_hex(hex), 1000);
    REQUIRE(parsed.frames.size() == 1);
    CHECK(parsed.junk == 0);
    const Frame& f = parsed.frames[0];
    const bool bad_checksum = name.find("bad_checksum") != std::string::npos;
    CHECK(f.checksum_ok == !bad_checksum);
    const bool query = name.rfind("req_", 0) == 0;
    CHECK(f.is_answer() == (!query && !bad_checksum));  // set queries from another client are never answers
    ++count;
  }
  CHECK(count == 9);
}

TEST_CASE("sermatec identity: rejected with the bad checksum, read once patched") {
  auto raw = dump("resp_98_serial_anonymized_bad_checksum.bin");
  CHECK_FALSE(read_identity(parse(raw, 7).frames.at(0)));
  raw[raw.size() - 2] = 0xe0;
  const auto frame = parse(raw, 7).frames.at(0);
  REQUIRE(frame.checksum_ok);
  const auto id = read_identity(frame);
  REQUIRE(id);
  CHECK(id->pcu_version == 411);
  CHECK(id->battery_brand == 2);
  CHECK(id->model_code == 1);
  CHECK(model_name(id->model_code) == "10 kW");
  CHECK(id->serial == "ST" + std::string(24, '1'));
}

TEST_CASE("sermatec stream: junk between frames / split at every byte / broken frames skipped") {
  const auto a = dump("resp_0c_ongrid.bin");
  const auto b = dump("resp_0d.bin");
  const auto c = dump("resp_0a.bin");
  std::vector<std::uint8_t> broken = b;
  broken[broken.size() - 1] = 0x00;  // footer wrong: not a frame
  std::vector<std::uint8_t> stream{0x01, 0x02, 0xfe, 0x00, 0x55};
  stream.insert(stream.end(), a.begin(), a.end());
  stream.insert(stream.end(), {0x42, 0x42});
  stream.insert(stream.end(), broken.begin(), broken.end());
  stream.insert(stream.end(), b.begin(), b.end());
  stream.insert(stream.end(), c.begin(), c.end());
  for (std::size_t chunk : {std::size_t{1}, std::size_t{2}, std::size_t{5}, std::size_t{64}, stream.size()}) {
    CAPTURE(chunk);
    const auto parsed = parse(stream, chunk);
    REQUIRE(parsed.frames.size() == 3);
    CHECK(parsed.frames[0].raw == a);
    CHECK(parsed.frames[1].raw == b);
    CHECK(parsed.frames[2].raw == c);
    CHECK(parsed.junk == 5 + 2 + broken.size());
  }
}

TEST_CASE("sermatec stream: an incomplete frame can be given up and parsing resumes") {
  FrameDecoder decoder;
  const std::vector<std::uint8_t> stuck{0xfe, 0x55, 0x14, 0x64, 0x0a, 0x00, 0xf0, 0x01};
  decoder.feed(stuck);
  CHECK(std::holds_alternative<NeedMoreBytes>(decoder.next()));
  CHECK(decoder.has_partial());
  decoder.drop_partial();
  const auto good = dump("resp_0d.bin");
  decoder.feed(good);
  std::size_t junk = 0;
  std::optional<Frame> frame;
  for (int i = 0; i < 20 && !frame; ++i) {
    auto step = decoder.next();
    if (auto* j = std::get_if<Junk>(&step)) junk += j->count;
    if (auto* f = std::get_if<Frame>(&step)) frame = *f;
  }
  REQUIRE(frame);
  CHECK(frame->raw == good);
  CHECK(junk == stuck.size());
}

TEST_CASE("sermatec rc4: keystream, the cloud's ciphertext, and RC4-wrapped frames in a stream") {
  const auto vectors = nlohmann::json::parse(test::fixture("sermatec/test_vectors.json"));
  const auto stream_start = bytes_of_hex("8bcfd4ed12066 8c9520c49763b35a913");
  CHECK(std::vector<std::uint8_t>(rc4_keystream().begin(), rc4_keystream().begin() + 16) == stream_start);
  CHECK(rc4_apply(bytes_of_hex(vectors["rc4_finding"]["ciphertext"])) == bytes_of_hex(vectors["rc4_finding"]["rc4_decrypted"]));
  // An answer wrapped in RC4, between junk and a plain frame.
  const auto answer = dump("resp_0d.bin");
  std::vector<std::uint8_t> stream{0x00};
  const auto wrapped = rc4_apply(answer);
  stream.insert(stream.end(), wrapped.begin(), wrapped.end());
  stream.insert(stream.end(), answer.begin(), answer.end());
  const auto parsed = parse(stream, 3);
  REQUIRE(parsed.frames.size() == 2);
  CHECK(parsed.frames[0].from_rc4);
  CHECK(parsed.frames[0].raw == answer);
  CHECK_FALSE(parsed.frames[1].from_rc4);
}

TEST_CASE("sermatec builder: over all 256 codes only the 16 read-only queries exist") {
  const auto vectors = nlohmann::json::parse(test::fixture("sermatec/test_vectors.json"));
  const auto& allowed = vectors["read_only_query_frames_computed"];
  int built = 0;
  for (int code = 0; code < 256; ++code) {
    char key[3];
    std::snprintf(key, sizeof key, "%02x", code);
    CAPTURE(key);
    const auto query = build_query(static_cast<std::uint8_t>(code));
    CHECK(query.has_value() == allowed.contains(key));
    if (!query) continue;
    ++built;
    CHECK(query->plain() == bytes_of_hex(allowed[key]["plaintext"]));
    CHECK(query->rc4() == bytes_of_hex(allowed[key]["rc4_Sermatec2019@Gsstes2019"]));
  }
  CHECK(built == 16);
  for (const auto& code : vectors["never_send"]) {
    CHECK_FALSE(build_query(static_cast<std::uint8_t>(std::stoi(code.get<std::string>(), nullptr, 16))));
  }
  // The captured set commands are never among the buildable frames.
  for (const char* name : {"req_66_set_operating_mode_DO_NOT_SEND.bin", "req_69_set_grid_battery_type_DO_NOT_SEND.bin",
                           "req_6a_set_operating_mode2_DO_NOT_SEND.bin"}) {
    const auto forbidden = dump(name);
    for (auto code : read_only_codes) CHECK(build_query(code)->plain() != forbidden);
  }
}

TEST_CASE("sermatec definitions: layout lengths per PCU version match the spec's table") {
  // command → lengths at P = 251, 252, 258, 259, 411, 500, 603, 991 (0 = not defined)
  const std::map<int, std::vector<int>> expected{
      {0x98, {50, 50, 50, 50, 50, 50, 50, 50}}, {0x0A, {0, 30, 30, 30, 30, 30, 30, 30}},
      {0x0B, {0, 112, 112, 112, 112, 140, 140, 140}}, {0x0C, {0, 4, 4, 4, 4, 4, 4, 4}},
      {0x0D, {0, 0, 6, 6, 6, 6, 6, 6}}, {0x1E, {0, 12, 16, 16, 16, 16, 16, 16}}, {0x1F, {0, 12, 12, 12, 12, 12, 12, 12}},
      {0x99, {0, 244, 244, 244, 244, 244, 244, 244}}, {0x9A, {0, 232, 232, 232, 232, 232, 232, 232}},
      {0x9C, {0, 0, 20, 20, 20, 20, 20, 20}}, {0x95, {0, 148, 194, 148, 148, 148, 148, 148}},
      {0x9D, {0, 0, 0, 46, 46, 46, 46, 46}}, {0xA1, {0, 0, 2, 2, 2, 2, 2, 2}}, {0xA2, {0, 0, 0, 0, 0, 60, 60, 60}},
      {0xB1, {0, 0, 0, 0, 0, 91, 91, 91}}};
  const std::vector<int> versions{251, 252, 258, 259, 411, 500, 603, 991};
  for (const auto& [code, lengths] : expected) {
    for (std::size_t i = 0; i < versions.size(); ++i) {
      CAPTURE(code);
      CAPTURE(versions[i]);
      const Layout* l = Definitions(versions[i]).layout(static_cast<std::uint8_t>(code));
      CHECK((l ? l->length : 0) == lengths[i]);
    }
  }
  CHECK(Definitions(991).version() == 601);
  CHECK(Definitions(500).layout(0x9D)->fields[6].key == "set2_bypass_enable");
  CHECK(Definitions(603).layout(0x9D)->fields[6].key == "set2_generator_rated_power");
  CHECK(Definitions(258).layout(0x95)->fields.back().key == "set_valley_discharge_gt20");
}

TEST_CASE("sermatec definitions: answers and poll lists by version") {
  CHECK(Definitions(252).answers_to(0x99) == std::vector<std::uint8_t>{0x99, 0x9A, 0x9B, 0x9C});
  CHECK(Definitions(258).answers_to(0x95) == std::vector<std::uint8_t>{0x95});
  CHECK(Definitions(259).answers_to(0x95) == std::vector<std::uint8_t>{0x95, 0x9D});
  CHECK(Definitions(411).answers_to(0x0B) == std::vector<std::uint8_t>{0x0B});
  CHECK(Definitions(251).poll_list().empty());
  CHECK(Definitions(252).poll_list() == std::vector<std::uint8_t>{0x0C, 0x0A, 0x0B, 0x1E, 0x1F, 0x99, 0x95});
  CHECK(Definitions(609).poll_list() == std::vector<std::uint8_t>{0x0C, 0x0A, 0x0B, 0x0D, 0x1E, 0x1F, 0x99, 0x95});
}

TEST_CASE("sermatec decoding: the captured answers give the expected values at PCU 411") {
  const auto expected = expected_values();
  auto identity = dump("resp_98_serial_anonymized_bad_checksum.bin");
  for (const char* name : {"resp_0a.bin", "resp_0b.bin", "resp_0c_ongrid.bin", "resp_0c_offgrid.bin", "resp_0d.bin"}) {
    CAPTURE(name);
    check_against_expected(expected[name], dump(name), 411);
  }
  check_against_expected(expected["resp_98_serial_anonymized_bad_checksum.bin"], identity, 411);
}

TEST_CASE("sermatec decoding: the 140-byte 0x0B with the PCU 603 layout") {
  const auto expected = nlohmann::ordered_json::parse(test::fixture("sermatec/dumps/decoded_expected.0b.pcu603.json"));
  check_against_expected(expected["resp_0b.bin"], dump("resp_0b.bin"), 603);
}

TEST_CASE("sermatec decoding: bit fields with exclusive ends, flags, short payloads") {
  const Decoded on = decode_payload(*Definitions(411).layout(0x0C), parse(dump("resp_0c_ongrid.bin"), 99).frames[0].payload());
  const Decoded off = decode_payload(*Definitions(411).layout(0x0C), parse(dump("resp_0c_offgrid.bin"), 99).frames[0].payload());
  CHECK(on.number("run_battery_state") == 1);
  CHECK(off.number("run_battery_state") == 3);
  CHECK(on.number("run_ac_state") == 4);
  CHECK(on.number("run_ac_mode") == 1);
  CHECK(on.number("run_parallel_units") == 0);
  const Layout& settings2 = *Definitions(259).layout(0x9D);
  std::vector<std::uint8_t> payload(46, 0);
  payload[0] = 0xEE;  // meter detection on
  payload[3] = 0xEE;  // three-phase unbalanced off
  payload[4] = 0x12;  // 0x1234: neither flag value, for the off-grid SOC field it is just a number
  const Decoded flags = decode_payload(settings2, payload);
  CHECK(flags.number("set2_meter_detection") == 1);
  CHECK(flags.number("set2_three_phase_unbalanced") == 0);
  payload[1] = 0x01;  // 0xEE01: unknown flag value
  CHECK_FALSE(decode_payload(settings2, payload).number("set2_meter_detection"));
  CHECK(decode_payload(settings2, payload).notes.size() == 1);
  const Decoded truncated = decode_payload(*Definitions(411).layout(0x0A), std::vector<std::uint8_t>(7, 0));
  CHECK(truncated.numbers.size() == 3);
  CHECK(truncated.notes.size() == 1);
}

TEST_CASE("sermatec canonical: the 0x0A and 0x0B samples give the spec's canonical values") {
  const Definitions defs(411);
  const Decoded bat = decode_payload(*defs.layout(0x0A), parse(dump("resp_0a.bin"), 99).frames[0].payload());
  const Decoded cab = decode_payload(*defs.layout(0x0B), parse(dump("resp_0b.bin"), 99).frames[0].payload());
  std::map<std::string, double> values;
  for (const auto& n : canonical_metrics(0x0A, bat, std::nullopt)) values[n.name] = n.value;
  for (const auto& n : canonical_metrics(0x0B, cab, bat.number("bat_status"))) values[n.name] = n.value;
  CHECK(values.at("grid_power") == 50);
  CHECK(values.at("pv_power") == 170);
  CHECK(values.at("battery_power") == 872);  // discharging (status 0x22)
  CHECK(values.at("battery_current") == doctest::Approx(1.9));
  CHECK(values.at("battery_soc") == 21);
  CHECK(values.at("grid_frequency") == doctest::Approx(49.98));
  CHECK(values.at("inverter_temperature") == doctest::Approx(43.7));
  // Without a 0x0A answer in the cycle, battery power is not emitted.
  for (const auto& n : canonical_metrics(0x0B, cab, std::nullopt)) CHECK(n.name != "battery_power");
}

TEST_CASE("sermatec B1: the Wi-Fi password bytes are zeroed") {
  std::vector<std::uint8_t> payload(91, 0);
  const std::string ssid = "HomeNet";
  const std::string password = "hunter2-wifi";
  std::copy(ssid.begin(), ssid.end(), payload.begin() + 1);
  std::copy(password.begin(), password.end(), payload.begin() + 31);
  const auto frame = frame_bytes(address_inverter, address_sunkeep, 0xB1, payload);
  bool redacted = false;
  const auto clean = redact_secrets(frame, redacted);
  CHECK(redacted);
  CHECK(std::search(clean.begin(), clean.end(), password.begin(), password.end()) == clean.end());
  CHECK(std::search(clean.begin(), clean.end(), ssid.begin(), ssid.end()) != clean.end());
  const Decoded d = decode_payload(*Definitions(609).layout(0xB1), std::span(frame).subspan(7, 91));
  for (const auto& t : d.texts) CHECK(t.value.find(password) == std::string::npos);
  bool other = true;
  CHECK(redact_secrets(dump("resp_0d.bin"), other) == dump("resp_0d.bin"));
  CHECK_FALSE(other);
}

TEST_CASE("sermatec alarms: raised fault and BMS bits become events with the spec's codes") {
  const Definitions defs(411);
  std::vector<std::uint8_t> faults(12, 0);
  faults[1] = 0x01;  // word 0 (bytes 0–1) = 0x0001: bit 0 → code 1
  faults[2] = 0x01;  // word 1 (bytes 2–3) = 0x0100: bit 8 → code 16 + 8 + 1 = 25
  std::map<std::string, std::uint16_t> previous;
  auto events = raised_alarms(0x1F, decode_payload(*defs.layout(0x1F), faults), 2, previous);
  REQUIRE(events.size() == 2);
  CHECK(events[0].source == "sermatec_fault");
  CHECK(events[0].code == "1");
  CHECK(events[0].text.rfind("output overload", 0) == 0);
  CHECK(events[0].text.find("inferred") != std::string::npos);
  CHECK(events[1].code == "25");
  CHECK(events[1].text.rfind("PV1 reversed", 0) == 0);
  // The same words again raise nothing; a bit that clears and comes back raises again.
  CHECK(raised_alarms(0x1F, decode_payload(*defs.layout(0x1F), faults), 2, previous).empty());
  faults[1] = 0;
  CHECK(raised_alarms(0x1F, decode_payload(*defs.layout(0x1F), faults), 2, previous).empty());
  faults[1] = 1;
  CHECK(raised_alarms(0x1F, decode_payload(*defs.layout(0x1F), faults), 2, previous).size() == 1);

  std::vector<std::uint8_t> bms(16, 0);
  bms[3] = 0x04;  // word 1 bit 2 → bit index 18
  std::map<std::string, std::uint16_t> bms_previous;
  const auto pylontech = raised_alarms(0x1E, decode_payload(*defs.layout(0x1E), bms), 2, bms_previous);
  REQUIRE(pylontech.size() == 1);
  CHECK(pylontech[0].source == "sermatec_bms");
  CHECK(pylontech[0].code == "99");  // Pylontech HV block starts at 81
  std::map<std::string, std::uint16_t> unknown_previous;
  CHECK(raised_alarms(0x1E, decode_payload(*defs.layout(0x1E), bms), 14, unknown_previous)[0].code == "bms_bit_18");
}
