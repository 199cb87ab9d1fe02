// The comparison table over runs: each family at each rank, over seeds, and the rank the
// one-standard-error rule selects (docs/design.md section 5). With a validation set, each
// rank is represented by its best seed on the validation loss and the rule compares those
// fits' validation losses; without one, by the mean test nMSE over seeds.
#pragma once
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <vector>

#include "run/record.h"

namespace ltrnn {

// One row: a family at a rank (0 for families without one).
struct ComparisonRow {
  ModelKind model = kReferenceFamily;
  int64_t rank = 0;
  int64_t finished = 0, planned = 0;  // runs over seeds
  // Over finished seeds: mean, std (n - 1), and the standard error of the mean,
  // sqrt(std^2 / n + mean of the runs' test_nmse_se^2): seed-to-seed variation plus the
  // sampling error of the one test set every seed shares.
  double mean_nmse = 0, std_nmse = 0, sem_nmse = 0;
  // What the rule compares: with a validation set, the best seed's validation loss and its
  // standard error (that fit's sampling error); else mean_nmse and sem_nmse.
  double score = 0, score_se = 0;
  std::string best_id;  // the run behind `score` (validation basis), else empty
  // Which start won the row (validation basis): "seed N", or "up"/"down" for the rank
  // ladder's (docs/design.md section 5); else empty.
  std::string best_start;
  // The standard error of the difference between this row's best seed and the family's
  // best row's over the validation entries both were scored on, with the entries of a
  // held-out block counted as one correlated unit (NaN when the runs' block losses are not
  // at hand): what the rule uses when it is known.
  double paired_se = NAN;
  // The spread of the row's seeds that did not stall: the sample standard deviation of
  // their validation losses (0 with fewer than two): how much the optimisation alone moves
  // a fit (validation basis only).
  double seed_spread = 0;
  // The standard error the rule puts on this row's difference from the best row:
  // sqrt(sampling^2 + seed_spread^2 + best.seed_spread^2), sampling = paired_se when known,
  // else the best row's score_se (validation basis; the best row's own is 0).
  double difference_se = NAN;
  double best_test_nmse = NAN, best_test_bits_per_spike = NAN;
  // Finished seeds whose validation loss is more than five standard errors (score_se) above
  // the best seed's: optimisations that stalled (0 without a validation set).
  int64_t stalled = 0;
};

enum class SelectionBasis { Validation, Test };

// The discretisation check of one family's decision (docs/design.md section 5): the selected
// rank's best fit and its closest competitor (the best rank when another is selected, else
// the rank scoring next to it) scored again with their substeps doubled. Flagged when
// either validation loss moves by more than the standard error that decided between them:
// the integrator's error is then as large as the differences that choose the rank.
struct DiscretisationCheck {
  std::string selected_id, competitor_id;
  int64_t competitor_rank = 0;
  double selected_change = NAN, competitor_change = NAN;  // doubled substeps minus as fitted
  double deciding_se = NAN;                               // the difference_se between the two
  bool flagged() const { return std::abs(selected_change) > deciding_se || std::abs(competitor_change) > deciding_se; }
};

struct ComparisonTable {
  std::vector<ComparisonRow> rows;
  // Validation when every finished run has a validation set, else Test.
  SelectionBasis basis = SelectionBasis::Test;
  // Per ranked family: the smallest rank whose score is within one standard error
  // (score_se of the best rank) of the best score -- the one-standard-error rule.
  std::map<ModelKind, int64_t> selected_rank;
  // Per ranked family with a validation set and a competitor rank (none with one rank).
  std::map<ModelKind, DiscretisationCheck> discretisation;
};
// results.json's "discretisation": {"<family>": {selected_id, competitor_id, ..., flagged}}.
nlohmann::json discretisation_json(const ComparisonTable& table);
// One line per checked family, as `ltrnn run` prints it.
std::string format_discretisation(const ComparisonTable& table);

// {"<family name>": rank, ...}: results.json's "selected_rank".
nlohmann::json selected_rank_json(const std::map<ModelKind, int64_t>& selected_rank);
// The same read back; InputError naming `where` for an unknown family or a rank that is
// not an integer.
std::map<ModelKind, int64_t> selected_rank_from_json(const nlohmann::json& j, const std::string& where);
// results.json's "summary" rows read back (comparison_rows_json); a score written as null
// (not finite) reads as NaN. InputError naming `where` and the row when one is malformed.
std::vector<ComparisonRow> comparison_rows_from_json(const nlohmann::json& rows, const std::string& where);

// What the table's score is, in words (for the printed table and the report).
std::string basis_description(SelectionBasis basis);

// The validation losses of a run per held-out block, (sum, entries) pairs flattened
// (train/loss.h validation_group_losses), or an empty vector when they are not at hand.
using EntryLosses = std::function<std::vector<double>(const RunRecord&)>;
// Each run directory's file of them (written by execute_run).
inline constexpr const char* kValidationLossesFile = "validation_losses.npy";
// Reads them from OUT_DIR/runs/<id>/validation_losses.npy.
EntryLosses entry_losses_in(const std::filesystem::path& out_dir);

// With a validation set, rank r is within one standard error of the best rank when
// score(r) - score(best) <= difference_se: its sampling part is the block-robust paired
// error when `losses` gives the runs' block losses (else the best row's score_se), its
// optimisation part the seeds' spread.
ComparisonTable compare_runs(const std::vector<RunRecord>& runs, const EntryLosses& losses = {});
// A rank that lost the selection narrowly while its fits disagree (docs/design.md section 5,
// "more starts"): its best fit is above the family's best by `gap` <= 3 difference_se, and
// the spread of its fits exceeds the sampling error of that difference, so a few more
// seeds may well find the optimum its fits missed and change the decision.
struct CloseLoss {
  ModelKind model = kReferenceFamily;
  int64_t rank = 0;
  int64_t best_rank = 0;       // the family's best row's rank
  double gap = NAN;            // score(rank) - score(best)
  double difference_se = NAN;  // the row's difference_se
  double seed_spread = NAN;    // the row's seed_spread
  double sampling_se = NAN;    // paired_se, else the best row's score_se
};
// Every rank below its family's selected rank that lost narrowly while its fits disagree
// (validation basis only; none on the test basis, where a mean over seeds is compared).
std::vector<CloseLoss> close_losses(const ComparisonTable& table);

// The table as printed by `ltrnn run`.
std::string format_comparison(const ComparisonTable& table);
// results.json's "summary" rows (model, rank, finished, planned, mean_/std_/se_test_nmse,
// score, score_se, basis, best_id, best_start, best_test_nmse, best_test_bits_per_spike, stalled).
nlohmann::json comparison_rows_json(const ComparisonTable& table);

}  // namespace ltrnn
