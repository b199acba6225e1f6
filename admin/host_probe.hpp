// What `sunkeep doctor` asks the host: whether a port can be bound and which program holds it,
// the host's own addresses, what a name resolves to (through the system resolver or a named DNS
// server), and the free space of a file system.
#pragma once

#include "config/values.hpp"

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace sunkeep::admin {

struct PortHolder {
  pid_t pid = 0;
  std::string program;  // /proc/<pid>/comm
};

struct PortProbe {
  bool bindable = false;            // sunkeep could bind it now (UDP: sharing it as sunkeep does)
  std::string error;                // why not
  std::vector<PortHolder> holders;  // the processes with that port open (TCP: listening), as far as /proc shows
};

// Tries to bind `endpoint` (TCP listening, or UDP with SO_REUSEADDR and SO_REUSEPORT like sunkeep's
// meter listener), releases it, and looks up who holds the port.
PortProbe probe_port(const config::Endpoint& endpoint, bool udp);

// The addresses of this host's interfaces, loopback included, as text ("192.168.1.10", "::1").
std::vector<std::string> local_addresses();

// 127.0.0.0/8 or ::1: an address every device has for itself.
bool is_loopback_address(const std::string& address);

struct Resolution {
  std::vector<std::string> addresses;  // empty when the name did not resolve
  std::string error;                   // why not
};

// A DNS server to ask instead of the system resolver: "192.168.1.1" or "127.0.0.1:5353".
struct Resolver {
  std::string host;
  std::uint16_t port = 53;
};

// The name's addresses: through getaddrinfo, or the A records `resolver` answers.
Resolution resolve(const std::string& name, const std::optional<Resolver>& resolver);

// "192.168.1.1" or "host:port" as a Resolver, or nullopt when it is not an IPv4 address[:port].
std::optional<Resolver> parse_resolver(const std::string& text);

struct DiskSpace {
  std::uint64_t available = 0;  // bytes an unprivileged writer may still use
  std::uint64_t total = 0;
};

// The file system holding `path` (a folder); nullopt when it cannot be asked.
std::optional<DiskSpace> disk_space(const std::string& path);

}  // namespace sunkeep::admin
