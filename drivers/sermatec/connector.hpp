// Local mode (sermatec.md §6.6): for each configured inverter, one outgoing connection at a time
// to its LAN port, running the same session as the cloud port, reconnecting with backoff.
#pragma once

#include "config/config.hpp"
#include "drivers/sermatec/session.hpp"
#include "server/task_group.hpp"

#include <boost/asio/io_context.hpp>

namespace sunkeep::drivers {

// Starts polling `inverter` as a task of `tasks`; cancelling it ends the connection and the loop.
void spawn_sermatec_connector(boost::asio::io_context& io, server::TaskGroup& tasks,
                              const config::SermatecInverter& inverter, SermatecShared& shared);

}  // namespace sunkeep::drivers
