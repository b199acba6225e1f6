// Host probes for `sunkeep doctor` (see host_probe.hpp).
#include "admin/host_probe.hpp"

#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <ifaddrs.h>
#include <netdb.h>
#include <netinet/in.h>
#include <resolv.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace sunkeep::admin {

namespace {

namespace fs = std::filesystem;

// A socket address for `host` (IPv4 or IPv6 text) and `port`; false when `host` is neither.
bool socket_address(const std::string& host, std::uint16_t port, sockaddr_storage& out, socklen_t& size) {
  out = {};
  auto* v4 = reinterpret_cast<sockaddr_in*>(&out);
  if (inet_pton(AF_INET, host.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(port);
    size = sizeof(sockaddr_in);
    return true;
  }
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&out);
  if (inet_pton(AF_INET6, host.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(port);
    size = sizeof(sockaddr_in6);
    return true;
  }
  return false;
}

// The socket inodes /proc/net/<table> lists on local port `port` (TCP: listening ones only).
std::vector<std::string> socket_inodes(const std::string& table, std::uint16_t port, bool tcp) {
  std::vector<std::string> inodes;
  std::ifstream in("/proc/net/" + table);
  std::string line;
  std::getline(in, line);  // the header
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    std::string slot, local, remote, state, queues, timer, retransmits, uid, timeout, inode;
    fields >> slot >> local >> remote >> state >> queues >> timer >> retransmits >> uid >> timeout >> inode;
    const auto colon = local.rfind(':');
    if (colon == std::string::npos || inode.empty()) continue;
    unsigned local_port = 0;
    const char* hex = local.data() + colon + 1;
    std::from_chars(hex, local.data() + local.size(), local_port, 16);
    if (local_port == port && (!tcp || state == "0A")) inodes.push_back(inode);
  }
  return inodes;
}

// The entries of a folder, skipping what vanishes or cannot be read meanwhile (processes come and go).
std::vector<fs::path> entries(const fs::path& folder) {
  std::vector<fs::path> found;
  std::error_code error;
  fs::directory_iterator it(folder, error);
  for (; !error && it != fs::directory_iterator(); it.increment(error)) found.push_back(it->path());
  return found;
}

// The processes with one of `inodes` among their open files, as far as /proc lets us see.
std::vector<PortHolder> processes_with_socket(const std::vector<std::string>& inodes) {
  std::vector<PortHolder> holders;
  std::error_code error;
  for (const auto& process : entries("/proc")) {
    const std::string name = process.filename().string();
    if (name.empty() || name.find_first_not_of("0123456789") != std::string::npos) continue;
    for (const auto& fd : entries(process / "fd")) {
      const std::string target = fs::read_symlink(fd, error).string();
      if (error || std::none_of(inodes.begin(), inodes.end(), [&](const std::string& i) { return target == "socket:[" + i + "]"; })) continue;
      std::string program;
      std::getline(std::ifstream(process / "comm"), program);
      holders.push_back({static_cast<pid_t>(std::stol(name)), program});
      break;
    }
  }
  return holders;
}

std::vector<PortHolder> port_holders(std::uint16_t port, bool udp) {
  const std::string kind = udp ? "udp" : "tcp";
  auto inodes = socket_inodes(kind, port, !udp);
  const auto v6 = socket_inodes(kind + "6", port, !udp);
  inodes.insert(inodes.end(), v6.begin(), v6.end());
  if (inodes.empty()) return {};
  return processes_with_socket(inodes);
}

std::string address_text(const sockaddr* address) {
  std::array<char, INET6_ADDRSTRLEN> text{};
  const void* raw = address->sa_family == AF_INET
                        ? static_cast<const void*>(&reinterpret_cast<const sockaddr_in*>(address)->sin_addr)
                        : static_cast<const void*>(&reinterpret_cast<const sockaddr_in6*>(address)->sin6_addr);
  return inet_ntop(address->sa_family, raw, text.data(), text.size()) ? text.data() : "";
}

Resolution system_resolve(const std::string& name) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  if (const int code = getaddrinfo(name.c_str(), nullptr, &hints, &found); code != 0) return {{}, gai_strerror(code)};
  Resolution result;
  for (const addrinfo* a = found; a != nullptr; a = a->ai_next) {
    const std::string text = address_text(a->ai_addr);
    if (!text.empty() && std::find(result.addresses.begin(), result.addresses.end(), text) == result.addresses.end()) {
      result.addresses.push_back(text);
    }
  }
  freeaddrinfo(found);
  return result;
}

// Asks `resolver` for the A records of `name` (libresolv builds the query and parses the answer).
Resolution ask_server(const std::string& name, const Resolver& resolver) {
  struct __res_state state {};
  if (res_ninit(&state) != 0) return {{}, "cannot set up the resolver"};
  state.nscount = 1;
  state.nsaddr_list[0] = {};
  state.nsaddr_list[0].sin_family = AF_INET;
  state.nsaddr_list[0].sin_port = htons(resolver.port);
  inet_pton(AF_INET, resolver.host.c_str(), &state.nsaddr_list[0].sin_addr);
  state.retrans = 2;  // seconds per try
  state.retry = 2;
  std::array<unsigned char, 4096> answer{};
  const int length = res_nquery(&state, name.c_str(), ns_c_in, ns_t_a, answer.data(), static_cast<int>(answer.size()));
  Resolution result;
  ns_msg message{};
  if (length < 0 || ns_initparse(answer.data(), length, &message) != 0) {
    result.error = state.res_h_errno == HOST_NOT_FOUND ? "no such name" : "no answer from " + resolver.host;
  } else {
    for (int i = 0; i < ns_msg_count(message, ns_s_an); ++i) {
      ns_rr record{};
      if (ns_parserr(&message, ns_s_an, i, &record) != 0 || ns_rr_type(record) != ns_t_a || ns_rr_rdlen(record) != 4) continue;
      std::array<char, INET_ADDRSTRLEN> text{};
      inet_ntop(AF_INET, ns_rr_rdata(record), text.data(), text.size());
      result.addresses.emplace_back(text.data());
    }
    if (result.addresses.empty()) result.error = "no address in the answer";
  }
  res_nclose(&state);
  return result;
}

}  // namespace

PortProbe probe_port(const config::Endpoint& endpoint, bool udp) {
  sockaddr_storage address{};
  socklen_t size = 0;
  if (!socket_address(endpoint.host, endpoint.port, address, size)) return {false, "not an IP address: " + endpoint.host, {}};
  const int fd = ::socket(address.ss_family, (udp ? SOCK_DGRAM : SOCK_STREAM) | SOCK_CLOEXEC, 0);
  if (fd < 0) return {false, std::strerror(errno), {}};
  const int on = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);  // TCP: a closed connection's TIME_WAIT is no holder
  if (udp) ::setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &on, sizeof on);
  const bool bound = ::bind(fd, reinterpret_cast<const sockaddr*>(&address), size) == 0 && (udp || ::listen(fd, 1) == 0);
  const int bind_errno = errno;
  ::close(fd);
  return {bound, bound ? "" : std::strerror(bind_errno), port_holders(endpoint.port, udp)};
}

bool is_loopback_address(const std::string& address) {
  return address == "::1" || address.rfind("127.", 0) == 0 || address.rfind("::ffff:127.", 0) == 0;
}

std::vector<std::string> local_addresses() {
  std::vector<std::string> addresses;
  ifaddrs* list = nullptr;
  if (getifaddrs(&list) != 0) return addresses;
  for (const ifaddrs* a = list; a != nullptr; a = a->ifa_next) {
    if (a->ifa_addr == nullptr || (a->ifa_addr->sa_family != AF_INET && a->ifa_addr->sa_family != AF_INET6)) continue;
    addresses.push_back(address_text(a->ifa_addr));
  }
  freeifaddrs(list);
  return addresses;
}

Resolution resolve(const std::string& name, const std::optional<Resolver>& resolver) {
  return resolver ? ask_server(name, *resolver) : system_resolve(name);
}

std::optional<Resolver> parse_resolver(const std::string& text) {
  Resolver resolver{text, 53};
  if (const auto colon = text.find(':'); colon != std::string::npos) {
    resolver.host = text.substr(0, colon);
    const std::string port = text.substr(colon + 1);
    unsigned value = 0;
    const auto [end, error] = std::from_chars(port.data(), port.data() + port.size(), value);
    if (error != std::errc() || end != port.data() + port.size() || value == 0 || value > 65535) return std::nullopt;
    resolver.port = static_cast<std::uint16_t>(value);
  }
  in_addr probe{};
  if (inet_pton(AF_INET, resolver.host.c_str(), &probe) != 1) return std::nullopt;
  return resolver;
}

std::optional<DiskSpace> disk_space(const std::string& path) {
  std::error_code error;
  const auto space = fs::space(path, error);
  if (error) return std::nullopt;
  return DiskSpace{space.available, space.capacity};
}

}  // namespace sunkeep::admin
