// Which device connection speaks for which serial.
#include "server/session_registry.hpp"

namespace sunkeep::server {

void SessionRegistry::unbind(const Closable* session, std::initializer_list<std::string> keys) {
  std::lock_guard lock(mutex_);
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

bool SessionRegistry::bound(const std::string& serial) const {
  std::lock_guard lock(mutex_);
  const auto it = by_serial_.find(serial);
  return it != by_serial_.end() && !it->second.expired();
}

}  // namespace sunkeep::server
