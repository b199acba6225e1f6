// The stored-history side of the site endpoints: site flows per bucket and site energy per local
// day or month, from the sources' stored series (the site model itself is in site/).
#pragma once

#include "common/local_calendar.hpp"
#include "site/energy.hpp"
#include "site/model.hpp"
#include "storage/history.hpp"

#include <vector>

namespace sunkeep::api {

// A flow per bucket: the sum (mean) of its parts' aggregates; a bucket in which a part has no
// data is left out, and so is everything when the flow is not known.
std::vector<storage::Point> site_flow_points(storage::HistoryReader& history, const site::FlowRecipe& flow,
                                             storage::TimeRange range, const storage::HistoryReader::BucketOf& bucket_of,
                                             storage::Aggregate agg);

// The starts of the local periods from the one holding `range.from` to the first at or after
// `range.to`, that one included as the end of the last.
std::vector<UtcMillis> period_edges(const LocalCalendar& calendar, LocalPeriod period, storage::TimeRange range);

// The energy rows of the periods between `edges`, in kWh.
std::vector<site::EnergyRow> site_energy(storage::HistoryReader& history, const site::SiteSources& sources,
                                         const LocalCalendar& calendar, const std::vector<UtcMillis>& edges,
                                         UtcMillis now);

}  // namespace sunkeep::api
