// Everything the process logs during a test, at every level, for checks that something is never
// logged.
#pragma once

#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <memory>
#include <sstream>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace sunkeep::test {

// Adds a sink taking every message at trace level to the default logger; the sinks already there
// keep the level they showed before. Create it before any server and read it once the servers
// are gone: a logger's sinks are not safe to change while other threads log.
class LogCapture {
 public:
  LogCapture() : logger_(spdlog::default_logger()), level_(logger_->level()) {
    for (auto& sink : logger_->sinks()) {
      quieted_.emplace_back(sink, sink->level());
      sink->set_level(std::max(sink->level(), level_));
    }
    sink_->set_level(spdlog::level::trace);
    logger_->sinks().push_back(sink_);
    logger_->set_level(spdlog::level::trace);
  }
  ~LogCapture() {
    auto& sinks = logger_->sinks();
    sinks.erase(std::remove(sinks.begin(), sinks.end(), sink_), sinks.end());
    for (auto& [sink, level] : quieted_) sink->set_level(level);
    logger_->set_level(level_);
  }
  LogCapture(const LogCapture&) = delete;
  LogCapture& operator=(const LogCapture&) = delete;

  [[nodiscard]] std::string text() const {
    sink_->flush();
    return stream_.str();
  }
  // How many logged lines contain `part`.
  [[nodiscard]] std::size_t lines_with(std::string_view part) const {
    std::istringstream lines(text());
    std::size_t count = 0;
    for (std::string line; std::getline(lines, line);) count += line.find(part) != std::string::npos ? 1U : 0U;
    return count;
  }

 private:
  std::ostringstream stream_;
  std::shared_ptr<spdlog::sinks::ostream_sink_mt> sink_ = std::make_shared<spdlog::sinks::ostream_sink_mt>(stream_);
  std::shared_ptr<spdlog::logger> logger_;
  spdlog::level::level_enum level_;
  std::vector<std::pair<spdlog::sink_ptr, spdlog::level::level_enum>> quieted_;
};

}  // namespace sunkeep::test
