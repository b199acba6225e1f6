// GET /api/v1/health over a plain socket, bounded by a timeout (see health_probe.hpp).
#include "admin/health_probe.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <nlohmann/json.hpp>

namespace sunkeep::admin {

namespace {

namespace asio = boost::asio;
using asio::ip::tcp;

std::string loopback_for(const std::string& host) {
  if (host == "0.0.0.0") return "127.0.0.1";
  if (host == "::") return "::1";
  return host;
}

// The whole HTTP/1.0 answer, or "" with `error` set.
std::string fetch(const config::Endpoint& endpoint, std::chrono::milliseconds timeout, std::string& error) {
  asio::io_context io;
  tcp::socket socket(io);
  const std::string request = "GET /api/v1/health HTTP/1.0\r\nHost: " + endpoint.to_string() + "\r\n\r\n";
  std::string answer;
  bool done = false;
  const auto fail = [&](boost::system::error_code code) {
    error = code.message();
    done = true;
  };
  const tcp::endpoint target(asio::ip::make_address(loopback_for(endpoint.host)), endpoint.port);
  socket.async_connect(target, [&](boost::system::error_code code) {
    if (code) return fail(code);
    asio::async_write(socket, asio::buffer(request), [&](boost::system::error_code write_code, std::size_t) {
      if (write_code) return fail(write_code);
      asio::async_read(socket, asio::dynamic_buffer(answer, 1 << 20), [&](boost::system::error_code read_code, std::size_t) {
        if (read_code && read_code != asio::error::eof) return fail(read_code);
        done = true;
      });
    });
  });
  io.run_for(timeout);
  if (!done) error = "no answer within " + std::to_string(timeout.count()) + " ms";
  return error.empty() ? answer : "";
}

}  // namespace

HealthAnswer probe_health(const config::Endpoint& http_listen, std::chrono::milliseconds timeout) {
  std::string error;
  std::string answer;
  try {
    answer = fetch(http_listen, timeout, error);
  } catch (const std::exception& e) {
    error = e.what();
  }
  if (answer.empty()) return {false, error.empty() ? "no answer" : error};
  const auto body_at = answer.find("\r\n\r\n");
  const std::string body = body_at == std::string::npos ? "" : answer.substr(body_at + 4);
  const bool status_200 = answer.rfind("HTTP/1.1 200", 0) == 0 || answer.rfind("HTTP/1.0 200", 0) == 0;
  const auto json = nlohmann::json::parse(body, nullptr, false);
  // "storage" says "failing: …" while nothing can be stored (and so nothing is acknowledged).
  const bool ok = status_200 && json.is_object() && json.value("status", "") == "ok" && json.value("storage", "ok") == "ok";
  return {ok, body.empty() ? answer.substr(0, answer.find("\r\n")) : body};
}

}  // namespace sunkeep::admin
