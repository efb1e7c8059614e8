// A stored stage run as the reporters show it (summary tables, `sluice show`, resume).
#pragma once

#include "runner/report/reporter.hpp"
#include "runner/store/store.hpp"

namespace sluice::engine {

report::StageFinished stage_view(const store::StageRecord& record);

}  // namespace sluice::engine
