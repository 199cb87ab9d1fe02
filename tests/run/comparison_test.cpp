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
  s.model = model;
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
  EXPECT_EQ(table.selected_rank.at("tensor_rank"), 2);
  EXPECT_FALSE(table.selected_rank.count("static"));
  // Outside one standard error, the best rank itself is selected.
  const ComparisonTable strict = compare_runs({row("tensor_rank", 2, 0.02), row("tensor_rank", 2, 0.021),
                                               row("tensor_rank", 3, 0.010), row("tensor_rank", 3, 0.011)});
  EXPECT_EQ(strict.selected_rank.at("tensor_rank"), 3);
  EXPECT_NE(format_comparison(table).find("selected rank for tensor_rank: 2"), std::string::npos);
  // Seeds that agree closely still leave the test set's own sampling error.
  std::vector<RunRecord> close{row("tensor_rank", 2, 0.0250), row("tensor_rank", 2, 0.0250),
                               row("tensor_rank", 3, 0.0247), row("tensor_rank", 3, 0.0247)};
  EXPECT_EQ(compare_runs(close).selected_rank.at("tensor_rank"), 3);
  for (auto& run : close) run.test_nmse_se = 0.0004;
  const ComparisonTable with_test_error = compare_runs(close);
  EXPECT_NEAR(with_test_error.rows[1].sem_nmse, 0.0004, 1e-12);
  EXPECT_EQ(with_test_error.selected_rank.at("tensor_rank"), 2);
}

TEST(RunRecord, OutcomeKeepsItsTextAndKind) {
  EXPECT_EQ(RunOutcome::parse("finished").status, RunStatus::Finished);
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
  EXPECT_EQ(results.selected_rank.at("tensor_rank"), 2);
  ASSERT_EQ(results.runs.size(), 3u);
  EXPECT_EQ(results.runs[1].outcome.status, RunStatus::Diverged);
  EXPECT_NE(read_file(dir / "results.csv").find("run1,tensor_rank,2,"), std::string::npos);
}

}  // namespace
}  // namespace ltrnn
