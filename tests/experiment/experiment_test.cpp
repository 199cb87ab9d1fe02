// Experiment files: shipped files validate, invalid ones are refused with JSON pointers,
// presets document every hyperparameter, and the plan expands as declared.
#include "experiment/experiment.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "experiment/more_starts.h"
#include "experiment/plan.h"
#include "model/family.h"
#include "run/execute.h"
#include "run_ltrnn.h"
#include "scratch_directory.h"
#include "test_paths.h"
#include "util/errors.h"
#include "util/json_fields.h"
#include "util/resources.h"

namespace ltrnn {
namespace {
namespace fs = std::filesystem;
using nlohmann::json;

std::string refusal(const json& document, const fs::path& source = fs::path(LTRNN_SOURCE_DIR) / "experiments/x.json") {
  try {
    parse_experiment(document, source);
  } catch (const InputError& e) {
    return e.what();
  }
  return "accepted";
}

json minimal() {
  return json::parse(R"({"name": "tiny", "dataset": {"generator": "teacher"}, "runs": [{"model": "tensor_rank"}]})");
}

// A dataset path the system refuses (a name of 4,000 characters, a directory) is bad input
// naming its field, with the path shortened in the message; never a filesystem exception.
TEST(Experiment, OverLongAndUnreadableDatasetPathsAreRefusedNamingTheField) {
  const std::string long_name = std::string(4000, 'a') + ".npz";
  json doc = minimal();
  doc["dataset"] = {{"file", long_name}};
  std::string message = refusal(doc);
  EXPECT_NE(message.find("/dataset/file: path too long ("), std::string::npos) << message.substr(0, 300);
  EXPECT_LT(message.size(), 400u) << "the path is shortened";
  EXPECT_NE(message.find("..."), std::string::npos) << message;

  doc["dataset"] = {{"file", "."}};
  message = refusal(doc);
  EXPECT_NE(message.find("/dataset/file: a directory, expected a file"), std::string::npos) << message;

  doc["dataset"] = {{"nwb", {{"file", long_name}, {"align", "go"}, {"window", {0.0, 1.0}}, {"bin_width", 0.1}}}};
  message = refusal(doc);
  EXPECT_NE(message.find("/dataset/nwb/file: path too long ("), std::string::npos) << message.substr(0, 300);
  EXPECT_LT(message.size(), 400u);
}

TEST(Experiment, ShippedExperimentsValidate) {
  int checked = 0;
  for (const auto& entry : fs::directory_iterator(fs::path(LTRNN_SOURCE_DIR) / "experiments")) {
    if (entry.path().extension() != ".json" || entry.path().filename() == "schema.json") continue;
    EXPECT_NO_THROW(load_experiment(entry.path())) << entry.path();
    ++checked;
  }
  EXPECT_GE(checked, 1);
  const Experiment quickstart = load_experiment(fs::path(LTRNN_SOURCE_DIR) / "experiments/quickstart.json");
  EXPECT_EQ(plan_runs(quickstart).size(), 15u);  // tensor_rank 1-5, full, static; the ladder's 4 up, 4 down
}

// experiment.json read back (spec/experiment.h) is the experiment it was written from: every
// shipped experiment (teacher, reach, file and NWB datasets; analyses or none) resolves to
// the same document again. The plan is not read back (the run groups are not recorded).
TEST(Experiment, ResolvedExperimentReadsBackAsWritten) {
  int checked = 0;
  for (const auto& entry : fs::directory_iterator(fs::path(LTRNN_SOURCE_DIR) / "experiments")) {
    if (entry.path().extension() != ".json" || entry.path().filename() == "schema.json") continue;
    Experiment e;
    try {
      e = load_experiment(entry.path());
    } catch (const InputError&) {
      continue;  // an experiment whose data file is made by a script first
    }
    nlohmann::json written = resolved_json(e);
    nlohmann::json read = resolved_json(experiment_from_resolved_json(written, entry.path().string()));
    written.erase("plan");
    read.erase("plan");
    EXPECT_EQ(read, written) << entry.path();
    ++checked;
  }
  EXPECT_GE(checked, 3);
  // A data file and analyses.
  const Experiment on_file =
      parse_experiment(nlohmann::json::parse(R"({"name": "f", "dataset": {"file": "dataset_stored.npz"},
                                "mask": {"fit_preparatory": false, "seed": 3, "held_out_neurons": 0.2}, "seeds": [4, 5],
                                "analyses": {"cp": {"key": "data", "ranks": "1-2"}},
                                "runs": [{"model": "static", "hidden": 10}]})"),
                       fs::path(LTRNN_FIXTURE_DIR) / "experiment.json");
  nlohmann::json written = resolved_json(on_file);
  const Experiment back = experiment_from_resolved_json(written, "f");
  ASSERT_TRUE(dataset_file(back));
  EXPECT_EQ(*dataset_file(back), fs::path(LTRNN_FIXTURE_DIR) / "dataset_stored.npz");
  EXPECT_FALSE(back.mask.fit_preparatory);
  EXPECT_EQ(back.mask.held_out_neurons, 0.2);
  EXPECT_EQ(back.seeds, (std::vector<int64_t>{4, 5}));
  EXPECT_EQ(back.analyses.cp_ranks, (std::vector<int64_t>{1, 2}));
  nlohmann::json read = resolved_json(back);
  written.erase("plan");
  read.erase("plan");
  EXPECT_EQ(read, written);
  // A setting written before it existed reads as its default; a malformed part names itself.
  nlohmann::json older = resolved_json(load_experiment(fs::path(LTRNN_SOURCE_DIR) / "experiments/quickstart.json"));
  older["mask"].erase("fit_preparatory");
  older["mask"].erase("held_out_neurons");
  EXPECT_TRUE(experiment_from_resolved_json(older, "old").mask.fit_preparatory);
  EXPECT_EQ(experiment_from_resolved_json(older, "old").mask.held_out_neurons, 0.0);
  older["dataset"] = {{"generator", "teacher"}, {"parameters", {{"ranks", 2}}}};
  try {
    experiment_from_resolved_json(older, "OUT/experiment.json");
    FAIL() << "an unknown generator parameter was read";
  } catch (const InputError& error) {
    EXPECT_NE(std::string(error.what()).find("OUT/experiment.json: /dataset/parameters/ranks"), std::string::npos)
        << error.what();
  }
}

// The experiments scripts/paper_reach_sweep writes for its cells (a name with spaces once
// stopped the sweep at its first cell).
TEST(Experiment, PaperReachSweepCellsValidate) {
  const Outcome outcome = run_command("LTRNN_BINARY=" + std::string(LTRNN_BINARY) + " bash " + LTRNN_SOURCE_DIR +
                                      "/scripts/paper_reach_sweep --validate");
  EXPECT_EQ(outcome.exit_code, 0) << outcome.output;
  std::size_t cells = 0;
  for (std::size_t at = outcome.output.find("is valid"); at != std::string::npos;
       at = outcome.output.find("is valid", at + 1))
    ++cells;
  EXPECT_EQ(cells, 9u) << outcome.output;  // 4 gains x 2 optimisers, and the linear reference
}

// Repeated items of a uniqueItems array: one message at the first repeat, not one per pair
// of equal items (which made a few kilobytes of seeds take minutes to validate), and the
// duplicate run ids they would plan never come to be.
TEST(Experiment, RepeatedSeedsAndRanksAreRefusedOnceAtTheFirstRepeat) {
  json doc = minimal();
  doc["seeds"] = json::array({1, 2});
  for (int i = 0; i < 1500; ++i) doc["seeds"].push_back(1);
  doc["runs"][0]["ranks"] = {2, 3, 2};
  const std::string message = refusal(doc);
  EXPECT_NE(message.find("/seeds/2: repeats /seeds/0 (1); each value may appear once"), std::string::npos) << message;
  EXPECT_NE(message.find("/runs/0/ranks/2: repeats /runs/0/ranks/0 (2)"), std::string::npos) << message;
  std::size_t lines_about_seeds = 0;
  for (std::size_t at = message.find("/seeds"); at != std::string::npos; at = message.find("/seeds", at + 1))
    ++lines_about_seeds;
  EXPECT_EQ(lines_about_seeds, 2u);  // "/seeds/2: repeats /seeds/0": one message
}

TEST(Experiment, ReachGeneratorAndAnalysesAreChecked) {
  json doc = json::parse(R"({"name": "r", "dataset": {"generator": "reach", "parameters": {"rank": 2}},
                            "runs": [{"model": "tensor_rank"}]})");
  EXPECT_NE(refusal(doc).find("/dataset/parameters/rank: not a parameter of the reach generator"), std::string::npos)
      << refusal(doc);
  doc["dataset"]["parameters"] = {{"hidden", 10}, {"recorded", 11}};
  EXPECT_NE(refusal(doc).find("/dataset/parameters/recorded: must be <= hidden"), std::string::npos) << refusal(doc);
  doc["dataset"]["parameters"] = {{"hidden", 10}, {"curl", 2.5}};
  doc["analyses"] = {{"compare_trial_factors", true}};
  EXPECT_NE(refusal(doc).find("/analyses/compare_trial_factors: needs /analyses/cp"), std::string::npos)
      << refusal(doc);
  doc["analyses"] = {{"cp", {{"ranks", "1-3"}, {"starts", 0}}}};
  EXPECT_NE(refusal(doc).find("/analyses/cp/starts: must be >= 1, got 0"), std::string::npos) << refusal(doc);
  doc["analyses"] = {{"cp", {{"ranks", "1-3"}}}, {"compare_trial_factors", true}};
  const Experiment e = parse_experiment(doc, fs::path(LTRNN_SOURCE_DIR) / "experiments/x.json");
  const auto* reach = std::get_if<ReachConfig>(&e.dataset);
  ASSERT_TRUE(reach);
  EXPECT_EQ(reach->curl, 2.5);
  EXPECT_EQ(e.analyses.cp_ranks, (std::vector<int64_t>{1, 2, 3}));
  EXPECT_EQ(e.analyses.cp_key, "weights");
  EXPECT_EQ(resolved_json(e)["dataset"]["parameters"]["curl"], 2.5);
}

TEST(Experiment, ResolvedFormWithoutAnalysesIsUnchangedSoOldOutputsResume) {
  // --resume compares the saved experiment.json with the resolved experiment: an
  // experiment without analyses must resolve exactly as it did before analyses existed.
  const Experiment quickstart = load_experiment(fs::path(LTRNN_SOURCE_DIR) / "experiments/quickstart.json");
  const json resolved = resolved_json(quickstart);
  std::vector<std::string> keys;
  for (const auto& item : resolved.items()) keys.push_back(item.key());
  // (description and outputs.report are new, but --resume ignores both: they change no number.)
  EXPECT_EQ(keys, (std::vector<std::string>{"dataset", "description", "mask", "name", "outputs", "plan", "preprocess",
                                            "seeds", "source", "train"}));
  EXPECT_EQ(resolved["outputs"].size(), 4u);
  EXPECT_TRUE(resolved["outputs"]["report"].get<bool>());
  // The spiking teacher's parameters (spikes, min_rate, max_rate, modulation) and the
  // validation set resolve too: outputs written before the validation set existed have
  // other masks and numbers, and --resume refuses them as a changed experiment. The
  // teacher's later variants (preparatory, readout_offset, solver, substeps, saturation,
  // sessions, turnover) resolve as well; --resume fills them in with their defaults (runner_test).
  EXPECT_EQ(resolved["dataset"]["parameters"].size(), 22u);
  EXPECT_EQ(resolved["mask"]["validation_fraction"], 0.1);
  const Experiment reach = load_experiment(fs::path(LTRNN_SOURCE_DIR) / "experiments/paper_reach_small.json");
  EXPECT_TRUE(resolved_json(reach)["analyses"]["compare_trial_factors"].get<bool>());
}

TEST(Experiment, PresetsHoldOnlyWhatDiffersPerFamily) {
  const json defaults = fields_to_json(ModelConfig{});
  for (const FamilyTraits* family_row : family_table()) {
    const FamilyTraits& family = *family_row;
    const std::string path = "models/" + family.name + ".json";
    const json preset = json::parse(embedded_resource(path));
    EXPECT_EQ(preset.at("family"), family.name);
    EXPECT_FALSE(preset.value("description", "").empty()) << path;
    for (const auto& item : preset.at("defaults").items()) {
      ASSERT_TRUE(defaults.contains(item.key())) << path << ": " << item.key() << " is not a model field";
      EXPECT_NE(item.value(), defaults.at(item.key())) << path << ": " << item.key() << " equals the built-in default";
    }
    // The preset applied: the built-in defaults with the preset's differences.
    json expected = defaults;
    expected.update(preset.at("defaults"));
    expected["kind"] = family.name;
    EXPECT_EQ(fields_to_json(model_preset(family.kind)), expected) << path;
    // The embedded copy is the source file.
    std::ifstream file(fs::path(LTRNN_SOURCE_DIR) / path);
    EXPECT_EQ(json::parse(file), preset) << path;
  }
  // Every model field is documented where it is declared (its help text, shown by `ltrnn fit --help`).
  FieldKeyCollector fields;
  const ModelConfig model_defaults;
  ModelConfig::fields(model_defaults, fields);
  EXPECT_TRUE(fields.undocumented.empty()) << fields.undocumented.front();
}

TEST(Experiment, RefusesInvalidFilesNamingEveryBadField) {
  json doc = minimal();
  doc["seeds"] = "zero";
  EXPECT_NE(refusal(doc).find("/seeds: must be array, got string"), std::string::npos) << refusal(doc);

  doc = minimal();
  doc["runs"][0]["model"] = "transformer";
  EXPECT_NE(
      refusal(doc).find("/runs/0/model: must be one of tensor_rank, full, static, matrix_rank, got \"transformer\""),
      std::string::npos)
      << refusal(doc);

  doc = minimal();
  doc["runs"][0]["ranks"] = json::array({2, 0});
  EXPECT_NE(refusal(doc).find("/runs/0/ranks/1: must be >= 1, got 0"), std::string::npos) << refusal(doc);

  doc = minimal();
  doc["train"] = {{"iterationz", 5}};
  EXPECT_NE(refusal(doc).find("/train/iterationz: unknown key"), std::string::npos) << refusal(doc);

  doc = minimal();
  doc.erase("dataset");
  EXPECT_NE(refusal(doc).find("/dataset: required"), std::string::npos) << refusal(doc);

  doc = minimal();
  doc["dataset"] = {{"file", "no_such_recording.npz"}};
  EXPECT_NE(refusal(doc).find("/dataset/file: file not found"), std::string::npos) << refusal(doc);

  doc = minimal();
  doc["runs"] =
      json::parse(R"([{"model": "full", "ranks": [2]}, {"model": "tensor_rank", "ranks": "3-4", "hidden": 3}])");
  const std::string both = refusal(doc);
  EXPECT_NE(both.find("2 errors"), std::string::npos) << both;
  EXPECT_NE(both.find("/runs/0/ranks: the full family has no rank"), std::string::npos) << both;
  EXPECT_NE(both.find("/runs/1/ranks: rank 4 must be <= hidden (3)"), std::string::npos) << both;

  doc = minimal();
  doc["dataset"]["parameters"] = {{"bins", 5}, {"preparatory_bins", 5}};
  EXPECT_NE(refusal(doc).find("/dataset/parameters/preparatory_bins: must be < bins"), std::string::npos)
      << refusal(doc);

  doc = minimal();
  doc["name"] = "has spaces";
  doc["train"] = {{"learning_rate", -1}};
  const std::string several = refusal(doc);
  EXPECT_NE(several.find("/name: must match the pattern"), std::string::npos) << several;
  EXPECT_NE(several.find("/train/learning_rate: must be > 0, got -1"), std::string::npos) << several;
}

TEST(Experiment, MalformedJsonNamesLineAndColumn) {
  const ScratchDirectory dir;
  const fs::path path = dir / "bad.json";
  std::ofstream(path) << "{\"name\": \"x\",\n \"dataset\": {\n   \"file\": ,\n}";
  try {
    load_experiment(path);
    FAIL() << "accepted malformed JSON";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("malformed JSON: parse error at line 3, column 12"), std::string::npos)
        << e.what();
  }
}

TEST(Planner, ExpandsFamilyRankHiddenSeedWithStableIds) {
  json doc = minimal();
  doc["seeds"] = {0, 7};
  doc["runs"] = json::parse(R"([{"model": "tensor_rank", "ranks": "1-3", "hidden": [10, 20]},
                                {"model": "static", "hidden": 12},
                                {"model": "matrix_rank", "ranks": [2], "hidden": 8, "overrides": {"solver": "rk4"},
                                 "train": {"iterations": 5}}])");
  const Experiment e = parse_experiment(doc, "x.json");
  const auto plan = plan_runs(e);
  ASSERT_EQ(plan.size(), 3u * 2u * 2u + 2u + 2u + 2u * 4u);  // and the ladder's starts of tensor_rank
  EXPECT_EQ(plan[0].id, "tensor_rank-r1-n10-s0");
  EXPECT_EQ(plan[1].id, "tensor_rank-r1-n10-s7");
  EXPECT_EQ(plan[2].id, "tensor_rank-r1-n20-s0");
  EXPECT_EQ(plan[11].id, "tensor_rank-r3-n20-s7");
  EXPECT_EQ(plan[12].id, "static-n12-s0");
  EXPECT_EQ(plan[14].id, "matrix_rank-r2-n8-s0");
  EXPECT_EQ(plan[14].model.solver, Solver::RK4);
  EXPECT_EQ(plan[14].train.iterations, 5);
  EXPECT_EQ(plan[0].train.iterations, TrainConfig{}.iterations);
  EXPECT_EQ(plan[12].model.input_rank, 5);  // from models/static.json
  // The same file plans the same runs.
  const auto again = plan_runs(parse_experiment(doc, "x.json"));
  for (std::size_t i = 0; i < plan.size(); ++i) EXPECT_EQ(plan[i].id, again[i].id);

  // The rank ladder after every seed's run: per hidden size, the up chain then the down
  // chain; an up start from its source rank's seeds and up chain, a down start from every
  // fit of its source rank (the up chain's included, so the down chain follows it).
  const std::vector<std::string> ladder{"tensor_rank-r2-n10-up",   "tensor_rank-r3-n10-up",  "tensor_rank-r2-n10-down",
                                        "tensor_rank-r1-n10-down", "tensor_rank-r2-n20-up",  "tensor_rank-r3-n20-up",
                                        "tensor_rank-r2-n20-down", "tensor_rank-r1-n20-down"};
  for (std::size_t i = 0; i < ladder.size(); ++i) EXPECT_EQ(plan[16 + i].id, ladder[i]);
  EXPECT_EQ(plan[16].start, RunStart::Up);
  EXPECT_EQ(plan[16].source_rank, 1);
  EXPECT_EQ(plan[16].model.rank, 2);
  EXPECT_EQ(plan[19].start, RunStart::Down);
  EXPECT_EQ(plan[19].source_rank, 2);
  EXPECT_EQ(plan[19].train.seed, 0);  // the experiment's first seed draws the new components
  EXPECT_EQ(ladder_sources(plan, 16), (std::vector<std::size_t>{0, 1}));          // r1-n10 seeds
  EXPECT_EQ(ladder_sources(plan, 17), (std::vector<std::size_t>{4, 5, 16}));      // r2-n10 seeds and r2-up
  EXPECT_EQ(ladder_sources(plan, 18), (std::vector<std::size_t>{8, 9, 17}));      // r3-n10 seeds and r3-up
  EXPECT_EQ(ladder_sources(plan, 19), (std::vector<std::size_t>{4, 5, 16, 18}));  // r2-n10 seeds, up and down
  EXPECT_TRUE(ladder_sources(plan, 3).empty());
  std::vector<std::size_t> all(plan.size());
  for (std::size_t i = 0; i < all.size(); ++i) all[i] = i;
  const auto waves = ladder_waves(plan, all);
  ASSERT_EQ(waves.size(), 4u);
  EXPECT_EQ(waves[0], (std::vector<std::size_t>{16, 20}));
  EXPECT_EQ(waves[1], (std::vector<std::size_t>{17, 21}));
  EXPECT_EQ(waves[2], (std::vector<std::size_t>{18, 22}));
  EXPECT_EQ(waves[3], (std::vector<std::size_t>{19, 23}));

  // train.ladder false (here for one group) plans the seeds' runs alone.
  doc["runs"][0]["train"] = {{"ladder", false}};
  EXPECT_EQ(plan_runs(parse_experiment(doc, "x.json")).size(), 16u);
}

// More starts: a rank that lost narrowly while its fits disagree gets train.more_starts
// seeds after the experiment's last, per hidden size of the groups that compare ranks.
TEST(Planner, MoreStartsAreFurtherSeedsOfTheRankThatLostNarrowly) {
  json doc = minimal();
  doc["seeds"] = {0, 7};
  doc["runs"] = json::parse(R"([{"model": "tensor_rank", "ranks": "1-3", "hidden": [10, 20]},
                                {"model": "tensor_rank", "ranks": [2], "hidden": 30},
                                {"model": "static", "hidden": 12}])");
  doc["runs"][0]["train"] = {{"more_starts", 2}};
  const Experiment e = parse_experiment(doc, "x.json");
  const std::vector<PlannedRun> plan = plan_runs(e);
  // Seeds' records: rank 3 best (0.200, 0.201); rank 2 lost by 0.03 with fits 0.02 apart
  // (run/comparison.h CloseLoss, no block losses: sampling error 0.005); rank 1 far behind.
  std::vector<RunRecord> records;
  for (const PlannedRun& run : plan) {
    if (run.laddered()) continue;
    RunRecord r = planned_record(run.model, run.train);
    r.id = run.id;
    r.outcome = RunOutcome::parse("finished");
    r.validation_entries = 1000;
    r.validation_loss_se = 0.005;
    const bool first = run.train.seed == 0;
    r.validation_loss = run.model.kind == ModelKind::Static ? 0.9
                        : run.model.rank == 1               ? (first ? 0.50 : 0.51)
                        : run.model.rank == 2               ? (first ? 0.23 : 0.25)
                                                            : (first ? 0.200 : 0.201);
    records.push_back(r);
  }
  const MoreStarts more = plan_more_starts(e, plan, records, {});
  ASSERT_EQ(more.close_losses.size(), 1u);
  EXPECT_EQ(more.close_losses[0].rank, 2);
  // Group 0 (more_starts 2) at both hidden sizes; group 1 plans one rank only.
  const std::vector<std::string> ids{"tensor_rank-r2-n10-s8", "tensor_rank-r2-n10-s9", "tensor_rank-r2-n20-s8",
                                     "tensor_rank-r2-n20-s9"};
  ASSERT_EQ(more.runs.size(), ids.size());
  for (std::size_t i = 0; i < ids.size(); ++i) {
    EXPECT_EQ(more.runs[i].id, ids[i]);
    EXPECT_EQ(more.runs[i].model.rank, 2);
    EXPECT_EQ(more.runs[i].start, RunStart::Seed);
    EXPECT_EQ(more.runs[i].group, 0u);
  }
  EXPECT_EQ(more.runs[1].train.seed, 9);
  const json said = more_starts_json(more);
  ASSERT_EQ(said.size(), 1u);
  EXPECT_EQ(said[0].at("rank"), 2);
  EXPECT_EQ(said[0].at("best_rank"), 3);
  EXPECT_EQ(said[0].at("runs").size(), 4u);
  EXPECT_NE(format_more_starts(more).find("rank 2 lost to rank 3"), std::string::npos) << format_more_starts(more);

  // Rank 2's fits agree: none. more_starts 0: none.
  for (RunRecord& r : records)
    if (r.rank == 2) r.validation_loss = r.seed == 0 ? 0.212 : 0.2125;
  EXPECT_TRUE(plan_more_starts(e, plan, records, {}).runs.empty());
  doc["runs"][0]["train"] = {{"more_starts", 0}};
  const Experiment none = parse_experiment(doc, "x.json");
  for (RunRecord& r : records)
    if (r.rank == 2) r.validation_loss = r.seed == 0 ? 0.23 : 0.25;
  EXPECT_TRUE(plan_more_starts(none, plan_runs(none), records, {}).runs.empty());
  EXPECT_TRUE(more_starts_json(plan_more_starts(none, plan_runs(none), records, {})).empty());
}

TEST(Planner, SeveralJobsTakeTheLongestRunsFirst) {
  json doc = minimal();
  doc["seeds"] = {0, 1};
  doc["train"] = {{"ladder", false}};
  doc["runs"] = json::parse(R"([{"model": "tensor_rank", "ranks": [1, 2], "hidden": 40, "train": {"iterations": 1000}},
                                {"model": "full", "hidden": 40, "train": {"iterations": 1000}},
                                {"model": "tensor_rank", "ranks": [1], "hidden": 40, "train": {"iterations": 3000}}])");
  const auto plan = plan_runs(parse_experiment(doc, "x.json"));
  ASSERT_EQ(plan.size(), 8u);
  const std::vector<std::size_t> order = longest_runs_first(plan, DataSizes{30, 60, 20});
  // Heun, 29 steps: full (2 K N^2 per evaluation: 14.0 GFLOP in all) before rank 1 with
  // three times the iterations (10.3), rank 2 (4.0) and rank 1 (3.4); ties in plan order.
  const std::vector<std::size_t> expected{4, 5, 6, 7, 2, 3, 0, 1};
  EXPECT_EQ(order, expected);
  std::vector<std::string> ids;
  for (std::size_t i : order) ids.push_back(plan[i].id);
  EXPECT_EQ(ids.front(), "full-n40-s0");
}

}  // namespace
}  // namespace ltrnn
