// The tolerant JSON walk behind redaction.
#include "protocol/alphaess/json_redaction.hpp"

#include "common/hex.hpp"

#include <algorithm>
#include <vector>

namespace sunkeep::alphaess {

namespace {

constexpr std::string_view utf8_bom = "\xEF\xBB\xBF";  // nlohmann skips it, so the walk does too

char lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

std::string lowered(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(), lower);
  return out;
}

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

// true, false, null, numbers, and the bare words of sloppy JSON.
bool is_literal_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '+' || c == '-' ||
         c == '.';
}

// The closing quote of the string opening at `open`; nullopt if the text ends first.
std::optional<std::size_t> closing_quote(std::string_view text, std::size_t open) {
  std::size_t i = open + 1;
  while (i < text.size()) {
    if (text[i] == '"') return i;
    i += text[i] == '\\' ? 2U : 1U;
  }
  return std::nullopt;
}

// Past the string opening at `open`, or the end of the text if it never closes.
std::size_t end_of_string(std::string_view text, std::size_t open) {
  const auto quote = closing_quote(text, open);
  return quote ? *quote + 1 : text.size();
}

// The four hex digits of a \u escape, or nullopt.
std::optional<unsigned> code_unit(std::string_view digits) {
  if (digits.size() != 4) return std::nullopt;
  unsigned code = 0;
  for (const char c : digits) {
    const int digit = hex_digit_value(c);
    if (digit < 0) return std::nullopt;
    code = code * 16U + static_cast<unsigned>(digit);
  }
  return code;
}

// A string's text (between its quotes) unescaped; a code point beyond ASCII becomes 0x80, which
// no key name holds. nullopt for an escape that JSON does not have.
std::optional<std::string> unescaped(std::string_view body) {
  std::string out;
  for (std::size_t i = 0; i < body.size(); ++i) {
    if (body[i] != '\\') {
      out += body[i];
      continue;
    }
    if (++i >= body.size()) return std::nullopt;
    switch (body[i]) {
      case '"': case '\\': case '/': out += body[i]; break;
      case 'b': out += '\b'; break;
      case 'f': out += '\f'; break;
      case 'n': out += '\n'; break;
      case 'r': out += '\r'; break;
      case 't': out += '\t'; break;
      case 'u': {
        const auto code = code_unit(body.substr(i + 1, 4));
        if (!code) return std::nullopt;
        out += *code < 0x80 ? static_cast<char>(*code) : '\x80';
        i += 4;
        break;
      }
      default:
        return std::nullopt;
    }
  }
  return out;
}

// One pass over the text: a container stack and what may come next, enough to tell keys from
// values. It stops where the text stops being JSON and copies the rest unchanged.
class Walker {
 public:
  Walker(std::string_view text, std::span<const std::string_view> keys) : text_(text), keys_(keys) {}

  RedactedJson run() {
    if (text_.starts_with(utf8_bom)) i_ = utf8_bom.size();
    while (true) {
      while (i_ < text_.size() && is_space(text_[i_])) ++i_;
      if (i_ >= text_.size()) break;
      if (!step()) {
        // The token before the failure is in doubt too: a value followed by ':' may be a key.
        out_.stopped_at = std::max(token_at_, copied_);
        break;
      }
    }
    out_.text.append(text_.substr(copied_));
    return std::move(out_);
  }

 private:
  enum class Expect { value, value_or_close, key_or_close, colon, comma_or_close, nothing };

  // Reads the token at i_; false if it cannot come here.
  bool step() {
    const char c = text_[i_];
    switch (expect_) {
      case Expect::value_or_close:
        return c == ']' ? close(c) : value();
      case Expect::value:
        return value();
      case Expect::key_or_close:
        if (c == '}') return close(c);
        return c == '"' && key();
      case Expect::colon:
        if (c != ':') return false;
        ++i_;
        expect_ = Expect::value;
        return true;
      case Expect::comma_or_close:
        if (c != ',') return close(c);
        ++i_;
        expect_ = open_.back() == '{' ? Expect::key_or_close : Expect::value_or_close;
        return true;
      case Expect::nothing:
        return false;
    }
    return false;
  }

  bool value() {
    token_at_ = i_;
    if (hide_next_) {
      hide_next_ = false;
      hide_value();
      return true;
    }
    const char c = text_[i_];
    if (c == '{' || c == '[') {
      open_.push_back(c);
      ++i_;
      expect_ = c == '{' ? Expect::key_or_close : Expect::value_or_close;
      return true;
    }
    if (c == '"') {
      i_ = end_of_string(text_, i_);
    } else if (is_literal_char(c)) {
      while (i_ < text_.size() && is_literal_char(text_[i_])) ++i_;
    } else {
      return false;
    }
    after_value();
    return true;
  }

  bool key() {
    token_at_ = i_;
    const auto quote = closing_quote(text_, i_);
    if (!quote) {
      i_ = text_.size();  // cut off inside the key: no value follows
      return true;
    }
    const auto name = unescaped(text_.substr(i_ + 1, *quote - i_ - 1));
    if (!name) return false;
    hide_next_ = std::any_of(keys_.begin(), keys_.end(), [&](std::string_view k) { return same_key(*name, k); });
    i_ = *quote + 1;
    expect_ = Expect::colon;
    return true;
  }

  bool close(char c) {
    if (open_.empty() || c != (open_.back() == '{' ? '}' : ']')) return false;
    token_at_ = i_;
    open_.pop_back();
    ++i_;
    after_value();
    return true;
  }

  void after_value() { expect_ = open_.empty() ? Expect::nothing : Expect::comma_or_close; }

  // Replaces the value at i_, whatever it is (string, number, object, array or garbage), up to
  // the ',' or the bracket that ends it, or up to the end of the text, by "***".
  void hide_value() {
    std::size_t end = i_;
    std::size_t depth = 0;
    while (end < text_.size()) {
      const char c = text_[end];
      if (c == '"') {
        end = end_of_string(text_, end);
        continue;
      }
      const bool closes = c == '}' || c == ']';
      if (depth == 0 && (c == ',' || closes)) break;
      if (c == '{' || c == '[') ++depth;
      if (closes) --depth;
      ++end;
    }
    std::size_t last = end;
    while (last > i_ && is_space(text_[last - 1])) --last;
    if (last > i_) {
      out_.text.append(text_.substr(copied_, i_ - copied_));
      out_.text.append(hidden_value);
      copied_ = last;
      ++out_.replaced;
    }
    i_ = end;
    after_value();
  }

  std::string_view text_;
  std::span<const std::string_view> keys_;
  std::size_t i_ = 0;
  std::vector<char> open_;        // '{' or '[' of every container not closed yet
  Expect expect_ = Expect::value;
  bool hide_next_ = false;        // the value that follows belongs to a hidden key
  std::size_t token_at_ = 0;      // where the last token read begins
  std::size_t copied_ = 0;        // the text before this is in out_.text
  RedactedJson out_;
};

}  // namespace

bool same_key(std::string_view key, std::string_view name) {
  return key.size() == name.size() &&
         std::equal(key.begin(), key.end(), name.begin(), [](char a, char b) { return lower(a) == lower(b); });
}

RedactedJson redact_json_values(std::string_view json, std::span<const std::string_view> keys) {
  return Walker(json, keys).run();
}

bool may_hold_key(std::string_view text, std::span<const std::string_view> keys) {
  if (text.find('\\') != std::string_view::npos) return true;
  const std::string haystack = lowered(text);
  return std::any_of(keys.begin(), keys.end(), [&](std::string_view key) {
    return haystack.find(lowered(key.substr(0, 4))) != std::string::npos;
  });
}

}  // namespace sunkeep::alphaess
