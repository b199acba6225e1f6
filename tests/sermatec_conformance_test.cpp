// Conformance of sunkeep's own Sermatec field table with the vendor's definition data, read at
// run time from ../shared/fixtures (sermatec.md §8, "optional conformance test"): for every layer
// and every read-only answer it defines, each field's offset, size, type, scale and bits agree.
#include "protocol/sermatec/definitions.hpp"
#include "tests/support/fixtures.hpp"

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <sstream>
#include <string>
#include <tuple>
#include <vector>

using namespace sunkeep;
using namespace sunkeep::sermatec;

namespace {

// offset, total bytes, type name, scale, bit from, bit to (exclusive)
using FieldKey = std::tuple<int, int, std::string, double, int, int>;

std::string source_type_of(const FieldDef& f) {
  switch (f.type) {
    case FieldType::int_: return "int";
    case FieldType::uint16: return "uInt";
    case FieldType::long_: return "long";
    case FieldType::hex_flag: return "hex";
    case FieldType::string: return "string";
    case FieldType::bit: return "bit";
    case FieldType::bit_range:
    case FieldType::weekday: return "bitRange";
    case FieldType::one_position: return "onePosition";
    case FieldType::preserve: return "preserve";
    case FieldType::repeat: return f.size == 4 ? "long" : "int";
  }
  return "?";
}

std::vector<FieldKey> ours(const Layout& layout) {
  std::vector<FieldKey> out;
  for (const auto& f : layout.fields) {
    const bool numeric = f.type != FieldType::string && f.type != FieldType::preserve && f.type != FieldType::bit &&
                         f.type != FieldType::bit_range && f.type != FieldType::weekday && f.type != FieldType::one_position;
    const bool bits = f.type == FieldType::bit || f.type == FieldType::bit_range || f.type == FieldType::weekday;
    out.emplace_back(f.offset, f.size * f.count, source_type_of(f), numeric ? f.scale : 1.0, bits ? f.bit_from : 0,
                     bits ? f.bit_to : 0);
  }
  return out;
}

std::vector<FieldKey> theirs(const nlohmann::json& fields) {
  std::vector<FieldKey> out;
  int offset = 0;
  int previous = 0;
  for (const auto& f : fields) {
    const int size = std::stoi(f.value("byteLen", nlohmann::json(2)).dump());
    const int repeat = f.contains("repeat") ? std::stoi(f["repeat"].dump()) : 1;
    const std::string type = f["type"];
    const bool same = f.value("same", false);
    const int at = same ? previous : offset;
    double scale = 1;
    if (f.contains("unitValue")) scale = std::stod(f["unitValue"].get<std::string>());
    int from = 0;
    int to = 0;
    if (type == "bit") {
      from = std::stoi(f["bitPosition"].is_string() ? f["bitPosition"].get<std::string>() : f["bitPosition"].dump());
      to = from + 1;
    } else if (type == "bitRange") {
      from = std::stoi(f["fromBit"].dump());
      to = std::stoi(f["endBit"].dump());
    }
    const bool numeric = type == "int" || type == "uInt" || type == "long" || type == "hex";
    out.emplace_back(at, size * repeat, type, numeric && type != "hex" ? scale : 1.0, from, to);
    previous = at;
    if (!same) offset += size * repeat;
  }
  return out;
}

}  // namespace

TEST_CASE("sermatec conformance: our table agrees with the vendor's definition data, layer by layer") {
  const auto doc = nlohmann::json::parse(test::fixture("sermatec/osim-protocol.en.sermatec-inverter.json"));
  int compared = 0;
  for (const auto& layer : doc["osim"]["versions"]) {
    const int version = layer["version"];
    const Definitions defs(version);
    for (const auto& command : layer["commands"]) {
      const auto code = static_cast<std::uint8_t>(std::stoi(command["type"].get<std::string>(), nullptr, 16));
      const Layout* layout = defs.layout(code);
      if (!layout) continue;  // set commands: sunkeep has no layout for what it never sends
      CAPTURE(version);
      CAPTURE(command["type"].get<std::string>());
      auto a = ours(*layout);
      auto b = theirs(command["fields"]);
      std::sort(a.begin(), a.end());
      std::sort(b.begin(), b.end());
      CHECK(a == b);
      if (a != b) {
        std::ostringstream diff;
        for (const auto& k : b) {
          if (std::find(a.begin(), a.end(), k) == a.end()) diff << " theirs@" << std::get<0>(k) << ":" << std::get<2>(k) << "/" << std::get<1>(k);
        }
        for (const auto& k : a) {
          if (std::find(b.begin(), b.end(), k) == b.end()) diff << " ours@" << std::get<0>(k) << ":" << std::get<2>(k) << "/" << std::get<1>(k);
        }
        MESSAGE(diff.str());
      }
      ++compared;
    }
  }
  CHECK(compared >= 20);
}
