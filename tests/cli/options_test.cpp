// Options generated from a config's field list: names, defaults, and that an option not
// given leaves a preset's value alone.
#include "cli/options.h"

#include <gtest/gtest.h>

#include "model/config.h"
#include "train/config.h"

namespace ltrnn {
namespace {

cxxopts::ParseResult parse(cxxopts::Options& options, std::vector<const char*> argv) {
  argv.insert(argv.begin(), "test");
  return options.parse(static_cast<int>(argv.size()), argv.data());
}

TEST(FieldOptions, OptionsWithoutDefaultsApplyOnlyWhenGiven) {
  cxxopts::Options options("test");
  declare_field_options(options, ModelConfig{}, /*with_defaults=*/false, {"kind"});
  ModelConfig preset;
  preset.recurrent_bias = true;  // as a family's preset might set it
  preset.readout_bias = false;
  preset.tau = 0.3;
  const auto result = parse(options, {"--solver", "rk4", "--gp-length", "7.5"});
  read_field_options(result, preset, /*with_defaults=*/false, {"kind"});
  EXPECT_EQ(preset.solver, Solver::RK4);
  EXPECT_EQ(preset.gp_length, 7.5);
  EXPECT_TRUE(preset.recurrent_bias);  // a flag not given keeps the preset's value
  EXPECT_FALSE(preset.readout_bias);
  EXPECT_EQ(preset.tau, 0.3);
}

TEST(FieldOptions, OptionsWithDefaultsReadEveryFieldAndRefuseBadEnums) {
  cxxopts::Options options("test");
  TrainConfig defaults;
  defaults.plateau_threshold = 1e-7;  // a default that std::to_string would print as 0.000000
  declare_field_options(options, defaults);
  TrainConfig read;
  read_field_options(parse(options, {"--float64", "--learning-rate", "0.5"}), read);
  EXPECT_TRUE(read.float64);
  EXPECT_EQ(read.learning_rate, 0.5);
  EXPECT_EQ(read.plateau_threshold, 1e-7);
  EXPECT_EQ(read.iterations, defaults.iterations);
  TrainConfig bad;
  EXPECT_THROW(read_field_options(parse(options, {"--loss", "huber"}), bad), InputError);
}

}  // namespace
}  // namespace ltrnn
