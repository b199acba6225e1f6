// The blocking HTTP test client.
#include "tests/support/http_client.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <sys/socket.h>
#include <sys/time.h>

#include <algorithm>
#include <cctype>

namespace sunkeep::test {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;

namespace {

void set_timeouts(asio::ip::tcp::socket& socket) {
  const timeval five_seconds{5, 0};
  ::setsockopt(socket.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &five_seconds, sizeof five_seconds);
  ::setsockopt(socket.native_handle(), SOL_SOCKET, SO_SNDTIMEO, &five_seconds, sizeof five_seconds);
}

std::string lower(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return text;
}

}  // namespace

HttpReply http_request(std::uint16_t port, const std::string& method, const std::string& target,
                       const std::string& authorization) {
  asio::io_context io;
  asio::ip::tcp::socket socket(io);
  socket.connect({asio::ip::make_address("127.0.0.1"), port});
  set_timeouts(socket);
  http::request<http::empty_body> req{http::string_to_verb(method), target, 11};
  req.set(http::field::host, "127.0.0.1");
  req.set(http::field::connection, "close");
  if (!authorization.empty()) req.set(http::field::authorization, authorization);
  http::write(socket, req);
  beast::flat_buffer buffer;
  http::response_parser<http::string_body> parser;
  parser.body_limit(64 * 1024 * 1024);
  if (method == "HEAD") parser.skip(true);
  beast::error_code ec;
  http::read(socket, buffer, parser, ec);
  HttpReply reply;
  if (ec) return reply;
  const auto& res = parser.get();
  reply.status = res.result_int();
  reply.body = res.body();
  for (const auto& field : res) reply.headers[lower(std::string(field.name_string()))] = std::string(field.value());
  return reply;
}

std::string http_raw(std::uint16_t port, const std::string& bytes) {
  asio::io_context io;
  asio::ip::tcp::socket socket(io);
  socket.connect({asio::ip::make_address("127.0.0.1"), port});
  set_timeouts(socket);
  asio::write(socket, asio::buffer(bytes));
  std::string answer;
  beast::error_code ec;
  asio::read(socket, asio::dynamic_buffer(answer), ec);  // until close or timeout
  return answer;
}

}  // namespace sunkeep::test
