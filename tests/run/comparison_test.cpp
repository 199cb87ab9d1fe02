// The comparison table, the one-standard-error rule, the run record's JSON and the
// results files.
#include "run/comparison.h"

#include <gtest/gtest.h>

#include <cmath>
#include <nlohmann/json.hpp>

#include "run/record.h"
#include "run/results.h"
#include "scratch_directory.h"
#include "util/errors.h"
#include "util/files.h"

namespace ltrnn {
namespace {
using nlohmann::json;

RunRecord row(const std::string& model, int64_t rank, double nmse, const std::string& status = "finished") {
  RunRecord s;
  s.model = parse_enum<ModelKind>(model, "model");
  s.rank = rank;
  s.test_nmse = nmse;
  s.outcome = RunOutcome::parse(status);
  return s;
}

TEST(Comparison, OneStandardErrorRuleSelectsTheSmallestAdequateRank) {
  // rank 2: mean 0.0105, rank 3: mean 0.0100 (best, sem 0.001), rank 1: far worse.
  const std::vector<RunRecord> runs{row("tensor_rank", 1, 0.10),  row("tensor_rank", 1, 0.12),
                                    row("tensor_rank", 2, 0.010), row("tensor_rank", 2, 0.011),
                                    row("tensor_rank", 3, 0.009), row("tensor_rank", 3, 0.011),
                                    row("static", 0, 0.3),        row("static", 0, 0.5, "failed: diverged")};
  const ComparisonTable table = compare_runs(runs);
  ASSERT_EQ(table.rows.size(), 4u);
  EXPECT_NEAR(table.rows[1].mean_nmse, 0.0105, 1e-12);
  EXPECT_NEAR(table.rows[2].std_nmse, std::sqrt(2.0) * 0.001, 1e-12);
  EXPECT_NEAR(table.rows[2].sem_nmse, 0.001, 1e-12);
  EXPECT_EQ(table.rows[3].finished, 1);
  EXPECT_EQ(table.rows[3].planned, 2);
  EXPECT_EQ(table.selected_rank.at(ModelKind::TensorRank), 2);
  EXPECT_FALSE(table.selected_rank.count(ModelKind::Static));
  // Outside one standard error, the best rank itself is selected.
  const ComparisonTable strict = compare_runs({row("tensor_rank", 2, 0.02), row("tensor_rank", 2, 0.021),
                                               row("tensor_rank", 3, 0.010), row("tensor_rank", 3, 0.011)});
  EXPECT_EQ(strict.selected_rank.at(ModelKind::TensorRank), 3);
  EXPECT_NE(format_comparison(table).find("selected rank for tensor_rank: 2"), std::string::npos);
  // Seeds that agree closely still leave the test set's own sampling error.
  std::vector<RunRecord> close{row("tensor_rank", 2, 0.0250), row("tensor_rank", 2, 0.0250),
                               row("tensor_rank", 3, 0.0247), row("tensor_rank", 3, 0.0247)};
  EXPECT_EQ(compare_runs(close).selected_rank.at(ModelKind::TensorRank), 3);
  for (auto& run : close) run.test_nmse_se = 0.0004;
  const ComparisonTable with_test_error = compare_runs(close);
  EXPECT_NEAR(with_test_error.rows[1].sem_nmse, 0.0004, 1e-12);
  EXPECT_EQ(with_test_error.selected_rank.at(ModelKind::TensorRank), 2);
}

RunRecord validated(int64_t rank, int64_t seed, double validation, double se, double test_nmse) {
  RunRecord r = row("tensor_rank", rank, test_nmse);
  r.id = "tensor_rank-r" + std::to_string(rank) + "-s" + std::to_string(seed);
  r.seed = seed;
  r.validation_entries = 1000;
  r.validation_loss = validation;
  r.validation_loss_se = se;
  return r;
}

TEST(Comparison, WithAValidationSetEachRankIsItsBestSeedAndAStalledSeedDoesNotDecide) {
  // Rank 2's second seed stalled far from the optimum: averaged over seeds, rank 2 would
  // look worse than rank 3 and the rule would pick 3. Its best seed is within one standard
  // error of rank 3's best seed, so rank 2 is selected.
  const std::vector<RunRecord> runs{validated(1, 0, 0.50, 0.01, 0.52),  validated(1, 1, 0.51, 0.01, 0.50),
                                    validated(2, 0, 0.205, 0.01, 0.21), validated(2, 1, 0.45, 0.01, 0.20),
                                    validated(3, 0, 0.20, 0.01, 0.19),  validated(3, 1, 0.24, 0.01, 0.40)};
  const ComparisonTable table = compare_runs(runs);
  EXPECT_EQ(table.basis, SelectionBasis::Validation);
  ASSERT_EQ(table.rows.size(), 3u);
  EXPECT_EQ(table.rows[1].best_id, "tensor_rank-r2-s0");
  EXPECT_EQ(table.rows[1].score, 0.205);
  EXPECT_EQ(table.rows[1].score_se, 0.01);
  EXPECT_EQ(table.rows[1].stalled, 1);  // 0.45 is more than 5 s.e. above 0.205
  EXPECT_EQ(table.rows[2].stalled, 0);  // 0.24 is within 5 s.e. of 0.20
  // The seeds that did not stall spread the optimisation's part of the difference's error:
  // rank 3 (best): std(0.20, 0.24); rank 2: its stalled seed is left out, spread 0.
  EXPECT_NEAR(table.rows[2].seed_spread, std::sqrt(0.0008), 1e-12);
  EXPECT_EQ(table.rows[1].seed_spread, 0.0);
  EXPECT_NEAR(table.rows[1].difference_se, std::sqrt(0.01 * 0.01 + 0.0008), 1e-12);
  EXPECT_EQ(table.rows[2].difference_se, 0.0);
  // The test set is reported but never chooses: rank 1's best seed on validation (seed 0)
  // has the worse test nMSE of its two seeds.
  EXPECT_EQ(table.rows[0].best_id, "tensor_rank-r1-s0");
  EXPECT_EQ(table.rows[0].best_test_nmse, 0.52);
  EXPECT_EQ(table.selected_rank.at(ModelKind::TensorRank), 2);
  // With the stalled seed averaged in (no validation set), the same numbers select rank 3.
  std::vector<RunRecord> unvalidated = runs;
  for (auto& r : unvalidated) {
    r.validation_entries = 0;
    r.test_nmse = r.validation_loss;
  }
  EXPECT_EQ(compare_runs(unvalidated).basis, SelectionBasis::Test);
  EXPECT_EQ(compare_runs(unvalidated).selected_rank.at(ModelKind::TensorRank), 3);
  // Outside one standard error, the better rank is kept.
  std::vector<RunRecord> tight = runs;
  for (auto& r : tight) r.validation_loss_se = 0.001;
  EXPECT_EQ(compare_runs(tight).selected_rank.at(ModelKind::TensorRank), 3);
  const std::string printed = format_comparison(table);
  EXPECT_NE(printed.find("stalled"), std::string::npos) << printed;
  EXPECT_NE(printed.find("selected rank for tensor_rank: 2"), std::string::npos) << printed;
  const json rows = comparison_rows_json(table);
  EXPECT_EQ(rows[1].at("basis"), "validation");
  EXPECT_EQ(rows[1].at("stalled"), 1);
  // The best run overall is chosen on validation too.
  EXPECT_EQ(best_finished_run(runs)->id, "tensor_rank-r3-s0");
}

// The discretisation check: the selected rank's best fit and its competitor, each scored with
// doubled substeps, against the standard error that decided between them.
TEST(Comparison, DiscretisationCheckFlagsChangesLargerThanTheDecidingError) {
  // Rank 2 (0.205) is selected within rank 3's (best, 0.20) difference_se sqrt(0.01^2 + 0.0008).
  std::vector<RunRecord> runs{validated(1, 0, 0.50, 0.01, 0.52),  validated(1, 1, 0.51, 0.01, 0.50),
                              validated(2, 0, 0.205, 0.01, 0.21), validated(2, 1, 0.45, 0.01, 0.20),
                              validated(3, 0, 0.20, 0.01, 0.19),  validated(3, 1, 0.24, 0.01, 0.40)};
  for (auto& r : runs) r.validation_loss_double_substeps = r.validation_loss + 0.001;
  const double deciding = std::sqrt(0.01 * 0.01 + 0.0008);
  ComparisonTable table = compare_runs(runs);
  ASSERT_EQ(table.discretisation.count(ModelKind::TensorRank), 1u);
  const DiscretisationCheck& small = table.discretisation.at(ModelKind::TensorRank);
  EXPECT_EQ(small.selected_id, "tensor_rank-r2-s0");
  EXPECT_EQ(small.competitor_id, "tensor_rank-r3-s0");  // the best rank, when another is selected
  EXPECT_EQ(small.competitor_rank, 3);
  EXPECT_NEAR(small.selected_change, 0.001, 1e-12);
  EXPECT_NEAR(small.deciding_se, deciding, 1e-12);
  EXPECT_FALSE(small.flagged());
  EXPECT_NE(format_discretisation(table).find("within the"), std::string::npos) << format_discretisation(table);
  EXPECT_EQ(discretisation_json(table).at("tensor_rank").at("flagged"), false);

  // The competitor's loss moves by more than that error: flagged, in words and in JSON.
  runs[4].validation_loss_double_substeps = 0.20 + 2 * deciding;
  table = compare_runs(runs);
  EXPECT_TRUE(table.discretisation.at(ModelKind::TensorRank).flagged());
  EXPECT_NE(format_discretisation(table).find("MORE than the"), std::string::npos) << format_discretisation(table);
  EXPECT_EQ(discretisation_json(table).at("tensor_rank").at("flagged"), true);

  // When the selected rank is the best, its competitor is the rank scoring next to it.
  std::vector<RunRecord> clear{validated(1, 0, 0.50, 0.001, 0.5), validated(2, 0, 0.20, 0.001, 0.2),
                               validated(3, 0, 0.203, 0.001, 0.2)};
  for (auto& r : clear) r.validation_loss_double_substeps = r.validation_loss;
  const ComparisonTable best_selected = compare_runs(clear);
  EXPECT_EQ(best_selected.selected_rank.at(ModelKind::TensorRank), 2);
  EXPECT_EQ(best_selected.discretisation.at(ModelKind::TensorRank).competitor_id, "tensor_rank-r3-s0");
  // Without the doubled scores (records written before the check), nothing is claimed.
  for (auto& r : clear) r.validation_loss_double_substeps = NAN;
  EXPECT_TRUE(compare_runs(clear).discretisation.empty());
}

TEST(Comparison, PairedBlockStandardErrorDecidesWhenTheBlockLossesAreKnown) {
  // Rank 3 is best (0.20); rank 2 is 0.025 behind. Unpaired, rank 3's standard error
  // (0.001) separates them; paired over three blocks of two entries, the difference's
  // standard error is sqrt(3/2 * 0.02) / 6 = 0.0289 (by hand: d = (0.1, 0, 0.2),
  // mean 0.05 per entry, residuals (0, -0.1, 0.1)), so rank 2 is within it.
  const std::vector<RunRecord> runs{validated(1, 0, 0.60, 0.001, 0.6), validated(2, 0, 0.225, 0.001, 0.2),
                                    validated(3, 0, 0.20, 0.001, 0.2)};
  EXPECT_EQ(compare_runs(runs).selected_rank.at(ModelKind::TensorRank), 3);
  const EntryLosses losses = [](const RunRecord& run) -> std::vector<double> {
    if (run.rank == 3) return {1.0, 2, 2.0, 2, 3.0, 2};
    if (run.rank == 2) return {1.1, 2, 2.0, 2, 3.2, 2};
    return {3.0, 2, 3.0, 2, 3.0, 2};
  };
  const ComparisonTable paired = compare_runs(runs, losses);
  EXPECT_NEAR(paired.rows[1].paired_se, std::sqrt(0.03) / 6, 1e-12);
  EXPECT_EQ(paired.rows[2].paired_se, 0.0);
  EXPECT_EQ(paired.selected_rank.at(ModelKind::TensorRank), 2);
  // Block losses over different entries are not paired: the rule falls back.
  const EntryLosses mismatched = [&](const RunRecord& run) -> std::vector<double> {
    std::vector<double> v = losses(run);
    if (run.rank == 2) v[1] = 3;
    return v;
  };
  EXPECT_TRUE(std::isnan(compare_runs(runs, mismatched).rows[1].paired_se));
  EXPECT_EQ(compare_runs(runs, mismatched).selected_rank.at(ModelKind::TensorRank), 3);
}

// Close losses (the more starts' trigger): a rank below the selected one that lost by at
// most 3 difference_se while its fits spread more than the sampling error of the difference.
TEST(Comparison, CloseLossIsANarrowLossWithFitsThatDisagree) {
  // No block losses: the sampling error is rank 3's (the best's) score_se, 0.005. Rank 2's
  // fits spread std(0.23, 0.25) = 0.0141 > 0.005; difference_se sqrt(0.005^2 + 0.0141^2 +
  // std(0.200, 0.201)^2) = 0.0150; rank 2 lost by 0.03, within 3 x 0.0150.
  std::vector<RunRecord> runs{validated(1, 0, 0.50, 0.005, 0.5),  validated(1, 1, 0.51, 0.005, 0.5),
                              validated(2, 0, 0.23, 0.005, 0.2),  validated(2, 1, 0.25, 0.005, 0.2),
                              validated(3, 0, 0.200, 0.005, 0.2), validated(3, 1, 0.201, 0.005, 0.2),
                              validated(4, 0, 0.26, 0.005, 0.2),  validated(4, 1, 0.30, 0.005, 0.2)};
  ComparisonTable table = compare_runs(runs);
  ASSERT_EQ(table.selected_rank.at(ModelKind::TensorRank), 3);
  const double difference_se = std::sqrt(0.005 * 0.005 + 0.0002 + 0.0000005);
  EXPECT_NEAR(table.rows[1].difference_se, difference_se, 1e-12);
  std::vector<CloseLoss> losses = close_losses(table);
  ASSERT_EQ(losses.size(), 1u);  // rank 1 lost by 60 standard errors; rank 4 is above the selected
  EXPECT_EQ(losses[0].rank, 2);
  EXPECT_EQ(losses[0].best_rank, 3);
  EXPECT_NEAR(losses[0].gap, 0.03, 1e-12);
  EXPECT_NEAR(losses[0].seed_spread, std::sqrt(0.0002), 1e-12);
  EXPECT_EQ(losses[0].sampling_se, 0.005);

  // Fits that agree (spread 0.00035 < 0.005), the loss as narrow (0.012 < 3 x 0.00506): no
  // more starts would change it.
  runs[2].validation_loss = 0.212;
  runs[3].validation_loss = 0.2125;
  table = compare_runs(runs);
  ASSERT_EQ(table.selected_rank.at(ModelKind::TensorRank), 3);
  EXPECT_LE(0.012, 3 * table.rows[1].difference_se);
  EXPECT_TRUE(close_losses(table).empty());
  // Fits that disagree but a loss of more than 3 standard errors: none either.
  runs[2].validation_loss = 0.27;
  runs[3].validation_loss = 0.29;  // spread 0.0141, difference_se 0.0150, gap 0.07
  table = compare_runs(runs);
  EXPECT_GT(table.rows[1].score - table.rows[2].score, 3 * table.rows[1].difference_se);
  EXPECT_TRUE(close_losses(table).empty());
  // Without a validation set there is no close loss (seeds are averaged).
  for (auto& r : runs) r.validation_entries = 0;
  EXPECT_TRUE(close_losses(compare_runs(runs)).empty());
}

TEST(RunRecord, OutcomeIsAStatusAndASeparateReason) {
  RunRecord diverged = row("tensor_rank", 2, NAN);
  diverged.outcome = RunOutcome::diverged("non-finite loss at iteration 7");
  const json j = diverged;
  EXPECT_EQ(j.at("status"), "diverged");
  EXPECT_EQ(j.at("status_reason"), "non-finite loss at iteration 7");
  const RunRecord back = run_record_from_json(j, "x");
  EXPECT_EQ(back.outcome.status, RunStatus::Diverged);
  EXPECT_EQ(back.outcome.reason, "non-finite loss at iteration 7");
  EXPECT_EQ(back.outcome.text(), "diverged: non-finite loss at iteration 7");
  EXPECT_FALSE(json(row("static", 0, 0.3)).contains("status_reason")) << "a finished run has no reason";
}

// Records written when the status was one text ("failed: <reason>") read as before.
TEST(RunRecord, OutcomeOfAnOlderRecordKeepsItsTextAndKind) {
  EXPECT_EQ(RunOutcome::parse("finished").status, RunStatus::Finished);
  const RunOutcome old_divergence = RunOutcome::parse("failed: diverged: non-finite loss at iteration 3");
  EXPECT_EQ(old_divergence.reason, "non-finite loss at iteration 3");
  EXPECT_EQ(RunOutcome::parse("failed: diverged: non-finite loss at iteration 3").status, RunStatus::Diverged);
  const RunOutcome disk = RunOutcome::parse("failed: disk full");
  EXPECT_EQ(disk.status, RunStatus::Failed);
  EXPECT_EQ(disk.reason, "disk full");
  EXPECT_EQ(disk.text(), "failed: disk full");
}

TEST(RunRecord, JsonRoundTripAndRefusals) {
  RunRecord r = row("tensor_rank", 2, 0.25);
  r.id = "tensor_rank-r2-n6-s1";
  r.seed = 1;
  r.test_nmse_se = 0.01;
  const json j = r;
  EXPECT_EQ(j.at("status"), "finished");
  const RunRecord back = run_record_from_json(j, "x");
  EXPECT_EQ(back.id, r.id);
  EXPECT_EQ(back.test_nmse, 0.25);
  EXPECT_EQ(back.test_nmse_se, 0.01);
  EXPECT_TRUE(back.finished());
  // Fields added later may be absent (older results) and read as their defaults.
  json old = j;
  for (const char* key : {"test_nmse_se", "validation_entries", "validation_loss", "test_bits_per_spike"})
    old.erase(key);
  const RunRecord older = run_record_from_json(old, "x");
  EXPECT_EQ(older.validation_entries, 0);
  EXPECT_TRUE(std::isnan(older.test_bits_per_spike));
  // A non-finite score is written as null and read back as NaN; a missing field is refused.
  r.test_nmse = std::nan("");
  EXPECT_TRUE(std::isnan(run_record_from_json(json(r), "x").test_nmse));
  json incomplete = j;
  incomplete.erase("seed");
  try {
    run_record_from_json(incomplete, "somewhere.json");
    FAIL() << "an incomplete record was accepted";
  } catch (const InputError& error) {
    EXPECT_NE(std::string(error.what()).find("somewhere.json"), std::string::npos);
  }
}

TEST(Results, BestIsTheFinishedRunWithTheLowestTestError) {
  ScratchDirectory dir;
  std::vector<RunRecord> runs{row("tensor_rank", 1, 0.3), row("tensor_rank", 2, 0.1, "failed: diverged"),
                              row("tensor_rank", 2, 0.2)};
  for (std::size_t i = 0; i < runs.size(); ++i) runs[i].id = "run" + std::to_string(i);
  EXPECT_EQ(best_finished_run(runs)->id, "run2");
  EXPECT_EQ(best_finished_run(runs, [](const RunRecord& r) { return r.rank == 1; })->id, "run0");
  write_results(dir.path(), json{{"name", "x"}}, runs);
  const ResultsFile results = read_results(dir / "results.json");
  EXPECT_EQ(results.document.at("best").at("id"), "run2");
  EXPECT_EQ(results.selected_rank.at(ModelKind::TensorRank), 2);
  ASSERT_EQ(results.runs.size(), 3u);
  EXPECT_EQ(results.runs[1].outcome.status, RunStatus::Diverged);
  EXPECT_NE(read_file(dir / "results.csv").find("run1,tensor_rank,2,"), std::string::npos);
}

}  // namespace
}  // namespace ltrnn
