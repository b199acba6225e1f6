// The sunkeep command line (interfaces.md §1): serve, check-config, backup, doctor, health,
// --version, --help. Exit codes: 0 ok, 2 usage or config error, 1 runtime failure (doctor: 1 when
// it found a problem; health: 1 when the server is not healthy).
#include "admin/backup.hpp"
#include "admin/doctor.hpp"
#include "admin/health_probe.hpp"
#include "admin/log_setup.hpp"
#include "config/config.hpp"
#include "drivers/registry.hpp"
#include "server/server.hpp"

#include <CLI/CLI.hpp>
#include <spdlog/spdlog.h>

#include <sys/resource.h>

#include <chrono>
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

// The config a command runs with: the file's, or the built-in defaults without one.
std::optional<sunkeep::config::Config> load_or_report(const std::string& path) {
  if (path.empty()) return sunkeep::config::Config{};
  auto loaded = sunkeep::config::load_config_file(path);
  if (!loaded.ok()) {
    report_problems(loaded, path);
    return std::nullopt;
  }
  return std::move(loaded.config);
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
  const auto config = load_or_report(config_path);
  if (!config) return exit_usage;
  sunkeep::admin::configure_logging(*sunkeep::config::parse_log_level(config->log.level));
  spdlog::info("sunkeep {} starting ({})", SUNKEEP_VERSION,
               config_path.empty() ? "built-in defaults" : "config " + config_path);
  raise_open_file_limit();
  try {
    sunkeep::server::Server server(*config, sunkeep::drivers::all_drivers());
    server.start();
    server.run_until_signal();
  } catch (const std::exception& e) {
    spdlog::critical("{}", e.what());
    return exit_runtime;
  }
  return exit_ok;
}

int backup(const std::string& target, const std::string& config_path, bool force) {
  const auto config = load_or_report(config_path);
  if (!config) return exit_usage;
  const auto outcome = sunkeep::admin::backup_database(config->storage.path, target, force);
  if (!outcome.ok) {
    std::cerr << "backup failed: " << outcome.message << '\n';
    return exit_runtime;
  }
  std::cout << outcome.message << " (" << outcome.bytes << " bytes)\n";
  return exit_ok;
}

int doctor(const std::string& config_path, const std::string& resolver_text) {
  sunkeep::admin::DoctorOptions options{.config_path = config_path};
  if (!resolver_text.empty()) {
    options.resolver = sunkeep::admin::parse_resolver(resolver_text);
    if (!options.resolver) {
      std::cerr << "--resolver: \"" << resolver_text << "\" is not an IPv4 address[:port]\n";
      return exit_usage;
    }
  }
  options.now = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
  const auto findings = sunkeep::admin::run_doctor(options);
  std::cout << sunkeep::admin::format_findings(findings);
  return sunkeep::admin::doctor_exit_code(findings);
}

int health(const std::string& config_path) {
  const auto config = load_or_report(config_path);
  if (!config) return exit_usage;
  const auto answer = sunkeep::admin::probe_health(config->http.listen, std::chrono::seconds(3));
  (answer.healthy ? std::cout : std::cerr) << answer.detail << '\n';
  return answer.healthy ? exit_ok : exit_runtime;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"sunkeep: a home server standing in for the vendor clouds of batteries and inverters"};
  app.set_version_flag("--version", std::string("sunkeep ") + SUNKEEP_VERSION);
  app.require_subcommand(1);

  std::string config_path;
  auto* serve_cmd = app.add_subcommand("serve", "run the server until SIGINT/SIGTERM");
  serve_cmd->add_option("--config", config_path, "TOML config file (built-in defaults without it)")->check(CLI::ExistingFile);

  std::string check_path;
  auto* check_cmd = app.add_subcommand("check-config", "validate a config file; prints each problem with key and line");
  check_cmd->add_option("FILE", check_path, "TOML config file")->required();

  std::string backup_path;
  bool force = false;
  auto* backup_cmd = app.add_subcommand("backup", "write a consistent copy of the database to FILE, also while the server runs");
  backup_cmd->add_option("FILE", backup_path, "where the copy goes")->required();
  backup_cmd->add_option("--config", config_path, "TOML config file naming the database ([storage] path)")->check(CLI::ExistingFile);
  backup_cmd->add_flag("--force", force, "replace FILE if it exists");

  std::string resolver;
  auto* doctor_cmd = app.add_subcommand("doctor", "check config, database, ports, DNS redirects, devices and refusals; exit 1 on a problem");
  doctor_cmd->add_option("--config", config_path, "TOML config file (built-in defaults without it)");
  doctor_cmd->add_option("--resolver", resolver, "ask this DNS server (IPv4[:port]) instead of the system resolver");

  auto* health_cmd = app.add_subcommand("health", "ask the running server's /api/v1/health; exit 0 when it answers ok");
  health_cmd->add_option("--config", config_path, "TOML config file naming [http] listen")->check(CLI::ExistingFile);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);
    return code == 0 ? exit_ok : exit_usage;
  }
  sunkeep::admin::configure_logging();
  if (*check_cmd) return check_config(check_path);
  if (*serve_cmd) return serve(config_path);
  if (*backup_cmd) return backup(backup_path, config_path, force);
  if (*doctor_cmd) return doctor(config_path, resolver);
  if (*health_cmd) return health(config_path);
  return exit_usage;
}
