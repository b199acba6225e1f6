// `sunkeep doctor`: the owner's first aid. It checks what usually keeps a device from reaching
// sunkeep (the config, the database, the ports, the DNS overrides of the vendors' cloud names, the
// devices heard, the connections refused) and says for each finding what to do.
#pragma once

#include "admin/host_probe.hpp"
#include "common/civil_time.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace sunkeep::admin {

enum class Verdict { ok, info, problem };

struct Finding {
  Verdict verdict = Verdict::ok;
  std::string topic;   // "config", "database", "port", "dns", "devices", "refused"
  std::string text;    // what was found
  std::string advice;  // what to do ("" when nothing)
};

struct DoctorOptions {
  std::string config_path;           // "" = the built-in defaults
  std::optional<Resolver> resolver;  // ask this DNS server instead of the system's
  UtcMillis now = 0;
};

// Below this much free space on the database's file system a finding says the disk is full.
inline constexpr std::uint64_t low_disk_bytes = 256ULL << 20;
// A device not heard for this long is a problem (a PV inverter may sleep through the night).
inline constexpr std::int64_t silent_device_ms = 24LL * 3600 * 1000;
// Connections refused this recently are a problem; older ones are shown as information.
inline constexpr std::int64_t recent_refusal_ms = 7LL * 24 * 3600 * 1000;

// The single checks, each a pure judgement of what the host reported.
Finding judge_disk_space(const std::string& folder, const std::optional<DiskSpace>& space);
Finding judge_resolution(const std::string& name, const Resolution& resolution,
                         const std::vector<std::string>& local_addresses, const std::string& asked);
Finding judge_port(const std::string& key, const config::Endpoint& endpoint, bool udp, const PortProbe& probe);

// Every check, in order.
std::vector<Finding> run_doctor(const DoctorOptions& options);

// The report as printed: one line per finding, an indented "→" line with the advice.
std::string format_findings(const std::vector<Finding>& findings);

// 0 when no finding is a problem, 1 otherwise.
int doctor_exit_code(const std::vector<Finding>& findings);

}  // namespace sunkeep::admin
