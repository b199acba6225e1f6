// The SMA poller as a state machine with a fake clock against simulated inverters
// (sma-speedwire.md §9.2–§9.4): log in once, the cycle in table order, retries with new packet ids,
// unsupported rows, a lost login, a refused password, silent devices, two inverters one after
// another, and random input that never makes it send anything off the whitelist.
#include "protocol/sma/poller.hpp"
#include "tests/support/fixtures.hpp"
#include "tests/support/sma_device.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <array>
#include <deque>
#include <random>
#include <variant>

using namespace sunkeep;
using namespace sunkeep::sma;
using sunkeep::test::Bytes;
using sunkeep::test::SimulatedInverter;
using namespace std::chrono_literals;

namespace {

// The poller, its inverters and a clock that only moves when the poller waits.
struct Harness {
  explicit Harness(std::vector<SimulatedInverter> simulated = {SimulatedInverter{}}, PollerSettings settings = defaults())
      : devices(std::move(simulated)), poller(settings, logins(devices), now) {}

  static PollerSettings defaults() {
    PollerSettings s;
    s.poll_interval = 30s;
    s.timeout = 2s;
    s.retries = 2;
    s.source_serial = 975748674;
    s.unix_seconds_at_start = 1'700'000'000;
    return s;
  }

  static std::vector<InverterLogin> logins(const std::vector<SimulatedInverter>& devices) {
    std::vector<InverterLogin> out;
    out.assign(devices.size(), InverterLogin{UserGroup::user, *encode_password("0000", UserGroup::user)});
    return out;
  }

  // Plays the conversation until the clock reaches `end`; replies arrive at once.
  void run_until(PollerTime end) {
    for (int guard = 0; guard < 1'000'000; ++guard) {
      PollerEvent event = poller.next_event(now);
      if (const auto* wait = std::get_if<Wait>(&event)) {
        if (!replies.empty()) {
          poller.receive(replies.front(), now);
          replies.pop_front();
          continue;
        }
        if (wait->until > end) {
          now = end;
          return;
        }
        now = std::max(now, wait->until);
        continue;
      }
      if (const auto* send = std::get_if<Send>(&event)) {
        sent.push_back(*send);
        if (auto reply = devices.at(send->inverter).answer(send->datagram)) replies.push_back(*reply);
      }
      events.push_back(std::move(event));
    }
    FAIL("the poller never waited");
  }
  void run_for(std::chrono::milliseconds span) { run_until(now + span); }

  template <class E>
  [[nodiscard]] std::vector<E> all() const {
    std::vector<E> out;
    for (const auto& e : events) {
      if (const auto* x = std::get_if<E>(&e)) out.push_back(*x);
    }
    return out;
  }
  [[nodiscard]] std::size_t count_commands(std::uint32_t command, std::size_t inverter = 0) const {
    return static_cast<std::size_t>(std::count(devices[inverter].commands.begin(), devices[inverter].commands.end(), command));
  }
  [[nodiscard]] std::vector<std::uint32_t> firsts_sent() const {
    std::vector<std::uint32_t> out;
    for (const auto& s : sent) {
      if (auto p = parse_inverter_packet(s.datagram)) out.push_back(p->first);
    }
    return out;
  }

  PollerTime now{std::chrono::hours(1000)};
  std::vector<SimulatedInverter> devices;
  Poller poller;
  std::deque<Bytes> replies;
  std::vector<Send> sent;
  std::vector<PollerEvent> events;
};

std::vector<std::uint32_t> per_cycle_firsts() {
  std::vector<std::uint32_t> out;
  for (const auto& row : query_table()) {
    if (row.use == QueryUse::per_cycle) out.push_back(row.first);
  }
  return out;
}

}  // namespace

TEST_CASE("sma poller: identifies, logs in once, reads version and type, then the cycle in table order") {
  Harness h;
  h.run_for(1s);
  const auto& commands = h.devices[0].commands;
  REQUIRE(commands.size() >= 4);
  CHECK(commands[0] == command_identify);
  CHECK(commands[1] == command_login);
  const auto firsts = h.firsts_sent();
  CHECK(firsts[2] == row_of(Query::software_version).first);
  CHECK(firsts[3] == row_of(Query::type_label).first);
  // Then every per-cycle row in table order (battery rows once: they answer 0x0015).
  const std::vector<std::uint32_t> cycle(firsts.begin() + 4, firsts.end());
  CHECK(cycle == per_cycle_firsts());
  CHECK(h.all<Identified>().size() == 1);
  CHECK(h.all<Identified>()[0].device == Address{378, 3010538116});
  CHECK(h.all<LoggedIn>().size() == 1);

  // Three more cycles: no identify, no login, battery rows no more.
  h.run_for(95s);
  CHECK(h.all<CycleStarted>().size() == 4);
  CHECK(h.count_commands(command_identify) == 1);
  CHECK(h.count_commands(command_login) == 1);
  const auto battery = row_of(Query::battery_soc).first;
  const auto firsts_now = h.firsts_sent();
  CHECK(std::count(firsts_now.begin(), firsts_now.end(), battery) == 1);
  CHECK(h.poller.unsupported(0, Query::battery_soc));
}

TEST_CASE("sma poller: every send carries a new packet id and the request's reply must echo it") {
  SimulatedInverter device;
  device.silent = {row_of(Query::temperature).first};
  Harness h({device});
  h.run_for(10s);
  std::vector<std::uint16_t> ids;
  for (const auto& s : h.sent) ids.push_back(parse_inverter_packet(s.datagram)->packet_id);
  for (auto id : ids) CHECK((id & 0x8000) != 0);
  std::vector<std::uint16_t> sorted = ids;
  std::sort(sorted.begin(), sorted.end());
  CHECK(std::adjacent_find(sorted.begin(), sorted.end()) == sorted.end());
  // The silent query: 1 + 2 retries, then it fails and the cycle goes on.
  const auto firsts = h.firsts_sent();
  CHECK(std::count(firsts.begin(), firsts.end(), row_of(Query::temperature).first) == 3);
  const auto failed = h.all<RequestFailed>();
  REQUIRE(std::count_if(failed.begin(), failed.end(), [](const RequestFailed& f) { return f.why == RequestFailed::Why::timed_out; }) == 1);
  CHECK(std::find(firsts.begin(), firsts.end(), row_of(Query::device_status).first) != firsts.end());
}

TEST_CASE("sma poller: a reply with another packet id, command or source is dropped and does not extend the wait") {
  SimulatedInverter device;
  Harness h({device});
  // Stop right after the identify goes out.
  PollerEvent first = h.poller.next_event(h.now);
  CHECK(std::holds_alternative<CycleStarted>(first));
  PollerEvent send = h.poller.next_event(h.now);
  REQUIRE(std::holds_alternative<Send>(send));
  const Bytes request = std::get<Send>(send).datagram;
  const auto wait = h.poller.next_event(h.now);
  REQUIRE(std::holds_alternative<Wait>(wait));
  const auto deadline = std::get<Wait>(wait).until;

  Bytes other_id = test::sma_reply(request, device.address, 0, {});
  other_id[40] ^= 0x01;
  Bytes other_command = test::sma_reply(request, device.address, 0, {});
  other_command[42] ^= 0x04;
  h.poller.receive(other_id, h.now + 1s);
  h.poller.receive(other_command, h.now + 1s);
  h.poller.receive(Bytes{1, 2, 3}, h.now + 1s);
  int unanswered = 0;
  int malformed = 0;
  for (int i = 0; i < 5; ++i) {
    auto e = h.poller.next_event(h.now + 1s);
    if (const auto* u = std::get_if<Unanswered>(&e)) {
      ++unanswered;
      if (!u->well_formed) ++malformed;
      continue;
    }
    REQUIRE(std::holds_alternative<Wait>(e));
    CHECK(std::get<Wait>(e).until == deadline);
    break;
  }
  CHECK(unanswered == 3);
  CHECK(malformed == 1);
}

TEST_CASE("sma poller: cycles start at a fixed rate and never overlap") {
  SimulatedInverter device;
  device.silent = {row_of(Query::temperature).first, row_of(Query::device_status).first, row_of(Query::grid_relay).first};
  auto settings = Harness::defaults();
  settings.poll_interval = 10s;  // a cycle with three silent queries lasts 18 s: late cycles start at once
  Harness h({device}, settings);
  std::vector<PollerTime> starts;
  for (int step = 0; step < 120; ++step) {
    const auto before = h.all<CycleStarted>().size();
    h.run_for(500ms);
    if (h.all<CycleStarted>().size() > before) starts.push_back(h.now);
  }
  REQUIRE(starts.size() >= 3);
  for (std::size_t i = 1; i < starts.size(); ++i) CHECK(starts[i] - starts[i - 1] >= 17s);

  Harness fast;
  fast.run_for(91s);
  CHECK(fast.all<CycleStarted>().size() == 4);  // at 0, 30, 60 and 90 s
}

TEST_CASE("sma poller: a lost login (0x0017) logs in again and repeats that query once") {
  Harness h;
  h.run_for(1s);
  h.devices[0].logged_in = false;  // the inverter forgot the session
  h.run_for(30s);
  CHECK(h.count_commands(command_login) == 2);
  CHECK(h.all<LoggedIn>().size() == 2);
  // The query that met 0x0017 was asked again after the new login, after version and type label.
  const auto firsts = h.firsts_sent();
  const auto energy = row_of(Query::energy).first;
  CHECK(std::count(firsts.begin(), firsts.end(), energy) == 3);
}

TEST_CASE("sma poller: a query silent three cycles in a row while others answer becomes unsupported until the next login") {
  SimulatedInverter device;
  device.silent = {row_of(Query::grid_relay).first};
  Harness h({device});
  h.run_for(70s);  // cycles at 0, 30, 60 s, each waiting 6 s for the silent one
  CHECK(h.poller.unsupported(0, Query::grid_relay));
  const auto before = h.firsts_sent();
  h.run_for(30s);
  const auto after = h.firsts_sent();
  CHECK(std::count(after.begin(), after.end(), row_of(Query::grid_relay).first) ==
        std::count(before.begin(), before.end(), row_of(Query::grid_relay).first));
}

TEST_CASE("sma poller: a device that answers nothing is identified and logged in afresh next cycle") {
  Harness h;
  h.run_for(1s);
  h.devices[0].answers_nothing = true;
  const auto sent_before = h.sent.size();
  h.run_for(50s);
  CHECK(h.all<InverterSilent>().size() == 1);
  CHECK(h.sent.size() - sent_before == 9);  // three queries with 2 retries each: then the turn ends
  CHECK(!h.poller.logged_in(0));
  h.devices[0].answers_nothing = false;
  h.run_for(30s);
  CHECK(h.count_commands(command_identify) == 2);  // the first cycle and the one after the silence
  CHECK(h.all<LoggedIn>().size() == 2);
}

TEST_CASE("sma poller: a refused password raises AuthFailed and no login is tried for 15 minutes") {
  SimulatedInverter device;
  device.password = "right";
  Harness h({device});
  const PollerTime start = h.now;
  h.run_for(1s);
  REQUIRE(h.all<AuthFailed>().size() == 1);
  CHECK(h.all<AuthFailed>()[0].until == start + 15min);
  CHECK(h.count_commands(command_login) == 1);
  // Nothing else is asked of it meanwhile.
  h.run_for(14min);
  CHECK(h.count_commands(command_login) == 1);
  CHECK(h.sent.size() == 2);
  h.run_for(2min);
  CHECK(h.count_commands(command_login) == 2);
}

TEST_CASE("sma poller: two inverters are polled one after another, and one device behind two hosts only once") {
  SimulatedInverter second;
  second.address = {379, 3010538200};
  Harness h({SimulatedInverter{}, second});
  h.run_for(25s);
  // Every request to inverter 0 comes before any to inverter 1, within the cycle.
  std::size_t last_first = 0;
  std::size_t first_second = h.sent.size();
  for (std::size_t i = 0; i < h.sent.size(); ++i) {
    if (h.sent[i].inverter == 0) last_first = i;
    if (h.sent[i].inverter == 1 && i < first_second) first_second = i;
  }
  CHECK(last_first < first_second);
  CHECK(h.all<Identified>().size() == 2);

  Harness twice({SimulatedInverter{}, SimulatedInverter{}});
  twice.run_for(65s);
  CHECK(twice.count_commands(command_identify, 1) == 1);
  CHECK(twice.count_commands(command_login, 1) == 0);
  CHECK(twice.all<Identified>().size() == 1);
}

TEST_CASE("sma poller: logoffs go to logged-in inverters only") {
  SimulatedInverter refused;
  refused.password = "other";
  refused.address = {379, 1};
  Harness h({SimulatedInverter{}, refused});
  h.run_for(5s);
  const auto logoffs = h.poller.logoffs(h.now);
  REQUIRE(logoffs.size() == 1);
  CHECK(logoffs[0].inverter == 0);
  CHECK(parse_inverter_packet(logoffs[0].datagram)->command == command_logoff);
  CHECK(h.poller.logoffs(h.now).empty());
}

TEST_CASE("sma poller: random replies, errors and junk at random times never make it send off the whitelist") {
  std::mt19937 random(20261207);
  for (int round = 0; round < 200; ++round) {
    SimulatedInverter other;
    other.address = {379, 42};
    std::vector<SimulatedInverter> devices{SimulatedInverter{}, other};
    Poller poller(Harness::defaults(), Harness::logins(devices), PollerTime{});
    PollerTime now{};
    std::optional<Bytes> reply;
    for (int step = 0; step < 300; ++step) {
      PollerEvent event = poller.next_event(now);
      if (const auto* send = std::get_if<Send>(&event)) {
        const auto p = parse_inverter_packet(send->datagram);
        REQUIRE(p);
        const bool known = p->command == command_identify || p->command == command_login ||
                           std::any_of(query_table().begin(), query_table().end(), [&](const QueryRow& r) {
                             return r.command == p->command && r.first == p->first && r.last == p->last;
                           });
        REQUIRE(known);
        if (random() % 3 != 0) reply = devices[send->inverter].answer(send->datagram);
        if (reply && random() % 4 == 0) {
          static constexpr std::array<std::uint16_t, 5> errors{0x0017, 0x0015, 0x0100, 0x0001, 0xFFFF};
          const auto error = errors[random() % errors.size()];
          (*reply)[36] = static_cast<std::uint8_t>(error);
          (*reply)[37] = static_cast<std::uint8_t>(error >> 8);
        }
        continue;
      }
      if (std::holds_alternative<Wait>(event)) {
        if (reply && random() % 4 != 0) {
          poller.receive(*reply, now);
          reply.reset();
          continue;
        }
        now += std::chrono::milliseconds(random() % 3000);
        if (random() % 2 == 0) {
          Bytes junk(random() % 120);
          for (auto& b : junk) b = static_cast<std::uint8_t>(random());
          if (junk.size() > 20 && random() % 2 == 0) {
            // A plausible header around random content.
            const Bytes head{'S', 'M', 'A', 0, 0, 4, 2, 0xA0, 0, 0, 0, 1};
            std::copy(head.begin(), head.end(), junk.begin());
          }
          poller.receive(junk, now);
        }
      }
    }
  }
}

TEST_CASE("sma poller: discovery asks the multicast group at start and hourly, and found inverters are polled") {
  auto settings = Harness::defaults();
  settings.discovery = true;
  Poller poller(settings, {}, PollerTime{});
  PollerTime now{};
  REQUIRE(std::holds_alternative<CycleStarted>(poller.next_event(now)));
  PollerEvent first = poller.next_event(now);
  REQUIRE(std::holds_alternative<Send>(first));
  CHECK(std::get<Send>(first).inverter == multicast_group);
  CHECK(std::get<Send>(first).datagram == build_discovery());
  const std::string reply = test::fixture("sma/sbfspot541_discovery_resp_192.168.0.106.bin");
  poller.receive(Bytes(reply.begin(), reply.end()), now + 100ms);
  PollerEvent found = poller.next_event(now + 100ms);
  REQUIRE(std::holds_alternative<Discovered>(found));
  CHECK(std::get<Discovered>(found).address == std::array<std::uint8_t, 4>{192, 168, 0, 106});
  CHECK(poller.add_inverter({UserGroup::user, *encode_password("0000", UserGroup::user)}) == 0);
  // After the listening time (`timeout`), the cycle goes on with the inverter found.
  PollerEvent wait = poller.next_event(now + 100ms);
  REQUIRE(std::holds_alternative<Wait>(wait));
  CHECK(std::get<Wait>(wait).until == now + 2s);
  PollerEvent identify = poller.next_event(now + 2s);
  REQUIRE(std::holds_alternative<Send>(identify));
  CHECK(std::get<Send>(identify).inverter == 0);
  CHECK(std::get<Send>(identify).step == Step::identify);

  // No discovery in the next cycles of the hour; one again after it.
  int discoveries = 0;
  for (PollerTime t = now + 2s; t < now + 61min; t += 1s) {
    for (int i = 0; i < 10; ++i) {
      PollerEvent e = poller.next_event(t);
      if (std::holds_alternative<Wait>(e)) break;
      if (const auto* s = std::get_if<Send>(&e); s && s->step == Step::discovery) ++discoveries;
    }
  }
  CHECK(discoveries == 1);
}

TEST_CASE("sma poller: without inverters and without discovery it sends nothing") {
  Poller poller(Harness::defaults(), {}, PollerTime{});
  CHECK(std::holds_alternative<Close>(poller.next_event(PollerTime{})));
  CHECK(std::holds_alternative<Close>(poller.next_event(PollerTime{} + 1h)));
}

namespace {

// Steps the poller at `h.now` until it sends, returning what it sent (events meanwhile are kept).
Send next_send(Harness& h) {
  for (int i = 0; i < 100; ++i) {
    PollerEvent e = h.poller.next_event(h.now);
    if (auto* s = std::get_if<Send>(&e)) return *s;
    if (const auto* w = std::get_if<Wait>(&e)) h.now = w->until;
  }
  FAIL("no send");
  return {};
}

}  // namespace

TEST_CASE("sma poller: a query reply from another device is dropped and does not extend the wait") {
  Harness h;
  h.run_for(1s);  // identified and logged in; the next cycle starts with a query
  h.now += 29s;
  const Send query = next_send(h);
  REQUIRE(query.step == Step::query);
  PollerEvent wait = h.poller.next_event(h.now);
  REQUIRE(std::holds_alternative<Wait>(wait));
  h.poller.receive(test::sma_reply(query.datagram, Address{378, 12345}, 0, {}), h.now + 1s);
  PollerEvent e = h.poller.next_event(h.now + 1s);
  REQUIRE(std::holds_alternative<Unanswered>(e));
  CHECK(std::get<Unanswered>(e).well_formed);
  e = h.poller.next_event(h.now + 1s);
  REQUIRE(std::holds_alternative<Wait>(e));
  CHECK(std::get<Wait>(e).until == std::get<Wait>(wait).until);
}

TEST_CASE("sma poller: a device that keeps losing its login is logged in at most twice a cycle and the others are polled") {
  SimulatedInverter forgetful;
  forgetful.forgets_login = true;
  SimulatedInverter second;
  second.address = {379, 3010538200};
  Harness h({forgetful, second});
  h.run_for(65s);  // cycles at 0, 30 and 60 s
  CHECK(h.all<CycleStarted>().size() == 3);
  CHECK(h.count_commands(command_login, 0) <= 6);
  CHECK(h.count_commands(command_login, 1) == 1);
  const auto& commands = h.devices[1].commands;
  CHECK(std::count(commands.begin(), commands.end(), row_of(Query::energy).command) >= 3);
}

TEST_CASE("sma poller: queries silent from the start of every turn become unsupported without new logins") {
  SimulatedInverter device;
  device.silent = {row_of(Query::energy).first, row_of(Query::dc_power).first, row_of(Query::dc_volt_amp).first};
  Harness h({device});
  h.run_for(100s);  // cycles at 0, 30, 60 and 90 s
  CHECK(h.count_commands(command_login) == 1);
  CHECK(h.all<InverterSilent>().empty());
  CHECK(h.poller.unsupported(0, Query::energy));
  CHECK(h.poller.unsupported(0, Query::dc_power));
  CHECK(h.poller.unsupported(0, Query::dc_volt_amp));
}

TEST_CASE("sma poller: a reply in fragments is read to its last one, and no more than 16 extend the wait") {
  Harness h;
  h.run_for(1s);
  h.now += 29s;
  Send query = next_send(h);
  REQUIRE(query.step == Step::query);
  const Address device = h.devices[0].address;
  const std::vector<Bytes> records{test::counter_record(0x2601, 1000)};
  h.poller.receive(test::sma_reply(query.datagram, device, 0, records, 1), h.now);
  h.poller.receive(test::sma_reply(query.datagram, device, 0, records, 0), h.now);
  int answered = 0;
  PollerEvent e = h.poller.next_event(h.now);
  while (std::holds_alternative<Answered>(e)) {
    CHECK(std::get<Answered>(e).decoded);
    ++answered;
    e = h.poller.next_event(h.now);
  }
  CHECK(answered == 2);
  REQUIRE(std::holds_alternative<Send>(e));  // done: the next query goes out

  query = std::get<Send>(e);
  for (int i = 0; i < 40; ++i) h.poller.receive(test::sma_reply(query.datagram, device, 0, records, 5), h.now);
  int events = 0;
  for (e = h.poller.next_event(h.now); !std::holds_alternative<Send>(e) && events < 100; e = h.poller.next_event(h.now)) {
    ++events;
  }
  CHECK(events == 17 + 23);  // 17 datagrams taken, 23 left unanswered, then the next query
}
