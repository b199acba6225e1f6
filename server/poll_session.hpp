// The I/O half of a sans-IO poller. A driver keeps the conversation with a device as an object
// that reads no clock and does no I/O (bytes and times in, events out); run_poll_session() drives
// it over a transport: on Wait it reads until bytes come or the deadline passes and hands them to
// the conversation, on Send it writes the message within the transport's write timeout, on Close
// it ends. The driver's handler gets every other event, and each Send once written and the Close,
// to count, bind, commit and log. The session also ends when the transport fails or its task is
// cancelled.
#pragma once

#include "server/connection.hpp"
#include "server/task_group.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ip/udp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/system/error_code.hpp>

#include <array>
#include <chrono>
#include <concepts>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

namespace sunkeep::server {

using PollClock = std::chrono::steady_clock;

// What a read brought: bytes (valid until the next read), none when the deadline came first, or
// the error that ended the link (eof: the peer closed it; operation_aborted: it was closed here).
struct PollRead {
  boost::system::error_code error;
  std::span<const std::uint8_t> bytes;
};

// The link a poll session talks over. A stream transport reads whatever bytes have arrived and
// writes a message whole to its one peer; a datagram transport reads one datagram from its peers and
// writes one per message, to the peer the message names.
class PollTransport {
 public:
  virtual ~PollTransport() = default;
  // Waits for bytes until `until` (time_point::max(): no deadline).
  virtual boost::asio::awaitable<PollRead> read(PollClock::time_point until) = 0;
  // Bytes that have arrived already, without waiting (none when nothing has, or on an error: the
  // next read() reports it). A transport that cannot tell returns none.
  virtual PollRead read_ready() { return {}; }
  // Writes one message to peer `peer` (0 on a stream), giving up after the write timeout.
  virtual boost::asio::awaitable<WriteResult> write(std::span<const std::uint8_t> message, std::size_t peer) = 0;
  // Ends the link: a pending read or write completes at once, later ones fail. Call it on the
  // executor the session runs on.
  virtual void close() = 0;
};

// A TCP connection, accepted or opened.
class TcpTransport final : public PollTransport {
 public:
  static constexpr std::size_t read_chunk = 2048;

  TcpTransport(boost::asio::ip::tcp::socket socket, std::chrono::milliseconds write_timeout);

  boost::asio::awaitable<PollRead> read(PollClock::time_point until) override;
  // What the socket holds already, without blocking (an end of stream is left to read()).
  PollRead read_ready() override;
  boost::asio::awaitable<WriteResult> write(std::span<const std::uint8_t> message, std::size_t peer) override;
  void close() override;

  [[nodiscard]] const boost::asio::ip::tcp::socket& socket() const { return socket_; }
  [[nodiscard]] auto executor() { return socket_.get_executor(); }

 private:
  boost::asio::ip::tcp::socket socket_;
  boost::asio::steady_timer read_timer_;
  boost::asio::steady_timer write_timer_;
  std::chrono::milliseconds write_timeout_;
  std::array<std::uint8_t, read_chunk> buffer_{};
  bool closed_ = false;
};

// A UDP socket talking to several peers, e.g. devices polled one after another from one ephemeral
// port, and optionally to a multicast group (peer index `group_peer`). Peers found later are
// added with add_peer(). A datagram from an address that is none of its peers is dropped (unless
// it has a group: answers to a multicast come from anyone). A datagram longer than max_datagram is
// cut there. A send that fails (no route, a peer
// whose address is unknown) is logged and counts as written: to the conversation it is a datagram
// lost on the way, which its timeouts handle.
class UdpTransport final : public PollTransport {
 public:
  static constexpr std::size_t max_datagram = 4096;
  static constexpr std::size_t group_peer = static_cast<std::size_t>(-1);

  // `peers[i]` is where a message for peer i goes; an unspecified address means unknown. `group`:
  // where a message for group_peer goes (none: such messages are dropped).
  UdpTransport(boost::asio::ip::udp::socket socket, std::vector<boost::asio::ip::udp::endpoint> peers,
               std::optional<boost::asio::ip::udp::endpoint> group = std::nullopt);

  // Adds a peer; returns its index.
  std::size_t add_peer(const boost::asio::ip::udp::endpoint& peer);
  [[nodiscard]] const std::vector<boost::asio::ip::udp::endpoint>& peers() const { return peers_; }

  boost::asio::awaitable<PollRead> read(PollClock::time_point until) override;
  PollRead read_ready() override;
  boost::asio::awaitable<WriteResult> write(std::span<const std::uint8_t> message, std::size_t peer) override;
  void close() override;

  // Who sent the datagram the last read returned.
  [[nodiscard]] const boost::asio::ip::udp::endpoint& sender() const { return sender_; }
  // Datagrams dropped for coming from an address that is no peer (when there is no group).
  [[nodiscard]] std::size_t strangers() const { return strangers_; }
  [[nodiscard]] boost::asio::ip::udp::socket& socket() { return socket_; }
  [[nodiscard]] const boost::asio::ip::udp::endpoint& peer(std::size_t index) const { return peers_.at(index); }

 private:
  boost::asio::ip::udp::socket socket_;
  std::vector<boost::asio::ip::udp::endpoint> peers_;
  std::optional<boost::asio::ip::udp::endpoint> group_;
  boost::asio::steady_timer read_timer_;
  boost::asio::ip::udp::endpoint sender_;
  std::array<std::uint8_t, max_datagram> buffer_{};
  std::size_t strangers_ = 0;
  bool closed_ = false;

  [[nodiscard]] bool from_a_peer();
};

// Which alternatives of a conversation's events the session acts on itself. Specialise it for each
// conversation type, naming three member types:
//   Send:  `bytes()` is the message to write (all of it on a stream, one datagram on UDP), and
//          `peer()`, if it has one, the transport's peer it goes to (else 0);
//   Wait:  `until`, a PollClock::time_point, ends the read (max(): no deadline);
//   Close: `text` says why the conversation is over.
template <class Conversation>
struct PollEvents;

template <class Conversation>
using PollEventOf = decltype(std::declval<Conversation&>().next_event(PollClock::time_point{}));

// A conversation: bytes go in with receive(bytes, now), events come out of next_event(now).
template <class C>
concept PollConversation = requires(C& conversation, std::span<const std::uint8_t> bytes, PollClock::time_point now,
                                    const typename PollEvents<C>::Send& send, const typename PollEvents<C>::Wait& wait,
                                    const typename PollEvents<C>::Close& close) {
  conversation.receive(bytes, now);
  conversation.next_event(now);
  { send.bytes() } -> std::convertible_to<std::span<const std::uint8_t>>;
  { wait.until } -> std::convertible_to<PollClock::time_point>;
  { close.text } -> std::convertible_to<std::string>;
};

// Why a poll session ended.
struct PollEnd {
  enum class Cause {
    closed,           // the conversation's Close; `reason` is its text
    read_failed,      // `error` says why (eof: the peer closed; operation_aborted: closed here)
    write_failed,     // the peer is gone, or the link was closed here
    write_timed_out,  // the peer took nothing for the write timeout
    cancelled,        // the task was cancelled (shutdown)
  };
  Cause cause = Cause::closed;
  std::string reason;
  boost::system::error_code error;
};

// Before each event the session hands the conversation what has arrived meanwhile, so that time
// the handler spent (a commit) never turns an answer that came in time into a timeout.
inline constexpr int max_ready_reads = 64;

// Runs `conversation` over `transport` until one of the ends above. `on_event(Event&&)` returns an
// awaitable<void> and gets every event but Wait: a Send once it is written, the Close last. It may
// answer the conversation (e.g. confirm a binding) before it returns. Pass it as a named variable:
// the session holds it by reference.
template <PollConversation Conversation, class Handler>
  requires std::same_as<std::invoke_result_t<Handler&, PollEventOf<Conversation>&&>, boost::asio::awaitable<void>>
boost::asio::awaitable<PollEnd> run_poll_session(Conversation& conversation, PollTransport& transport,
                                                 Handler&& on_event) {
  using Events = PollEvents<Conversation>;
  std::optional<PollEnd> end;
  while (!end) {
    if (co_await TaskGroup::cancelled()) break;
    for (int i = 0; i < max_ready_reads; ++i) {
      const PollRead ready = transport.read_ready();
      if (ready.bytes.empty()) break;
      conversation.receive(ready.bytes, PollClock::now());
    }
    PollEventOf<Conversation> event = conversation.next_event(PollClock::now());
    if (const auto* wait = std::get_if<typename Events::Wait>(&event)) {
      const PollRead read = co_await transport.read(wait->until);
      if (read.error) {
        end = PollEnd{.cause = PollEnd::Cause::read_failed, .error = read.error};
      } else if (!read.bytes.empty()) {
        conversation.receive(read.bytes, PollClock::now());
      }
      continue;
    }
    if (const auto* send = std::get_if<typename Events::Send>(&event)) {
      const auto message = send->bytes();
      std::size_t peer = 0;
      if constexpr (requires { send->peer(); }) peer = send->peer();
      const WriteResult written = co_await transport.write(std::span<const std::uint8_t>(message), peer);
      if (written == WriteResult::timed_out) end = PollEnd{.cause = PollEnd::Cause::write_timed_out};
      if (written == WriteResult::failed) end = PollEnd{.cause = PollEnd::Cause::write_failed};
      if (end) continue;
    }
    if (const auto* close = std::get_if<typename Events::Close>(&event)) {
      end = PollEnd{.cause = PollEnd::Cause::closed, .reason = close->text};
    }
    co_await on_event(std::move(event));
  }
  if (!end) co_return PollEnd{.cause = PollEnd::Cause::cancelled};
  if (end->cause != PollEnd::Cause::closed) {
    // A read or write that failed because the task was cancelled is a cancellation.
    if (co_await TaskGroup::cancelled()) end->cause = PollEnd::Cause::cancelled;
  }
  co_return std::move(*end);
}

}  // namespace sunkeep::server
