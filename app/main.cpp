// The sunkeep command line (interfaces.md §1): serve, check-config, --version, --help.
// Exit codes: 0 ok, 2 usage or config error, 1 runtime failure.
#include "config/config.hpp"
#include "drivers/registry.hpp"
#include "server/server.hpp"

#include <CLI/CLI.hpp>
#include <spdlog/spdlog.h>

#include <sys/resource.h>

#include <cstdio>
#include <iostream>

namespace {

constexpr int exit_ok = 0;
constexpr int exit_runtime = 1;
constexpr int exit_usage = 2;

int report_problems(const sunkeep::config::LoadResult& result, const std::string& source) {
  for (const auto& p : result.problems) std::cerr << p.to_string(source) << '\n';
  return result.ok() ? exit_ok : exit_usage;
}

int check_config(const std::string& path) {
  const auto result = sunkeep::config::load_config_file(path);
  if (result.ok()) {
    std::cout << path << ": ok\n";
    return exit_ok;
  }
  return report_problems(result, path);
}

// One descriptor per device connection: lift the soft limit (often 1024) to the hard limit so a
// site with thousands of devices is not refused at the door.
void raise_open_file_limit() {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0 || limit.rlim_cur >= limit.rlim_max) return;
  limit.rlim_cur = limit.rlim_max;
  if (setrlimit(RLIMIT_NOFILE, &limit) != 0) spdlog::warn("could not raise the open file limit");
}

int serve(const std::string& config_path) {
  sunkeep::config::LoadResult loaded;
  if (!config_path.empty()) {
    loaded = sunkeep::config::load_config_file(config_path);
    if (!loaded.ok()) return report_problems(loaded, config_path);
  }
  spdlog::info("sunkeep {} starting ({})", SUNKEEP_VERSION,
               config_path.empty() ? "built-in defaults" : "config " + config_path);
  raise_open_file_limit();
  try {
    sunkeep::server::Server server(loaded.config, sunkeep::drivers::all_drivers());
    server.start();
    server.run_until_signal();
  } catch (const std::exception& e) {
    spdlog::critical("{}", e.what());
    return exit_runtime;
  }
  return exit_ok;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"sunkeep: a home server standing in for the vendor clouds of batteries and inverters"};
  app.set_version_flag("--version", std::string("sunkeep ") + SUNKEEP_VERSION);
  app.require_subcommand(1);

  std::string serve_config;
  auto* serve_cmd = app.add_subcommand("serve", "run the server until SIGINT/SIGTERM");
  serve_cmd->add_option("--config", serve_config, "TOML config file (built-in defaults without it)")
      ->check(CLI::ExistingFile);

  std::string check_path;
  auto* check_cmd = app.add_subcommand("check-config", "validate a config file; prints each problem with key and line");
  check_cmd->add_option("FILE", check_path, "TOML config file")->required();

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);
    return code == 0 ? exit_ok : exit_usage;
  }
  if (const char* level = std::getenv("SUNKEEP_LOG_LEVEL")) spdlog::set_level(spdlog::level::from_str(level));
  if (*check_cmd) return check_config(check_path);
  if (*serve_cmd) return serve(serve_config);
  return exit_usage;
}
