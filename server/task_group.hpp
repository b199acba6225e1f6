// Every long-running coroutine of the server (accept loops, connections, pollers) is spawned
// through one TaskGroup: an exception escaping a task is logged with what the task was, never
// propagated; shutdown cancels every task (terminal cancellation, delivered on the task's own
// executor) and waits until they have ended. A cancelled task sees its pending operation fail with
// operation_aborted, like any other error it handles (tasks run with throw_if_cancelled off).
// The model is the task_group of Boost.Beast's advanced_server_flex_awaitable example.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/cancellation_signal.hpp>

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <list>
#include <memory>
#include <mutex>
#include <string>

namespace sunkeep::server {

class TaskGroup {
 public:
  TaskGroup() = default;
  TaskGroup(const TaskGroup&) = delete;
  TaskGroup& operator=(const TaskGroup&) = delete;

  // Runs `task` on `executor`; `what` names it in the log should it throw. After cancel_all()
  // new tasks are not started (their coroutine frames are destroyed unstarted).
  void spawn(const boost::asio::any_io_executor& executor, boost::asio::awaitable<void> task, std::string what);

  // Asks every task to end, and refuses new ones.
  void cancel_all();
  // Waits until every task has ended, or `deadline`; true when all have.
  bool wait_until_done(std::chrono::steady_clock::time_point deadline);
  [[nodiscard]] std::size_t running() const;

  // Whether the calling task has been cancelled (for loops that wait on things that ignore
  // cancellation, such as a back-off between connection attempts).
  static boost::asio::awaitable<bool> cancelled();

 private:
  struct Task {
    boost::asio::any_io_executor executor;
    boost::asio::cancellation_signal signal;
  };
  void finished(std::list<std::shared_ptr<Task>>::iterator task);

  mutable std::mutex mutex_;
  std::condition_variable done_;
  std::list<std::shared_ptr<Task>> tasks_;
  bool closing_ = false;
};

// Runs `session->run()` as a task of `tasks` on the session's executor; the session and `slot`
// (its place under a listener's caps) live until run() has returned.
template <class Session>
void spawn_session(TaskGroup& tasks, std::shared_ptr<Session> session, std::shared_ptr<const void> slot,
                   std::string what) {
  auto run = [](std::shared_ptr<Session> self, std::shared_ptr<const void> /*held*/) -> boost::asio::awaitable<void> {
    co_await self->run();
  };
  const auto executor = session->executor();
  tasks.spawn(executor, run(std::move(session), std::move(slot)), std::move(what));
}

}  // namespace sunkeep::server
