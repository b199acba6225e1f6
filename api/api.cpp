// The HTTP API v1: routing, parameters, JSON and CSV rendering.
#include "api/api.hpp"

#include "api/number_text.hpp"
#include "api/params.hpp"
#include "api/site_queries.hpp"
#include "common/hex.hpp"
#include "storage/sqlite.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <map>
#include <optional>

namespace sunkeep::api {

namespace {

using json = nlohmann::ordered_json;
using storage::HistoryReader;
using storage::TimeRange;

constexpr std::int64_t default_window_ms = 24LL * 3600 * 1000;
constexpr std::int64_t default_list_limit = 100;

// An answer other than 200, raised anywhere below and rendered as {"error","detail"}.
struct HttpError {
  unsigned status;
  std::string error;
  std::string detail;
};

Response json_response(unsigned status, const json& body) {
  return {status, "application/json", body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace), {}};
}

Response error_response(const HttpError& e) {
  Response r = json_response(e.status, {{"error", e.error}, {"detail", e.detail}});
  if (e.status == 401) r.headers.emplace_back("WWW-Authenticate", "Bearer");
  if (e.status == 405) r.headers.emplace_back("Allow", "GET, HEAD");
  return r;
}

json time_json(UtcMillis t) { return format_rfc3339(t); }

template <class T>
json or_null(const std::optional<T>& v) {
  return v ? json(*v) : json(nullptr);
}

bool same_secret(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  unsigned char diff = 0;
  for (std::size_t i = 0; i < a.size(); ++i) diff = static_cast<unsigned char>(diff | (a[i] ^ b[i]));
  return diff == 0;
}

char ascii_lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

// The credentials of "Bearer <token>": the scheme in any case (RFC 9110 §11.1), then one or
// more spaces. nullopt for any other scheme.
std::optional<std::string_view> bearer_credentials(std::string_view authorization) {
  constexpr std::string_view scheme = "bearer";
  if (authorization.size() <= scheme.size() || authorization[scheme.size()] != ' ') return std::nullopt;
  for (std::size_t i = 0; i < scheme.size(); ++i) {
    if (ascii_lower(authorization[i]) != scheme[i]) return std::nullopt;
  }
  const std::size_t start = authorization.find_first_not_of(' ', scheme.size());
  return start == std::string_view::npos ? std::string_view{} : authorization.substr(start);
}

// The decoded segments of a path; nullopt when an escape is bad.
std::optional<std::vector<std::string>> path_segments(std::string_view path) {
  std::vector<std::string> segments;
  while (!path.empty()) {
    if (path.front() == '/') {
      path.remove_prefix(1);
      continue;
    }
    const std::size_t slash = path.find('/');
    auto decoded = percent_decode(path.substr(0, slash), false);
    if (!decoded) return std::nullopt;
    segments.push_back(std::move(*decoded));
    path = slash == std::string_view::npos ? std::string_view{} : path.substr(slash);
  }
  return segments;
}

// Whether a path is under /api, judged from its text when it cannot be decoded.
bool under_api(const std::optional<std::vector<std::string>>& segments, std::string_view path) {
  if (segments) return !segments->empty() && segments->front() == "api";
  const std::size_t start = path.find_first_not_of('/');
  return start != std::string_view::npos && path.substr(start).starts_with("api/");
}

bool is_health(const std::optional<std::vector<std::string>>& segments) {
  return segments && segments->size() == 3 && (*segments)[0] == "api" && (*segments)[1] == "v1" &&
         (*segments)[2] == "health";
}

// The storage "ok" and no rejections of an API without a server.
class NoHealthStatus final : public HealthStatus {
 public:
  [[nodiscard]] std::string storage_status() const override { return "ok"; }
  [[nodiscard]] std::vector<storage::RejectionItem> rejections() const override { return {}; }
};

std::string device_id(const storage::DeviceRow& d) { return d.vendor + ":" + d.serial; }

storage::Aggregate parse_aggregate(const std::string& text) {
  static const std::map<std::string, storage::Aggregate, std::less<>> names{
      {"avg", storage::Aggregate::avg}, {"min", storage::Aggregate::min}, {"max", storage::Aggregate::max},
      {"first", storage::Aggregate::first}, {"last", storage::Aggregate::last}};
  const auto it = names.find(text);
  if (it == names.end()) throw BadParameter("agg", "must be one of avg, min, max, first, last");
  return it->second;
}

struct SeriesData {
  storage::SeriesInfo info;
  std::vector<storage::Point> points;
};

struct SeriesAnswer {
  TimeRange range;
  std::optional<std::int64_t> step_s;
  std::vector<SeriesData> series;
};

// Room for a rendered series answer, so the body is not copied as it grows: a point
// (`,["2024-06-01T00:00:10Z",-1234.5]`) takes about 36 bytes.
std::size_t rendered_size_estimate(const SeriesAnswer& answer) {
  std::size_t points = 0;
  for (const auto& s : answer.series) points += s.points.size();
  return 256 * (answer.series.size() + 1) + 40 * points;
}

// What every request is answered from, beside the database.
struct Context {
  const Settings& settings;
  const LiveStatus& live;
  const HealthStatus& health;
  const MetricsSource* metrics;
  const DeviceStates* devices;
  const LocalCalendar& site_calendar;
};

// A kWh amount or ratio with no float noise of summing (to the µ-unit); null when unknown.
json rounded(const std::optional<double>& v) {
  return v ? json(std::round(*v * 1e6) / 1e6) : json(nullptr);
}

// Calls `use` with every device the latest values hold, under their lock (none without them).
void with_devices(const Context& c, const std::function<void(const DeviceStates::Devices&)>& use) {
  if (c.devices != nullptr) {
    c.devices->read(use);
  } else {
    use({});
  }
}

// The site's sources now (what /site, /site/series and /site/energy need).
site::SiteSources site_sources(const Context& c, UtcMillis now) {
  site::SiteSources sources;
  with_devices(c, [&](const DeviceStates::Devices& devices) { sources = site::resolve_sources(c.settings.site, devices, now); });
  return sources;
}

// The site's sources and flows now, computed under the latest values' lock.
struct SiteNowAnswer {
  site::SiteSources sources;
  site::SiteNow now;
};

SiteNowAnswer site_now_answer(const Context& c, UtcMillis now) {
  SiteNowAnswer answer;
  with_devices(c, [&](const DeviceStates::Devices& devices) {
    answer.sources = site::resolve_sources(c.settings.site, devices, now);
    answer.now = site::site_now(answer.sources, devices, now, [&](const DeviceState& d) {
      return c.live.online(d.vendor, d.serial, d.last_seen, now);
    });
  });
  return answer;
}

json site_latest(const Context& c, UtcMillis now) {
  const auto answer = site_now_answer(c, now);
  json metrics = json::object();
  for (const auto& flow : answer.now.flows) {
    metrics[std::string(flow.name)] = {{"value", or_null(flow.value)}, {"unit", flow.unit}};
  }
  return {{"time", time_json(now)},
          {"metrics", metrics},
          {"devices_online", answer.now.devices_online},
          {"devices", answer.now.devices}};
}

// One request being answered.
class Handler {
 public:
  // `history` may be null for front(), never for route().
  Handler(const Context& context, HistoryReader* history, UtcMillis now)
      : context_(context), settings_(context.settings), live_(context.live), health_status_(context.health),
        metrics_(context.metrics), history_(history), now_(now) {}

  // What needs no database: the token (checked before any parameter is read), the path, the
  // query's escapes, the method, and health. nullopt: the request goes on to the database.
  std::optional<Response> front(const Request& request) {
    const std::string_view target = request.target;
    const std::size_t question = target.find('?');
    const std::string_view path = target.substr(0, question);
    auto segments = path_segments(path);
    if (segments && segments->size() == 1 && (*segments)[0] == "metrics" && metrics_ != nullptr) {
      return metrics_page(request);
    }
    const bool health = is_health(segments);
    if (under_api(segments, path) && !health) check_token(request.authorization);
    if (!segments) throw HttpError{400, "bad_path", "bad percent-encoding in the path"};
    segments_ = std::move(*segments);
    query_ = QueryParams::parse(question == std::string_view::npos ? "" : target.substr(question + 1));
    if (segments_.empty() || segments_[0] != "api") {
      const StaticRequest wanted{path, request.if_none_match, request.accept_encoding};
      if (auto file = static_answer(settings_.files, wanted)) {
        check_method(request);
        return file;
      }
    }
    if (segments_.size() < 2 || segments_[0] != "api" || segments_[1] != "v1") throw not_found(target);
    check_method(request);
    if (health) return this->health();
    if (segments_.size() == 3 && segments_[2] == "site") return site();
    if (segments_.size() == 3 && segments_[2] == "live") {
      query_.allow_only({});  // the token is never accepted in the URL
      return Response{.status = 200, .content_type = "text/event-stream", .body = {}, .headers = {}, .live_stream = true};
    }
    if (segments_.size() == 4 && segments_[2] == "site" && segments_[3] == "latest") {
      query_.allow_only({});
      return json_response(200, site_latest(context_, now_));
    }
    return std::nullopt;
  }

  Response route(const Request& request) {
    if (auto early = front(request)) return std::move(*early);
    const std::string_view target = request.target;
    const auto& segments = segments_;
    if (segments.size() == 3 && segments[2] == "devices") return devices();
    if (segments.size() == 4 && segments[2] == "site" && segments[3] == "series") return site_series();
    if (segments.size() == 4 && segments[2] == "site" && segments[3] == "energy") return site_energy();
    if (segments.size() < 4 || segments[2] != "devices") throw not_found(target);
    const storage::DeviceRow device = find_device(segments[3]);
    if (segments.size() == 4) return json_response(200, device_json(device));
    if (segments.size() != 5) throw not_found(target);
    const std::string& what = segments[4];
    if (what == "latest") return latest(device);
    if (what == "series") return series(device);
    if (what == "events") return events(device);
    if (what == "frames") return frames(device);
    if (what == "export.csv") return export_csv(device);
    throw not_found(target);
  }

 private:
  static HttpError not_found(std::string_view target) {
    return {404, "not_found", "no such path: " + std::string(target.substr(0, target.find('?')))};
  }

  static void check_method(const Request& request) {
    if (request.method != "GET" && request.method != "HEAD") {
      throw HttpError{405, "method_not_allowed", "only GET and HEAD are supported"};
    }
  }

  void check_token(std::string_view authorization) const {
    if (settings_.token.empty()) return;
    const auto credentials = bearer_credentials(authorization);
    if (!credentials || !same_secret(*credentials, settings_.token)) {
      throw HttpError{401, "unauthorized", "this endpoint needs the header \"Authorization: Bearer <token>\""};
    }
  }

  // /metrics: either token when one is set (interfaces.md §3.1), the page from memory.
  Response metrics_page(const Request& request) const {
    if (!settings_.token.empty() || !settings_.metrics_token.empty()) {
      const auto credentials = bearer_credentials(request.authorization);
      const auto matches = [&](const std::string& token) {
        return !token.empty() && credentials && same_secret(*credentials, token);
      };
      if (!matches(settings_.token) && !matches(settings_.metrics_token)) {
        throw HttpError{401, "unauthorized", "/metrics needs the header \"Authorization: Bearer <token>\""};
      }
    }
    check_method(request);
    Response response;
    response.content_type = "text/plain; version=0.0.4; charset=utf-8";
    response.body = metrics_->metrics_text(now_);
    return response;
  }

  storage::DeviceRow find_device(const std::string& id) {
    const std::size_t colon = id.find(':');
    if (colon == std::string::npos || colon == 0 || colon + 1 == id.size()) {
      throw HttpError{404, "unknown_device", "device ids look like <vendor>:<serial>, got \"" + id + "\""};
    }
    auto device = history_->device(id.substr(0, colon), id.substr(colon + 1));
    if (!device) throw HttpError{404, "unknown_device", "no device " + id};
    return *device;
  }

  json device_json(const storage::DeviceRow& d) const {
    json parent = nullptr;
    if (d.parent_vendor && d.parent_serial) parent = *d.parent_vendor + ":" + *d.parent_serial;
    return {{"id", device_id(d)},
            {"vendor", d.vendor},
            {"serial", d.serial},
            {"model", or_null(d.model)},
            {"firmware", or_null(d.firmware)},
            {"first_seen", time_json(d.first_seen)},
            {"last_seen", time_json(d.last_seen)},
            {"online", live_.online(d.vendor, d.serial, d.last_seen, now_)},
            {"peer", or_null(d.peer)},
            {"clock_offset_s", d.clock_offset_ms ? json(static_cast<double>(*d.clock_offset_ms) / 1000.0) : json(nullptr)},
            {"parent", parent}};
  }

  // From memory only: health never waits for the query threads (interfaces.md §3).
  Response health() const {
    query_.allow_only({});
    json rejections = json::array();
    for (const auto& r : health_status_.rejections()) {
      rejections.push_back({{"peer", r.peer_host}, {"reason", r.reason}, {"serial", or_null(r.serial)},
                            {"count", r.count}, {"last", time_json(r.last)}});
    }
    return json_response(200, {{"status", "ok"},
                               {"version", settings_.version},
                               {"uptime_s", (now_ - settings_.started) / 1000},
                               {"storage", health_status_.storage_status()},
                               {"mqtt", health_status_.mqtt_status()},
                               {"token_required", !settings_.token.empty()},
                               {"rejections", rejections}});
  }

  Response devices() {
    query_.allow_only({});
    json list = json::array();
    for (const auto& d : history_->devices()) list.push_back(device_json(d));
    return json_response(200, list);
  }

  Response latest(const storage::DeviceRow& device) {
    query_.allow_only({});
    json metrics = json::object();
    for (const auto& v : history_->latest(device.id)) {
      metrics[v.series.name] = {{"value", v.point.value}, {"unit", v.series.unit}, {"time", time_json(v.point.t)}};
    }
    return json_response(200, {{"device", device_id(device)}, {"metrics", metrics}});
  }

  TimeRange range() const {
    const auto read = [this](const char* name) -> std::optional<UtcMillis> {
      const auto text = query_.get(name);
      if (!text) return std::nullopt;
      const auto t = parse_time(*text);
      if (!t) {
        throw BadParameter(name, "\"" + *text + "\" is not an RFC 3339 time or Unix seconds in the years 0000-9999");
      }
      return t;
    };
    const UtcMillis to = read("to").value_or(now_);
    const UtcMillis from = read("from").value_or(to - default_window_ms);
    if (from >= to) throw BadParameter("from", "must be earlier than to");
    return {from, to};
  }

  std::int64_t limit() const {
    const auto text = query_.get("limit");
    if (!text) return default_list_limit;
    const auto n = parse_positive(*text);
    if (!n) throw BadParameter("limit", "must be a positive integer");
    refuse_over_limit(*n, "limit");
    return *n;
  }

  void refuse_over_limit(std::int64_t points, const std::string& what) const {
    if (points <= settings_.max_points) return;
    throw HttpError{413, "too_many_points",
                    fmt::format("{} would return {} points, more than the limit of {}: use step or a shorter range",
                                what, points, settings_.max_points)};
  }

  SeriesAnswer collect_series(const storage::DeviceRow& device) {
    query_.allow_only({"metric", "from", "to", "step", "agg", "tz"});
    SeriesAnswer answer;
    answer.range = range();
    const auto names = query_.all("metric");
    if (names.empty()) throw BadParameter("metric", "at least one metric=<name> is required");
    std::vector<storage::SeriesInfo> infos;
    for (const auto& name : names) {
      auto info = history_->series(device.id, name);
      if (!info) throw BadParameter("metric", "device " + device_id(device) + " has no metric \"" + name + "\"");
      infos.push_back(*info);
    }
    const auto calendar = local_calendar();
    if (const auto step = this->step(infos.size(), answer.range, calendar.has_value())) {
      const auto agg = parse_aggregate(query_.get("agg").value_or("avg"));
      answer.step_s = *step;
      const auto buckets = bucketing(*step, calendar);
      for (auto& info : infos) answer.series.push_back({info, history_->bucketed_points(info.id, answer.range, buckets(), agg)});
      return answer;
    }
    if (query_.get("agg")) throw BadParameter("agg", "only applies together with step");
    std::int64_t total = 0;
    for (const auto& info : infos) total += history_->count_points(info.id, answer.range);
    refuse_over_limit(total, "this raw series");
    for (auto& info : infos) answer.series.push_back({info, history_->raw_points(info.id, answer.range)});
    return answer;
  }

  // The `step` in seconds, if given, with the answer's size checked for `series` series
  // (`local_days`: 1d buckets are local days, some 23 hours long).
  std::optional<std::int64_t> step(std::size_t series, TimeRange r, bool local_days) const {
    const auto text = query_.get("step");
    if (!text) return std::nullopt;
    const auto step = parse_step_seconds(*text);
    if (!step) throw BadParameter("step", "must be whole seconds or a duration such as 1m, 5m, 1h, 1d (at most 100 years)");
    const std::int64_t shortest_ms = local_days && *step == 86'400 ? 23LL * 3600 * 1000 : *step * 1000;
    const std::int64_t buckets = (r.to - r.from) / shortest_ms + 1;
    refuse_over_limit(buckets * static_cast<std::int64_t>(series), "this step");
    return step;
  }

  // The calendar of `tz`, when given.
  std::optional<LocalCalendar> local_calendar() const {
    const auto name = query_.get("tz");
    if (!name) return std::nullopt;
    try {
      return LocalCalendar(TimeZone(*name));
    } catch (const std::exception&) {
      throw BadParameter("tz", "\"" + *name + "\" is not a known IANA time zone (e.g. Europe/Berlin)");
    }
  }

  // Makes the bucket function of a `step`: local midnights of `calendar` for 1d, else multiples
  // of the step since the epoch. Each call gives a fresh one (a day bucketer remembers its day).
  static std::function<HistoryReader::BucketOf()> bucketing(std::int64_t step_s,
                                                            const std::optional<LocalCalendar>& calendar) {
    if (calendar && step_s == 86'400) {
      return [&calendar] { return HistoryReader::BucketOf(LocalDayBuckets(*calendar)); };
    }
    return [step_ms = step_s * 1000] {
      return HistoryReader::BucketOf([step_ms](UtcMillis t) { return period_start(t, step_ms); });
    };
  }

  Response series(const storage::DeviceRow& device) {
    return render_series(fmt::format(R"("device":{},)", json_text(device_id(device))), collect_series(device));
  }

  static std::string json_text(const std::string& s) {
    return json(s).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  }

  // Rendered directly: a day of raw points is 8,640 pairs, too many to build as JSON objects.
  // `head`: the fields before "from", each followed by a comma.
  static Response render_series(const std::string& head, const SeriesAnswer& answer) {
    std::string body;
    body.reserve(rendered_size_estimate(answer));
    body += fmt::format(R"({{{}"from":"{}","to":"{}","step_s":{},"series":[)", head, format_rfc3339(answer.range.from),
                        format_rfc3339(answer.range.to), answer.step_s ? std::to_string(*answer.step_s) : "null");
    for (std::size_t i = 0; i < answer.series.size(); ++i) {
      const auto& s = answer.series[i];
      body += fmt::format(R"({}{{"metric":{},"unit":{},"points":[)", i == 0 ? "" : ",", json_text(s.info.name),
                          json_text(s.info.unit));
      for (std::size_t k = 0; k < s.points.size(); ++k) {
        body += k == 0 ? "[\"" : ",[\"";
        append_rfc3339(body, s.points[k].t);
        body += "\",";
        append_number(body, s.points[k].value);
        body += ']';
      }
      body += "]}";
    }
    body += "]}";
    return {200, "application/json", std::move(body), {}};
  }

  // /api/v1/site: name, zone, sources and warnings, from memory.
  Response site() const {
    query_.allow_only({});
    const auto sources = site_sources(context_, now_);
    return json_response(200, {{"name", settings_.site.name},
                               {"timezone", context_.site_calendar.zone().name()},
                               {"sources", {{"pv", sources.pv}, {"grid", sources.grid}, {"battery", sources.battery}}},
                               {"warnings", sources.warnings}});
  }

  Response site_series() {
    query_.allow_only({"metric", "from", "to", "step", "agg", "tz"});
    SeriesAnswer answer;
    answer.range = range();
    const auto names = query_.all("metric");
    if (names.empty()) throw BadParameter("metric", "at least one metric=<name> is required");
    for (const auto& name : names) {
      if (!site::is_site_flow(name)) {
        throw BadParameter("metric", "\"" + name + "\" is not a site flow (pv_power, grid_power, battery_power, load_power, battery_soc)");
      }
    }
    const auto calendar = local_calendar();
    const auto step = this->step(names.size(), answer.range, calendar.has_value());
    if (!step) throw BadParameter("step", "is required for site series (e.g. step=5m)");
    const auto agg = parse_aggregate(query_.get("agg").value_or("avg"));
    answer.step_s = *step;
    const auto recipes = site::flow_recipes(site_sources(context_, now_));
    const auto buckets = bucketing(*step, calendar);
    for (const auto& name : names) {
      const auto& recipe = *std::find_if(recipes.begin(), recipes.end(), [&](const auto& r) { return r.name == name; });
      answer.series.push_back({{0, name, std::string(recipe.unit), true},
                               site_flow_points(*history_, recipe, answer.range, buckets(), agg)});
    }
    return render_series("", answer);
  }

  Response site_energy() {
    query_.allow_only({"from", "to", "period"});
    const std::string period_text = query_.get("period").value_or("day");
    if (period_text != "day" && period_text != "month") throw BadParameter("period", "must be day or month");
    const LocalPeriod period = period_text == "day" ? LocalPeriod::day : LocalPeriod::month;
    const TimeRange r = range();
    constexpr std::int64_t shortest_period_ms = 23LL * 3600 * 1000;  // a day that loses an hour
    const std::int64_t most_periods = (r.to - r.from) / shortest_period_ms + 2;
    refuse_over_limit(period == LocalPeriod::day ? most_periods : most_periods / 28 + 2, "this range");
    const auto& calendar = context_.site_calendar;
    const auto edges = period_edges(calendar, period, r);
    json rows = json::array();
    for (const auto& row : api::site_energy(*history_, site_sources(context_, now_), calendar, edges, now_)) {
      rows.push_back({{"start", time_json(row.start)},
                      {"produced", rounded(row.produced)},
                      {"consumed", rounded(row.consumed)},
                      {"imported", rounded(row.imported)},
                      {"exported", rounded(row.exported)},
                      {"charged", rounded(row.charged)},
                      {"discharged", rounded(row.discharged)},
                      {"self_sufficiency", rounded(row.self_sufficiency)},
                      {"complete", row.complete}});
    }
    return json_response(200, {{"timezone", calendar.zone().name()}, {"period", period_text}, {"rows", rows}});
  }

  Response export_csv(const storage::DeviceRow& device) {
    const SeriesAnswer answer = collect_series(device);
    // One row per time present in any series; a series without a value there leaves its cell empty.
    std::map<UtcMillis, std::vector<std::optional<double>>> rows;
    for (std::size_t i = 0; i < answer.series.size(); ++i) {
      for (const auto& p : answer.series[i].points) {
        auto& row = rows[p.t];
        row.resize(answer.series.size());
        row[i] = p.value;
      }
    }
    std::string csv = "time";
    for (const auto& s : answer.series) csv += "," + s.info.name;
    csv += "\n";
    for (const auto& [t, values] : rows) {
      append_rfc3339(csv, t);
      for (const auto& v : values) {
        csv += ',';
        if (v) append_number(csv, *v);
      }
      csv += '\n';
    }
    return {200, "text/csv; charset=utf-8", std::move(csv), {}};
  }

  Response events(const storage::DeviceRow& device) {
    query_.allow_only({"from", "to", "limit"});
    const TimeRange r = range();
    json list = json::array();
    for (const auto& e : history_->events(device.id, r, limit())) {
      list.push_back({{"time", time_json(e.time)}, {"code", or_null(e.code)}, {"source", e.source}, {"text", or_null(e.text)}});
    }
    return json_response(200, {{"device", device_id(device)}, {"events", list}});
  }

  Response frames(const storage::DeviceRow& device) {
    query_.allow_only({"from", "to", "limit"});
    const TimeRange r = range();
    json list = json::array();
    for (const auto& f : history_->frames(device.id, r, limit())) {
      list.push_back({{"time", time_json(f.time)},
                      {"direction", f.outgoing ? "out" : "in"},
                      {"command", f.command},
                      {"hex", to_hex(live_.display_frame(device.vendor, f.raw, settings_.expose_personal_data))}});
    }
    return json_response(200, {{"device", device_id(device)}, {"frames", list}});
  }

  const Context& context_;
  const Settings& settings_;
  const LiveStatus& live_;
  const HealthStatus& health_status_;
  const MetricsSource* metrics_;
  HistoryReader* history_;
  UtcMillis now_;
  std::vector<std::string> segments_;
  QueryParams query_;
};

// Runs `answer`, turning what it raises into the error answer.
template <class Answer>
auto answered(Answer&& answer) -> decltype(answer()) {
  try {
    return answer();
  } catch (const HttpError& e) {
    return error_response(e);
  } catch (const BadParameter& e) {
    return error_response({400, "bad_parameter", e.name + ": " + e.what()});
  } catch (const storage::StorageError& e) {
    return error_response({503, "storage_unavailable", e.what()});
  } catch (const std::exception& e) {
    // A fault of ours, not of the request: the client gets JSON, the log gets the reason.
    spdlog::error("api: answering a request failed: {}", e.what());
    return error_response({500, "internal_error", "the server failed to answer; its log says why"});
  }
}

}  // namespace

const HealthStatus& no_health_status() {
  static const NoHealthStatus none;
  return none;
}

Api::Api(Settings settings, const LiveStatus& live, const HealthStatus& health, const MetricsSource* metrics,
         const DeviceStates* devices)
    : settings_(std::move(settings)),
      live_(live),
      health_(health),
      metrics_(metrics),
      devices_(devices),
      site_calendar_(TimeZone(settings_.site.timezone)) {}

std::optional<Response> Api::answer_from_memory(const Request& request, UtcMillis now) const {
  const Context context{settings_, live_, health_, metrics_, devices_, site_calendar_};
  return answered([&]() -> std::optional<Response> { return Handler(context, nullptr, now).front(request); });
}

Response Api::handle(const Request& request, HistoryReader& history, UtcMillis now) const {
  const Context context{settings_, live_, health_, metrics_, devices_, site_calendar_};
  return answered([&] { return Handler(context, &history, now).route(request); });
}

std::string Api::site_latest_json(UtcMillis now) const {
  const Context context{settings_, live_, health_, metrics_, devices_, site_calendar_};
  return site_latest(context, now).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace sunkeep::api
