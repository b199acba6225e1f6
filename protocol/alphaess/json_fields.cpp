// Tolerant reading of AlphaESS JSON payloads.
#include "protocol/alphaess/json_fields.hpp"

#include <nlohmann/json.hpp>

#include "common/text.hpp"
#include "protocol/alphaess/json_redaction.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <functional>
#include <utility>
#include <vector>

namespace sunkeep::alphaess {

namespace {

// What went wrong, in words of our own: nlohmann's messages quote the last token read ("last
// read: '…'"), which may be a password, a tab or bytes that are not UTF-8. Only the library's own
// text before that quote is looked at, and only to pick a category.
std::string category_of(const nlohmann::detail::exception& e) {
  if (e.id == 406) return "number out of range";
  if (e.id != 101) return "JSON error";
  const std::string_view message = e.what();
  const std::string_view own_words = message.substr(0, message.find("; last read:"));
  static constexpr std::array<std::pair<std::string_view, std::string_view>, 9> categories{{
      {"missing closing quote", "unterminated string"},
      {"unexpected end of input", "unexpected end of input"},
      {"control character", "unescaped control character"},
      {"ill-formed UTF-8", "invalid UTF-8"},
      {"backslash", "invalid escape"},
      {"surrogate", "invalid escape"},
      {"\\u", "invalid escape"},
      {"invalid literal", "invalid literal"},
      {"invalid number", "invalid number"},
  }};
  for (const auto& [words, category] : categories) {
    if (own_words.find(words) != std::string_view::npos) return std::string(category);
  }
  return "JSON syntax error";
}

// Accepts everything and keeps the first error: where and why a payload does not parse.
class ErrorLocator final : public nlohmann::json_sax<nlohmann::json> {
 public:
  std::string description = "JSON syntax error at byte 0";

  bool null() override { return true; }
  bool boolean(bool) override { return true; }
  bool number_integer(number_integer_t) override { return true; }
  bool number_unsigned(number_unsigned_t) override { return true; }
  bool number_float(number_float_t, const string_t&) override { return true; }
  bool string(string_t&) override { return true; }
  bool binary(binary_t&) override { return true; }
  bool start_object(std::size_t) override { return true; }
  bool end_object() override { return true; }
  bool start_array(std::size_t) override { return true; }
  bool end_array() override { return true; }
  bool key(string_t&) override { return true; }
  bool parse_error(std::size_t position, const std::string&, const nlohmann::detail::exception& e) override {
    // `position` counts the bytes read, the end of input included: the offending byte is the last.
    description = category_of(e) + " at byte " + std::to_string(position > 0 ? position - 1 : 0);
    return false;
  }
};

// "unterminated string at byte 41": a category and an offset, never a byte of the payload.
std::string describe_syntax_error(std::string_view payload) {
  ErrorLocator locator;
  nlohmann::json::sax_parse(payload, &locator);
  return locator.description;
}

constexpr std::string_view password_key = "Password";
constexpr std::string_view hidden_text = "***";

bool is_password(std::string_view key) { return same_key(key, password_key); }

// `value` with the value of every Password member, at any depth, replaced by "***" (walked with
// a stack of its own: nesting is as deep as the payload chooses).
nlohmann::ordered_json without_passwords(nlohmann::ordered_json value) {
  std::vector<nlohmann::ordered_json*> pending{&value};
  while (!pending.empty()) {
    nlohmann::ordered_json& node = *pending.back();
    pending.pop_back();
    if (node.is_object()) {
      for (auto member = node.begin(); member != node.end(); ++member) {
        if (is_password(member.key())) {
          *member = std::string(hidden_text);
        } else {
          pending.push_back(&*member);
        }
      }
    } else if (node.is_array()) {
      for (auto& element : node) pending.push_back(&element);
    }
  }
  return value;
}

// A member's value as a field holds it: strings as sent, anything else as compact JSON.
std::string field_value(const std::string& key, const nlohmann::ordered_json& value) {
  if (is_password(key)) return std::string(hidden_text);
  if (value.is_string()) return value.get<std::string>();
  if (value.is_structured()) return without_passwords(value).dump();
  return value.dump();
}

}  // namespace

std::optional<Fields> parse_json_object_with_document(std::string_view payload, std::string& error) {
  // ordered_json keeps the order of first appearance and lets a duplicate key overwrite.
  const auto doc = nlohmann::ordered_json::parse(payload, nullptr, false);
  if (doc.is_discarded()) {
    error = describe_syntax_error(payload);
    return std::nullopt;
  }
  if (!doc.is_object()) {
    error = "payload is not a JSON object";
    return std::nullopt;
  }
  Fields fields;
  fields.reserve(doc.size());
  for (const auto& [key, value] : doc.items()) {
    fields.push_back({key, field_value(key, value)});
  }
  return fields;
}

namespace {

// Reads a flat JSON object (every value a string, number, boolean or null: what devices send)
// straight into Fields, with the same result as parse_json_object_with_document. It gives up
// (returns false from a callback) on anything else: nested values, another top-level value, an
// error, or more keys than its table holds; the caller then parses with the document. (Building
// the document, each key inserted after a linear search of the keys before it, then copying it
// out, was a quarter of the device path's CPU in a profile.)
class FlatObjectReader final : public nlohmann::json_sax<nlohmann::json> {
 public:
  Fields fields;

  bool null() override { return value("null"); }
  bool boolean(bool v) override { return value(v ? "true" : "false"); }
  bool number_integer(number_integer_t v) override { return number(v); }
  bool number_unsigned(number_unsigned_t v) override { return number(v); }
  bool number_float(number_float_t v, const string_t&) override { return value(nlohmann::json(v).dump()); }
  bool string(string_t& v) override { return value(std::move(v)); }
  bool binary(binary_t&) override { return false; }
  bool start_object(std::size_t) override {
    if (opened_) return false;  // a nested object
    opened_ = true;
    return true;
  }
  bool end_object() override { return true; }
  bool start_array(std::size_t) override { return false; }
  bool end_array() override { return false; }
  bool key(string_t& k) override;
  bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception&) override { return false; }

 private:
  static constexpr std::size_t table_size = 512;  // keys at most half of it: short probes
  bool value(std::string text);
  template <class Integer>
  bool number(Integer v) {
    char digits[24];
    const auto end = std::to_chars(digits, digits + sizeof digits, v).ptr;
    return value(std::string(digits, end));
  }

  bool opened_ = false;
  std::size_t current_ = 0;                        // the field the next value goes to
  std::array<std::uint16_t, table_size> slots_{};  // by key hash: field index + 1, 0 when free
};

bool FlatObjectReader::key(string_t& k) {
  if (fields.size() >= table_size / 2) return false;
  std::size_t slot = std::hash<std::string_view>{}(k) % table_size;
  while (slots_[slot] != 0) {
    const std::size_t index = slots_[slot] - 1U;
    if (fields[index].key == k) {
      current_ = index;  // a duplicate: its value replaces the first one, in the first place
      return true;
    }
    slot = (slot + 1) % table_size;
  }
  current_ = fields.size();
  slots_[slot] = static_cast<std::uint16_t>(current_ + 1);
  fields.push_back({std::move(k), {}});
  return true;
}

bool FlatObjectReader::value(std::string text) {
  if (!opened_ || current_ >= fields.size()) return false;  // not inside the top-level object
  Field& field = fields[current_];
  field.value = is_password(field.key) ? std::string(hidden_text) : std::move(text);
  return true;
}

}  // namespace

std::optional<Fields> parse_json_object(std::string_view payload, std::string& error) {
  FlatObjectReader reader;
  if (nlohmann::json::sax_parse(payload, &reader)) return std::move(reader.fields);
  return parse_json_object_with_document(payload, error);
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
