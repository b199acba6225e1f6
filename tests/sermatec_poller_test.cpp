// The Sermatec conversation (protocol/sermatec/poller.hpp) on a fake clock, without sockets:
// identification in plain and RC4, the poll cycle one query at a time, answer timeouts, cycle
// timing, the hourly 0x98, idle links, partial frames and junk; and, over random bytes and times,
// that nothing but allow-listed queries ever leaves.
#include "protocol/sermatec/poller.hpp"

#include "common/hex.hpp"
#include "protocol/sermatec/rc4.hpp"
#include "tests/support/fake_inverter.hpp"
#include "tests/support/fixtures.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <utility>

using namespace sunkeep;
using namespace sunkeep::sermatec;
using namespace std::chrono_literals;
using test::answer_frame;
using test::identity_answer;
using test::InverterBehaviour;
using test::typical_inverter;

namespace {

using Bytes = std::vector<std::uint8_t>;

const PollerTime t0 = PollerTime{} + 1000h;
const std::string serial = "ST" + std::string(24, '1');
constexpr auto latency = 10ms;  // of every answer in a Bench

const std::vector<std::uint8_t> cycle_258_up{0x0C, 0x0A, 0x0B, 0x0D, 0x1E, 0x1F, 0x99, 0x95};

Bytes dump(const std::string& name) {
  const std::string raw = test::fixture("sermatec/dumps/" + name);
  return {raw.begin(), raw.end()};
}

const char* event_name(const PollerEvent& e) {
  static constexpr const char* names[] = {
      "Wait",         "Send",          "FrameReceived",  "Identified",  "SerialChanged", "DefinitionsChanged",
      "CycleStarted", "QueryAnswered", "AnswerTimedOut", "JunkSkipped", "Note",          "Close"};
  static_assert(std::size(names) == std::variant_size_v<PollerEvent>);
  return names[e.index()];
}

template <class T>
T take(Poller& p, PollerTime now) {
  PollerEvent e = p.next_event(now);
  INFO("got " << std::string(event_name(e)));
  REQUIRE(std::holds_alternative<T>(e));
  return std::get<T>(std::move(e));
}

// Identifies a PCU-`pcu` inverter at `now`, binds it and returns the cycle's first query.
Send identify_and_bind(Poller& p, PollerTime now, int pcu = 411) {
  CHECK(take<Send>(p, now).code() == 0x98);
  p.receive(identity_answer(pcu, 1, serial), now);
  take<FrameReceived>(p, now);
  take<Identified>(p, now);
  p.bound(now);
  PollerEvent e = p.next_event(now);
  while (std::holds_alternative<Note>(e)) e = p.next_event(now);
  REQUIRE(std::holds_alternative<CycleStarted>(e));
  return take<Send>(p, now);
}

struct Timed {
  PollerTime at;
  PollerEvent event;
};

// A poller and a scripted inverter (answers as tests/support/fake_inverter does, `latency`
// after each query, frames 1 ms apart) on a fake clock. Identified is answered with bound().
class Bench {
 public:
  explicit Bench(InverterBehaviour behaviour, PollerSettings settings = {})
      : poller(settings, t0), behaviour_(std::move(behaviour)), timeout_(settings.answer_timeout) {}

  Poller poller;
  PollerTime now = t0;
  std::vector<Timed> log;
  bool refuse_binding = false;

  void deliver(Bytes bytes, PollerTime at) { in_flight_.emplace(at, std::move(bytes)); }
  // Runs the conversation until `end` or its Close.
  void run_until(PollerTime end) {
    while (step(end)) {
    }
  }
  // Runs until a query for `code` is sent and returns when.
  PollerTime run_until_sent(std::uint8_t code, PollerTime limit) {
    while (step(limit)) {
      const auto* send = std::get_if<Send>(&log.back().event);
      if (send && send->code() == code) return now;
    }
    FAIL("no query " << int(code) << " before the limit");
    return now;
  }

  template <class T>
  std::vector<std::pair<PollerTime, T>> all() const {
    std::vector<std::pair<PollerTime, T>> out;
    for (const auto& [at, e] : log) {
      if (const auto* x = std::get_if<T>(&e)) out.emplace_back(at, *x);
    }
    return out;
  }
  // The codes of the poll queries (identification left out) sent in [from, to).
  std::vector<std::uint8_t> poll_codes(PollerTime from = PollerTime::min(), PollerTime to = PollerTime::max()) const {
    std::vector<std::uint8_t> codes;
    for (const auto& [at, send] : all<Send>()) {
      if (!send.identification && at >= from && at < to) codes.push_back(send.code());
    }
    return codes;
  }
  std::vector<PollerTime> cycle_starts() const {
    std::vector<PollerTime> times;
    for (const auto& [at, ignored] : all<CycleStarted>()) times.push_back(at);
    return times;
  }
  // Every poll query ends in one QueryAnswered or AnswerTimedOut for its code before the next query.
  void check_each_query_ends_once() const {
    std::optional<std::uint8_t> open;  // the poll query awaiting its end
    for (const auto& [at, e] : log) {
      std::optional<std::uint8_t> ended;
      if (const auto* answered = std::get_if<QueryAnswered>(&e)) ended = answered->query;
      if (const auto* timed_out = std::get_if<AnswerTimedOut>(&e)) ended = timed_out->query;
      if (ended) {
        CHECK(open == ended);
        open.reset();
      }
      if (const auto* send = std::get_if<Send>(&e)) {
        CHECK_FALSE(open);
        if (!send->identification) open = send->code();
      }
    }
  }
  // Every query went out only once the previous one had all its answers or had timed out.
  void check_one_query_at_a_time() const {
    std::optional<std::pair<PollerTime, std::vector<std::uint8_t>>> out;  // time, awaited codes
    std::set<std::uint8_t> arrived;
    int pcu = 0;
    for (const auto& [at, e] : log) {
      if (const auto* id = std::get_if<Identified>(&e)) pcu = id->identity.pcu_version;
      if (const auto* changed = std::get_if<DefinitionsChanged>(&e)) pcu = changed->pcu_version;
      if (const auto* frame = std::get_if<FrameReceived>(&e); frame && frame->frame.is_answer()) {
        arrived.insert(frame->frame.code());
      }
      const auto* send = std::get_if<Send>(&e);
      if (!send) continue;
      if (out) {
        const bool all_in = std::includes(arrived.begin(), arrived.end(), out->second.begin(), out->second.end());
        INFO("query " << int(send->code()) << " sent too early");
        CHECK((all_in || at - out->first >= timeout_));
      }
      auto awaited = send->identification ? std::vector<std::uint8_t>{0x98} : Definitions(pcu).answers_to(send->code());
      std::sort(awaited.begin(), awaited.end());
      out.emplace(at, awaited);
      arrived.clear();
    }
  }

 private:
  // One event; false at `end` or Close.
  bool step(PollerTime end) {
    PollerEvent event = poller.next_event(now);
    log.push_back({now, event});
    if (const auto* send = std::get_if<Send>(&event)) answer(*send);
    if (std::holds_alternative<Identified>(event)) refuse_binding ? poller.binding_refused() : poller.bound(now);
    if (std::holds_alternative<Close>(event)) return false;
    const auto* wait = std::get_if<Wait>(&event);
    if (!wait) return true;
    REQUIRE(wait->until > now);
    const PollerTime next = in_flight_.empty() ? wait->until : std::min(wait->until, in_flight_.begin()->first);
    if (next > end) {
      now = std::max(now, end);
      return false;
    }
    now = std::max(now, next);
    while (!in_flight_.empty() && in_flight_.begin()->first <= now) {
      poller.receive(in_flight_.begin()->second, now);
      in_flight_.erase(in_flight_.begin());
    }
    return true;
  }

  void answer(const Send& send) {
    if (behaviour_.rc4_only && !send.rc4) return;
    const std::size_t times = asked_[send.code()]++;
    const auto later = behaviour_.later_answers.find(send.code());
    const bool use_later = later != behaviour_.later_answers.end() && times >= later->second.first;
    const auto answers = behaviour_.answers.find(send.code());
    if (!use_later && answers == behaviour_.answers.end()) return;
    const auto& frames = use_later ? later->second.frames : answers->second;
    PollerTime at = now + latency;
    if (const auto delay = behaviour_.delays.find(send.code()); delay != behaviour_.delays.end()) at += delay->second;
    for (const auto& frame : frames) {
      const Bytes bytes = send.rc4 ? rc4_apply(frame) : frame;
      if (behaviour_.junk_between_frames) deliver({0x00, 0x13, 0x37}, at);
      const std::size_t chunk = behaviour_.chunk == 0 ? bytes.size() : behaviour_.chunk;
      for (std::size_t i = 0; i < bytes.size(); i += chunk) {
        deliver(Bytes(bytes.begin() + static_cast<std::ptrdiff_t>(i),
                      bytes.begin() + static_cast<std::ptrdiff_t>(std::min(bytes.size(), i + chunk))),
                at);
        at += 1ms;
      }
    }
  }

  InverterBehaviour behaviour_;
  std::chrono::milliseconds timeout_;
  std::multimap<PollerTime, Bytes> in_flight_;
  std::map<std::uint8_t, std::size_t> asked_;
};

// Answers every poll query of a typical inverter only from its second time on.
InverterBehaviour silent_first_cycle() {
  InverterBehaviour b = typical_inverter();
  for (const std::uint8_t code : cycle_258_up) {
    b.later_answers[code] = {1, b.answers[code]};
    b.answers.erase(code);
  }
  return b;
}

}  // namespace

TEST_CASE("sermatec poller: a plain 0x98 answer identifies the inverter and the first cycle starts at once") {
  Poller p({}, t0);
  const Send hello = take<Send>(p, t0);
  CHECK(hello.code() == 0x98);
  CHECK_FALSE(hello.rc4);
  CHECK(hello.identification);
  CHECK(hello.bytes() == build_query(0x98)->plain());
  CHECK(take<Wait>(p, t0).until == t0 + 5s);

  p.receive(identity_answer(411, 1, serial), t0 + 100ms);
  const FrameReceived frame = take<FrameReceived>(p, t0 + 100ms);
  CHECK(frame.frame.code() == 0x98);
  CHECK_FALSE(frame.unexpected);
  const Identified id = take<Identified>(p, t0 + 100ms);
  CHECK(id.identity.serial == serial);
  CHECK(id.identity.pcu_version == 411);
  CHECK_FALSE(id.rc4);
  CHECK(take<Wait>(p, t0 + 1s).until == PollerTime::max());  // until the caller has bound it
  CHECK_FALSE(p.identity());

  p.bound(t0 + 1s);
  CHECK(take<Note>(p, t0 + 1s).text == "inverter " + serial + " (10 kW), PCU 411");
  take<CycleStarted>(p, t0 + 1s);
  const Send first = take<Send>(p, t0 + 1s);
  CHECK(first.code() == 0x0C);
  CHECK_FALSE(first.identification);
  REQUIRE(p.identity());
  CHECK(p.identity()->serial == serial);
  REQUIRE(p.definitions());
  CHECK(p.definitions()->version() == 411);
}

TEST_CASE("sermatec poller: an unanswered plain 0x98 is sent again in RC4, and RC4 is then kept") {
  InverterBehaviour b = typical_inverter();
  b.rc4_only = true;
  Bench bench(b);
  bench.run_until(t0 + 20s);
  const auto sends = bench.all<Send>();
  REQUIRE(sends.size() > 3);
  CHECK(sends[0].first == t0);
  CHECK_FALSE(sends[0].second.rc4);
  CHECK(sends[1].first == t0 + 5s);
  CHECK(sends[1].second.code() == 0x98);
  CHECK(sends[1].second.rc4);
  CHECK(sends[1].second.bytes() == build_query(0x98)->rc4());
  const auto ids = bench.all<Identified>();
  REQUIRE(ids.size() == 1);
  CHECK(ids[0].second.rc4);
  CHECK(bench.poller.rc4());
  for (std::size_t i = 2; i < sends.size(); ++i) {
    CHECK(sends[i].second.rc4);
    CHECK(sends[i].second.bytes() == build_query(sends[i].second.code())->rc4());
  }
  for (const auto& [at, received] : bench.all<FrameReceived>()) CHECK(received.frame.from_rc4);
  CHECK(bench.poll_codes() == cycle_258_up);
}

TEST_CASE("sermatec poller: without a valid 0x98 it reports what came and tries again a poll interval later") {
  SUBCASE("a silent link") {
    Bench bench(InverterBehaviour{});
    bench.run_until(t0 + 61s);
    std::vector<PollerTime> times;
    for (const auto& [at, send] : bench.all<Send>()) {
      CHECK(send.code() == 0x98);
      CHECK(send.identification);
      times.push_back(at);
    }
    CHECK(times == std::vector<PollerTime>{t0, t0 + 5s, t0 + 30s, t0 + 35s, t0 + 60s});
    const auto notes = bench.all<Note>();
    REQUIRE(notes.size() == 2);
    CHECK(notes[0].first == t0 + 10s);
    CHECK(notes[0].second.level == NoteLevel::warn);
    CHECK(notes[0].second.text == "no valid 0x98 answer; received 0 bytes");
    CHECK(bench.all<Identified>().empty());
  }
  SUBCASE("a 0x98 with a bad checksum: flagged, never identifies, its first bytes are shown") {
    InverterBehaviour b;
    const Bytes bad = dump("resp_98_serial_anonymized_bad_checksum.bin");
    b.answers[0x98] = {bad};
    Bench bench(b);
    bench.run_until(t0 + 31s);
    const auto sends = bench.all<Send>();
    REQUIRE(sends.size() == 3);  // plain, RC4, plain again at t0 + 30 s
    CHECK(sends[2].first == t0 + 30s);
    const auto frames = bench.all<FrameReceived>();
    REQUIRE(frames.size() == 3);
    CHECK_FALSE(frames[0].second.frame.checksum_ok);
    CHECK_FALSE(frames[0].second.unexpected);  // a bad frame is counted as such, not as unexpected
    CHECK(frames[1].second.frame.from_rc4);
    Bytes head = bad;
    const Bytes wrapped = rc4_apply(bad);
    head.insert(head.end(), wrapped.begin(), wrapped.end());
    head.resize(64);
    const auto notes = bench.all<Note>();
    REQUIRE(notes.size() == 1);
    CHECK(notes[0].second.text ==
          "no valid 0x98 answer; received " + std::to_string(2 * bad.size()) + " bytes, first: " + to_hex(head));
    CHECK(bench.all<Identified>().empty());
  }
  SUBCASE("a poll interval shorter than both waits: the next attempt follows at once") {
    PollerSettings s;
    s.poll_interval = 5s;
    Bench bench(InverterBehaviour{}, s);
    bench.run_until(t0 + 21s);
    std::vector<PollerTime> times;
    for (const auto& [at, send] : bench.all<Send>()) times.push_back(at);
    CHECK(times == std::vector<PollerTime>{t0, t0 + 5s, t0 + 10s, t0 + 15s, t0 + 20s});
  }
}

TEST_CASE("sermatec poller: the cycle asks the PCU's queries in order, one at a time") {
  SUBCASE("PCU 411, a slow 0x0B") {
    InverterBehaviour b = typical_inverter();
    b.delays[0x0B] = 2s;
    Bench bench(b);
    bench.run_until(t0 + 29s);
    CHECK(bench.poll_codes() == cycle_258_up);
    bench.check_one_query_at_a_time();
    bench.check_each_query_ends_once();
    CHECK(bench.all<QueryAnswered>().size() == cycle_258_up.size());
    const auto sends = bench.all<Send>();
    REQUIRE(sends.size() > 4);
    CHECK(sends[4].second.code() == 0x0D);
    CHECK(sends[4].first - sends[3].first == 2s + latency);
    CHECK(bench.all<AnswerTimedOut>().empty());
  }
  SUBCASE("PCU 252: no 0x0D") {
    Bench bench(typical_inverter("SM252", 252));
    bench.run_until(t0 + 29s);
    CHECK(bench.poll_codes() == std::vector<std::uint8_t>{0x0C, 0x0A, 0x0B, 0x1E, 0x1F, 0x99, 0x95});
  }
  SUBCASE("nothing more is sent while an answer is awaited") {
    Poller p({}, t0);
    CHECK(identify_and_bind(p, t0).code() == 0x0C);
    CHECK(take<Wait>(p, t0 + 4999ms).until == t0 + 5s);
    p.receive(dump("resp_0c_ongrid.bin"), t0 + 4999ms);
    CHECK_FALSE(take<FrameReceived>(p, t0 + 4999ms).unexpected);
    CHECK(take<QueryAnswered>(p, t0 + 4999ms).query == 0x0C);
    CHECK(take<Send>(p, t0 + 4999ms).code() == 0x0A);
  }
}

TEST_CASE("sermatec poller: a query with several answer frames completes once all have come, in any order") {
  InverterBehaviour b = typical_inverter();
  b.answers[0x99] = {answer_frame(0x9C, Bytes(20, 0)), answer_frame(0x9A, Bytes(232, 0))};
  Bench bench(b);
  const PollerTime sent = bench.run_until_sent(0x99, t0 + 30s);
  bench.deliver(answer_frame(0x99, Bytes(244, 0)), sent + 1s);
  bench.deliver(answer_frame(0x9B, Bytes(232, 0)), sent + 2s);
  bench.run_until(sent + 1900ms);
  CHECK(bench.poll_codes(sent + 1ms).empty());  // 9B still missing
  bench.run_until(sent + 4s);
  const auto after = bench.all<Send>().back();  // there is at least the 0x99
  CHECK(after.second.code() == 0x95);
  CHECK(after.first == sent + 2s);
  CHECK(bench.all<AnswerTimedOut>().empty());
}

TEST_CASE("sermatec poller: an answer timeout is reported and the cycle goes on") {
  InverterBehaviour b = typical_inverter();
  b.answers.erase(0x0A);
  b.answers[0x99].pop_back();  // no 9C
  Bench bench(b);
  bench.run_until(t0 + 29s);
  CHECK(bench.poll_codes() == cycle_258_up);
  const auto timeouts = bench.all<AnswerTimedOut>();
  REQUIRE(timeouts.size() == 2);
  CHECK(timeouts[0].second.query == 0x0A);
  CHECK(timeouts[0].second.missing == std::vector<std::uint8_t>{0x0A});
  CHECK(timeouts[1].second.query == 0x99);
  CHECK(timeouts[1].second.missing == std::vector<std::uint8_t>{0x9C});
  const auto sends = bench.all<Send>();
  REQUIRE(sends.size() > 3);
  CHECK(sends[3].second.code() == 0x0B);
  CHECK(sends[3].first == sends[2].first + 5s);  // right at the timeout
  CHECK(bench.all<QueryAnswered>().size() == cycle_258_up.size() - 2);
  bench.check_one_query_at_a_time();
  bench.check_each_query_ends_once();
}

TEST_CASE("sermatec poller: cycles start every poll interval, an overrun one is followed at once, none made up") {
  Bench bench(silent_first_cycle());  // the first cycle: eight timeouts, 40 s
  bench.run_until(t0 + 131s);
  const PollerTime bound = t0 + latency;
  CHECK(bench.cycle_starts() == std::vector<PollerTime>{bound, bound + 40s, bound + 70s, bound + 100s, bound + 130s});
  const auto timeouts = bench.all<AnswerTimedOut>();
  REQUIRE(timeouts.size() == cycle_258_up.size());
  CHECK(timeouts.back().first == bound + 40s);
}

TEST_CASE("sermatec poller: 0x98 is asked again in the first cycle an hour after the last identity") {
  SUBCASE("answered: the next hour counts from that answer") {
    Bench bench(typical_inverter());
    bench.run_until(t0 + 2h + 60s);
    const PollerTime bound = t0 + latency;
    std::vector<PollerTime> refreshes;
    for (const auto& [at, send] : bench.all<Send>()) {
      if (send.code() == 0x98 && !send.identification) refreshes.push_back(at);
    }
    CHECK(refreshes == std::vector<PollerTime>{bound + 3600s, bound + 7230s});
    std::vector<std::uint8_t> refresh_cycle{0x98};
    refresh_cycle.insert(refresh_cycle.end(), cycle_258_up.begin(), cycle_258_up.end());
    CHECK(bench.poll_codes(bound + 3600s, bound + 3630s) == refresh_cycle);
    CHECK(bench.all<SerialChanged>().empty());
    CHECK(bench.all<DefinitionsChanged>().empty());
    bench.check_one_query_at_a_time();
    bench.check_each_query_ends_once();
  }
  SUBCASE("unanswered: the binding stays and the next cycle asks again") {
    InverterBehaviour b = typical_inverter();
    b.later_answers[0x98] = {1, {}};
    Bench bench(b);
    bench.run_until(t0 + 3660s);
    const PollerTime bound = t0 + latency;
    const auto first = bench.poll_codes(bound + 3600s, bound + 3630s);
    const auto second = bench.poll_codes(bound + 3630s, bound + 3660s);
    REQUIRE((!first.empty() && !second.empty()));
    CHECK(first.front() == 0x98);
    CHECK(second.front() == 0x98);
    const auto timeouts = bench.all<AnswerTimedOut>();
    REQUIRE(!timeouts.empty());
    CHECK(timeouts.front().second.query == 0x98);
    REQUIRE(bench.poller.identity());
    CHECK(bench.poller.identity()->serial == serial);
  }
}

TEST_CASE("sermatec poller: a new serial in the hourly 0x98 drops the binding and identifies afresh") {
  InverterBehaviour b = typical_inverter();
  b.later_answers[0x98] = {1, {identity_answer(411, 1, "ST-NEW")}};
  Bench bench(b);
  bench.run_until(t0 + 3601s);
  const auto changed = bench.all<SerialChanged>();
  REQUIRE(changed.size() == 1);
  CHECK(changed[0].second.old_serial == serial);
  CHECK(changed[0].second.new_serial == "ST-NEW");
  const PollerTime at = changed[0].first;
  // Identification starts over (plain first), then a fresh cycle: no poll query in between.
  const auto sends = bench.all<Send>();
  const auto next = std::find_if(sends.begin(), sends.end(), [&](const auto& s) { return s.first >= at; });
  REQUIRE(next != sends.end());
  CHECK(next->second.identification);
  CHECK_FALSE(next->second.rc4);
  const auto ids = bench.all<Identified>();
  REQUIRE(ids.size() == 2);
  CHECK(ids[1].second.identity.serial == "ST-NEW");
  const auto starts = bench.cycle_starts();
  REQUIRE(!starts.empty());
  CHECK(starts.back() == ids[1].first);
  REQUIRE(bench.poller.identity());
  CHECK(bench.poller.identity()->serial == "ST-NEW");
  CHECK(bench.poll_codes(at, ids[1].first).empty());
  bench.check_one_query_at_a_time();
  bench.check_each_query_ends_once();
}

TEST_CASE("sermatec poller: a new PCU version in the hourly 0x98 reselects the definitions") {
  InverterBehaviour b = typical_inverter();
  b.later_answers[0x98] = {1, {identity_answer(603, 1, serial)}};
  PollerSettings s;
  s.query_forced_charge = true;  // A2 exists from PCU 500
  Bench bench(b, s);
  bench.run_until(t0 + 3640s);
  const PollerTime bound = t0 + latency;
  CHECK(bench.poll_codes(bound, bound + 30s) == cycle_258_up);
  const auto changed = bench.all<DefinitionsChanged>();
  REQUIRE(changed.size() == 1);
  CHECK(changed[0].second.pcu_version == 603);
  std::vector<std::uint8_t> refresh_cycle{0x98};
  refresh_cycle.insert(refresh_cycle.end(), cycle_258_up.begin(), cycle_258_up.end());
  refresh_cycle.push_back(0xA2);
  CHECK(bench.poll_codes(bound + 3600s, bound + 3630s) == refresh_cycle);
  REQUIRE(bench.poller.definitions());
  CHECK(bench.poller.definitions()->version() == 603);
  CHECK(bench.poller.identity()->pcu_version == 603);
  CHECK(bench.all<SerialChanged>().empty());
}

TEST_CASE("sermatec poller: a link without a valid frame for max(min_idle, 3 x poll interval) is closed") {
  InverterBehaviour answers_once;
  answers_once.answers[0x98] = {identity_answer(411, 1, serial)};
  answers_once.later_answers[0x98] = {1, {}};
  SUBCASE("the 5 min floor, bad frames and junk do not count") {
    Bench bench(answers_once);
    for (auto t = 20s; t < 400s; t += 20s) {
      bench.deliver(dump("resp_98_serial_anonymized_bad_checksum.bin"), t0 + t);
      bench.deliver({0x01, 0x02}, t0 + t + 1s);
    }
    bench.run_until(t0 + 1h);
    REQUIRE(std::holds_alternative<Close>(bench.log.back().event));
    CHECK(bench.log.back().at == t0 + latency + 300s);
    CHECK(std::get<Close>(bench.log.back().event).reason == CloseReason::idle);
    CHECK(std::get<Close>(bench.log.back().event).text == "no valid frame for 300 s");
    CHECK(std::holds_alternative<Close>(bench.poller.next_event(t0 + 2h)));  // and stays closed
  }
  SUBCASE("three poll intervals") {
    PollerSettings s;
    s.poll_interval = 200s;
    Bench bench(answers_once, s);
    bench.run_until(t0 + 1h);
    REQUIRE(std::holds_alternative<Close>(bench.log.back().event));
    CHECK(bench.log.back().at == t0 + latency + 600s);
    CHECK(std::get<Close>(bench.log.back().event).text == "no valid frame for 600 s");
  }
  SUBCASE("never identified") {
    Bench bench(InverterBehaviour{});
    bench.run_until(t0 + 1h);
    REQUIRE(std::holds_alternative<Close>(bench.log.back().event));
    CHECK(bench.log.back().at == t0 + 300s);
  }
}

TEST_CASE("sermatec poller: a frame incomplete for the answer timeout is dropped and parsing resynchronises") {
  Poller p({}, t0);
  CHECK(identify_and_bind(p, t0).code() == 0x0C);
  const Bytes status = dump("resp_0c_ongrid.bin");
  p.receive(std::span(status).first(7), t0 + 1s);
  CHECK(take<Wait>(p, t0 + 1s).until == t0 + 5s);  // the query's deadline comes first
  CHECK(take<AnswerTimedOut>(p, t0 + 5s).query == 0x0C);
  CHECK(take<Send>(p, t0 + 5s).code() == 0x0A);
  CHECK(take<Wait>(p, t0 + 5s).until == t0 + 6s);  // then the partial frame's
  const JunkSkipped start = take<JunkSkipped>(p, t0 + 6s);
  CHECK(start.count == 1);  // its FE
  CHECK(take<JunkSkipped>(p, t0 + 6s).count == 6);
  CHECK(take<Wait>(p, t0 + 6s).until == t0 + 10s);
  p.receive(dump("resp_0a.bin"), t0 + 7s);
  CHECK_FALSE(take<FrameReceived>(p, t0 + 7s).unexpected);
  CHECK(take<QueryAnswered>(p, t0 + 7s).query == 0x0A);
  CHECK(take<Send>(p, t0 + 7s).code() == 0x0B);

  // A frame completed within the timeout, even at its very end, is kept.
  const Bytes cabinet = dump("resp_0b.bin");
  p.receive(std::span(cabinet).first(20), t0 + 8s);
  CHECK(take<Wait>(p, t0 + 8s).until == t0 + 12s);
  Bytes rest(cabinet.begin() + 20, cabinet.end());
  const Bytes link = dump("resp_0d.bin");
  rest.insert(rest.end(), link.begin(), link.begin() + 7);
  p.receive(rest, t0 + 12s);
  const FrameReceived whole = take<FrameReceived>(p, t0 + 12s);
  CHECK(whole.frame.raw == cabinet);
  CHECK_FALSE(whole.unexpected);
  take<QueryAnswered>(p, t0 + 12s);
  CHECK(take<Send>(p, t0 + 12s).code() == 0x0D);
  // The partial frame behind it is timed from its own arrival.
  CHECK(take<Wait>(p, t0 + 12s).until == t0 + 17s);
  p.receive(std::span(link).subspan(7), t0 + 16s);
  CHECK(take<FrameReceived>(p, t0 + 16s).frame.raw == link);
}

TEST_CASE("sermatec poller: junk before and between frames is reported") {
  SUBCASE("with its first bytes") {
    Poller p({}, t0);
    take<Send>(p, t0);
    Bytes bytes{0x00, 0x13, 0x37};
    const Bytes id = identity_answer(411, 1, serial);
    bytes.insert(bytes.end(), id.begin(), id.end());
    bytes.push_back(0xAB);
    const Bytes status = dump("resp_0c_ongrid.bin");
    bytes.insert(bytes.end(), status.begin(), status.end());
    p.receive(bytes, t0 + 1s);
    const JunkSkipped junk = take<JunkSkipped>(p, t0 + 1s);
    CHECK(junk.count == 3);
    CHECK(junk.first_bytes == Bytes{0x00, 0x13, 0x37});
    CHECK(take<FrameReceived>(p, t0 + 1s).frame.code() == 0x98);
    CHECK(take<JunkSkipped>(p, t0 + 1s).count == 1);
    CHECK(take<FrameReceived>(p, t0 + 1s).unexpected);  // a 0x0C nobody asked for
    CHECK(take<Identified>(p, t0 + 1s).identity.serial == serial);
  }
  SUBCASE("answers in 3-byte pieces with junk between frames still complete the cycle") {
    InverterBehaviour b = typical_inverter();
    b.chunk = 3;
    b.junk_between_frames = true;
    Bench bench(b);
    bench.run_until(t0 + 29s);
    CHECK(bench.poll_codes() == cycle_258_up);
    CHECK(bench.all<AnswerTimedOut>().empty());
    CHECK(bench.all<JunkSkipped>().size() == 1 + 12);  // before the 0x98 and before each of the 12 answer frames
    for (const auto& [at, junk] : bench.all<JunkSkipped>()) CHECK(junk.first_bytes == Bytes{0x00, 0x13, 0x37});
    bench.check_one_query_at_a_time();
  }
  SUBCASE("without them when B1 is queried (they may be a broken B1 answer)") {
    PollerSettings s;
    s.query_network = true;
    Poller p(s, t0);
    take<Send>(p, t0);
    p.receive(Bytes{0x00, 0x13, 0x37}, t0 + 1s);
    const JunkSkipped junk = take<JunkSkipped>(p, t0 + 1s);
    CHECK(junk.count == 3);
    CHECK(junk.first_bytes.empty());
    take<Wait>(p, t0 + 1s);
    take<Send>(p, t0 + 5s);
    CHECK(take<Note>(p, t0 + 10s).text == "no valid 0x98 answer; received 3 bytes");
  }
}

TEST_CASE("sermatec poller: late answers and other clients' queries are flagged and complete nothing") {
  Poller p({}, t0);
  identify_and_bind(p, t0);
  p.receive(dump("resp_0c_ongrid.bin"), t0 + 1s);
  take<FrameReceived>(p, t0 + 1s);
  take<QueryAnswered>(p, t0 + 1s);
  CHECK(take<Send>(p, t0 + 1s).code() == 0x0A);
  p.receive(dump("resp_0c_ongrid.bin"), t0 + 2s);  // a late copy
  CHECK(take<FrameReceived>(p, t0 + 2s).unexpected);
  p.receive(dump("req_66_set_operating_mode_DO_NOT_SEND.bin"), t0 + 2s);
  const FrameReceived query = take<FrameReceived>(p, t0 + 2s);
  CHECK(query.unexpected);
  CHECK(query.frame.code() == 0x66);
  Bytes broken = dump("resp_0a.bin");
  broken[10] ^= 0xFF;
  p.receive(broken, t0 + 2s);
  const FrameReceived bad = take<FrameReceived>(p, t0 + 2s);
  CHECK_FALSE(bad.frame.checksum_ok);
  CHECK_FALSE(bad.unexpected);
  CHECK(take<Wait>(p, t0 + 2s).until == t0 + 6s);  // 0x0A still awaited
  p.receive(dump("resp_0a.bin"), t0 + 3s);
  CHECK_FALSE(take<FrameReceived>(p, t0 + 3s).unexpected);
  CHECK(take<QueryAnswered>(p, t0 + 3s).query == 0x0A);
  CHECK(take<Send>(p, t0 + 3s).code() == 0x0B);
}

TEST_CASE("sermatec poller: A1, A2 and B1 only when switched on and defined at the PCU version") {
  const auto first_cycle = [](int pcu, bool drm, bool forced, bool network) {
    PollerSettings s;
    s.query_drm = drm;
    s.query_forced_charge = forced;
    s.query_network = network;
    Bench bench(typical_inverter("SM" + std::to_string(pcu), pcu), s);
    bench.run_until(t0 + 29s);
    return bench.poll_codes();
  };
  const auto with = [](std::vector<std::uint8_t> codes, std::vector<std::uint8_t> extra) {
    codes.insert(codes.end(), extra.begin(), extra.end());
    return codes;
  };
  CHECK(first_cycle(603, false, false, false) == cycle_258_up);
  CHECK(first_cycle(603, true, true, true) == with(cycle_258_up, {0xA1, 0xA2, 0xB1}));
  CHECK(first_cycle(603, false, false, true) == with(cycle_258_up, {0xB1}));
  CHECK(first_cycle(411, true, true, true) == with(cycle_258_up, {0xA1}));
  CHECK(first_cycle(252, true, true, true) == std::vector<std::uint8_t>{0x0C, 0x0A, 0x0B, 0x1E, 0x1F, 0x99, 0x95});
}

TEST_CASE("sermatec poller: below PCU 252 nothing is polled and the warning carries a once-key") {
  Bench bench(typical_inverter("OLD1", 200));
  bench.run_until(t0 + 10min);
  CHECK(bench.poll_codes().empty());
  const auto notes = bench.all<Note>();
  REQUIRE(!notes.empty());
  CHECK(notes[0].second.level == NoteLevel::warn);
  CHECK(notes[0].second.text == "PCU version 200 has no poll list; only the hourly 0x98 is sent");
  CHECK(notes[0].second.once_key == "sermatec-old:OLD1");
  CHECK(std::holds_alternative<Close>(bench.log.back().event));  // nothing answers within the idle limit
}

TEST_CASE("sermatec poller: a refused binding or a closed connection ends the conversation") {
  SUBCASE("refused") {
    Bench bench(typical_inverter());
    bench.refuse_binding = true;
    bench.run_until(t0 + 1min);
    const Close close = std::get<Close>(bench.log.back().event);
    CHECK(close.reason == CloseReason::binding_refused);
    CHECK(bench.all<Send>().size() == 1);
    CHECK(std::holds_alternative<Close>(bench.poller.next_event(t0 + 2min)));
  }
  SUBCASE("closed") {
    Poller p({}, t0);
    take<Send>(p, t0);
    p.connection_closed();
    CHECK(take<Close>(p, t0 + 1s).reason == CloseReason::connection_closed);
  }
}

namespace {

// Bytes an inverter, another client or a broken link might send.
Bytes random_input(std::mt19937& rng) {
  const auto pick = [&](std::size_t n) { return static_cast<std::size_t>(rng() % n); };
  const auto byte = [&] { return static_cast<std::uint8_t>(rng()); };
  const auto payload = [&](std::size_t max) {
    Bytes p(pick(max + 1));
    for (auto& b : p) b = byte();
    return p;
  };
  static const int pcus[] = {0, 200, 252, 258, 259, 411, 500, 603, 991, 998, 1234};
  static const char* serials[] = {"ST1", "ST2", "", "\x01\x02"};
  Bytes out;
  switch (pick(7)) {
    case 0: out = payload(40); break;
    case 1: out = identity_answer(pcus[pick(std::size(pcus))], 1, serials[pick(std::size(serials))]); break;
    case 2: out = answer_frame(byte(), payload(64)); break;
    case 3: out = answer_frame(read_only_codes[pick(read_only_codes.size())], payload(250)); break;
    case 4: out = frame_bytes(address_sunkeep, address_inverter, byte(), payload(16)); break;
    case 5:
      out = answer_frame(0x99, payload(244));
      out.resize(pick(out.size()));
      break;
    default: out = rc4_apply(answer_frame(read_only_codes[pick(read_only_codes.size())], payload(64))); break;
  }
  if (!out.empty() && pick(5) == 0) out[pick(out.size())] = byte();
  return out;
}

// Checks one Send against the allow-list and the settings; "" when it is fine.
std::string harm_in(const Send& send, const PollerSettings& s) {
  const auto query = build_query(send.code());
  if (!query) return "a code outside the allow-list";
  if (send.plain() != query->plain()) return "plain bytes that build_query() would not make";
  if (send.bytes() != (send.rc4 ? query->rc4() : query->plain())) return "bytes that are not the query's";
  if (send.identification && send.code() != 0x98) return "an identification query other than 0x98";
  if (send.code() == 0xB1 && !s.query_network) return "B1 while it is off";
  if (send.code() == 0xA1 && !s.query_drm) return "A1 while it is off";
  if (send.code() == 0xA2 && !s.query_forced_charge) return "A2 while it is off";
  return "";
}

// Watches one connection's events: only allow-listed queries, one at a time, each ended once,
// and no wait that is already over. check() returns "" when the event is fine.
class Watchdog {
 public:
  explicit Watchdog(PollerSettings settings) : settings_(settings) {}

  std::string check(const PollerEvent& e, const Poller& p, PollerTime now) {
    if (const auto* send = std::get_if<Send>(&e)) return check_send(*send, p, now);
    if (const auto* frame = std::get_if<FrameReceived>(&e); frame && frame->frame.is_answer()) {
      arrived_.insert(frame->frame.code());
    }
    std::optional<std::uint8_t> ended;
    if (const auto* answered = std::get_if<QueryAnswered>(&e)) ended = answered->query;
    if (const auto* timed_out = std::get_if<AnswerTimedOut>(&e)) ended = timed_out->query;
    if (ended && std::exchange(open_, std::nullopt) != ended) return "the end of a query that was not out";
    if (const auto* wait = std::get_if<Wait>(&e); wait && wait->until <= now) return "a wait that is already over";
    return "";
  }

 private:
  std::string check_send(const Send& send, const Poller& p, PollerTime now) {
    if (std::string harm = harm_in(send, settings_); !harm.empty()) return "sent " + harm;
    const bool done = std::includes(arrived_.begin(), arrived_.end(), awaited_.begin(), awaited_.end());
    if (last_send_ && !done && now - *last_send_ < settings_.answer_timeout) return "a query before the last was done";
    if (open_) return "a query before the last one ended";
    const auto answers =
        send.identification ? std::vector<std::uint8_t>{0x98} : p.definitions()->answers_to(send.code());
    awaited_ = std::set<std::uint8_t>(answers.begin(), answers.end());
    arrived_.clear();
    last_send_ = now;
    if (!send.identification) open_ = send.code();
    return "";
  }

  PollerSettings settings_;
  std::optional<PollerTime> last_send_;
  std::set<std::uint8_t> awaited_;
  std::set<std::uint8_t> arrived_;
  std::optional<std::uint8_t> open_;  // the poll query not ended yet
};

// One random run: bytes and clock jumps in random order, Identified mostly bound, a closed
// connection replaced by a new one. Counts the kinds of events seen.
void random_run(unsigned seed, std::map<std::string, std::size_t>& seen) {
  std::mt19937 rng(seed);
  PollerSettings s;
  s.poll_interval = std::chrono::seconds(5 + rng() % 60);
  s.identity_refresh = std::chrono::minutes(1 + rng() % 5);
  s.query_drm = rng() % 2 == 0;
  s.query_forced_charge = rng() % 2 == 0;
  s.query_network = rng() % 2 == 0;
  PollerTime now = t0;
  Poller p(s, now);
  Watchdog watchdog(s);
  PollerTime wake = now;
  for (int round = 0; round < 300; ++round) {
    if (rng() % 2 == 0) {
      p.receive(random_input(rng), now);
    } else {
      const bool to_wake = rng() % 2 == 0 && wake != PollerTime::max();
      now = to_wake ? std::max(now, wake) : now + std::chrono::milliseconds(rng() % 3000);
    }
    for (int n = 0;; ++n) {
      if (n == 10000) FAIL("no Wait or Close after 10000 events");
      const PollerEvent e = p.next_event(now);
      ++seen[event_name(e)];
      if (const std::string harm = watchdog.check(e, p, now); !harm.empty()) {
        FAIL("seed " << seed << " round " << round << ": " << harm);
      }
      if (std::holds_alternative<Identified>(e)) rng() % 10 == 0 ? p.binding_refused() : p.bound(now);
      if (const auto* wait = std::get_if<Wait>(&e)) {
        wake = wait->until;
        break;
      }
      if (std::holds_alternative<Close>(e)) {
        p = Poller(s, now);  // the inverter connects again
        watchdog = Watchdog(s);
        wake = now;
        break;
      }
    }
  }
}

}  // namespace

TEST_CASE("sermatec poller: over random bytes and times only allow-listed queries leave, one at a time") {
  std::map<std::string, std::size_t> seen;
  for (unsigned seed = 1; seed <= 150; ++seed) random_run(seed, seen);
  for (const char* kind : {"Send", "FrameReceived", "Identified", "CycleStarted", "QueryAnswered", "AnswerTimedOut",
                           "JunkSkipped", "Note", "Close", "SerialChanged", "DefinitionsChanged"}) {
    INFO(kind);
    CHECK(seen[kind] > 0);  // the runs went everywhere
  }
}
