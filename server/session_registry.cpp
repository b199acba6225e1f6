// The open device connections and the serial each speaks for.
#include "server/session_registry.hpp"

#include <vector>

namespace sunkeep::server {

void SessionRegistry::track(const std::shared_ptr<Closable>& session) {
  std::lock_guard lock(mutex_);
  open_[session.get()] = session;
}

void SessionRegistry::untrack(const Closable* session, std::initializer_list<std::string> keys) {
  std::lock_guard lock(mutex_);
  open_.erase(session);
  for (const auto& key : keys) {
    if (key.empty()) continue;
    const auto it = by_serial_.find(key);
    if (it == by_serial_.end()) continue;
    const auto bound = it->second.lock();
    if (!bound || bound.get() == session) by_serial_.erase(it);
  }
}

bool SessionRegistry::bind(const std::string& key, const std::shared_ptr<Closable>& session) {
  std::shared_ptr<Closable> older;
  {
    std::lock_guard lock(mutex_);
    auto& slot = by_serial_[key];
    older = slot.lock();
    if (older && older != session && older->priority() > session->priority()) return false;
    slot = session;
  }
  if (older && older != session) older->close_from_elsewhere();
  return true;
}

void SessionRegistry::close_all() {
  std::vector<std::shared_ptr<Closable>> live;
  {
    std::lock_guard lock(mutex_);
    for (auto& [key, weak] : open_) {
      if (auto s = weak.lock()) live.push_back(std::move(s));
    }
  }
  for (auto& s : live) s->close_from_elsewhere();
}

bool SessionRegistry::bound(const std::string& serial) const {
  std::lock_guard lock(mutex_);
  const auto it = by_serial_.find(serial);
  return it != by_serial_.end() && !it->second.expired();
}

}  // namespace sunkeep::server
