// The comparison table over runs: each family at each rank, over seeds, and the rank the
// one-standard-error rule selects (docs/design.md section 5).
#pragma once
#include <cstdint>
#include <map>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <vector>

#include "run/record.h"

namespace ltrnn {

// One row: a family at a rank (0 for families without one).
struct ComparisonRow {
  std::string model;
  int64_t rank = 0;
  int64_t finished = 0, planned = 0;  // runs over seeds
  // Over finished seeds: mean, std (n - 1), and the standard error of the mean,
  // sqrt(std^2 / n + mean of the runs' test_nmse_se^2): seed-to-seed variation plus the
  // sampling error of the one test set every seed shares.
  double mean_nmse = 0, std_nmse = 0, sem_nmse = 0;
};

struct ComparisonTable {
  std::vector<ComparisonRow> rows;
  // Per ranked family: the smallest rank whose mean test nMSE is within one standard
  // error (sem_nmse of the best rank) of the best mean -- the one-standard-error rule.
  std::map<std::string, int64_t> selected_rank;
};

ComparisonTable compare_runs(const std::vector<RunRecord>& runs);
// The table as printed by `ltrnn run`.
std::string format_comparison(const ComparisonTable& table);
// results.json's "summary" rows (model, rank, finished, planned, mean_/std_/se_test_nmse).
nlohmann::json comparison_rows_json(const ComparisonTable& table);

}  // namespace ltrnn
