// `sunkeep doctor` (see doctor.hpp): each check turns what the host says into findings.
#include "admin/doctor.hpp"

#include "config/config.hpp"
#include "config/vendor/endpoints.hpp"
#include "storage/history.hpp"
#include "storage/schema.hpp"
#include "storage/sqlite.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <functional>

namespace sunkeep::admin {

namespace {

namespace fs = std::filesystem;
using Findings = std::vector<Finding>;

constexpr const char* redirect_guide = "docs/redirect.md";

std::string megabytes(std::uint64_t bytes) { return fmt::format("{:.0f} MB", static_cast<double>(bytes) / 1e6); }

std::string age_text(std::int64_t ms) {
  const std::int64_t s = ms / 1000;
  if (s < 120) return fmt::format("{} s", s);
  if (s < 7200) return fmt::format("{} min", s / 60);
  if (s < 172800) return fmt::format("{} h", s / 3600);
  return fmt::format("{} days", s / 86400);
}

Findings check_config(const std::string& path, config::Config& config) {
  if (path.empty()) return {{Verdict::info, "config", "no --config given: checking the built-in defaults", ""}};
  const auto loaded = config::load_config_file(path);
  config = loaded.config;
  if (loaded.ok()) return {{Verdict::ok, "config", path + " is valid", ""}};
  Findings findings;
  for (const auto& problem : loaded.problems) {
    findings.push_back({Verdict::problem, "config", problem.to_string(path),
                        "fix that line (`sunkeep check-config " + path + "` lists every problem); the rest is checked with defaults"});
  }
  return findings;
}

// The nearest folder that exists on the way to `folder` (the one whose space the database would use).
fs::path existing_ancestor(fs::path folder) {
  std::error_code error;
  while (!folder.empty() && !fs::exists(folder, error)) folder = folder.parent_path();
  return folder.empty() ? fs::path(".") : folder;
}

// quick_check and schema version of a database that exists; true when it can be read.
bool check_database_file(const std::string& path, Findings& findings) {
  if (::access(path.c_str(), R_OK | W_OK) != 0) {
    findings.push_back({Verdict::problem, "database", path + " is not readable and writable by this user",
                        "run doctor as root (sudo) or as the user sunkeep runs as; the server needs both"});
    if (::access(path.c_str(), R_OK) != 0) return false;
  }
  try {
    storage::Connection db(path, storage::Connection::Mode::read_only);
    const std::string verdict = db.query_text("PRAGMA quick_check");
    const auto version = db.query_int("PRAGMA user_version");
    if (verdict != "ok") {
      findings.push_back({Verdict::problem, "database", path + " fails quick_check: " + verdict,
                          "stop sunkeep and restore the newest backup (README: Backup and restore)"});
    } else if (version > storage::latest_schema_version()) {
      findings.push_back({Verdict::problem, "database", fmt::format("{} has schema {}, newer than this sunkeep ({})", path, version,
                                                                    storage::latest_schema_version()),
                          "run the sunkeep version that wrote it"});
    } else {
      std::error_code error;
      findings.push_back({Verdict::ok, "database", fmt::format("{} passes quick_check ({})", path, megabytes(fs::file_size(path, error))), ""});
    }
    return true;
  } catch (const storage::StorageError& e) {
    findings.push_back({Verdict::problem, "database", path + " cannot be read: " + e.what(),
                        "check the file's owner and permissions, or restore a backup"});
    return false;
  }
}

// A database file owned by another user than its folder: a copy restored as root, which the
// service's user cannot open.
std::optional<Finding> judge_owner(const std::string& path, const fs::path& folder) {
  struct stat file_info {};
  struct stat folder_info {};
  if (::stat(path.c_str(), &file_info) != 0 || ::stat(folder.c_str(), &folder_info) != 0) return std::nullopt;
  if (file_info.st_uid == folder_info.st_uid) return std::nullopt;
  return Finding{Verdict::problem, "database",
                 fmt::format("{} is owned by uid {}, its folder by uid {}: sunkeep may not be able to open it", path, file_info.st_uid,
                             folder_info.st_uid),
                 fmt::format("sudo chown --reference={} {}", folder.string(), path)};
}

Findings check_database(const std::string& path, bool& readable) {
  Findings findings;
  const fs::path folder = fs::path(path).has_parent_path() ? fs::path(path).parent_path() : fs::path(".");
  std::error_code error;
  readable = false;
  const bool exists = fs::exists(path, error);
  if (error) {
    findings.push_back({Verdict::problem, "database", "cannot look for " + path + ": " + error.message(),
                        "run doctor as root (sudo): the service's folder is closed to other users"});
    return findings;
  }
  const fs::path ancestor = existing_ancestor(folder);
  if (exists) {
    readable = check_database_file(path, findings);
    if (auto owner = judge_owner(path, folder)) findings.push_back(std::move(*owner));
  } else {
    const bool writable = ::access(ancestor.c_str(), W_OK) == 0;
    findings.push_back({writable ? Verdict::info : Verdict::problem, "database",
                        "no database at " + path + " yet" + (writable ? ": `sunkeep serve` creates it" : " and " + ancestor.string() + " is not writable"),
                        writable ? "" : "make the folder writable for sunkeep's user or change [storage] path"});
  }
  findings.push_back(judge_disk_space(ancestor.string(), disk_space(ancestor.string())));
  return findings;
}

std::string holder_names(const std::vector<PortHolder>& holders) {
  std::vector<std::string> names;
  for (const auto& h : holders) names.push_back(fmt::format("{} (pid {})", h.program, h.pid));
  return fmt::format("{}", fmt::join(names, ", "));
}

}  // namespace

Finding judge_port(const std::string& key, const config::Endpoint& endpoint, bool udp, const PortProbe& probe) {
  const std::string where = fmt::format("{} {} ({})", udp ? "UDP" : "TCP", endpoint.to_string(), key);
  const auto sunkeep = std::find_if(probe.holders.begin(), probe.holders.end(), [](const PortHolder& h) { return h.program == "sunkeep"; });
  if (sunkeep != probe.holders.end()) return {Verdict::ok, "port", fmt::format("{} is held by sunkeep (pid {})", where, sunkeep->pid), ""};
  if (probe.bindable && probe.holders.empty()) return {Verdict::info, "port", where + " is free", ""};
  if (probe.bindable) return {Verdict::info, "port", where + " is shared with " + holder_names(probe.holders) + "; sunkeep can share it", ""};
  if (!probe.holders.empty()) {
    return {Verdict::problem, "port", where + " is held by " + holder_names(probe.holders), "stop that program or change " + key};
  }
  if (probe.error == std::strerror(EADDRINUSE)) {
    return {Verdict::info, "port", where + " is in use by a process this user cannot see",
            "run doctor as root to see whether it is sunkeep"};
  }
  return {Verdict::problem, "port", where + " cannot be bound: " + probe.error,
          "use an address of this host in " + key + " (0.0.0.0 = all)"};
}

namespace {

Findings check_ports(const config::Config& config) {
  Findings findings;
  bool all_free = true;
  for (const auto& listener : config::listen_addresses(config)) {
    if (listener.endpoint.port == 0) continue;  // any free port: nothing to check
    const PortProbe probe = probe_port(listener.endpoint, listener.udp);
    all_free = all_free && probe.bindable && probe.holders.empty();
    findings.push_back(judge_port(listener.key, listener.endpoint, listener.udp, probe));
  }
  if (all_free && !findings.empty()) {
    findings.push_back({Verdict::problem, "server", "sunkeep is not running with this config (none of its ports is held)",
                        "start it: systemctl start sunkeep (or sunkeep serve --config FILE)"});
  }
  return findings;
}

// `heard`: the vendor has a device that reached sunkeep within a day. Then a name that does not
// point here is no problem (a DNAT rule does the redirecting, or the unit dials a fixed IP).
Findings check_dns(const DoctorOptions& options, const std::vector<config::CloudName>& names,
                   const std::function<bool(const std::string&)>& heard) {
  const std::string asked = options.resolver ? "DNS server " + options.resolver->host : "the system resolver";
  const auto addresses = local_addresses();
  Findings findings;
  for (const auto& name : names) {
    Finding finding = judge_resolution(name.host, resolve(name.host, options.resolver), addresses, asked);
    if (finding.verdict == Verdict::problem && heard(name.vendor)) {
      finding.verdict = Verdict::info;
      finding.text += " (yet a " + name.vendor + " device reached sunkeep within a day: a DNAT rule or a fixed server IP)";
      finding.advice.clear();
    }
    findings.push_back(std::move(finding));
  }
  return findings;
}

Finding judge_device(const storage::DeviceRow& device, UtcMillis now) {
  const std::string id = device.vendor + ":" + device.serial;
  const std::int64_t silent = now - device.last_seen;
  const std::string when = fmt::format("last heard {} ago ({})", age_text(std::max<std::int64_t>(silent, 0)), format_rfc3339(device.last_seen));
  if (silent <= silent_device_ms) return {Verdict::ok, "devices", id + " " + when, ""};
  return {Verdict::problem, "devices", id + " " + when,
          "check that it is powered and online, and that its redirect or [[…]] entry still holds (" + std::string(redirect_guide) + ")"};
}

std::string refusal_advice(const std::string& reason) {
  if (reason == "tls_client_hello") {
    return "this device's firmware speaks TLS, which sunkeep cannot answer; see " + std::string(redirect_guide) + " (TLS)";
  }
  return "see docs/api.md (rejections) for the reason; a device sending this keeps being refused";
}

struct History {
  std::vector<storage::DeviceRow> devices;
  std::vector<storage::RejectionItem> refused;
  std::string error;  // why they could not be read
};

History read_history(const std::string& path) {
  History history;
  try {
    storage::Connection db(path, storage::Connection::Mode::read_only);
    storage::HistoryReader reader(db);
    history.devices = reader.devices();
    history.refused = reader.rejections();
  } catch (const storage::StorageError& e) {
    history.error = e.what();
  }
  return history;
}

bool vendor_heard_since(const History& history, const std::string& vendor, UtcMillis since) {
  return std::any_of(history.devices.begin(), history.devices.end(),
                     [&](const storage::DeviceRow& d) { return d.vendor == vendor && d.last_seen >= since; });
}

Finding judge_refusal(const storage::RejectionItem& refused, UtcMillis now) {
  const bool recent = now - refused.last <= recent_refusal_ms;
  return {recent ? Verdict::problem : Verdict::info, "refused",
          fmt::format("{} refused {} time{}: {}{} (last {})", refused.peer_host, refused.count, refused.count == 1 ? "" : "s",
                      refused.reason, refused.serial ? " serial " + *refused.serial : "", format_rfc3339(refused.last)),
          recent ? refusal_advice(refused.reason) : ""};
}

Findings judge_history(const History& history, UtcMillis now) {
  if (!history.error.empty()) return {{Verdict::problem, "devices", "cannot read the devices: " + history.error, ""}};
  Findings findings;
  if (history.devices.empty()) {
    findings.push_back({Verdict::problem, "devices", "no device has reached sunkeep yet",
                        "redirect the device's cloud traffic to this host, or add its [[…]] entry for polling (" + std::string(redirect_guide) + ")"});
  }
  for (const auto& device : history.devices) findings.push_back(judge_device(device, now));
  for (const auto& refused : history.refused) findings.push_back(judge_refusal(refused, now));
  return findings;
}

void append(Findings& to, Findings more) { to.insert(to.end(), std::make_move_iterator(more.begin()), std::make_move_iterator(more.end())); }

}  // namespace

Finding judge_disk_space(const std::string& folder, const std::optional<DiskSpace>& space) {
  if (!space) return {Verdict::problem, "disk", "cannot tell the free space of " + folder, ""};
  const std::string amounts = fmt::format("{} free of {} on {}", megabytes(space->available), megabytes(space->total), folder);
  if (space->available >= low_disk_bytes) return {Verdict::ok, "disk", amounts, ""};
  return {Verdict::problem, "disk", amounts + ": the disk is (nearly) full",
          "free space there or move [storage] path; while the disk is full sunkeep stores and acknowledges nothing (devices resend later)"};
}

Finding judge_resolution(const std::string& name, const Resolution& resolution, const std::vector<std::string>& local,
                         const std::string& asked) {
  const std::string advice = "add a DNS override of " + name + " to this host's LAN address on the resolver the battery uses (" +
                             std::string(redirect_guide) + "); a unit set to a fixed server IP needs a DNAT rule instead";
  if (resolution.addresses.empty()) {
    return {Verdict::problem, "dns", name + " does not resolve through " + asked + ": " + resolution.error, advice};
  }
  const std::string answer = fmt::format("{}", fmt::join(resolution.addresses, ", "));
  const auto is_lan_address_here = [&](const std::string& a) {
    return !is_loopback_address(a) && std::find(local.begin(), local.end(), a) != local.end();
  };
  if (std::any_of(resolution.addresses.begin(), resolution.addresses.end(), is_lan_address_here)) {
    return {Verdict::ok, "dns", name + " resolves to this host (" + answer + ") through " + asked, ""};
  }
  if (std::all_of(resolution.addresses.begin(), resolution.addresses.end(), is_loopback_address)) {
    return {Verdict::problem, "dns", name + " resolves to " + answer + " through " + asked + ": a loopback address, which a battery takes as itself",
            "answer with this host's LAN address instead (" + std::string(redirect_guide) + ")"};
  }
  return {Verdict::problem, "dns", name + " resolves to " + answer + " through " + asked + ", not to this host: the battery still reaches the vendor cloud", advice};
}

std::vector<Finding> run_doctor(const DoctorOptions& options) {
  config::Config config;
  Findings findings = check_config(options.config_path, config);
  bool readable = false;
  append(findings, check_database(config.storage.path, readable));
  append(findings, check_ports(config));
  const History history = readable ? read_history(config.storage.path) : History{};
  const auto heard = [&](const std::string& vendor) { return vendor_heard_since(history, vendor, options.now - silent_device_ms); };
  append(findings, check_dns(options, config::cloud_names(config), heard));
  if (readable) append(findings, judge_history(history, options.now));
  return findings;
}

std::string format_findings(const std::vector<Finding>& findings) {
  std::string out;
  for (const auto& f : findings) {
    const char* label = f.verdict == Verdict::ok ? "ok" : f.verdict == Verdict::info ? "info" : "PROBLEM";
    out += fmt::format("{:<8} {:<9} {}\n", label, f.topic, f.text);
    if (!f.advice.empty()) out += fmt::format("{:<18} → {}\n", "", f.advice);
  }
  const auto problems = std::count_if(findings.begin(), findings.end(), [](const Finding& f) { return f.verdict == Verdict::problem; });
  out += problems == 0 ? "all well\n" : fmt::format("{} problem{} found\n", problems, problems == 1 ? "" : "s");
  return out;
}

int doctor_exit_code(const std::vector<Finding>& findings) {
  return std::any_of(findings.begin(), findings.end(), [](const Finding& f) { return f.verdict == Verdict::problem; }) ? 1 : 0;
}

}  // namespace sunkeep::admin
