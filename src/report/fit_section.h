// The report's section on one selected fit: its training curve, and what its checkpoint
// says -- connectivity over learning, predicted against recorded activity, hidden
// trajectories, eigenvalues of W(k). Nothing is refitted.
#pragma once
#include <cstdint>
#include <filesystem>
#include <string>

#include "report/html.h"
#include "report/report_data.h"

namespace ltrnn {

// The fit the report shows for one family: at the selected rank (ranked families) the run
// with the lowest selection loss, a seed's or a rank-ladder start's; otherwise the best seed.
struct SelectedFit {
  std::string family, id;
  int64_t rank = 0;
  std::string start;  // "seed N", or "ladder up from <id>" / "ladder down from <id>"
  double test_nmse = 0;
  std::string label() const { return family + (rank > 0 ? ", rank " + std::to_string(rank) : "") + ", " + start; }
};

ReportSection fit_section(const SelectedFit& fit, const std::filesystem::path& run_dir, const DatasetView& view);

}  // namespace ltrnn
