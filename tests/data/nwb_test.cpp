// NWB import against an independent numpy binning of the same spikes (tests/data/write_nwb.py
// writes the file with h5py), the missing mask through the masks, and refusals of
// malformed files naming the file and the HDF5 path.
#include "data/nwb.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cstdlib>
#include <nlohmann/json.hpp>
#include <sstream>

#include "data/masks.h"
#include "experiment/experiment.h"
#include "experiment/runner.h"
#include "run_ltrnn.h"
#include "scratch_directory.h"
#include "test_paths.h"
#include "util/errors.h"
#include "util/files.h"

namespace ltrnn {
namespace {
namespace fs = std::filesystem;

// Writes the test file (and numpy's expected import) with Debian's python3-h5py.
void write_nwb(const fs::path& nwb, const fs::path& expected, const std::string& variant = "") {
  const std::string command = "/usr/bin/python3 " + std::string(LTRNN_SOURCE_DIR) + "/tests/data/write_nwb.py '" +
                              nwb.string() + "' '" + expected.string() + "'" +
                              (variant.empty() ? "" : " --variant " + variant);
  ASSERT_EQ(std::system(command.c_str()), 0) << command << " failed: is python3-h5py installed (scripts/setup)?";
}

NwbImportOptions options_for(const fs::path& nwb) {
  NwbImportOptions o;
  o.file = nwb;
  o.align = "go_cue_time";
  o.window_start = -0.2;
  o.window_stop = 0.3;
  o.bin_width = 0.05;
  o.condition = "target";
  o.epoch = "epoch";
  o.trials_where = {{"result", "R"}};
  o.units_where = {{"quality", "good"}};
  return o;
}

torch::Tensor array(const std::map<std::string, NpyArray>& arrays, const std::string& key) {
  return from_npy(arrays.at(key));
}

TEST(NwbImport, BinsAsNumpyDoesEntryByEntry) {
  const ScratchDirectory dir;
  write_nwb(dir / "session.nwb", dir / "expected.npz");
  const NwbImport imported = import_nwb(options_for(dir / "session.nwb"));
  const auto expected = read_npz(dir / "expected.npz");
  const Dataset ds = nwb_dataset(imported);
  ASSERT_TRUE(ds.counts);
  ASSERT_EQ(ds.data.sizes(), array(expected, "data").sizes());
  EXPECT_TRUE(torch::equal(ds.data.to(torch::kInt32), array(expected, "data")));
  ASSERT_TRUE(ds.missing.defined());
  EXPECT_TRUE(torch::equal(ds.missing, array(expected, "missing")));
  EXPECT_GT(ds.missing.sum().item<int64_t>(), 0);  // the unit that drops out half-way
  EXPECT_TRUE(torch::equal(ds.condition, array(expected, "condition")));
  EXPECT_EQ(ds.condition_labels, (std::vector<int64_t>{0, 45, 90}));
  EXPECT_EQ(ds.epoch_labels, (std::vector<std::string>{"BL", "AD", "WO"}));
  EXPECT_TRUE(torch::equal(ds.trial_id, array(expected, "trial_id")));
  EXPECT_TRUE(torch::allclose(ds.times, array(expected, "times"), 0, 1e-12));
  EXPECT_EQ(imported.unit_ids, (std::vector<int64_t>{10, 12}));
  EXPECT_EQ(imported.units_dropped_where, 1);
  EXPECT_EQ(imported.trials_dropped_where, 1);     // the failed trial
  EXPECT_EQ(imported.trials_dropped_no_event, 1);  // the trial without a go cue
  EXPECT_EQ(imported.spikes_binned, ds.data.sum().item<int64_t>());

  // Missing entries are in neither the training nor the test set.
  const Masks masks =
      without_missing(make_block_masks(ds.n_bins(), ds.n_trials(), ds.n_neurons(), MaskConfig{}), ds.missing);
  EXPECT_FALSE((masks.train & ds.missing).any().item<bool>());
  EXPECT_FALSE((masks.test & ds.missing).any().item<bool>());
}

TEST(NwbImport, EpochsFromSessionTimeBoundaries) {
  const ScratchDirectory dir;
  write_nwb(dir / "session.nwb", dir / "expected.npz");
  NwbImportOptions o = options_for(dir / "session.nwb");
  o.epoch.clear();
  o.epochs = {{"early", 4.0}, {"late", 14.0}};  // trial k starts at 1 + 2k
  const NwbImport imported = import_nwb(o);
  EXPECT_EQ(imported.trials_dropped_before_epochs, 2);  // trials 0 and 1 start before 4 s
  EXPECT_EQ(imported.dataset.epoch_labels, (std::vector<std::string>{"early", "late"}));
  EXPECT_EQ(imported.dataset.trial_id[0].item<int64_t>(), 2);
}

TEST(NwbImport, CommandLineWritesTheDatasetTheLoaderReads) {
  const ScratchDirectory dir;
  write_nwb(dir / "session.nwb", dir / "expected.npz");
  const Outcome ok = run_ltrnn("import nwb " + (dir / "session.nwb").string() +
                               " --align go_cue_time --window=-0.2,0.3 --bin 0.05 --condition target --epoch epoch"
                               " --where result=R --units-where quality=good --out " +
                               (dir / "data.npz").string());
  ASSERT_EQ(ok.exit_code, 0) << ok.output;
  EXPECT_NE(ok.output.find("units: 2 kept of 3"), std::string::npos) << ok.output;
  EXPECT_NE(ok.output.find("1 without an event time"), std::string::npos) << ok.output;
  const Dataset loaded = load_dataset(dir / "data.npz");
  const auto expected = read_npz(dir / "expected.npz");
  EXPECT_TRUE(torch::equal(loaded.data.to(torch::kInt32), array(expected, "data")));
  EXPECT_TRUE(torch::equal(loaded.missing, array(expected, "missing")));
  EXPECT_TRUE(loaded.notes.empty());
  const auto written = read_npz(dir / "data.npz");
  EXPECT_EQ(written.at("data").dtype, DType::Int32);
  EXPECT_EQ(written.at("condition_values").to_strings(), (std::vector<std::string>{"0", "45", "90"}));
}

TEST(NwbImport, RefusesMalformedFilesNamingFileAndPath) {
  const ScratchDirectory dir;
  const auto refusal = [&](const std::string& variant, const std::string& args) {
    const fs::path nwb = dir / (variant + ".nwb");
    write_nwb(nwb, dir / "expected.npz", variant);
    const fs::path out = dir / (variant + ".npz");
    const Outcome o = run_ltrnn("import nwb " + nwb.string() + " " + args + " --out " + out.string());
    EXPECT_EQ(o.exit_code, 2) << variant << ": " << o.output;
    EXPECT_FALSE(fs::exists(out)) << variant;
    return o.output;
  };
  const std::string usual = "--align go_cue_time --window=-0.2,0.3 --bin 0.05";
  EXPECT_NE(refusal("not_hdf5", usual).find("not_hdf5.nwb: not an HDF5 file"), std::string::npos);
  EXPECT_NE(refusal("no_units", usual).find("/units/spike_times: not found"), std::string::npos);
  EXPECT_NE(refusal("index_out_of_range", usual).find("/units/spike_times_index: entry 2"), std::string::npos);
  EXPECT_NE(refusal("index_not_monotone", usual).find("/units/spike_times_index: not monotone"), std::string::npos);
  EXPECT_NE(
      refusal("ragged_condition", usual + " --condition target").find("/intervals/trials/target: a ragged column"),
      std::string::npos);
  EXPECT_NE(refusal("good_align", "--align move_onset_time --window=-0.2,0.3 --bin 0.05")
                .find("/intervals/trials/move_onset_time: no such column"),
            std::string::npos);
  EXPECT_NE(refusal("good_window", "--align go_cue_time --window=0.3,-0.2 --bin 0.05").find("window"),
            std::string::npos);
  EXPECT_NE(
      refusal("good_bin", "--align go_cue_time --window=-0.2,0.3 --bin 0.03").find("bin_width: must divide the window"),
      std::string::npos);
  EXPECT_NE(refusal("good_trials", usual + " --where result=X").find("no trial kept"), std::string::npos);
  EXPECT_NE(refusal("good_units", usual + " --units-where quality=none").find("no unit kept"), std::string::npos);
}

// An experiment names the NWB file: imported once, saved as dataset.npz, missing entries in
// neither mask, counts fitted with the Poisson loss.
TEST(NwbImport, ExperimentImportsFitsAndKeepsMissingEntriesOut) {
  const ScratchDirectory dir;
  write_nwb(dir / "session.nwb", dir / "expected.npz");
  const nlohmann::json document = {
      {"name", "nwb_tiny"},
      {"dataset",
       {{"nwb",
         {{"file", "session.nwb"},
          {"align", "go_cue_time"},
          {"window", {-0.2, 0.3}},
          {"bin_width", 0.05},
          {"condition", "target"},
          {"epoch", "epoch"},
          {"trials_where", {{"result", "R"}}},
          {"units_where", {{"quality", "good"}}}}}}},
      {"mask", {{"test_fraction", 0.1}, {"train_half", {1, 1, 0}}, {"test_half", {0, 0, 0}}}},
      {"train", {{"iterations", 5}}},
      {"runs", {{{"model", "tensor_rank"}, {"ranks", {1}}, {"hidden", 4}}}},
      {"outputs", {{"report", false}}}};
  write_file_atomic(dir / "experiment.json", document.dump());
  const Experiment e = load_experiment(dir / "experiment.json");
  const auto* nwb = std::get_if<NwbImportOptions>(&e.dataset);
  ASSERT_TRUE(nwb);
  EXPECT_EQ(nwb->file, dir / "session.nwb");
  RunnerOptions options;
  options.out_dir = dir / "out";
  options.progress = false;
  std::ostringstream log;
  const std::vector<RunRecord> runs = run_experiment(e, options, log);
  ASSERT_EQ(runs.size(), 1u);
  EXPECT_TRUE(runs[0].finished()) << runs[0].outcome.text() << "\n" << log.str();
  EXPECT_NE(log.str().find("missing entries (in neither)"), std::string::npos) << log.str();
  const Dataset saved = load_dataset(options.out_dir / "dataset.npz");
  const auto expected = read_npz(dir / "expected.npz");
  EXPECT_TRUE(torch::equal(saved.missing, array(expected, "missing")));
  const auto masks = read_npz(options.out_dir / "masks.npz");
  EXPECT_FALSE((array(masks, "train") & saved.missing).any().item<bool>());
  EXPECT_FALSE((array(masks, "test") & saved.missing).any().item<bool>());
  EXPECT_FALSE((array(masks, "validation") & saved.missing).any().item<bool>());
  const nlohmann::json resolved = nlohmann::json::parse(read_file(options.out_dir / "experiment.json"));
  EXPECT_EQ(resolved["dataset"]["nwb"]["file"], (dir / "session.nwb").string());
  EXPECT_EQ(resolved["plan"][0]["train"]["loss"], "auto");

  // A window the bin width does not divide is refused with its pointer.
  nlohmann::json bad = document;
  bad["dataset"]["nwb"]["bin_width"] = 0.03;
  write_file_atomic(dir / "bad.json", bad.dump());
  try {
    load_experiment(dir / "bad.json");
    FAIL() << "accepted a bin width that does not divide the window";
  } catch (const InputError& error) {
    EXPECT_NE(std::string(error.what()).find("/dataset/nwb/bin_width: must divide the window"), std::string::npos)
        << error.what();
  }
}

}  // namespace
}  // namespace ltrnn
