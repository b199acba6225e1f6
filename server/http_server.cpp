// The HTTP/1.1 transport of the API.
#include "server/http_server.hpp"

#include "server/clock.hpp"
#include "server/connection.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <spdlog/spdlog.h>

namespace sunkeep::server {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using asio::awaitable;

namespace {

http::response<http::string_body> to_beast(const api::Response& r, unsigned version, bool keep_alive, bool head) {
  http::response<http::string_body> res{static_cast<http::status>(r.status), version};
  res.set(http::field::server, "sunkeep");
  res.set(http::field::content_type, r.content_type);
  res.set(http::field::cache_control, "no-store");
  for (const auto& [name, value] : r.headers) res.set(name, value);
  res.keep_alive(keep_alive);
  res.body() = r.body;
  res.prepare_payload();
  if (head) res.body().clear();  // Content-Length still tells the size a GET would return
  return res;
}

// Answers a request that could not be parsed, then the connection closes.
awaitable<void> reject_malformed(beast::tcp_stream& stream, const beast::error_code& why) {
  const api::Response bad{400, "application/json",
                          R"({"error":"bad_request","detail":"malformed HTTP request: )" + why.message() + R"("})", {}};
  auto res = to_beast(bad, 11, false, false);
  stream.expires_after(HttpLimits::io_timeout);
  co_await http::async_write(stream, res, tuple_awaitable);
}

bool is_parse_error(const beast::error_code& ec) {
  return ec.category() == http::make_error_code(http::error::bad_method).category() &&
         ec != http::error::end_of_stream && ec != http::error::partial_message;
}

awaitable<void> serve_connection(beast::tcp_stream stream, HttpServices services) {
  HttpCounters& counters = services.counters;
  ++counters.connections_open;
  beast::flat_buffer buffer;
  while (true) {
    http::request_parser<http::string_body> parser;
    parser.header_limit(HttpLimits::header_bytes);
    parser.body_limit(HttpLimits::body_bytes);
    stream.expires_after(HttpLimits::io_timeout);
    auto read = co_await http::async_read(stream, buffer, parser, tuple_awaitable);
    const beast::error_code read_error = std::get<0>(read);
    if (read_error) {
      if (is_parse_error(read_error)) {
        ++counters.malformed;
        co_await reject_malformed(stream, read_error);
      }
      break;
    }
    ++counters.requests;
    const auto& req = parser.get();
    api::Request request{std::string(req.method_string()), std::string(req.target()),
                         std::string(req[http::field::authorization])};
    auto query = [services, request](storage::Connection& db) {
      storage::HistoryReader history(db, &services.recent);
      return services.api.handle(request, history, now_ms());
    };
    const api::Response answer = co_await services.reads.run(std::move(query));
    const bool keep_alive = req.keep_alive();
    auto res = to_beast(answer, req.version(), keep_alive, req.method() == http::verb::head);
    stream.expires_after(HttpLimits::io_timeout);
    auto written = co_await http::async_write(stream, res, tuple_awaitable);
    if (std::get<0>(written) || !keep_alive) break;
  }
  beast::error_code ignored;
  stream.socket().shutdown(asio::ip::tcp::socket::shutdown_send, ignored);
  --counters.connections_open;
}

}  // namespace

void spawn_http_accept_loop(asio::io_context& io, asio::ip::tcp::acceptor& acceptor, HttpServices services) {
  auto loop = [&io, &acceptor, services]() -> awaitable<void> {
    asio::steady_timer backoff(acceptor.get_executor());
    while (acceptor.is_open()) {
      auto accepted = co_await acceptor.async_accept(asio::make_strand(io), tuple_awaitable);
      const boost::system::error_code ec = std::get<0>(accepted);
      if (ec == asio::error::operation_aborted || !acceptor.is_open()) break;
      if (ec) {
        spdlog::warn("http accept failed: {}", ec.message());
        backoff.expires_after(std::chrono::milliseconds(100));
        co_await backoff.async_wait(tuple_awaitable);
        continue;
      }
      beast::tcp_stream stream(std::move(std::get<1>(accepted)));
      auto executor = stream.get_executor();
      asio::co_spawn(executor, serve_connection(std::move(stream), services), asio::detached);
    }
  };
  asio::co_spawn(acceptor.get_executor(), std::move(loop), asio::detached);
}

}  // namespace sunkeep::server
