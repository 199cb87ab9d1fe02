// An experiment over several recording sessions (docs/design.md section 7, "Sessions"): the
// session files of a teacher fitted as one dataset, with per-session masks and per-session
// scores checked against a computation from the written predictions and masks; the
// experiment file's sessions refused where they are malformed.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <sstream>

#include "data/sessions.h"
#include "experiment/experiment.h"
#include "experiment/runner.h"
#include "io/npy.h"
#include "scratch_directory.h"
#include "sim/teacher.h"
#include "util/errors.h"
#include "util/files.h"

namespace ltrnn {
namespace {
namespace fs = std::filesystem;
using nlohmann::json;
using torch::indexing::Slice;

TeacherConfig two_session_teacher() {
  TeacherConfig c;
  c.rank = 1;
  c.hidden = 8;
  c.neurons = 6;
  c.trials_per_epoch = 6;
  c.bins = 10;
  c.preparatory_bins = 3;
  c.sessions = 2;
  c.turnover = 0.5;
  return c;
}

// Writes the teacher's sessions as day1.npz and day2.npz in `dir`.
TeacherData write_session_files(const fs::path& dir) {
  const TeacherData teacher = simulate_teacher(two_session_teacher());
  for (std::size_t s = 0; s < teacher.dataset.sessions.size(); ++s)
    write_npz(dir / ("day" + std::to_string(s + 1) + ".npz"),
              teacher_session_arrays(teacher, teacher.dataset.sessions[s]));
  return teacher;
}

json sessions_experiment(const json& dataset) {
  return {
      {"name", "days"},
      {"dataset", dataset},
      {"train",
       {{"iterations", 30}, {"lr_patience", 0}, {"plateau_window", 0}, {"tau_pilot_iterations", 0}, {"ladder", false}}},
      {"outputs", {{"report", false}, {"export", false}}},
      {"runs", json::parse(R"([{"model": "tensor_rank", "ranks": [1], "hidden": 6}])")}};
}

std::string refusal(const json& document, const fs::path& source) {
  try {
    parse_experiment(document, source);
  } catch (const InputError& e) {
    return e.what();
  }
  return "accepted";
}

TEST(SessionsExperiment, FitsTheSessionsAsOneAndScoresEachSession) {
  ScratchDirectory scratch;
  const fs::path dir = scratch.path();
  const TeacherData teacher = write_session_files(dir);
  const json dataset = {{"sessions", json::array({{{"file", "day1.npz"}}, {{"file", "day2.npz"}}})},
                        {"gap", {{"trials", 5}}}};
  write_file_atomic(dir / "days.json", sessions_experiment(dataset).dump(2));
  const Experiment e = load_experiment(dir / "days.json");
  RunnerOptions options;
  options.out_dir = dir / "out";
  options.progress = false;
  std::ostringstream log;
  const auto runs = run_experiment(e, options, log);
  ASSERT_EQ(runs.size(), 1u);
  ASSERT_TRUE(runs[0].finished()) << log.str();

  // The merged dataset: the sessions side by side, trial ids over the gap of 5.
  const Dataset merged = load_dataset(options.out_dir / "dataset.npz");
  ASSERT_EQ(merged.sessions.size(), 2u);
  EXPECT_EQ(merged.n_neurons(), 12);
  EXPECT_EQ(merged.trial_id[9].item<int64_t>(), 8 + 1 + 5);
  EXPECT_TRUE(torch::equal(merged.data.index({Slice(), Slice(0, 9), Slice(0, 6)}),
                           teacher.dataset.data.index({Slice(), Slice(0, 9), Slice(0, 6)})));

  // Each session's scores, from predictions.npy and masks.npz: the nMSE of its test entries.
  const json results = json::parse(read_file(options.out_dir / "results.json"));
  const json& sessions = results["runs"][0]["sessions"];
  ASSERT_EQ(sessions.size(), 2u);
  const torch::Tensor prediction =
      from_npy(read_npy(options.out_dir / "runs" / runs[0].id / "predictions.npy")).to(torch::kFloat64);
  const auto masks = read_npz(options.out_dir / "masks.npz");
  const torch::Tensor test = from_npy(masks.at("test"));
  for (std::size_t s = 0; s < 2; ++s) {
    const SessionSpan& span = merged.sessions[s];
    EXPECT_EQ(sessions[s]["session"], span.name);
    const auto block =
        std::vector<torch::indexing::TensorIndex>{Slice(), Slice(span.first_trial, span.first_trial + span.trials),
                                                  Slice(span.first_neuron, span.first_neuron + span.neurons)};
    const torch::Tensor in_test = test.index(block);
    ASSERT_GT(in_test.sum().item<int64_t>(), 0) << span.name;
    const torch::Tensor y = merged.data.index(block).masked_select(in_test);
    const torch::Tensor yhat = prediction.index(block).masked_select(in_test);
    const double nmse = (yhat - y).pow(2).mean().item<double>() / y.var(/*unbiased=*/false).item<double>();
    EXPECT_NEAR(sessions[s]["test_nmse"].get<double>(), nmse, 1e-4 * nmse) << span.name;
  }
  const std::string csv = read_file(options.out_dir / "results_sessions.csv");
  EXPECT_EQ(csv.rfind("id,session,test_nmse,test_r2,test_bits_per_spike,validation_loss\n", 0), 0u) << csv;
  EXPECT_NE(csv.find(runs[0].id + "," + merged.sessions[1].name + ","), std::string::npos) << csv;
}

TEST(SessionsExperiment, MalformedSessionsAreRefusedNamingTheField) {
  ScratchDirectory scratch;
  const fs::path dir = scratch.path();
  write_session_files(dir);
  const fs::path source = dir / "days.json";
  const auto with = [](const json& dataset) { return sessions_experiment(dataset); };

  std::string message =
      refusal(with({{"sessions", json::array({{{"file", "day1.npz"}}, {{"file", "day9.npz"}}})}}), source);
  EXPECT_NE(message.find("/dataset/sessions/1/file: file not found"), std::string::npos) << message;

  message = refusal(with({{"sessions", json::array({json::object()})}}), source);
  EXPECT_NE(message.find("/dataset/sessions/0: give exactly one of \"file\" and \"nwb\""), std::string::npos)
      << message;

  message = refusal(with({{"sessions", json::array({{{"file", "day1.npz"}}})}, {"gap", {{"days", 2}}}}), source);
  EXPECT_NE(message.find("/dataset/gap: \"days\" and \"trials_per_day\" come together"), std::string::npos) << message;

  message = refusal(with({{"file", "day1.npz"}, {"gap", {{"trials", 3}}}}), source);
  EXPECT_NE(message.find("/dataset/gap: only sessions have gaps"), std::string::npos) << message;

  json orthonormal = with({{"sessions", json::array({{{"file", "day1.npz"}}, {{"file", "day2.npz"}}})}});
  orthonormal["runs"][0]["overrides"] = {{"readout", "orthonormal"}};
  message = refusal(orthonormal, source);
  EXPECT_NE(message.find("/runs/0/overrides/readout: orthonormal ties the readout rows of every session together"),
            std::string::npos)
      << message;

  // A gap in days: round(days x trials per day) unrecorded trials.
  const Experiment days =
      parse_experiment(with({{"sessions", json::array({{{"file", "day1.npz"}}, {{"file", "day2.npz"}}})},
                             {"gap", {{"days", 1.5}, {"trials_per_day", 101}}}}),
                       source);
  EXPECT_EQ(std::get<DatasetSessions>(days.dataset).gap_trials, 152);
  // As experiment.json records it, and reads it back.
  const json resolved = {{"name", "days"}, {"dataset", dataset_json(days.dataset)}};
  const Experiment back = experiment_from_resolved_json(resolved, "experiment.json");
  const auto& sessions = std::get<DatasetSessions>(back.dataset);
  EXPECT_EQ(sessions.gap_trials, 152);
  ASSERT_EQ(sessions.sessions.size(), 2u);
  EXPECT_EQ(std::get<DatasetFile>(sessions.sessions[1]).path, dir / "day2.npz");
}

// Sessions that cannot share one fit are refused when the experiment runs, naming the file.
TEST(SessionsExperiment, SessionsOnAnotherTimeGridAreRefusedNamingTheFile) {
  ScratchDirectory scratch;
  const fs::path dir = scratch.path();
  write_session_files(dir);
  TeacherConfig other = two_session_teacher();
  other.sessions = 1;
  other.bins = 12;
  write_npz(dir / "longer.npz", teacher_arrays(simulate_teacher(other)));
  write_file_atomic(
      dir / "days.json",
      sessions_experiment({{"sessions", json::array({{{"file", "day1.npz"}}, {{"file", "longer.npz"}}})}}).dump(2));
  const Experiment e = load_experiment(dir / "days.json");
  RunnerOptions options;
  options.out_dir = dir / "out";
  options.progress = false;
  std::ostringstream log;
  try {
    run_experiment(e, options, log);
    ADD_FAILURE() << "accepted sessions on different time grids";
  } catch (const InputError& error) {
    EXPECT_NE(std::string(error.what()).find("longer.npz: its time grid (12 bins"), std::string::npos) << error.what();
  }
  EXPECT_FALSE(fs::exists(options.out_dir / "results.json"));
}

}  // namespace
}  // namespace ltrnn
