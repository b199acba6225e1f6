// Secrets and personal data in AlphaESS payloads (alphaess.md §5.9): decoder errors name a
// category and an offset, never payload bytes; Password is hidden by meaning (escaped, in any
// case, at any depth, of any type, in any command and direction), in the archive copy, the
// display copy and the decoded fields; personal keys are hidden from display unless shown.
#include "protocol/alphaess/encoder.hpp"
#include "protocol/alphaess/history_csv.hpp"
#include "protocol/alphaess/messages.hpp"
#include "protocol/alphaess/metrics.hpp"
#include "protocol/alphaess/redaction.hpp"
#include "tests/support/fixtures.hpp"

#include <doctest/doctest.h>

#include <regex>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

using namespace sunkeep;
using namespace sunkeep::alphaess;

namespace {

const std::string canary = "CANARY-5ecret";

Frame frame_of(std::uint8_t f2, std::uint8_t command, const std::string& payload) {
  return Frame{frame_bytes(f2, command, payload)};
}

std::string payload_of(const std::vector<std::uint8_t>& raw) { return std::string(Frame{raw}.payload()); }

// LEN and CRC match the payload.
void check_whole_frame(const std::vector<std::uint8_t>& raw) {
  REQUIRE(raw.size() >= header_size + crc_size);
  CHECK(raw == frame_bytes(raw[1], raw[2], payload_of(raw)));
}

std::string reason_of(std::uint8_t f2, std::uint8_t command, const std::string& payload) {
  const Message message = decode_message(frame_of(f2, command, payload));
  const auto* failure = std::get_if<DecodeFailure>(&message);
  REQUIRE_MESSAGE(failure != nullptr, "decoded although malformed: F3=", int{command});
  return failure->reason;
}

// The archive copy of a frame of command 16 (not a login) as payload text.
std::string archived(const std::string& payload, std::uint8_t command = 16) {
  const auto copy = archive_copy(frame_of(1, command, payload));
  check_whole_frame(copy);
  return payload_of(copy);
}

}  // namespace

TEST_CASE("decode errors: a malformed login is reported by category and offset / never by its bytes") {
  const std::string head = R"({"UserName":"x","Password":")";  // the canary starts at byte 28
  struct Case {
    std::string payload;
    std::string reason;  // "" when only the form is checked
  };
  const std::vector<Case> cases{
      {head + canary, "bad JSON: unterminated string at byte 41"},
      {head + canary + "\tmore\"}", "bad JSON: unescaped control character at byte 41"},
      {head + canary + "\xff\xfe\"}", "bad JSON: invalid UTF-8 at byte 41"},
      {head + canary + "\\q\"}", "bad JSON: invalid escape at byte 42"},
      {head + canary + "\"} " + canary, "bad JSON: invalid literal at byte 44"},
      {R"({"UserName":"x","Password":5318008e99999})", ""},
      {R"({"UserName":"x","Password":CANARY-5ecret})", ""},
  };
  const std::regex category_and_offset("bad JSON: [A-Za-z0-9 -]+ at byte [0-9]+");
  const std::vector<std::pair<std::uint8_t, std::uint8_t>> kinds{{1, 2}, {1, 16}, {1, 4}, {2, 8}};
  for (const auto& c : cases) {
    CAPTURE(c.payload);
    for (const auto& [f2, command] : kinds) {
      const std::string reason = reason_of(f2, command, c.payload);
      CAPTURE(reason);
      CHECK(std::regex_match(reason, category_and_offset));
      if (!c.reason.empty()) CHECK(reason == c.reason);
      CHECK(reason.find("CANARY") == std::string::npos);
      CHECK(reason.find("5ecret") == std::string::npos);
      CHECK(reason.find("5318008") == std::string::npos);
    }
  }
  // The CSV reader's problems count cells; they never quote one.
  const HistoryPacket packet = parse_history_csv("Date,Time,Password\n" + canary + ",x\n2024/03/03,10:00:00," + canary + "\n");
  REQUIRE_FALSE(packet.problems.empty());
  for (const auto& problem : packet.problems) CHECK(problem.find("CANARY") == std::string::npos);
}

TEST_CASE("decoded fields: a Password holds *** at any depth and in any case") {
  const Message push = decode_message(frame_of(
      1, 16, R"({"Time":"2024/03/03 22:05:21","SN":"AL1","PASSWORD":"CANARY-5ecret","password":5318008,"Pbat":"5"})"));
  const auto& record = std::get<Telemetry>(push).records.at(0);
  REQUIRE(find_field(record.fields, "PASSWORD"));
  CHECK(*find_field(record.fields, "PASSWORD") == "***");
  CHECK(*find_field(record.fields, "password") == "***");
  for (const auto& sample : numeric_samples(record.fields)) CHECK(sample.name.find("assword") == std::string::npos);

  const std::string nested = R"({"SN":"AL1","Settings":{"List":[{"Pass\u0077ord":"CANARY-5ecret"},{"password":{"x":1}}]}})";
  const Message upload = decode_message(frame_of(1, 4, nested));
  const auto& fields = std::get<ConfigUpload>(upload).fields;
  REQUIRE(find_field(fields, "Settings"));
  CHECK(*find_field(fields, "Settings") == R"({"List":[{"Password":"***"},{"password":"***"}]})");
  // The quick reader and the whole document agree.
  for (const std::string& payload : {nested, std::string(R"({"Password":"CANARY-5ecret","SN":"AL1"})")}) {
    std::string quick_error;
    std::string document_error;
    CHECK(parse_json_object(payload, quick_error) == parse_json_object_with_document(payload, document_error));
  }
}

TEST_CASE("redaction: Password is found by meaning / escaped or in any case, in every command and direction") {
  const std::vector<std::string> spellings{R"("Password")", R"("Pass\u0077ord")", R"("\u0050assword")",
                                           R"("PASSWORD")", R"("password")", R"("P\u0061SS\u0057ord")"};
  const std::vector<std::pair<std::uint8_t, std::uint8_t>> kinds{{1, 2}, {1, 16}, {1, 4}, {1, 9}, {1, 77}, {2, 8}, {2, 16}};
  for (const auto& spelling : spellings) {
    for (const auto& [f2, command] : kinds) {
      CAPTURE(spelling);
      CAPTURE(int{command});
      const Frame frame = frame_of(f2, command, R"({"SN":"AL1",)" + spelling + R"(:"CANARY-5ecret","Pbat":"5"})");
      const std::string expected = R"({"SN":"AL1",)" + spelling + R"(:"***","Pbat":"5"})";
      const auto copy = archive_copy(frame);
      check_whole_frame(copy);
      CHECK(copy[1] == f2);
      CHECK(copy[2] == command);
      CHECK(payload_of(copy) == expected);
      CHECK(payload_of(display_copy(frame.raw, true)) == expected);
      CHECK(payload_of(display_copy(frame.raw, false)) == expected);
    }
  }
}

TEST_CASE("redaction: nested Password values of any type are replaced whole") {
  const std::vector<std::pair<std::string, std::string>> cases{
      {R"({"A":{"B":[1,{"Password":"CANARY"}]},"Z":1})", R"({"A":{"B":[1,{"Password":"***"}]},"Z":1})"},
      {R"({"Password":123456789,"Z":1})", R"({"Password":"***","Z":1})"},
      {R"({"Password":{"Old":"CANARY","New":["CANARY"]},"Z":1})", R"({"Password":"***","Z":1})"},
      {R"({"Password":["CANARY",{"a":"}],"}] ,"Z":1})", R"({"Password":"***" ,"Z":1})"},
      {R"({"Password":true})", R"({"Password":"***"})"},
      {R"({"Password":null})", R"({"Password":"***"})"},
      {R"({ "Password" : "a\"b,c}" , "Z":1})", R"({ "Password" : "***" , "Z":1})"},
      {R"({"Password":"a","password":"b"})", R"({"Password":"***","password":"***"})"},
      {R"([{"Password":"CANARY"},{"Note":"Password"}])", R"([{"Password":"***"},{"Note":"Password"}])"},
      {"\xEF\xBB\xBF{\"Password\":\"CANARY\"}", "\xEF\xBB\xBF{\"Password\":\"***\"}"},
  };
  for (const auto& [payload, expected] : cases) {
    CAPTURE(payload);
    CHECK(archived(payload) == expected);
  }
}

TEST_CASE("redaction: a payload cut short inside a Password value is cut to ***") {
  for (const std::uint8_t command : {std::uint8_t{2}, std::uint8_t{16}}) {
    CAPTURE(int{command});
    CHECK(archived(R"({"SN":"AL1","Password":"CANARY-5ec)", command) == R"({"SN":"AL1","Password":"***")");
    CHECK(archived(R"({"SN":"AL1","Password":{"Old":"CANA)", command) == R"({"SN":"AL1","Password":"***")");
    CHECK(archived(R"({"SN":"AL1","Password": 12345)", command) == R"({"SN":"AL1","Password": "***")");
    CHECK(archived(R"({"SN":"AL1","Password":"CANARY\)", command) == R"({"SN":"AL1","Password":"***")");
    // Cut before any value: nothing to hide, the same bytes.
    const Frame bare = frame_of(1, command, R"({"SN":"AL1","Password")");
    CHECK(archive_copy(bare) == bare.raw);
  }
}

TEST_CASE("redaction: what cannot be scanned is dropped whole when it may hide a password") {
  const std::string dropped(unscannable_payload);
  CHECK(archived(R"({"SN":"AL1";"Password":"CANARY"})") == dropped);
  CHECK(archived(R"({"SN":"AL1","Pass\q":"CANARY"})") == dropped);      // an escape that is not JSON
  CHECK(archived(R"({"SN":"AL1","Note":"Password":"CANARY"})") == dropped);  // a value followed by ':'
  CHECK(archived(R"({"Password" "CANARY"})") == dropped);                 // a Password without its ':'
  CHECK(archived(R"({'Password':'CANARY'})") == dropped);
  // Nothing there may be a password: kept as it is.
  const Frame harmless = frame_of(1, 16, R"({"SN":"AL1";"Pbat":"5"})");
  CHECK(archive_copy(harmless) == harmless.raw);
  // A login that cannot be scanned loses its whole payload, whatever it holds.
  CHECK(archived(R"({"UserName":"AL1";"Pw":"x"})", 2) == dropped);
  CHECK(archived("UserName=AL1&Pw=x", 2) == dropped);
  // The transcript's broken config upload: stored as sent, but the API cannot see which of its
  // keys are personal, so it shows none of it.
  const std::string transcript = test::fixture("alphaess/tidalvirus_session_2021-03-24_transcript.md");
  const auto slip = transcript.find(R"("SN":""[)");
  REQUIRE(slip != std::string::npos);
  const auto start = transcript.rfind("```{", slip) + 3;
  const Frame broken = frame_of(1, 4, transcript.substr(start, transcript.find("```", slip) - start));
  CHECK(archive_copy(broken) == broken.raw);
  CHECK(payload_of(display_copy(broken.raw, false)) == dropped);
  CHECK(display_copy(broken.raw, true) == broken.raw);
}

TEST_CASE("redaction: fixture frames keep their bytes / personal keys show only with show_personal") {
  const std::vector<std::tuple<std::uint8_t, std::uint8_t, std::string>> plain{
      {1, 16, test::json_fixture("alphaess/tidalvirus_1-1-16_realtime.json")},
      {1, 5, test::json_fixture("alphaess/tidalvirus_1-1-5_5min_dump.json")},
      {1, 9, test::json_fixture("alphaess/tidalvirus_1-1-9_eventlog.json")},
      {1, 16, test::json_fixture("alphaess/tidalvirus_2024-03-03_cmd16_payload.json")},
      {1, 5, test::json_fixture("alphaess/tidalvirus_2024-03-03_cmd5_payload.json")},
      {1, 12, test::fixture("alphaess/tidalvirus_1-1-12_history.csv")},
      {2, 8, test::json_fixture("alphaess/tidalvirus_1-2-8_resume_ack.json")},
      {1, 0, ""},
  };
  for (const auto& [f2, command, payload] : plain) {
    CAPTURE(int{command});
    const Frame frame = frame_of(f2, command, payload);
    CHECK(archive_copy(frame) == frame.raw);
    CHECK(display_copy(frame.raw, false) == frame.raw);
    CHECK(display_copy(frame.raw, true) == frame.raw);
  }
  const std::vector<std::string> personal{R"("Address": "***")", R"("ZipCode": "***")", R"("PhoneNumber": "***")",
                                          R"("License": "***")"};
  // The config upload (1,1,4) and the cloud's config reply (1,2,3) carry the personal keys.
  const std::vector<std::tuple<std::uint8_t, std::uint8_t, std::string>> with_personal{
      {1, 4, "alphaess/tidalvirus_1-1-4_config_upload.json"}, {2, 3, "alphaess/tidalvirus_1-2-3_config_reply.json"}};
  for (const auto& [f2, command, name] : with_personal) {
    CAPTURE(name);
    const Frame frame = frame_of(f2, command, test::json_fixture(name));
    CHECK(archive_copy(frame) == frame.raw);  // stored as sent
    CHECK(display_copy(frame.raw, true) == frame.raw);
    const auto hidden = display_copy(frame.raw, false);
    check_whole_frame(hidden);
    const std::string text = payload_of(hidden);
    for (const auto& key : personal) CHECK(text.find(key) != std::string::npos);
    CHECK(text.find("123456") == std::string::npos);
    CHECK(text.find("Australia") != std::string::npos);
  }
  // The login fixture's password, whichever copy.
  const Frame login = frame_of(1, 2, test::json_fixture("alphaess/tidalvirus_1-1-2_login.json"));
  for (const auto& copy : {archive_copy(login), display_copy(login.raw, true), display_copy(login.raw, false)}) {
    const std::string text = payload_of(copy);
    CHECK(text.find(R"("Password": "***")") != std::string::npos);
    CHECK(text.find(R"("password")") == std::string::npos);
    CHECK(text.find(R"("UserName": "serialnumber")") != std::string::npos);
  }
}
