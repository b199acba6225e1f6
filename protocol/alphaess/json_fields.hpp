// Tolerant reading of AlphaESS JSON payloads into flat key/value text (alphaess.md §6).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sunkeep::alphaess {

struct Field {
  std::string key;
  std::string value;  // strings as sent; other JSON values rendered as compact JSON ("true", "42");
                      // "***" for a Password (any case), also inside nested values (§5.9)

  friend bool operator==(const Field&, const Field&) = default;
};

// In order of first appearance, each key once: for a duplicate key the last value wins.
using Fields = std::vector<Field>;

// Parses a JSON object. Accepts any white space, duplicate keys, commas inside strings.
// Returns nullopt and sets `error` for anything that is not a JSON object: a category and a byte
// offset ("unterminated string at byte 41"), never a byte of the payload.
std::optional<Fields> parse_json_object(std::string_view payload, std::string& error);
// The same through a whole JSON document: what parse_json_object does for nested values and
// errors, and the reference its quick path is tested against.
std::optional<Fields> parse_json_object_with_document(std::string_view payload, std::string& error);

// The value of `key`, or nullptr when absent.
const std::string* find_field(const Fields& fields, std::string_view key);

// A field value as a number: surrounding spaces allowed; empty text, "99,99", "Normal" → nullopt.
std::optional<double> parse_number(std::string_view text);

// "true"/"false" in any case, "1"/"0".
std::optional<bool> parse_bool(std::string_view text);

// The fields as a compact JSON object (string values), for storage.
std::string fields_to_json(const Fields& fields);

}  // namespace sunkeep::alphaess
