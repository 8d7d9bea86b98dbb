// The JSON shapes of the maintenance reports (GC, fsck, squash, prune), the
// same whether stratad sends them or `strata` made them offline; listed in
// docs/api.md and docs/maintenance.md.
#pragma once

#include <boost/json/value.hpp>

#include "storage/fsck.h"
#include "storage/gc.h"
#include "storage/image_prune.h"
#include "storage/squash.h"

namespace strata::runtime {

boost::json::object GcReportToJson(const storage::GcReport& r);
boost::json::object FsckReportToJson(const storage::FsckReport& r);
boost::json::object SquashResultToJson(const storage::SquashResult& r);
boost::json::object PruneResultToJson(const storage::PruneResult& r);

}  // namespace strata::runtime
