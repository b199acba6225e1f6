// Hiding the values of named keys in JSON text that may be truncated or invalid (alphaess.md
// §5.9): a lexical walk, not a parse, that knows which strings are keys and compares them by
// meaning (after unescaping, in any case), at any depth, whatever the type of their values.
#pragma once

#include <cstddef>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace sunkeep::alphaess {

// The value every hidden value becomes.
inline constexpr std::string_view hidden_value = R"("***")";

struct RedactedJson {
  std::string text;                      // the input with each hidden value replaced
  std::size_t replaced = 0;              // how many values were replaced
  std::optional<std::size_t> stopped_at;  // where the walk met what it cannot read; from there on
                                          // the text is copied unchanged
};

// Replaces the value of every key named in `keys` by "***". A value cut off by the end of the
// text is replaced up to the end. Keys match after JSON unescaping and ignoring ASCII case.
RedactedJson redact_json_values(std::string_view json, std::span<const std::string_view> keys);

// Whether a key, already unescaped, is `name` in any ASCII case.
bool same_key(std::string_view key, std::string_view name);

// Whether text the walk could not read may hold one of `keys`: it has a backslash (an escape
// may spell a key), or the first four letters of a key in any case ("pass" for Password).
bool may_hold_key(std::string_view text, std::span<const std::string_view> keys);

}  // namespace sunkeep::alphaess
