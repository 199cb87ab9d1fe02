// The spiking teacher and its NWB file: Poisson counts around the planted rates; the file,
// read back by h5py and binned by numpy (tests/sim/bin_nwb.py), and imported by ltrnn, gives
// the teacher's counts, with failed trials dropped and the dropped-out unit missing.
#include "sim/teacher_nwb.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <sstream>

#include "data/nwb.h"
#include "scratch_directory.h"
#include "test_paths.h"
#include "util/errors.h"

namespace ltrnn {
namespace {
namespace fs = std::filesystem;

TeacherConfig small_spiking_teacher() {
  TeacherConfig c;
  c.spikes = true;
  c.hidden = 12;
  c.neurons = 6;
  c.trials_per_epoch = 8;
  c.bins = 20;
  c.preparatory_bins = 5;
  c.seed = 4;
  return c;
}

// The import of a teacher's NWB file, with the options the writer prints.
NwbImportOptions import_options(const fs::path& file, const TeacherNwbSummary& summary, const TeacherConfig& c) {
  NwbImportOptions o;
  o.file = file;
  o.align = "go_cue_time";
  o.window_start = summary.window_start;
  o.window_stop = summary.window_stop;
  o.bin_width = c.bin_width;
  o.condition = "target";
  o.epoch = "epoch";
  o.trials_where = {{"result", "R"}};
  return o;
}

TEST(SpikingTeacher, CountsArePoissonDrawsOfRatesWithinTheBaselineRange) {
  TeacherConfig c = small_spiking_teacher();
  c.trials_per_epoch = 40;
  const TeacherData teacher = simulate_teacher(c);
  ASSERT_TRUE(teacher.dataset.counts);
  EXPECT_TRUE(torch::equal(teacher.dataset.data, teacher.dataset.data.round()));
  // Baselines within [min_rate, max_rate] Hz.
  const torch::Tensor hz = teacher.baseline / c.bin_width;
  EXPECT_GE(hz.min().item<double>(), c.min_rate);
  EXPECT_LE(hz.max().item<double>(), c.max_rate);
  // The baseline is each neuron's geometric-mean rate; its log rate varies with std 1.
  const torch::Tensor log_rates = teacher.rates.log();
  EXPECT_TRUE(torch::allclose(log_rates.mean(torch::IntArrayRef{0, 1}), teacher.baseline.log(), 0, 1e-9));
  EXPECT_TRUE(torch::allclose(log_rates.std(torch::IntArrayRef{0, 1}, /*unbiased=*/false),
                              torch::full({c.neurons}, c.modulation, torch::kFloat64), 0, 1e-9));
  // Poisson: the mean count over all entries matches the mean rate (many entries), and the
  // variance of (count - rate) matches the mean rate.
  const double mean_rate = teacher.rates.mean().item<double>();
  const torch::Tensor residual = teacher.dataset.data - teacher.rates;
  const double n = static_cast<double>(residual.numel());
  EXPECT_NEAR(teacher.dataset.data.mean().item<double>(), mean_rate, 4 * std::sqrt(mean_rate / n));
  EXPECT_NEAR(residual.pow(2).mean().item<double>() / mean_rate, 1.0, 0.05);
}

TEST(SpikingTeacher, NwbFileReadsBackAsTheTeachersCountsWithH5pyAndWithTheImport) {
  const TeacherConfig c = small_spiking_teacher();
  const TeacherData teacher = simulate_teacher(c);
  const ScratchDirectory dir;
  const TeacherNwbSummary summary = write_teacher_nwb(dir / "teacher.nwb", teacher, c);
  EXPECT_EQ(summary.failed_trials, 2);  // after trials 8 and 16 of 24
  EXPECT_EQ(summary.trials, 26);
  EXPECT_DOUBLE_EQ(summary.window_start, -0.1);
  const int64_t T = c.bins, K = 3 * c.trials_per_epoch, D = c.neurons;

  // 1. h5py + numpy, independently of ltrnn's reader.
  std::ostringstream command;
  command << "/usr/bin/python3 " << LTRNN_SOURCE_DIR << "/tests/sim/bin_nwb.py '" << (dir / "teacher.nwb").string()
          << "' '" << (dir / "binned.npz").string() << "' " << summary.window_start << " " << summary.window_stop << " "
          << c.bin_width;
  ASSERT_EQ(std::system(command.str().c_str()), 0) << command.str() << " failed: is python3-h5py installed?";
  const auto binned = read_npz(dir / "binned.npz");
  const torch::Tensor numpy_counts = from_npy(binned.at("data")).to(torch::kFloat64);
  const torch::Tensor numpy_missing = from_npy(binned.at("missing"));
  ASSERT_EQ(numpy_counts.sizes(), (torch::IntArrayRef{T, K, D}));
  // The missing entries: the last unit, from the middle bin of the middle trial on.
  torch::Tensor expected_missing = torch::zeros({T, K, D}, torch::kBool);
  expected_missing.index_put_({torch::indexing::Slice(T / 2), K / 2, D - 1}, true);
  expected_missing.index_put_({torch::indexing::Slice(), torch::indexing::Slice(K / 2 + 1), D - 1}, true);
  EXPECT_TRUE(torch::equal(numpy_missing, expected_missing));
  const torch::Tensor observed_counts = teacher.dataset.data.masked_fill(expected_missing, 0.0);
  EXPECT_TRUE(torch::equal(numpy_counts, observed_counts));

  // 2. ltrnn's import, with the command the writer prints.
  const Dataset imported = nwb_dataset(import_nwb(import_options(dir / "teacher.nwb", summary, c)));
  ASSERT_EQ(imported.data.sizes(), (torch::IntArrayRef{T, K, D}));
  EXPECT_TRUE(torch::equal(imported.missing, expected_missing));
  EXPECT_TRUE(torch::equal(imported.data, observed_counts));
  EXPECT_TRUE(torch::equal(imported.condition, teacher.dataset.condition));
  EXPECT_EQ(imported.epoch_labels, teacher.dataset.epoch_labels);
  EXPECT_TRUE(torch::equal(imported.epoch, teacher.dataset.epoch));
  // Trial ids are the trials table's: the failed trials leave gaps.
  EXPECT_EQ(imported.trial_id[8].item<int64_t>(), 9);
  EXPECT_EQ(imported.trial_id[K - 1].item<int64_t>(), K + 1);
}

// With several sessions each session is a file of its own (simulate teacher --sessions S
// --nwb), whose units are named by the teacher's pool neurons: a neuron two sessions
// recorded has one id in both.
TEST(SpikingTeacher, EachSessionsNwbFileHoldsItsTrialsAndNamesItsUnitsByTheirPoolNeurons) {
  TeacherConfig c = small_spiking_teacher();
  c.sessions = 2;
  c.turnover = 0.5;
  const TeacherData teacher = simulate_teacher(c);
  ASSERT_EQ(teacher.dataset.sessions.size(), 2u);
  const ScratchDirectory dir;
  TeacherNwbLayout layout;
  layout.dropout = false;
  std::vector<std::vector<int64_t>> ids;
  for (const SessionSpan& span : teacher.dataset.sessions) {
    const TeacherData session = teacher_session(teacher, span);
    const fs::path file = dir / ("day" + std::to_string(ids.size() + 1) + ".nwb");
    const TeacherNwbSummary summary = write_teacher_nwb(file, session, c, layout);
    const NwbImport imported = import_nwb(import_options(file, summary, c));
    const Dataset dataset = nwb_dataset(imported);
    const torch::Tensor counts =
        teacher.dataset.data.narrow(1, span.first_trial, span.trials).narrow(2, span.first_neuron, span.neurons);
    EXPECT_TRUE(torch::equal(dataset.data, counts)) << span.name;
    const torch::Tensor pool = teacher.unit.narrow(0, span.first_neuron, span.neurons);
    EXPECT_EQ(imported.unit_ids,
              std::vector<int64_t>(pool.data_ptr<int64_t>(), pool.data_ptr<int64_t>() + pool.numel()));
    ids.push_back(imported.unit_ids);
  }
  // Half the first session's neurons are recorded again in the second, under the same ids.
  int64_t shared = 0;
  for (int64_t id : ids[1]) shared += std::count(ids[0].begin(), ids[0].end(), id);
  EXPECT_EQ(shared, c.neurons - static_cast<int64_t>(std::round(c.turnover * c.neurons)));
}

TEST(SpikingTeacher, OnlyASpikingTeacherIsWrittenAsNwb) {
  TeacherConfig c = small_spiking_teacher();
  c.spikes = false;
  const TeacherData teacher = simulate_teacher(c);
  const ScratchDirectory dir;
  EXPECT_THROW(write_teacher_nwb(dir / "rates.nwb", teacher, c), InputError);
  EXPECT_FALSE(fs::exists(dir / "rates.nwb"));
}

}  // namespace
}  // namespace ltrnn
