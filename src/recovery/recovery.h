// `ltrnn bench recovery` (docs/recovery.md): each teacher of the panel fitted as an
// experiment (ranks 1 to its planted rank + 2, the default settings otherwise), its selected
// rank set against the planted one: the confusion matrix, the exact recovery rate, the
// fraction of fits that converged rather than reached the iteration cap, the fitted time
// constants, and the time per decision.
#pragma once
#include <cstdint>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <ostream>
#include <string>
#include <vector>

#include "recovery/panel.h"

namespace ltrnn {

struct RecoveryOptions {
  std::filesystem::path out_dir = "recovery";  // one experiment directory per teacher, recovery.json
  std::vector<int64_t> seeds{0, 1};            // the experiments' seeds
  int64_t jobs = 1;                            // runs fitted at once within a teacher's experiment
  int64_t threads = 0;                         // intra-op threads per run (0: LibTorch's default)
  bool progress = true;                        // a line per teacher as it is decided
  // Training fields every teacher's experiment sets (its top-level "train"); empty: defaults.
  nlohmann::json train = nlohmann::json::object();
  // Model fields every teacher's run group sets (its "overrides"); empty: defaults.
  nlohmann::json model = nlohmann::json::object();
};

// One teacher's decision.
struct TeacherDecision {
  PanelTeacher teacher;
  int64_t selected_rank = 0;  // 0: no rank finished
  int64_t fits = 0;           // finished fits of the ranked family
  int64_t converged = 0;      // of them, stopped by the convergence rule (not the cap or a plateau)
  int64_t at_cap = 0;         // of them, stopped at the iteration cap
  int64_t iterations = 0;     // summed over the fits
  double seconds = 0;         // summed over the fits: the cost of the decision
  // The time constant of the selected rank's best seed (NaN when none), and the truth.
  double fitted_tau = 0, true_tau = 0;

  bool exact() const { return selected_rank == teacher.teacher.rank; }
};

struct RecoverySummary {
  std::vector<TeacherDecision> decisions;
  int64_t max_true_rank = 0, max_selected = 0;
  // confusion[t - 1][s]: teachers of planted rank t whose selected rank is s (0: none).
  std::vector<std::vector<int64_t>> confusion;
  double exact_rate = 0;  // decisions with selected == planted
  int64_t over_by_more_than_one = 0;
  double converged_fraction = 0;                        // over every fit of every teacher
  double mean_seconds = 0;                              // per decision
  double mean_iterations = 0;                           // per fit (Adam's and the polish's)
  int64_t tau_within_factor_two = 0, tau_in_class = 0;  // in-class teachers with a fitted tau
};

// The decisions of `decisions` counted up.
RecoverySummary summarise_recovery(std::vector<TeacherDecision> decisions);

// Fits every teacher of `panel` into options.out_dir/<name>/ (resuming what a previous call
// left there) and writes options.out_dir/recovery.json and recovery.html; progress to `out`.
RecoverySummary run_recovery(const std::vector<PanelTeacher>& panel, const RecoveryOptions& options, std::ostream& out);

// recovery.json: the machine, the options, every decision and the summary.
nlohmann::json recovery_json(const RecoverySummary& summary, const RecoveryOptions& options);

// recovery.html: the table and the confusion matrix drawn, one self-contained page.
std::string recovery_page_html(const RecoverySummary& summary);

// The table `ltrnn bench recovery` prints: one line per teacher, the confusion matrix and
// the rates.
std::string format_recovery(const RecoverySummary& summary);

}  // namespace ltrnn
