// Which device connection speaks for which serial (or other identity, such as a peer address),
// so that a new connection for a serial closes a half-open older one, as a vendor's spec may
// require. Shutdown closes connections by cancelling their tasks (task_group.hpp). Thread-safe.
#pragma once

#include <cstddef>
#include <initializer_list>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

namespace sunkeep::server {

class SessionRegistry {
 public:
  // Something that can be asked to close from any thread.
  struct Closable {
    virtual ~Closable() = default;
    virtual void close_from_elsewhere() = 0;
    // When two connections claim the same key, the one with the higher priority stays.
    [[nodiscard]] virtual int priority() const { return 0; }
  };

  // Forgets each of `keys` ("" entries ignored) still bound to `session`.
  void unbind(const Closable* session, std::initializer_list<std::string> keys);
  // Binds `key` (a serial, or another identity such as a peer address) to `session`. An older
  // live session for the same key is asked to close, unless its priority is higher: then the
  // binding stays with it and this returns false (the caller should close `session`).
  bool bind(const std::string& key, const std::shared_ptr<Closable>& session);
  // Whether a live connection currently speaks for `serial`.
  [[nodiscard]] bool bound(const std::string& serial) const;

 private:
  mutable std::mutex mutex_;
  std::unordered_map<std::string, std::weak_ptr<Closable>> by_serial_;
};

}  // namespace sunkeep::server
