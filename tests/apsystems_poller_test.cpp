// The APsystems ECU poller as a state machine with a fake clock against a scripted ECU
// (apsystems-ecu.md §11.2): the command order, one connection per command and never two at once,
// the pause after every close, retries, the ECU id rules, the lock-up rule with its back-off and
// recovery, replies in pieces or with bytes after them, and random input that never makes it send
// anything but the three whitelisted requests.
#include "protocol/apsystems/poller.hpp"
#include "tests/support/fixtures.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <functional>
#include <random>
#include <string>
#include <variant>
#include <vector>

using namespace sunkeep;
using namespace sunkeep::apsystems;
using namespace std::chrono_literals;

namespace {

Bytes reply_fixture(const std::string& name) {
  const std::string raw = test::fixture("apsystems/" + name);
  return {raw.begin(), raw.end()};
}

std::string text(const Bytes& bytes) { return {bytes.begin(), bytes.end()}; }

// What the scripted ECU does with one connection attempt.
struct Exchange {
  bool refuse = false;         // the connect fails
  std::optional<Bytes> reply;  // none: silence until the read timeout
  bool close_after = false;    // the ECU closes the connection after writing `reply`
  std::size_t chunk = 0;       // write the reply in pieces of this size
};

// Answers 0001/0002/0030 with the typical ECU-B fixtures.
Exchange typical(Command command) {
  switch (command) {
    case Command::ecu_info: return {.reply = reply_fixture("openhab_ecub_systeminfo.bin")};
    case Command::realtime: return {.reply = reply_fixture("openhab_ds3_realtime_20230727.bin")};
    case Command::signal: return {.reply = reply_fixture("openhab_signal.bin")};
  }
  return {};
}

struct Trace {
  std::vector<Command> connects;
  std::vector<PollerTime> connect_times;
  std::vector<PollerTime> close_times;
  std::vector<std::string> sent;
  std::vector<PollerEvent> events;  // everything else
  int open = 0;
  int max_open = 0;
};

// The poller, a clock that only moves when the poller waits, and an ECU answering by `script`.
struct Harness {
  explicit Harness(PollerSettings s = defaults()) : settings(s), poller(s, start) {}

  static PollerSettings defaults() {
    PollerSettings s;
    s.poll_interval = 60s;
    s.command_pause = 3s;
    s.connect_timeout = 5s;
    s.read_timeout = 5s;
    s.retries = 2;
    return s;
  }

  void run_until(PollerTime end) {
    for (int guard = 0; guard < 100'000; ++guard) {
      PollerEvent event = poller.next_event(now);
      if (const auto* wait = std::get_if<Wait>(&event)) {
        if (wait->until > end) {
          now = end;
          return;
        }
        now = std::max(now, wait->until);
      } else if (const auto* connect = std::get_if<Connect>(&event)) {
        open_connection(*connect);
      } else if (const auto* send = std::get_if<Send>(&event)) {
        trace.sent.push_back(text(send->request));
        answer();
      } else if (std::holds_alternative<Close>(event)) {
        --trace.open;
        trace.close_times.push_back(now);
      } else {
        trace.events.push_back(std::move(event));
      }
    }
    FAIL("the poller never waited");
  }

  void open_connection(const Connect& connect) {
    trace.connects.push_back(connect.command);
    trace.connect_times.push_back(now);
    exchange = script(connect.command);
    if (exchange.refuse) {
      now += 1s;
      poller.connect_failed(now, "refused");
      return;
    }
    ++trace.open;
    trace.max_open = std::max(trace.max_open, trace.open);
    poller.connected(now);
  }

  void answer() {
    if (!exchange.reply) return;  // silence: the read deadline passes
    now += 50ms;
    const Bytes& reply = *exchange.reply;
    const std::size_t chunk = exchange.chunk ? exchange.chunk : reply.size();
    for (std::size_t at = 0; at < reply.size() && poller.connection_open(); at += chunk) {
      const std::size_t n = std::min(chunk, reply.size() - at);
      poller.receive(std::span<const std::uint8_t>(reply).subspan(at, n), now);
    }
    if (exchange.close_after && poller.connection_open()) {
      --trace.open;
      trace.close_times.push_back(now);
      poller.connection_lost(now, "closed by the ECU");
    }
  }

  template <class T>
  std::vector<T> all() const {
    std::vector<T> out;
    for (const auto& e : trace.events) {
      if (const auto* x = std::get_if<T>(&e)) out.push_back(*x);
    }
    return out;
  }

  PollerSettings settings;
  PollerTime start{std::chrono::hours(1000)};
  PollerTime now = start;
  Poller poller;
  std::function<Exchange(Command)> script = typical;
  Exchange exchange;
  Trace trace;
};

// No two connections at once, and every connect at least command_pause after the last close.
void check_connection_rules(const Harness& h) {
  CHECK(h.trace.max_open <= 1);
  for (const PollerTime connect : h.trace.connect_times) {
    PollerTime last_close{};
    for (const PollerTime close : h.trace.close_times) {
      if (close <= connect) last_close = std::max(last_close, close);
    }
    if (last_close != PollerTime{}) CHECK(connect - last_close >= h.settings.command_pause);
  }
}

}  // namespace

TEST_CASE("apsystems poller: a cycle is 0001, 0002, 0030, each on its own connection, a pause after every close") {
  Harness h;
  h.run_until(h.start + 150s);
  REQUIRE(h.trace.connects.size() >= 6);
  const std::vector<Command> first_two_cycles(h.trace.connects.begin(), h.trace.connects.begin() + 6);
  CHECK(first_two_cycles == std::vector<Command>{Command::ecu_info, Command::realtime, Command::signal, Command::ecu_info,
                                                 Command::realtime, Command::signal});
  CHECK(h.trace.sent[0] == test::fixture("apsystems/req_ecu_info.txt"));
  CHECK(h.trace.sent[1] == test::fixture("apsystems/req_realtime_216300090693.txt"));
  CHECK(h.trace.sent[2] == test::fixture("apsystems/req_signal_216300090693.txt"));
  CHECK(h.trace.close_times.size() == h.trace.connects.size() - (h.trace.open ? 1 : 0));
  check_connection_rules(h);
  // The second cycle starts one poll_interval after the first.
  CHECK(h.trace.connect_times[3] - h.trace.connect_times[0] == 60s);
  CHECK(h.all<Answered>().size() >= 6);
  CHECK(h.all<Unreachable>().empty());
  CHECK(h.poller.ecu_id() == "216300090693");
}

TEST_CASE("apsystems poller: the id is learned from 0001 once, a configured id that differs is replaced with a warning") {
  SUBCASE("learned") {
    Harness h;
    h.run_until(h.start + 150s);
    const auto known = h.all<IdKnown>();
    REQUIRE(known.size() == 1);
    CHECK(known[0].id == "216300090693");
    CHECK_FALSE(known[0].differs_from_configured);
  }
  SUBCASE("configured and different") {
    auto settings = Harness::defaults();
    settings.ecu_id = "216300000001";
    Harness h(settings);
    h.run_until(h.start + 30s);
    const auto known = h.all<IdKnown>();
    REQUIRE(known.size() == 2);
    CHECK(known[0].id == "216300000001");
    CHECK(known[1].id == "216300090693");
    CHECK(known[1].differs_from_configured);
    REQUIRE(h.trace.sent.size() == 3);
    CHECK(h.trace.sent[1] == "APS1100280002216300090693END\n");
  }
}

TEST_CASE("apsystems poller: a failed command is retried up to `retries` times, each after the pause") {
  Harness h;
  int refusals = 0;
  h.script = [&](Command command) {
    if (command == Command::realtime && refusals < 2) {
      ++refusals;
      return Exchange{.refuse = true};
    }
    return typical(command);
  };
  h.run_until(h.start + 40s);
  CHECK(h.trace.connects == std::vector<Command>{Command::ecu_info, Command::realtime, Command::realtime,
                                                 Command::realtime, Command::signal});
  const auto failures = h.all<AttemptFailed>();
  REQUIRE(failures.size() == 2);
  CHECK(failures[0].why == AttemptFailed::Why::connect_failed);
  CHECK_FALSE(failures[1].last);
  // A retry after a refused connect (refused 1 s after it began) also waits the pause.
  CHECK(h.trace.connect_times[2] - (h.trace.connect_times[1] + 1s) >= 3s);
  check_connection_rules(h);
}

TEST_CASE("apsystems poller: 0001 failing with no id known ends the cycle, with a configured id 0002 and 0030 follow") {
  auto refuse_info = [](Command command) { return command == Command::ecu_info ? Exchange{.refuse = true} : typical(command); };
  SUBCASE("no id") {
    Harness h;
    h.script = refuse_info;
    h.run_until(h.start + 50s);
    CHECK(h.trace.connects == std::vector<Command>(3, Command::ecu_info));
    const auto ended = h.all<CycleEnded>();
    REQUIRE(ended.size() == 1);
    CHECK_FALSE(ended[0].succeeded);
    CHECK(h.all<AttemptFailed>().back().last);
  }
  SUBCASE("configured id") {
    auto settings = Harness::defaults();
    settings.ecu_id = "216300090693";
    Harness h(settings);
    h.script = refuse_info;
    h.run_until(h.start + 50s);
    CHECK(h.trace.connects == std::vector<Command>{Command::ecu_info, Command::ecu_info, Command::ecu_info,
                                                   Command::realtime, Command::signal});
    CHECK(h.trace.sent.back() == "APS1100280030216300090693END\n");
    REQUIRE(h.all<CycleEnded>().size() == 1);
    CHECK(h.all<CycleEnded>()[0].succeeded);
  }
}

TEST_CASE("apsystems poller: silence times out at read_timeout, bad replies are invalid or malformed, all are retried") {
  Bytes bad_end = reply_fixture("openhab_ds3_realtime_20230727.bin");
  bad_end[bad_end.size() - 2] = 'X';
  Bytes bad_firmware_length = reply_fixture("openhab_ecub_systeminfo.bin");
  bad_firmware_length[52] = 'x';
  Bytes bad_length = reply_fixture("openhab_signal.bin");
  bad_length[6] = 'Z';
  struct Case {
    Command command;
    Exchange exchange;
    AttemptFailed::Why why;
  };
  const std::vector<Case> cases{
      {Command::realtime, Exchange{.reply = std::nullopt}, AttemptFailed::Why::timed_out},
      {Command::realtime, Exchange{.reply = bad_end}, AttemptFailed::Why::invalid},
      {Command::ecu_info, Exchange{.reply = bad_firmware_length}, AttemptFailed::Why::malformed},
      {Command::signal, Exchange{.reply = bad_length}, AttemptFailed::Why::invalid},
  };
  for (const auto& c : cases) {
    auto settings = Harness::defaults();
    settings.ecu_id = "216300090693";
    Harness h(settings);
    h.script = [&](Command command) { return command == c.command ? c.exchange : typical(command); };
    h.run_until(h.start + 59s);
    const auto failures = h.all<AttemptFailed>();
    REQUIRE(failures.size() == 3);
    for (const auto& f : failures) CHECK(f.why == c.why);
    CHECK(failures[2].last);
    CHECK(std::count(h.trace.connects.begin(), h.trace.connects.end(), c.command) == 3);
    if (c.exchange.reply) CHECK(failures[0].reply == *c.exchange.reply);
    check_connection_rules(h);
  }
}

TEST_CASE("apsystems poller: a reply in pieces is read to its announced length, bytes after it are counted, not read") {
  Harness h;
  h.script = [](Command command) {
    Exchange e = typical(command);
    e.chunk = 5;
    if (command == Command::signal) e.reply->push_back('!');
    return e;
  };
  h.run_until(h.start + 30s);
  const auto answered = h.all<Answered>();
  REQUIRE(answered.size() == 3);
  CHECK(answered[2].reply == reply_fixture("openhab_signal.bin"));
  const auto extra = h.all<ExtraBytes>();
  REQUIRE(extra.size() == 1);
  CHECK(extra[0].command == Command::signal);
}

TEST_CASE("apsystems poller: the ECU closing before the whole reply is a failed attempt, retried") {
  Harness h;
  int cuts = 0;
  h.script = [&](Command command) {
    Exchange e = typical(command);
    if (command == Command::realtime && cuts++ == 0) {
      e.reply->resize(20);
      e.close_after = true;
    }
    return e;
  };
  h.run_until(h.start + 40s);
  const auto failures = h.all<AttemptFailed>();
  REQUIRE(failures.size() == 1);
  CHECK(failures[0].why == AttemptFailed::Why::closed_early);
  CHECK(failures[0].reply.size() == 20);
  CHECK(h.all<Answered>().size() == 3);
  check_connection_rules(h);
}

TEST_CASE("apsystems poller: three failed cycles make the ECU unreachable, the interval doubles to 15 min, one success resets it") {
  Harness h;
  bool locked = true;
  h.script = [&](Command command) { return locked ? Exchange{.refuse = true} : typical(command); };
  h.run_until(h.start + 2h);
  const auto unreachable = h.all<Unreachable>();
  REQUIRE(unreachable.size() == 1);
  CHECK(unreachable[0].failed_cycles == 3);
  // Cycle starts: 0, 60, 120 (third failure), then 180, 300, 540, 1020, 1920 (15 min cap), 2820, …
  std::vector<PollerTime> cycle_starts;
  for (std::size_t i = 0; i < h.trace.connect_times.size(); i += 3) cycle_starts.push_back(h.trace.connect_times[i]);
  REQUIRE(cycle_starts.size() >= 8);
  std::vector<std::chrono::seconds> gaps;
  for (std::size_t i = 1; i < 8; ++i) gaps.push_back(std::chrono::duration_cast<std::chrono::seconds>(cycle_starts[i] - cycle_starts[i - 1]));
  CHECK(gaps == std::vector<std::chrono::seconds>{60s, 60s, 60s, 120s, 240s, 480s, 900s});
  CHECK(h.poller.unreachable());
  locked = false;
  const std::size_t connects_before = h.trace.connects.size();
  h.run_until(h.now + 16min);
  CHECK(h.trace.connects.size() > connects_before);
  CHECK(h.all<Recovered>().size() == 1);
  CHECK_FALSE(h.poller.unreachable());
  const std::size_t after_recovery = h.trace.connect_times.size();
  h.run_until(h.now + 5min);
  // Back to one cycle a minute.
  CHECK(h.trace.connect_times.size() - after_recovery >= 12);
  CHECK(h.all<Unreachable>().size() == 1);
  check_connection_rules(h);
}

TEST_CASE("apsystems poller: random replies never crash it, never open two connections and send only 0001/0002/0030") {
  std::mt19937 random(20261207);
  const std::vector<Bytes> seeds{reply_fixture("openhab_ecub_systeminfo.bin"), reply_fixture("openhab_ds3_realtime_20230727.bin"),
                                 reply_fixture("openhab_signal.bin"), reply_fixture("ksheumaker6_ecuc_yc1000_realtime.bin")};
  Harness h;
  h.script = [&](Command) {
    Exchange e;
    switch (random() % 5) {
      case 0: e.refuse = true; return e;
      case 1: return e;  // silence
      default: break;
    }
    Bytes reply = seeds[random() % seeds.size()];
    const auto flips = random() % 4;
    for (unsigned i = 0; i < flips; ++i) reply[random() % reply.size()] = static_cast<std::uint8_t>(random());
    if (random() % 3 == 0) reply.resize(random() % reply.size());
    e.reply = reply;
    e.chunk = 1 + random() % 40;
    e.close_after = random() % 4 == 0;
    return e;
  };
  h.run_until(h.start + 12h);
  CHECK(h.trace.connects.size() > 100);
  for (const auto& sent : h.trace.sent) {
    const bool whitelisted = sent == "APS1100160001END\n" ||
                             (sent.size() == 29 && (sent.starts_with("APS1100280002") || sent.starts_with("APS1100280030")) &&
                              sent.ends_with("END\n"));
    CHECK_MESSAGE(whitelisted, sent);
  }
  check_connection_rules(h);
}

TEST_CASE("apsystems poller: a new id in 0001 replaces the old one for the following requests") {
  Harness h;
  int infos = 0;
  const Bytes other_ecu = reply_fixture("mihol_ecub_systeminfo.bin");
  h.script = [&](Command command) {
    if (command == Command::ecu_info && infos++ > 0) return Exchange{.reply = other_ecu};
    return typical(command);
  };
  h.run_until(h.start + 90s);
  const auto known = h.all<IdKnown>();
  REQUIRE(known.size() == 2);
  CHECK(known[1].id == "216300007004");
  CHECK(known[1].previous == "216300090693");
  REQUIRE(h.trace.sent.size() == 6);
  CHECK(h.trace.sent[4] == "APS1100280002216300007004END\n");
}

TEST_CASE("apsystems poller: replies saying 'no data' (status 01) are answers: the ECU stays reachable") {
  const std::string none_0002 = "APS1100180002" "01" "END\n";
  const std::string none_0030 = "APS1100180030" "01" "END\n";
  auto settings = Harness::defaults();
  settings.ecu_id = "216300090693";
  Harness h(settings);
  h.script = [&](Command command) {
    if (command == Command::ecu_info) return Exchange{.refuse = true};
    const std::string& reply = command == Command::realtime ? none_0002 : none_0030;
    return Exchange{.reply = Bytes(reply.begin(), reply.end())};
  };
  h.run_until(h.start + 10min);
  CHECK(h.all<Unreachable>().empty());
  const auto answered = h.all<Answered>();
  REQUIRE(answered.size() >= 10);
  CHECK(std::get<Realtime>(answered[0].decoded).no_data());
  for (const auto& ended : h.all<CycleEnded>()) CHECK(ended.succeeded);
}

TEST_CASE("apsystems poller: a connect that outlasts connect_timeout fails the attempt") {
  Harness h;
  auto event = h.poller.next_event(h.now);
  while (!std::holds_alternative<Connect>(event)) event = h.poller.next_event(h.now);
  const auto until = std::get<Connect>(event).until;
  CHECK(until == h.now + 5s);
  const auto wait = h.poller.next_event(h.now);
  REQUIRE(std::holds_alternative<Wait>(wait));
  CHECK(std::get<Wait>(wait).until == until);
  const auto failed = h.poller.next_event(until);
  REQUIRE(std::holds_alternative<AttemptFailed>(failed));
  CHECK(std::get<AttemptFailed>(failed).why == AttemptFailed::Why::connect_failed);
  h.poller.connected(until);  // too late: ignored
  const auto next = h.poller.next_event(until);
  REQUIRE(std::holds_alternative<Wait>(next));
  CHECK(std::get<Wait>(next).until == until + 3s);
}

TEST_CASE("apsystems poller: bytes that cannot begin a reply end the attempt at once") {
  Harness h;
  h.script = [](Command command) {
    if (command != Command::ecu_info) return typical(command);
    const std::string junk = "HTTP/1.1 400";
    return Exchange{.reply = Bytes(junk.begin(), junk.end()), .chunk = 1};
  };
  h.run_until(h.start + 1s);
  const auto failures = h.all<AttemptFailed>();
  REQUIRE(failures.size() == 1);
  CHECK(failures[0].why == AttemptFailed::Why::invalid);
  CHECK(failures[0].reply.size() == 1);
}
