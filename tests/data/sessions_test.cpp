// Several sessions as one dataset: each session's block in its own trials and neurons, the
// rest missing; labels matched by value; trial ids continued over the gap; bad sessions
// refused with their name.
#include "data/sessions.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <map>
#include <string>

#include "scratch_directory.h"
#include "util/errors.h"

namespace ltrnn {
namespace {

// A session of T bins, K trials, D neurons whose data are `offset` + 0, 1, 2, ...
Dataset session_data(int64_t K, int64_t D, std::vector<int64_t> condition_labels, double offset, int64_t T = 4) {
  Dataset d;
  d.data = offset + torch::arange(T * K * D, torch::kFloat64).view({T, K, D});
  d.condition_labels = std::move(condition_labels);
  d.condition = torch::arange(K, torch::kInt64).remainder(static_cast<int64_t>(d.condition_labels.size()));
  d.epoch = torch::zeros({K}, torch::kInt64);
  d.epoch_labels = {"BL"};
  d.trial_id = torch::arange(K, torch::kInt64) * 3 + 10;  // 10, 13, 16, ...
  d.times = (torch::arange(T, torch::kFloat64) - 1.0) * 0.02;
  return d;
}

TEST(Sessions, EachSessionKeepsItsOwnTrialsAndNeuronsAndTheRestIsMissing) {
  Dataset second = session_data(2, 2, {7, 9}, 1000.0);
  second.epoch_labels = {"AD"};
  second.missing = torch::zeros({4, 2, 2}, torch::kBool);
  second.missing[3][1][0] = true;  // the session's own missing entry stays missing
  const MergedSessions merged = merge_sessions({{"day1", session_data(3, 2, {5, 7}, 0.0)}, {"day2", second}}, 4);
  const Dataset& d = merged.dataset;
  ASSERT_EQ(d.data.sizes(), (std::vector<int64_t>{4, 5, 4}));
  ASSERT_EQ(merged.spans.size(), 2u);
  EXPECT_EQ(merged.spans[1].first_trial, 3);
  EXPECT_EQ(merged.spans[1].first_neuron, 2);
  // Day 1's block holds day 1's data, day 2's block day 2's, and nothing else is observed.
  using torch::indexing::Slice;
  EXPECT_TRUE(torch::equal(d.data.index({Slice(), Slice(0, 3), Slice(0, 2)}), session_data(3, 2, {5, 7}, 0.0).data));
  EXPECT_TRUE(torch::equal(d.data.index({Slice(), Slice(3, 5), Slice(2, 4)}), second.data));
  torch::Tensor expected_missing = torch::ones({4, 5, 4}, torch::kBool);
  expected_missing.index_put_({Slice(), Slice(0, 3), Slice(0, 2)}, false);
  expected_missing.index_put_({Slice(), Slice(3, 5), Slice(2, 4)}, second.missing);
  EXPECT_TRUE(torch::equal(d.missing, expected_missing));
  // Conditions matched by value: labels 5, 7, 9; day 2's first trial is label 7 again.
  EXPECT_EQ(d.condition_labels, (std::vector<int64_t>{5, 7, 9}));
  EXPECT_TRUE(torch::equal(d.condition, torch::tensor({0, 1, 0, 1, 2}, torch::kInt64)));
  EXPECT_EQ(d.epoch_labels, (std::vector<std::string>{"BL", "AD"}));
  EXPECT_TRUE(torch::equal(d.epoch, torch::tensor({0, 0, 0, 1, 1}, torch::kInt64)));
  // Day 1's ids 10, 13, 16; four unrecorded trials; day 2 from 16 + 1 + 4 = 21, spaced as recorded.
  EXPECT_TRUE(torch::equal(d.trial_id, torch::tensor({10, 13, 16, 21, 24}, torch::kInt64)));
  EXPECT_TRUE(torch::equal(d.times, second.times));
}

TEST(Sessions, RefuseSessionsThatCannotShareOneFitNamingTheSession) {
  const auto message = [](const Dataset& second) {
    try {
      merge_sessions({{"day1.npz", session_data(3, 2, {0, 1}, 0.0)}, {"day2.npz", second}}, 0);
    } catch (const InputError& error) {
      return std::string(error.what());
    }
    return std::string("accepted");
  };
  Dataset other_bins = session_data(3, 2, {0, 1}, 0.0, 5);
  EXPECT_NE(message(other_bins).find("day2.npz: its time grid (5 bins"), std::string::npos) << message(other_bins);
  Dataset other_width = session_data(3, 2, {0, 1}, 0.0);
  other_width.times = other_width.times * 2.0;
  EXPECT_NE(message(other_width).find("day2.npz: its time grid"), std::string::npos) << message(other_width);
  EXPECT_NE(message(other_width).find("differs from day1.npz's"), std::string::npos);
  Dataset no_trials = session_data(3, 2, {0, 1}, 0.0);
  no_trials.data = no_trials.data.narrow(1, 0, 0);
  EXPECT_NE(message(no_trials).find("day2.npz: no trials"), std::string::npos) << message(no_trials);
  Dataset counts = session_data(3, 2, {0, 1}, 0.0);
  counts.counts = true;
  EXPECT_NE(message(counts).find("day2.npz: spike counts, but day1.npz holds rates"), std::string::npos)
      << message(counts);
  EXPECT_THROW(merge_sessions({}, 0), InputError);
  EXPECT_THROW(merge_sessions({{"day1", session_data(3, 2, {0, 1}, 0.0)}}, -1), InputError);
}

MergedSessions three_sessions() {
  return merge_sessions({{"day1", session_data(20, 6, {0, 1}, 0.0, 12)},
                         {"day2", session_data(12, 5, {0, 1}, 500.0, 12)},
                         {"day3", session_data(16, 4, {0, 1}, 900.0, 12)}},
                        0);
}

// Each session gets its own draw of held-out entries, inside its own block: every session has
// test and validation entries, and no set reaches another session's (missing) entries.
// Conditions are matched by label: two sessions whose condition_values give one label two
// meanings (an NWB import's positional labels of sessions with other condition sets), or one
// meaning two labels, are refused with the session named.
TEST(Sessions, RefuseConflictingConditionLabelsNamingTheSession) {
  const Session day1{"day1", session_data(3, 2, {0, 1}, 0.0), {"left", "right"}};
  const auto refusal = [&](const Session& day2) -> std::string {
    try {
      merge_sessions({day1, day2}, 0);
    } catch (const InputError& e) {
      return e.what();
    }
    return "merged";
  };
  EXPECT_EQ(refusal({"day2", session_data(2, 2, {0}, 1000.0), {"right"}}),
            "day2: condition 0 is \"right\" here but \"left\" in day1; sessions are matched by condition label, so "
            "a label must mean one condition in every session (write the files with the same labels for the same "
            "conditions)");
  EXPECT_NE(refusal({"day2", session_data(2, 2, {5}, 1000.0), {"left"}})
                .find("day2: condition \"left\" has label 5 here but 0 in day1"),
            std::string::npos);
  EXPECT_NE(refusal({"day2", session_data(2, 2, {0, 1}, 1000.0), {"left"}})
                .find("day2/condition_values: 1 values for 2 condition labels"),
            std::string::npos);
  EXPECT_EQ(refusal({"day2", session_data(2, 2, {1}, 1000.0), {"right"}}), "merged");
  EXPECT_EQ(refusal({"day2", session_data(2, 2, {0, 7}, 1000.0)}), "merged");  // meanings not given

  // A file's condition_values are read with it.
  const ScratchDirectory dir;
  NpzContents arrays = dataset_arrays(day1.dataset);
  arrays.emplace_back("condition_values", NpyArray::from_strings({2}, {"left", "right"}));
  write_npz(dir.path() / "day1.npz", arrays);
  const Dataset loaded = load_dataset(dir.path() / "day1.npz");
  EXPECT_EQ(condition_values_of(dir.path() / "day1.npz", loaded), (std::vector<std::string>{"left", "right"}));
  arrays.back() = {"condition_values", NpyArray::from_strings({3}, {"left", "right", "up"})};
  write_npz(dir.path() / "bad.npz", arrays);
  EXPECT_THROW(condition_values_of(dir.path() / "bad.npz", loaded), InputError);
}

TEST(Sessions, MasksAreDrawnPerSessionInsideItsBlock) {
  const MergedSessions merged = three_sessions();
  const Dataset& d = merged.dataset;
  ASSERT_EQ(d.sessions.size(), 3u);
  MaskConfig config;
  config.test_fraction = 0.1;
  config.validation_fraction = 0.1;
  const Masks masks = make_dataset_masks(d, config);
  using torch::indexing::Slice;
  for (const SessionSpan& span : d.sessions) {
    const auto block =
        std::vector<torch::indexing::TensorIndex>{Slice(), Slice(span.first_trial, span.first_trial + span.trials),
                                                  Slice(span.first_neuron, span.first_neuron + span.neurons)};
    EXPECT_GT(masks.test.index(block).sum().item<int64_t>(), 0) << span.name;
    EXPECT_GT(masks.validation.index(block).sum().item<int64_t>(), 0) << span.name;
    EXPECT_GT(masks.train.index(block).sum().item<int64_t>(), 0) << span.name;
    // The session's block is its own draw (seed + its index) of make_masks.
    MaskConfig own = config;
    own.seed = config.seed + (&span - d.sessions.data());
    const Masks alone = make_masks(d.n_bins(), span.trials, span.neurons, own);
    EXPECT_TRUE(torch::equal(masks.test.index(block), alone.test)) << span.name;
  }
  const torch::Tensor any_set = masks.train | masks.validation | masks.test;
  EXPECT_FALSE((any_set & d.missing).any().item<bool>());
}

TEST(Sessions, SessionDatasetIsTheSessionsBlockAndSessionsSurviveAFile) {
  const MergedSessions merged = three_sessions();
  const Dataset& d = merged.dataset;
  const Dataset second = session_dataset(d, d.sessions[1]);
  EXPECT_TRUE(torch::equal(second.data, session_data(12, 5, {0, 1}, 500.0, 12).data));
  EXPECT_FALSE(second.missing.defined());
  EXPECT_TRUE(torch::equal(second.trial_id, d.trial_id.narrow(0, 20, 12)));
  // Written and read back: the same sessions, named by position.
  std::map<std::string, NpyArray> arrays;
  for (auto& [key, array] : dataset_arrays(d)) arrays.emplace(key, array);
  const Dataset back = dataset_from_arrays(arrays, "merged.npz");
  ASSERT_EQ(back.sessions.size(), 3u);
  for (std::size_t s = 0; s < 3; ++s) {
    EXPECT_EQ(back.sessions[s].first_trial, d.sessions[s].first_trial);
    EXPECT_EQ(back.sessions[s].trials, d.sessions[s].trials);
    EXPECT_EQ(back.sessions[s].first_neuron, d.sessions[s].first_neuron);
    EXPECT_EQ(back.sessions[s].neurons, d.sessions[s].neurons);
  }
  EXPECT_EQ(back.sessions[2].name, "day3");
  arrays.erase("session_names");
  EXPECT_EQ(dataset_from_arrays(arrays, "merged.npz").sessions[2].name, "session 3");
  // A file whose sessions are out of order or whose neuron counts do not add up is refused.
  std::map<std::string, NpyArray> shuffled = arrays;
  std::vector<int64_t> session(48, 0);
  session[5] = 1;
  shuffled.at("session") = NpyArray::from_int64s({48}, session);
  try {
    dataset_from_arrays(shuffled, "merged.npz");
    ADD_FAILURE() << "accepted sessions out of order";
  } catch (const InputError& error) {
    EXPECT_NE(std::string(error.what()).find("merged.npz, key 'session'"), std::string::npos) << error.what();
  }
  std::map<std::string, NpyArray> wrong_count = arrays;
  wrong_count.at("session_neurons") = NpyArray::from_int64s({3}, {6, 5, 5});
  EXPECT_THROW(dataset_from_arrays(wrong_count, "merged.npz"), InputError);
}

}  // namespace
}  // namespace ltrnn
