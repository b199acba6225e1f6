// The HTTP/1.1 transport of the API.
#include "server/http_server.hpp"

#include "server/clock.hpp"
#include "server/connection.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <utility>

namespace sunkeep::server {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using asio::awaitable;
using Clock = std::chrono::steady_clock;

// ---- AnswerBudget ----

AnswerBudget::Charge::Charge(Charge&& other) noexcept
    : budget_(std::exchange(other.budget_, nullptr)), bytes_(std::exchange(other.bytes_, 0)) {}

AnswerBudget::Charge& AnswerBudget::Charge::operator=(Charge&& other) noexcept {
  if (this != &other) {
    reset();
    budget_ = std::exchange(other.budget_, nullptr);
    bytes_ = std::exchange(other.bytes_, 0);
  }
  return *this;
}

void AnswerBudget::Charge::reset() {
  if (budget_ != nullptr && bytes_ > 0) budget_->give_back(bytes_);
  bytes_ = 0;
}

bool AnswerBudget::resize(Charge& charge, std::uint64_t bytes) {
  charge.budget_ = this;
  if (bytes <= charge.bytes_) {
    const std::uint64_t freed = charge.bytes_ - bytes;
    charge.bytes_ = bytes;
    if (freed > 0) give_back(freed);
    return true;
  }
  if (!take(bytes - charge.bytes_)) return false;
  charge.bytes_ = bytes;
  return true;
}

bool AnswerBudget::take(std::uint64_t bytes) {
  std::uint64_t held = held_.load();
  do {
    if (held > capacity_ || bytes > capacity_ - held) return false;
  } while (!held_.compare_exchange_weak(held, held + bytes));
  std::uint64_t peak = peak_.load();
  while (held + bytes > peak && !peak_.compare_exchange_weak(peak, held + bytes)) {
  }
  return true;
}

void AnswerBudget::give_back(std::uint64_t bytes) {
  held_ -= bytes;
  std::vector<Waiter> woken;
  {
    std::lock_guard lock(mutex_);
    woken.swap(waiters_);
  }
  // Each waiter looks again on its own strand (a timer is not thread-safe); one that finds no
  // room waits again.
  for (auto& timer : woken) {
    auto executor = timer->get_executor();
    asio::post(executor, [timer = std::move(timer)] { timer->cancel(); });
  }
}

void AnswerBudget::forget(const Waiter& waiter) {
  std::lock_guard lock(mutex_);
  std::erase(waiters_, waiter);
}

awaitable<std::optional<AnswerBudget::Charge>> AnswerBudget::charge_when_room(std::uint64_t bytes,
                                                                             Clock::time_point deadline) {
  const auto timer = std::make_shared<asio::steady_timer>(co_await asio::this_coro::executor);
  // Off the list however this ends (the coroutine may be destroyed while it waits).
  struct Registration {
    AnswerBudget& budget;
    const Waiter& timer;
    ~Registration() { budget.forget(timer); }
  } registration{*this, timer};
  while (true) {
    {
      // Looking and registering under the lock: bytes given back after the look find this waiter.
      std::lock_guard lock(mutex_);
      if (take(bytes)) {
        Charge charge;
        charge.budget_ = this;
        charge.bytes_ = bytes;
        co_return std::move(charge);
      }
      if (Clock::now() >= deadline) co_return std::nullopt;
      waiters_.push_back(timer);
    }
    timer->expires_at(deadline);
    co_await timer->async_wait(tuple_awaitable);
    forget(timer);
  }
}

// ---- connections ----

namespace {

// An answer on its way to a client, with what it holds of the budget.
struct Answer {
  api::Response response;
  std::uint64_t content_length = 0;  // of the body a GET gets (a HEAD answer has no body here)
  AnswerBudget::Charge charge;
  std::uint64_t refused_bytes = 0;   // rendered, found no room in the budget, and dropped
};

Answer in_memory(api::Response response) {
  const std::uint64_t length = response.body.size();
  return {std::move(response), length, {}, 0};
}

Answer busy(HttpCounters& counters, const std::string& detail) {
  ++counters.answers_busy;
  const nlohmann::json body{{"error", "busy"}, {"detail", detail}};
  return in_memory({503, "application/json", body.dump(), {}});
}

// Frees a string's buffer: assigning an empty string keeps the capacity (libstdc++ copies a short
// string into the buffer it has), so a dropped 3 MB answer would stay allocated.
void release(std::string& text) { std::string().swap(text); }

std::string megabytes(std::uint64_t bytes) { return fmt::format("{:.1f} MB", static_cast<double>(bytes) / (1 << 20)); }

// On the query thread, right after rendering: a HEAD answer drops its body; a large body is
// charged to the budget (keeping what `answer.charge` reserved towards it), or dropped and its
// size noted when there is no room.
void hold_within_budget(AnswerBudget& budget, Answer& answer, bool head) {
  answer.content_length = answer.response.body.size();
  if (head) release(answer.response.body);
  const std::uint64_t size = answer.response.body.size();
  const std::uint64_t charged = size > HttpLimits::write_chunk_bytes ? size : 0;
  if (budget.resize(answer.charge, charged)) return;
  answer.charge.reset();
  release(answer.response.body);
  answer.refused_bytes = size;
}

// Runs the request on a query thread. An answer the budget has no room for waits for room (up
// to the io timeout) and is rendered again with that room reserved; otherwise it is 503 busy.
awaitable<Answer> answer_from_storage(HttpServices services, api::Request request, bool head) {
  const auto deadline = Clock::now() + HttpLimits::io_timeout;
  AnswerBudget::Charge reserved;
  while (true) {
    ++services.counters.storage_queries;
    auto query = [services, request, head, reserved = std::move(reserved)](storage::Connection& db) mutable {
      storage::HistoryReader history(db, &services.recent);
      Answer answer{services.api.handle(request, history, now_ms()), 0, std::move(reserved), 0};
      hold_within_budget(services.budget, answer, head);
      return answer;
    };
    Answer answer = co_await services.reads.run(std::move(query));
    const std::uint64_t needed = answer.refused_bytes;
    if (needed == 0) co_return answer;
    if (needed > services.budget.capacity()) {
      co_return busy(services.counters, "this answer (" + megabytes(needed) + ") is larger than [http] max_buffered_mb (" +
                                            megabytes(services.budget.capacity()) + "): ask for less");
    }
    auto room = co_await services.budget.charge_when_room(needed, deadline);
    if (!room) {
      co_return busy(services.counters, "answers held for other clients fill [http] max_buffered_mb (" +
                                            megabytes(services.budget.capacity()) + "): try again later");
    }
    reserved = std::move(*room);
  }
}

// Writes the header with the first chunk of the body, then the rest a chunk at a time, each
// within the io timeout. False when the client did not take it (the connection is then dropped).
awaitable<bool> write_answer(beast::tcp_stream& stream, Answer& answer, unsigned version, bool keep_alive,
                             HttpCounters& counters) {
  api::Response& r = answer.response;
  http::response<http::buffer_body> res{static_cast<http::status>(r.status), version};
  res.set(http::field::server, "sunkeep");
  res.set(http::field::content_type, r.content_type);
  res.set(http::field::cache_control, "no-store");
  for (const auto& [name, value] : r.headers) res.set(name, value);
  res.keep_alive(keep_alive);
  // A HEAD answer's too (what a GET would return); none on a 304 (RFC 9110 §8.6).
  if (r.status != 304) res.content_length(answer.content_length);
  http::response_serializer<http::buffer_body> serializer{res};
  const std::size_t total = r.body.size();
  std::size_t sent = 0;
  do {
    const std::size_t n = std::min(HttpLimits::write_chunk_bytes, total - sent);
    res.body().data = n == 0 ? nullptr : r.body.data() + sent;
    res.body().size = n;
    res.body().more = sent + n < total;
    stream.expires_after(HttpLimits::io_timeout);
    auto written = co_await http::async_write(stream, serializer, tuple_awaitable);
    const beast::error_code ec = std::get<0>(written);
    if (ec == beast::error::timeout) ++counters.write_timeouts;
    if (ec && ec != http::error::need_buffer) co_return false;
    sent += n;
  } while (sent < total);
  co_return true;
}

// Answers a request that could not be parsed or is unsafe to act on; the connection then closes.
awaitable<void> reject_malformed(beast::tcp_stream& stream, HttpCounters& counters, const std::string& why) {
  ++counters.malformed;
  const nlohmann::json body{{"error", "bad_request"}, {"detail", "malformed HTTP request: " + why}};
  Answer bad = in_memory({400, "application/json", body.dump(), {}});
  co_await write_answer(stream, bad, 11, false, counters);
}

bool is_parse_error(const beast::error_code& ec) {
  return ec.category() == http::make_error_code(http::error::bad_method).category() &&
         ec != http::error::end_of_stream && ec != http::error::partial_message;
}

// The header of a live stream: no length, so the stream ends when the connection closes.
constexpr std::string_view live_stream_header =
    "HTTP/1.1 200 OK\r\nServer: sunkeep\r\nContent-Type: text/event-stream\r\nCache-Control: no-store\r\n"
    "X-Accel-Buffering: no\r\nConnection: close\r\n\r\n";

constexpr int live_send_buffer_bytes = 64 * 1024;

// Writes `text` within the io timeout; false when the client did not take it (or was dropped).
awaitable<bool> write_live(beast::tcp_stream& stream, std::string_view text) {
  stream.expires_after(HttpLimits::io_timeout);
  auto [ec, n] = co_await asio::async_write(stream, asio::buffer(text.data(), text.size()), tuple_awaitable);
  co_return !ec;
}

// Serves /api/v1/live until the client goes, falls too far behind, or the server stops: the
// events the live stream queues for it, or a keepalive comment after a quiet while. Beyond
// [http] max_live_clients the answer is 503.
awaitable<void> serve_live(beast::tcp_stream& stream, LiveStream& live, HttpCounters& counters, unsigned version) {
  const auto client = live.join(stream.get_executor());
  if (!client) {
    const nlohmann::json body{{"error", "busy"},
                              {"detail", fmt::format("[http] max_live_clients ({}) live streams are open: try again later",
                                                     live.limits().max_clients)}};
    Answer refused = in_memory({503, "application/json", body.dump(), {}});
    co_await write_answer(stream, refused, version, false, counters);
    co_return;
  }
  // Whatever ends the stream (the client, a drop, shutdown, an exception), the client leaves
  // and forgets the stream before the stream goes.
  struct Leave {
    LiveStream& live;
    const std::shared_ptr<LiveClient>& client;
    ~Leave() {
      client->set_cancel_write({});
      live.leave(client);
    }
  } leave{live, client};
  client->set_cancel_write([&stream] { stream.cancel(); });
  // What the kernel holds for a client that stopped reading stays small: the queue is the bound.
  beast::error_code ignored;
  stream.socket().set_option(asio::socket_base::send_buffer_size(live_send_buffer_bytes), ignored);
  bool open = co_await write_live(stream, live_stream_header);
  while (open) {
    const auto text = co_await client->next(live.limits().keepalive);
    if (!text) break;
    open = co_await write_live(stream, text->empty() ? std::string_view(": keepalive\n\n") : std::string_view(*text));
  }
}

using RequestParser = http::request_parser<http::string_body>;

// What makes a parsed header unsafe to act on; "" when nothing. A Transfer-Encoding must end in
// chunked (RFC 9112 §6.3: otherwise the body's length is unknown and the rest of the stream
// could be read as a request of its own), and a request carries one set of credentials.
std::string framing_problem(const RequestParser& parser) {
  const auto& req = parser.get();
  if (req.count(http::field::transfer_encoding) > 0 && !parser.chunked()) {
    return "a Transfer-Encoding whose last coding is not chunked";
  }
  if (req.count(http::field::authorization) > 1) return "more than one Authorization header";
  return {};
}

struct ReadOutcome {
  bool ok = false;
  std::string malformed;  // why, when the request was malformed; "" when the client went or was slow
};

ReadOutcome failed_read(const beast::error_code& ec) {
  return {false, is_parse_error(ec) ? ec.message() : std::string()};
}

// Reads one request: its header, checked, then its body, all within the io timeout.
awaitable<ReadOutcome> read_request(beast::tcp_stream& stream, beast::flat_buffer& buffer, RequestParser& parser) {
  stream.expires_after(HttpLimits::io_timeout);
  auto header = co_await http::async_read_header(stream, buffer, parser, tuple_awaitable);
  if (std::get<0>(header)) co_return failed_read(std::get<0>(header));
  std::string problem = framing_problem(parser);
  if (!problem.empty()) co_return ReadOutcome{false, std::move(problem)};
  if (!parser.is_done()) {
    auto body = co_await http::async_read(stream, buffer, parser, tuple_awaitable);
    if (std::get<0>(body)) co_return failed_read(std::get<0>(body));
  }
  co_return ReadOutcome{true, {}};
}

}  // namespace

awaitable<void> serve_http_connection(asio::ip::tcp::socket socket, HttpServices services,
                                      std::shared_ptr<const void> /*slot*/) {
  beast::tcp_stream stream(std::move(socket));
  HttpCounters& counters = services.counters;
  beast::error_code ignored;
  stream.socket().set_option(asio::ip::tcp::no_delay(true), ignored);  // a header and a small body leave at once
  beast::flat_buffer buffer;
  while (true) {
    RequestParser parser;
    parser.header_limit(HttpLimits::header_bytes);
    parser.body_limit(HttpLimits::body_bytes);
    const ReadOutcome read = co_await read_request(stream, buffer, parser);
    if (!read.ok) {
      if (!read.malformed.empty()) co_await reject_malformed(stream, counters, read.malformed);
      break;
    }
    ++counters.requests;
    const auto& req = parser.get();
    const bool head = req.method() == http::verb::head;
    const bool keep_alive = req.keep_alive();
    api::Request request{std::string(req.method_string()), std::string(req.target()),
                         std::string(req[http::field::authorization]), std::string(req[http::field::if_none_match]),
                         std::string(req[http::field::accept_encoding])};
    Answer answer;
    if (auto early = services.api.answer_from_memory(request, now_ms())) {
      if (early->live_stream && !head) {
        co_await serve_live(stream, services.live, counters, req.version());
        break;
      }
      answer = in_memory(std::move(*early));
      if (head) answer.response.body.clear();
    } else {
      answer = co_await answer_from_storage(services, std::move(request), head);
    }
    const bool written = co_await write_answer(stream, answer, req.version(), keep_alive, counters);
    if (!written || !keep_alive) break;
  }
  stream.socket().shutdown(asio::ip::tcp::socket::shutdown_send, ignored);
}

HttpCounters::HttpCounters(metrics::Registry& m)
    : requests(m.counter("sunkeep_http_requests_total", "HTTP requests read.")),
      malformed(m.counter("sunkeep_http_malformed_requests_total", "HTTP requests refused as malformed (400, 413, 431).")),
      storage_queries(m.counter("sunkeep_http_storage_queries_total", "HTTP requests answered by the query threads.")),
      answers_busy(m.counter("sunkeep_http_answers_busy_total",
                             "HTTP answers refused with 503: no room in [http] max_buffered_mb in time.")),
      write_timeouts(m.counter("sunkeep_http_write_timeouts_total",
                               "HTTP clients dropped for not taking a chunk of an answer in time.")) {}

AnswerBudget::AnswerBudget(std::uint64_t capacity_bytes, metrics::Registry& metrics) : capacity_(capacity_bytes) {
  metrics.gauge_reading("sunkeep_http_answer_bytes_held", "Bytes of HTTP answers held for clients now.", {},
                        [this] { return static_cast<double>(held()); });
  metrics.gauge_reading("sunkeep_http_answer_bytes_held_peak", "The most bytes of HTTP answers held at once.", {},
                        [this] { return static_cast<double>(peak()); });
}

}  // namespace sunkeep::server
