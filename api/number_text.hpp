// Numbers in API answers: the shortest text that reads back as the same double, exactly as fmt's
// "{}" writes it, appended in place (a day of raw points has 8,640 of them).
#pragma once

#include <fmt/compile.h>

#include <cstddef>
#include <string>

namespace sunkeep::api {

inline void append_number(std::string& out, double value) {
  // At most 17 significant digits, a sign, a point and an exponent such as "e-308": 25
  // characters. (format_to_n, which would check the room, made a whole series query a fifth
  // slower.)
  char text[32];
  const char* end = fmt::format_to(text, FMT_COMPILE("{}"), value);
  out.append(text, static_cast<std::size_t>(end - text));
}

}  // namespace sunkeep::api
