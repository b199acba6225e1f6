// Fuzz target: the HTTP API on arbitrary request targets against a small in-memory database:
// routing, parameters, times, steps, the site's series and energy (a lifetime counter with a
// glitch and a reset, in a zone with DST), and the dashboard files' request headers; the answer
// must always be a valid status and never a 500.
#include "api/api.hpp"
#include "api/params.hpp"
#include "storage/schema.hpp"
#include "storage/store.hpp"

#include <cstdint>
#include <cstdlib>
#include <memory>
#include <span>
#include <string>

namespace {

struct NoneConnected final : sunkeep::api::LiveStatus {
  [[nodiscard]] bool connected(const std::string&, const std::string&) const override { return false; }
};

sunkeep::storage::Connection& database() {
  static auto db = [] {
    auto c = std::make_unique<sunkeep::storage::Connection>(":memory:");
    sunkeep::storage::migrate(*c);
    sunkeep::storage::Store store(*c);
    const auto device = store.upsert_device("alphaess", "AL1", 1709424000000, "127.0.0.1:1");
    for (int i = 0; i < 50; ++i) {
      const std::int64_t t = 1709424000000 + i * 600'000;
      store.insert_record({.device = device, .kind = 1, .device_time = std::to_string(t), .utc = t, .received = t,
                           .frame = 1, .fields_hash = 0, .samples = {{"Pbat", "W", i * 1.5, false}}});
      const double counter = i == 20 ? 0.0 : i < 35 ? 100 + i * 0.5 : (i - 35) * 0.5;  // a glitch, then a reset
      const sunkeep::Reading energy{"pv_energy_total", "kWh", counter, true};
      store.insert_samples(device, t + 1, std::span(&energy, 1));
    }
    store.move_batches_to_samples(1000);
    store.compact_samples(1709424000000 + 3 * 3'600'000, 1000);
    return c;
  }();
  return *db;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  static const NoneConnected live;
  static const sunkeep::api::StaticFile files[] = {{"/index.html", "text/html", "\"0123\"", {}, {}, false}};
  static const sunkeep::api::Api api({.token = "", .max_points = 1000, .version = "fuzz", .started = 0,
                                      .site = {.name = "fuzz", .timezone = "Europe/Berlin", .pv = {"alphaess:AL1"},
                                               .grid = {"alphaess:AL1"}, .battery = {"alphaess:AL1"}},
                                      .files = files},
                                     live);
  sunkeep::storage::HistoryReader history(database());
  for (const std::string& prefix : {std::string(), std::string("/api/v1/devices/alphaess:AL1/series?metric=Pbat&"),
                                    std::string("/api/v1/devices/alphaess%3AAL1/"), std::string("/api/v1/site/energy?"),
                                    std::string("/api/v1/site/series?metric=load_power&"),
                                    std::string("/api/v1/devices/alphaess:AL1/series?metric=Pbat&step=1d&tz=")}) {
    const auto response = api.handle({"GET", prefix + text, "", text, text}, history, 1709430000000);
    if (response.status < 200 || response.status >= 500 && response.status != 503) std::abort();
  }
  (void)sunkeep::api::accepts_gzip(text);
  (void)sunkeep::api::parse_time(text);
  (void)sunkeep::api::parse_step_seconds(text);
  (void)sunkeep::api::percent_decode(text, true);
  return 0;
}
