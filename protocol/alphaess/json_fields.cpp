// Tolerant reading of AlphaESS JSON payloads.
#include "protocol/alphaess/json_fields.hpp"

#include <nlohmann/json.hpp>

#include "common/text.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>

namespace sunkeep::alphaess {

std::optional<Fields> parse_json_object(std::string_view payload, std::string& error) {
  // ordered_json keeps the order of first appearance and lets a duplicate key overwrite.
  nlohmann::ordered_json doc;
  try {
    doc = nlohmann::ordered_json::parse(payload);
  } catch (const nlohmann::json::exception& e) {
    error = e.what();
    return std::nullopt;
  }
  if (!doc.is_object()) {
    error = "payload is not a JSON object";
    return std::nullopt;
  }
  Fields fields;
  fields.reserve(doc.size());
  for (const auto& [key, value] : doc.items()) {
    fields.push_back({key, value.is_string() ? value.get<std::string>() : value.dump()});
  }
  return fields;
}

const std::string* find_field(const Fields& fields, std::string_view key) {
  const auto it = std::find_if(fields.begin(), fields.end(), [&](const Field& f) { return f.key == key; });
  return it == fields.end() ? nullptr : &it->value;
}

std::optional<double> parse_number(std::string_view text) {
  text = trim(text);
  if (text.empty()) return std::nullopt;
  if (text.front() == '+') text.remove_prefix(1);
  double value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc{} || end != text.data() + text.size() || !std::isfinite(value)) return std::nullopt;
  return value;
}

std::optional<bool> parse_bool(std::string_view text) {
  text = trim(text);
  std::string lower(text);
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (lower == "true" || lower == "1") return true;
  if (lower == "false" || lower == "0") return false;
  return std::nullopt;
}

namespace {

// `text` as a JSON string, exactly as nlohmann's dump writes it. Printable ASCII without quotes
// or backslashes (nearly every key and value) is copied as it is; anything else goes through
// nlohmann for its escapes and its replacement of invalid UTF-8.
void append_json_string(std::string& out, const std::string& text) {
  const bool plain = std::all_of(text.begin(), text.end(), [](char c) {
    return c >= 0x20 && c <= 0x7e && c != '"' && c != '\\';
  });
  if (!plain) {
    out += nlohmann::json(text).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    return;
  }
  out += '"';
  out += text;
  out += '"';
}

}  // namespace

std::string fields_to_json(const Fields& fields) {
  // Written directly: it runs for every record received (its hash finds repeated records), and
  // building an ordered_json of ~90 keys, each inserted by a linear search, was 14 % of the
  // whole device path (decode, prepare, ack) in a profile.
  std::string out = "{";
  for (const auto& f : fields) {
    if (out.size() > 1) out += ',';
    append_json_string(out, f.key);
    out += ':';
    append_json_string(out, f.value);
  }
  out += '}';
  return out;
}

}  // namespace sunkeep::alphaess
