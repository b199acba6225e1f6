// A blocking HTTP/1.1 client for integration tests, every read bounded by a timeout.
#pragma once

#include <cstdint>
#include <map>
#include <string>

namespace sunkeep::test {

struct HttpReply {
  unsigned status = 0;  // 0 when no answer came
  std::string body;
  std::map<std::string, std::string> headers;  // lower-case names
};

// One request on a fresh connection ("Connection: close").
HttpReply http_request(std::uint16_t port, const std::string& method, const std::string& target,
                       const std::string& authorization = "");
inline HttpReply http_get(std::uint16_t port, const std::string& target, const std::string& authorization = "") {
  return http_request(port, "GET", target, authorization);
}
// Sends raw bytes and returns the raw answer (what arrives until the server closes or 5 s pass).
std::string http_raw(std::uint16_t port, const std::string& bytes);

}  // namespace sunkeep::test
