// The simulated Sermatec inverter, on plain POSIX sockets with poll() timeouts.
#include "tests/support/fake_inverter.hpp"
#include "tests/support/loopback.hpp"

#include "protocol/sermatec/frame.hpp"
#include "protocol/sermatec/frame_decoder.hpp"
#include "protocol/sermatec/rc4.hpp"
#include "tests/support/fixtures.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <stdexcept>
#include <variant>

namespace sunkeep::test {

namespace {

std::vector<std::uint8_t> dump(const std::string& name) {
  const std::string raw = fixture("sermatec/dumps/" + name);
  return {raw.begin(), raw.end()};
}

void write_all(int fd, const std::vector<std::uint8_t>& bytes) {
  std::size_t at = 0;
  while (at < bytes.size()) {
    const ssize_t n = ::send(fd, bytes.data() + at, bytes.size() - at, MSG_NOSIGNAL);
    if (n <= 0) return;
    at += static_cast<std::size_t>(n);
  }
}

}  // namespace

std::vector<std::uint8_t> answer_frame(std::uint8_t code, const std::vector<std::uint8_t>& payload) {
  return sermatec::frame_bytes(sermatec::address_inverter, sermatec::address_sunkeep, code, payload);
}

std::vector<std::uint8_t> identity_answer(int pcu, int model, const std::string& serial) {
  std::vector<std::uint8_t> payload(50, 0);
  payload[0] = static_cast<std::uint8_t>(pcu >> 8);
  payload[1] = static_cast<std::uint8_t>(pcu & 0xFF);
  payload[3] = 2;
  payload[5] = static_cast<std::uint8_t>(model);
  std::copy(serial.begin(), serial.begin() + static_cast<std::ptrdiff_t>(std::min<std::size_t>(serial.size(), 26)), payload.begin() + 6);
  return answer_frame(0x98, payload);
}

InverterBehaviour typical_inverter(const std::string& serial, int pcu) {
  InverterBehaviour b;
  b.answers[0x98] = {identity_answer(pcu, 1, serial)};
  b.answers[0x0A] = {dump("resp_0a.bin")};
  b.answers[0x0B] = {dump("resp_0b.bin")};
  b.answers[0x0C] = {dump("resp_0c_ongrid.bin")};
  b.answers[0x0D] = {dump("resp_0d.bin")};
  b.answers[0x1E] = {answer_frame(0x1E, std::vector<std::uint8_t>(16, 0))};
  b.answers[0x1F] = {answer_frame(0x1F, std::vector<std::uint8_t>(12, 0))};
  std::vector<std::uint8_t> totals(244, 0);
  totals[1] = 123;  // sum_pv_today 12.3 kWh
  b.answers[0x99] = {answer_frame(0x99, totals), answer_frame(0x9A, std::vector<std::uint8_t>(232, 0)),
                     answer_frame(0x9B, std::vector<std::uint8_t>(232, 0)), answer_frame(0x9C, std::vector<std::uint8_t>(20, 0))};
  std::vector<std::uint8_t> settings2(46, 0);
  settings2[0] = 0xEE;
  b.answers[0x95] = {answer_frame(0x95, std::vector<std::uint8_t>(148, 0)), answer_frame(0x9D, settings2)};
  return b;
}

std::unique_ptr<FakeInverter> FakeInverter::connect_to(std::uint16_t port, InverterBehaviour behaviour) {
  std::unique_ptr<FakeInverter> f(new FakeInverter(std::move(behaviour)));
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  const sockaddr_in a = loopback(port);
  if (::connect(fd, reinterpret_cast<const sockaddr*>(&a), sizeof a) != 0) throw std::runtime_error("connect failed");
  f->thread_ = std::thread([raw = f.get(), fd] { raw->serve(fd); });
  return f;
}

std::unique_ptr<FakeInverter> FakeInverter::listen(InverterBehaviour behaviour) {
  std::unique_ptr<FakeInverter> f(new FakeInverter(std::move(behaviour)));
  f->listen_fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
  const int yes = 1;
  ::setsockopt(f->listen_fd_, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
  sockaddr_in a = loopback(0);
  if (::bind(f->listen_fd_, reinterpret_cast<const sockaddr*>(&a), sizeof a) != 0 || ::listen(f->listen_fd_, 4) != 0) {
    throw std::runtime_error("listen failed");
  }
  socklen_t len = sizeof a;
  ::getsockname(f->listen_fd_, reinterpret_cast<sockaddr*>(&a), &len);
  f->port_ = ntohs(a.sin_port);
  f->thread_ = std::thread([raw = f.get()] {
    while (!raw->stopping_) {
      pollfd p{raw->listen_fd_, POLLIN, 0};
      if (::poll(&p, 1, 50) <= 0) continue;
      const int fd = ::accept(raw->listen_fd_, nullptr, nullptr);
      if (fd >= 0) raw->serve(fd);
    }
  });
  return f;
}

FakeInverter::~FakeInverter() {
  stopping_ = true;
  if (thread_.joinable()) thread_.join();
  if (listen_fd_ >= 0) ::close(listen_fd_);
}

void FakeInverter::drop_connection() {
  const int fd = current_fd_.load();
  if (fd >= 0) ::shutdown(fd, SHUT_RDWR);
}

void FakeInverter::serve(int fd) {
  ++connections_;
  current_fd_ = fd;
  const int yes = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &yes, sizeof yes);
  sermatec::FrameDecoder decoder;
  std::vector<std::uint8_t> buffer(4096);
  std::map<std::uint8_t, std::size_t> asked;
  while (!stopping_) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 50) <= 0) continue;
    const ssize_t n = ::recv(fd, buffer.data(), buffer.size(), 0);
    if (n <= 0) break;
    decoder.feed(std::span<const std::uint8_t>(buffer.data(), static_cast<std::size_t>(n)));
    while (true) {
      auto step = decoder.next();
      if (std::holds_alternative<sermatec::NeedMoreBytes>(step)) break;
      const auto* frame = std::get_if<sermatec::Frame>(&step);
      if (!frame) continue;
      {
        std::lock_guard lock(mutex_);  // one step, so plain_queries() never sees half of it
        received_.push_back(frame->raw);
        if (frame->from_rc4) ++rc4_queries_;
      }
      if (behaviour_.rc4_only && !frame->from_rc4) continue;
      const std::size_t times = asked[frame->code()]++;
      const auto later = behaviour_.later_answers.find(frame->code());
      const bool use_later = later != behaviour_.later_answers.end() && times >= later->second.first;
      const auto answers = behaviour_.answers.find(frame->code());
      if (!use_later && answers == behaviour_.answers.end()) continue;
      const auto& frames = use_later ? later->second.frames : answers->second;
      if (const auto delay = behaviour_.delays.find(frame->code()); delay != behaviour_.delays.end()) {
        std::this_thread::sleep_for(delay->second);
      }
      for (const auto& answer : frames) {
        const auto bytes = frame->from_rc4 ? sermatec::rc4_apply(answer) : answer;
        if (behaviour_.junk_between_frames) write_all(fd, {0x00, 0x13, 0x37});
        const std::size_t chunk = behaviour_.chunk == 0 ? bytes.size() : behaviour_.chunk;
        for (std::size_t at = 0; at < bytes.size(); at += chunk) {
          write_all(fd, std::vector<std::uint8_t>(bytes.begin() + static_cast<std::ptrdiff_t>(at),
                                                  bytes.begin() + static_cast<std::ptrdiff_t>(std::min(bytes.size(), at + chunk))));
        }
      }
    }
  }
  current_fd_ = -1;
  ::close(fd);
}

std::vector<std::vector<std::uint8_t>> FakeInverter::received() const {
  std::lock_guard lock(mutex_);
  return received_;
}

std::size_t FakeInverter::plain_queries() const {
  std::lock_guard lock(mutex_);
  return received_.size() - rc4_queries_;
}

std::vector<std::uint8_t> FakeInverter::query_codes() const {
  std::vector<std::uint8_t> codes;
  for (const auto& f : received()) codes.push_back(f[4]);
  return codes;
}

bool FakeInverter::wait_for_queries(std::size_t count, std::chrono::milliseconds limit) const {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    if (received().size() >= count) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return false;
}

}  // namespace sunkeep::test
