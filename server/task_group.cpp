// The server's tracked coroutines.
#include "server/task_group.hpp"

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/system/system_error.hpp>
#include <spdlog/spdlog.h>

namespace sunkeep::server {

namespace asio = boost::asio;

namespace {

asio::awaitable<void> without_cancellation_exceptions(asio::awaitable<void> task) {
  co_await asio::this_coro::throw_if_cancelled(false);
  co_await std::move(task);
}

void log_escaped(const std::exception_ptr& error, const std::string& what) {
  if (!error) return;
  try {
    std::rethrow_exception(error);
  } catch (const boost::system::system_error& e) {
    if (e.code() != asio::error::operation_aborted) spdlog::error("{}: ended by an internal error: {}", what, e.what());
  } catch (const std::exception& e) {
    spdlog::error("{}: ended by an internal error: {}", what, e.what());
  } catch (...) {
    spdlog::error("{}: ended by an unknown internal error", what);
  }
}

}  // namespace

void TaskGroup::spawn(const asio::any_io_executor& executor, asio::awaitable<void> task, std::string what) {
  std::list<std::shared_ptr<Task>>::iterator it;
  {
    const std::lock_guard lock(mutex_);
    if (closing_) return;
    auto tracked = std::make_shared<Task>();
    tracked->executor = executor;
    it = tasks_.insert(tasks_.end(), std::move(tracked));
  }
  asio::co_spawn(executor, without_cancellation_exceptions(std::move(task)),
                 asio::bind_cancellation_slot((*it)->signal.slot(),
                                              [this, it, what = std::move(what)](const std::exception_ptr& error) {
                                                log_escaped(error, what);
                                                finished(it);
                                              }));
}

void TaskGroup::finished(std::list<std::shared_ptr<Task>>::iterator task) {
  const std::lock_guard lock(mutex_);
  tasks_.erase(task);
  if (tasks_.empty()) done_.notify_all();
}

void TaskGroup::cancel_all() {
  const std::lock_guard lock(mutex_);
  closing_ = true;
  for (const auto& task : tasks_) {
    asio::post(task->executor, [task] { task->signal.emit(asio::cancellation_type::terminal); });
  }
}

bool TaskGroup::wait_until_done(std::chrono::steady_clock::time_point deadline) {
  std::unique_lock lock(mutex_);
  return done_.wait_until(lock, deadline, [this] { return tasks_.empty(); });
}

std::size_t TaskGroup::running() const {
  const std::lock_guard lock(mutex_);
  return tasks_.size();
}

asio::awaitable<bool> TaskGroup::cancelled() {
  const asio::cancellation_state state = co_await asio::this_coro::cancellation_state;
  co_return state.cancelled() != asio::cancellation_type::none;
}

}  // namespace sunkeep::server
