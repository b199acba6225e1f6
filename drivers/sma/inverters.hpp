// The SMA inverters (sma-speedwire.md §9.2–§9.5): one task polls every configured inverter (and,
// with discovery, every one that answers it), one after another, from its own UDP socket on an
// ephemeral port. The conversation is
// sma::Poller's, run by the generic poll session over a UdpTransport; this side resolves the
// hosts, archives every datagram both ways (login passwords zeroed), stores what the replies
// decode to, raises the events, counts, logs, and logs off when the task is cancelled.
#pragma once

#include "drivers/sma/shared.hpp"
#include "server/task_group.hpp"

#include <boost/asio/io_context.hpp>

#include <cstdint>

namespace sunkeep::drivers {

// Starts polling the inverters of `shared.config` as a task of `tasks`; `source_serial` is
// sunkeep's own serial on the bus.
void spawn_sma_inverter_poller(boost::asio::io_context& io, server::TaskGroup& tasks, SmaShared& shared,
                               std::uint32_t source_serial);

}  // namespace sunkeep::drivers
