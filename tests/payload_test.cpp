// Payload decoding: tolerant JSON, every fixture payload, the command-12 CSV, the EventLog, the
// device-time formats and the login redaction (alphaess.md §6, §7, §5.9).
#include "protocol/alphaess/device_time.hpp"
#include "protocol/alphaess/encoder.hpp"
#include "protocol/alphaess/history_csv.hpp"
#include "protocol/alphaess/messages.hpp"
#include "protocol/alphaess/redaction.hpp"
#include "tests/support/fixtures.hpp"

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include <fstream>
#include <sstream>
#include <string>

using namespace sunkeep;
using namespace sunkeep::alphaess;

namespace {

Frame frame_of(std::uint8_t f2, std::uint8_t command, const std::string& payload) {
  return Frame{frame_bytes(f2, command, payload)};
}

Message device_message(std::uint8_t command, const std::string& payload) {
  return decode_message(frame_of(1, command, payload));
}

std::string field(const Fields& fields, std::string_view key) {
  const std::string* v = find_field(fields, key);
  REQUIRE_MESSAGE(v != nullptr, "missing key ", key);
  return *v;
}

}  // namespace

TEST_CASE("json: tolerant parsing of what devices send") {
  std::string error;
  SUBCASE("stray spaces, a comma inside a string, any key order") {
    const auto f = parse_json_object(R"({ "CSQ" : "99,99",  "Eirp":"-36" ,"BmsHardVer2":"0"})", error);
    REQUIRE(f);
    CHECK(field(*f, "CSQ") == "99,99");
    CHECK(f->size() == 3);
  }
  SUBCASE("duplicate keys: the last wins, in first position") {
    const auto f = parse_json_object(R"({"Generator":"0","A":"x","Generator":"1"})", error);
    REQUIRE(f);
    CHECK(f->size() == 2);
    CHECK((*f)[0].key == "Generator");
    CHECK((*f)[0].value == "1");
  }
  SUBCASE("real booleans and numbers are kept as their JSON text") {
    const auto f = parse_json_object(R"({"GridCharge":false,"EmsLanguage":1})", error);
    REQUIRE(f);
    CHECK(field(*f, "GridCharge") == "false");
    CHECK(field(*f, "EmsLanguage") == "1");
  }
  SUBCASE("not an object, or not JSON") {
    CHECK_FALSE(parse_json_object("[1,2]", error));
    CHECK_FALSE(parse_json_object(R"({"SN":""[removed]"})", error));
    CHECK_FALSE(error.empty());
    CHECK_FALSE(parse_json_object("", error));
  }
}

TEST_CASE("json: fields are stored as the JSON object nlohmann writes, byte for byte") {
  // Stored fields and their hash find repeated records, so the text must not change between
  // versions: the reference is what the stored text was built with before.
  const auto reference = [](const Fields& fields) {
    nlohmann::ordered_json doc = nlohmann::ordered_json::object();
    for (const auto& f : fields) doc[f.key] = f.value;
    return doc.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  };
  const Fields unusual{{"plain", "-2187.8480"}, {"quote\"d", "back\\slash"}, {"", ""},
                       {"ctl", std::string("a\x01\x1f\t\n\r\b\f", 8)}, {"del", "\x7f"},
                       {"utf8", "Gr\xc3\xbc\xc3\x9f \xe2\x82\xac"}, {"bad utf8", "\xff\xc3(\xe2\x82"}};
  CHECK(fields_to_json(unusual) == reference(unusual));
  CHECK(fields_to_json({}) == "{}");
  CHECK(fields_to_json({{"SN", "AL1"}, {"Pbat", "-5.5"}}) == R"({"SN":"AL1","Pbat":"-5.5"})");
  for (const char* name : {"tidalvirus_1-1-16_realtime.json", "tidalvirus_1-1-5_5min_dump.json",
                           "tidalvirus_1-1-4_config_upload.json", "tidalvirus_1-1-2_login.json"}) {
    std::string error;
    const auto fields = parse_json_object(test::fixture(std::string("alphaess/") + name), error);
    REQUIRE_MESSAGE(fields, name);
    CHECK_MESSAGE(fields_to_json(*fields) == reference(*fields), name);
  }
}

TEST_CASE("json: the quick flat-object reader gives what the whole document gives") {
  std::string many = "{";
  for (int i = 0; i < 600; ++i) many += (i ? ",\"k" : "\"k") + std::to_string(i % 300) + "\":" + std::to_string(i);
  many += "}";
  const std::string payloads[] = {
      R"({"SN":"AL1","Pbat":"-5.5","Generator":"0","A":"x","Generator":"1"})",
      R"({"i":-12,"u":18446744073709551615,"f":1.50,"e":1E2,"z":-0.0,"t":true,"n":null,"s":"G\u00fc\"r\n"})",
      R"({"nested":{"a":1},"after":"x"})", R"({"list":[1,"2",{"b":null}]})", R"([{"a":"1"}])", R"("text")", "42",
      R"({"a":"1"} trailing)", R"({"a":"1",})", "", "{}", " { \"spaced\" : \"yes\" } ", "{\"bad\":\"\xff\"}", many,
      test::fixture("alphaess/tidalvirus_1-1-4_config_upload.json"), test::fixture("alphaess/tidalvirus_1-1-5_5min_dump.json")};
  for (const auto& payload : payloads) {
    std::string quick_error;
    std::string document_error;
    const auto quick = parse_json_object(payload, quick_error);
    const auto document = parse_json_object_with_document(payload, document_error);
    CHECK_MESSAGE(quick == document, payload.substr(0, 80));
    CHECK(quick_error == document_error);
  }
  std::string error;
  CHECK(parse_json_object(many, error)->size() == 300);
  CHECK(parse_json_object(R"({"nested":{"a":1},"after":"x"})", error) == Fields{{"nested", R"({"a":1})"}, {"after", "x"}});
}

TEST_CASE("json: numbers and booleans from strings") {
  CHECK(parse_number("-2187.8480") == doctest::Approx(-2187.848));
  CHECK(parse_number(" 0.0 ") == doctest::Approx(0.0));
  CHECK(parse_number("+5") == doctest::Approx(5.0));
  CHECK_FALSE(parse_number(""));
  CHECK_FALSE(parse_number("99,99"));
  CHECK_FALSE(parse_number("Normal"));
  CHECK_FALSE(parse_number("nan"));
  CHECK(parse_bool("False") == false);
  CHECK(parse_bool("TRUE") == true);
  CHECK(parse_bool("1") == true);
  CHECK(parse_bool("0") == false);
  CHECK_FALSE(parse_bool("maybe"));
}

TEST_CASE("device times: the three formats and their validity") {
  CHECK(parse_device_datetime("2021/03/24 10:02:40") == CivilTime{2021, 3, 24, 10, 2, 40});
  CHECK(parse_device_datetime(" 2021/3/4 1:02:03 ") == CivilTime{2021, 3, 4, 1, 2, 3});
  CHECK(parse_device_date_and_time("2021/03/24", "09:40:59") == CivilTime{2021, 3, 24, 9, 40, 59});
  CHECK(parse_event_datetime("21/03/24 10:01:40") == CivilTime{2021, 3, 24, 10, 1, 40});
  CHECK_FALSE(parse_device_datetime("2021/02/30 10:00:00"));
  CHECK_FALSE(parse_device_datetime("2021-03-24 10:00:00"));
  CHECK_FALSE(parse_device_datetime("2021/03/24 24:00:00"));
  CHECK_FALSE(parse_device_datetime("2021/03/24 10:00:00 junk"));
  CHECK(CivilTime{2021, 3, 4, 1, 2, 3}.to_device_string() == "2021/03/04 01:02:03");
  CHECK(CivilTime{1, 12, 31, 23, 59, 59}.to_device_string() == "0001/12/31 23:59:59");
  CHECK(CivilTime{10000, 1, 1, 0, 0, 0}.to_device_string() == "10000/01/01 00:00:00");  // as snprintf
  CHECK(CivilTime{2021, 100, 4, 1, 2, 3}.to_device_string() == "2021/100/04 01:02:03");
  CHECK(CivilTime{2021, 3, 4, -1, 2, 3}.to_device_string() == "2021/03/04 -1:02:03");
}

TEST_CASE("messages: command 16 fixtures decode to one realtime record") {
  for (const char* name : {"alphaess/tidalvirus_2024-03-03_cmd16_payload.json", "alphaess/tidalvirus_1-1-16_realtime.json"}) {
    CAPTURE(name);
    const auto m = device_message(16, test::json_fixture(name));
    const auto* t = std::get_if<Telemetry>(&m);
    REQUIRE(t);
    REQUIRE(t->records.size() == 1);
    CHECK(t->records[0].kind == RecordKind::realtime);
    CHECK(t->records[0].fields.size() == 16);
  }
  const auto m = device_message(16, test::json_fixture("alphaess/tidalvirus_2024-03-03_cmd16_payload.json"));
  const auto& r = std::get<Telemetry>(m).records[0];
  CHECK(r.serial == "AL0123456789012");
  CHECK(r.device_time == CivilTime{2024, 3, 3, 22, 5, 21});
  CHECK(field(r.fields, "Pbat") == "539.4400");
  CHECK(serial_of(m) == "AL0123456789012");
}

TEST_CASE("messages: command 5 fixtures keep all 89 keys / with stray spaces and CSQ 99/99") {
  const auto m2024 = device_message(5, test::json_fixture("alphaess/tidalvirus_2024-03-03_cmd5_payload.json"));
  const auto& r = std::get<Telemetry>(m2024).records.at(0);
  CHECK(r.kind == RecordKind::five_minute);
  CHECK(r.fields.size() == 89);
  CHECK(field(r.fields, "CSQ") == "99,99");
  CHECK(field(r.fields, "BmsHardVer2") == "0");
  CHECK(field(r.fields, "EpvTotal") == "35348.5");

  const auto m2021 = device_message(5, test::json_fixture("alphaess/tidalvirus_1-1-5_5min_dump.json"));
  const auto& old = std::get<Telemetry>(m2021).records.at(0);
  CHECK(old.fields.size() == 89);
  // Same key order in 2021 and 2024.
  for (std::size_t i = 0; i < old.fields.size(); ++i) CHECK(old.fields[i].key == r.fields[i].key);
}

TEST_CASE("messages: a record without a valid Time is a decode failure / not a crash") {
  CHECK(std::holds_alternative<DecodeFailure>(device_message(16, R"({"SN":"AL1","Pbat":"1"})")));
  CHECK(std::holds_alternative<DecodeFailure>(device_message(16, R"({"Time":"yesterday"})")));
  CHECK(std::holds_alternative<DecodeFailure>(device_message(5, "not json at all")));
}

TEST_CASE("csv: the command-12 fixture has 82 columns and 3 minute rows / mapped by header name") {
  const HistoryPacket p = parse_history_csv(test::fixture("alphaess/tidalvirus_1-1-12_history.csv"));
  CHECK(p.problems.empty());
  REQUIRE(p.rows.size() == 3);
  CHECK(p.rows[0].device_time == CivilTime{2021, 3, 24, 11, 0, 35});
  CHECK(p.rows[0].fields.size() == 80);  // 82 columns less Date and Time
  CHECK(field(p.rows[0].fields, "Pbat") == "-1847.5680");
  CHECK(field(p.rows[0].fields, "Vpv1") == "256.2");
  CHECK(p.rows[0].serial == "<serialremoved>");
  CHECK(p.rows[2].device_time == CivilTime{2021, 3, 24, 11, 2, 36});
}

TEST_CASE("csv: column order does not matter / CRLF and a trailing newline are fine") {
  const auto p = parse_history_csv("SN,Time,Pbat,Date\r\nAL1,09:40:59,-5.5,2021/03/24\r\n");
  REQUIRE(p.rows.size() == 1);
  CHECK(p.rows[0].device_time == CivilTime{2021, 3, 24, 9, 40, 59});
  CHECK(field(p.rows[0].fields, "Pbat") == "-5.5");
  CHECK(p.rows[0].serial == "AL1");
}

TEST_CASE("csv: a repeated column name keeps its first place and its last value, as in JSON") {
  const auto p = parse_history_csv("Date,Pbat,SN,Time,Pbat,SOC,SN\n2021/03/24,1,AL1,09:40:59,2,50,AL2\n");
  REQUIRE(p.rows.size() == 1);
  CHECK(p.rows[0].fields == Fields{{"Pbat", "2"}, {"SN", "AL2"}, {"SOC", "50"}});
  CHECK(p.rows[0].serial == "AL2");
}

TEST_CASE("csv: malformed packets are reported / never thrown") {
  CHECK_FALSE(parse_history_csv("").problems.empty());
  CHECK_FALSE(parse_history_csv("Date,Time,SN\n").problems.empty());
  CHECK_FALSE(parse_history_csv("A,B\n1,2\n").problems.empty());
  const auto ragged = parse_history_csv("Date,Time,Pbat\n2021/03/24,09:40:59\n2021/03/24,09:42:00,1\n");
  CHECK(ragged.rows.size() == 1);
  CHECK(ragged.problems.size() == 1);
  CHECK(std::holds_alternative<DecodeFailure>(device_message(12, "")));
}

TEST_CASE("event log: 16 entries newest first / a second with two codes / a bad entry kept raw") {
  const auto m = device_message(9, test::json_fixture("alphaess/tidalvirus_1-1-9_eventlog.json"));
  const auto& msg = std::get<DeviceMessage>(m);
  CHECK(msg.msg_type == "EventLog");
  CHECK(msg.description == "OK");
  REQUIRE(msg.events.entries.size() == 16);
  CHECK(msg.events.entries[0].device_time == CivilTime{2021, 3, 24, 20, 59, 10});
  CHECK(msg.events.entries[0].code == "41");

  const auto list = parse_event_log("21/03/21 14:37:15 42;21/03/21 14:37:15 30;garbage;21/13/01 00:00:00 1;");
  CHECK(list.entries.size() == 2);
  CHECK(list.unparsed.size() == 2);
}

TEST_CASE("messages: Socket and System messages are kept verbatim / without entries") {
  std::istringstream lines(test::fixture("alphaess/230delphi_observed_messages.jsonl"));
  std::string line;
  int seen = 0;
  while (std::getline(lines, line)) {
    if (line.find("MsgType") == std::string::npos) continue;
    const auto m = device_message(9, line);
    const auto& msg = std::get<DeviceMessage>(m);
    CHECK(msg.events.entries.empty());
    CHECK_FALSE(msg.content.empty());
    CHECK((msg.msg_type == "Socket" || msg.msg_type == "System"));
    ++seen;
  }
  CHECK(seen == 2);
}

TEST_CASE("messages: the device's 1/2/8 answers are command answers") {
  const auto m = decode_message(frame_of(2, 8, test::json_fixture("alphaess/tidalvirus_1-2-8_resume_ack.json")));
  const auto& a = std::get<CommandAnswer>(m);
  CHECK(a.command == "Resume");
  CHECK(a.cmd_index == "35967905");
  CHECK(a.status == "Success");
}

TEST_CASE("messages: login / serial query / config upload / empty / unknown") {
  CHECK(std::get<LoginMessage>(device_message(2, test::json_fixture("alphaess/tidalvirus_1-1-2_login.json"))).serial ==
        "serialnumber");
  CHECK(std::get<SerialQuery>(device_message(3, R"({"SN":"AL9"})")).serial == "AL9");
  const auto upload = device_message(4, test::json_fixture("alphaess/tidalvirus_1-1-4_config_upload.json"));
  const auto& u = std::get<ConfigUpload>(upload);
  CHECK(u.fields.size() == 132);  // 133 members, Generator twice
  CHECK(field(u.fields, "BackUpBox") == "False");
  CHECK(std::holds_alternative<EmptyMessage>(device_message(0, "")));
  CHECK(std::holds_alternative<UnknownMessage>(device_message(77, "whatever")));
  CHECK(std::holds_alternative<UnknownMessage>(decode_message(frame_of(3, 16, "{}"))));
}

TEST_CASE("messages: the transcript's second config upload (a redaction slip) is a decode failure") {
  const std::string transcript = test::fixture("alphaess/tidalvirus_session_2021-03-24_transcript.md");
  const auto slip = transcript.find(R"("SN":""[)");
  REQUIRE(slip != std::string::npos);
  const auto start = transcript.rfind("```{", slip) + 3;
  const auto end = transcript.find("```", slip);
  CHECK(std::holds_alternative<DecodeFailure>(device_message(4, transcript.substr(start, end - start))));
}

TEST_CASE("login archive copy: the password is replaced and the copy is a valid frame") {
  const std::string payload = R"({"UserName":"AL1", "Password" : "s3cr\"et","CompanyName":"AlphaESS"})";
  const Frame login = frame_of(1, 2, payload);
  const auto copy = archive_copy(login);
  const std::string text(copy.begin(), copy.end());
  CHECK(text.find("s3cr") == std::string::npos);
  CHECK(text.find(R"("Password" : "***")") != std::string::npos);
  const Frame reparsed{copy};
  CHECK(std::get<LoginMessage>(decode_message(reparsed)).serial == "AL1");
  // Frames without a password are archived unchanged, a key's name as a value included.
  const Frame push = frame_of(1, 16, R"({"Time":"2024/03/03 22:05:21","Note":"Password"})");
  CHECK(archive_copy(push) == push.raw);
  // A login that does not scan loses its whole payload.
  const auto broken = archive_copy(frame_of(1, 2, R"({"Password": secret})"));
  CHECK(std::string(broken.begin(), broken.end()).find("secret") == std::string::npos);
}

TEST_CASE("display copy: personal keys of a config upload are hidden unless shown on purpose") {
  const Frame upload = frame_of(1, 4, test::json_fixture("alphaess/tidalvirus_1-1-4_config_upload.json"));
  const auto hidden = display_copy(upload.raw, false);
  const std::string text(hidden.begin(), hidden.end());
  CHECK(text.find(R"("PhoneNumber": "***")") != std::string::npos);
  CHECK(text.find("123456") == std::string::npos);
  CHECK(text.find(R"("Country": "Australia")") != std::string::npos);
  const Frame reparsed{hidden};
  CHECK(std::holds_alternative<ConfigUpload>(decode_message(reparsed)));  // still a valid frame
  CHECK(display_copy(upload.raw, true) == upload.raw);
  // The login password is hidden even if an old archive kept it.
  const auto login = display_copy(frame_of(1, 2, R"({"UserName":"AL1","Password":"pw1"})").raw, true);
  CHECK(std::string(login.begin(), login.end()).find("pw1") == std::string::npos);
  // A key name appearing as a value is not mistaken for a key.
  const auto shown = display_copy(frame_of(1, 4, R"({"Note":"Address","Address":"1 Main St"})").raw, false);
  CHECK(Frame{shown}.payload() == R"({"Note":"Address","Address":"***"})");
}
