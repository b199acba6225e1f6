// Polling one APsystems ECU: a task per ECU on its own strand runs the sans-IO poller
// (protocol/apsystems/poller.hpp), opening a connection for each command and exchanging the
// request and reply over the generic poll session, and stores what the replies mean.
#pragma once

#include "config/vendor/apsystems.hpp"
#include "drivers/apsystems/shared.hpp"
#include "server/task_group.hpp"

#include <boost/asio/io_context.hpp>

namespace sunkeep::drivers {

void spawn_ecu_poll(boost::asio::io_context& io, server::TaskGroup& tasks, const config::ApsystemsEcu& ecu,
                    ApsystemsShared& shared);

}  // namespace sunkeep::drivers
