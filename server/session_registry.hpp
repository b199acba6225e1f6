// The open device connections: all of them (so shutdown can close each), and which one speaks
// for which serial (so a new connection for a serial closes a half-open older one,
// alphaess.md §5.8). Thread-safe.
#pragma once

#include <cstddef>
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
  };

  void track(const std::shared_ptr<Closable>& session);
  // Forgets the session, and its serial ("" for none) if still bound to it.
  void untrack(const Closable* session, const std::string& serial);
  // Binds `serial` to `session`; an older live session for the same serial is asked to close.
  void bind(const std::string& serial, const std::shared_ptr<Closable>& session);
  // Asks every open session to close (shutdown).
  void close_all();
  [[nodiscard]] std::size_t open_sessions() const;
  // Whether a live connection currently speaks for `serial`.
  [[nodiscard]] bool bound(const std::string& serial) const;

 private:
  mutable std::mutex mutex_;
  std::unordered_map<const Closable*, std::weak_ptr<Closable>> open_;
  std::unordered_map<std::string, std::weak_ptr<Closable>> by_serial_;
};

}  // namespace sunkeep::server
