// The device a fit computes on (train/device.h), as far as a machine without CUDA can test
// it: cpu and auto resolve to the CPU, and cuda is refused with exit code 2 by every command
// that takes it, naming the option or field, before anything is written. The CUDA side is
// tests/device/cuda_test.cpp.
#include "train/device.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "bench/bench.h"
#include "experiment/experiment.h"
#include "experiment/plan.h"
#include "model/device.h"
#include "run_ltrnn.h"
#include "scratch_directory.h"
#include "train/loss.h"
#include "util/errors.h"

namespace ltrnn {
namespace {
namespace fs = std::filesystem;
using nlohmann::json;

#define SKIP_WITH_CUDA() \
  if (built_with_cuda()) GTEST_SKIP() << "this build has CUDA: cuda is not refused"

TEST(Device, CpuAndAutoWithoutCudaResolveToTheCpu) {
  EXPECT_TRUE(resolve_device(DeviceKind::Cpu, false, "x").is_cpu());
  if (!cuda_usable()) EXPECT_TRUE(resolve_device(DeviceKind::Auto, false, "x").is_cpu());
}

TEST(Device, CudaOnABuildWithoutItIsRefusedNamingTheField) {
  SKIP_WITH_CUDA();
  try {
    resolve_device(DeviceKind::Cuda, false, "/train/device");
    FAIL() << "accepted";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("/train/device: 'cuda' asked for, but this ltrnn was built without CUDA"),
              std::string::npos)
        << e.what();
  }
}

TEST(Device, ExperimentFilesTakeTheDeviceAndRefuseOthers) {
  json doc = json::parse(R"({"name": "d", "dataset": {"generator": "teacher"}, "runs": [{"model": "tensor_rank"}],
                             "train": {"device": "auto", "tf32": true}})");
  const Experiment e = parse_experiment(doc, "d.json");
  EXPECT_EQ(e.train.device, DeviceKind::Auto);
  EXPECT_TRUE(e.train.tf32);
  EXPECT_EQ(plan_runs(e).front().train.device, DeviceKind::Auto);
  doc["train"]["device"] = "gpu";
  try {
    parse_experiment(doc, "d.json");
    FAIL() << "accepted";
  } catch (const InputError& error) {
    EXPECT_NE(std::string(error.what()).find("/train/device"), std::string::npos) << error.what();
  }
}

TEST(Device, OnTheCpuTheFitTargetIsUnchanged) {
  Masks masks;
  masks.train = torch::rand({3, 4, 2}) > 0.3;
  masks.test = masks.train.logical_not();
  const FitTarget target = make_fit_target(torch::randn({3, 4, 2}), masks, LossKind::MSE, false, torch::kFloat32);
  const FitTarget moved = on_device(target, torch::kCPU);
  EXPECT_TRUE(moved.data.is_same(target.data));  // no copy on the same device
  EXPECT_TRUE(torch::equal(moved.train_weight, target.train_weight));
  EXPECT_EQ(moved.train_count, target.train_count);
}

TEST(Device, BenchCasesCarryTheirDevice) {
  BenchCase c;
  c.device = DeviceKind::Cuda;
  EXPECT_EQ(json(c).at("device"), "cuda");
  EXPECT_EQ(json(c).get<BenchCase>().device, DeviceKind::Cuda);
  json old = json(BenchCase{});
  old.erase("device");  // a case written before devices: the CPU
  EXPECT_EQ(old.get<BenchCase>().device, DeviceKind::Cpu);
  const auto cases = device_cases();
  ASSERT_FALSE(cases.empty());
  for (const BenchCase& d : cases) EXPECT_EQ(d.device, DeviceKind::Cuda) << d.name;
  EXPECT_EQ(cases.back().name, "recording");
  EXPECT_EQ(cases.back().trials, 1000);
}

TEST(DeviceCli, EveryCommandRefusesCudaWithoutItAndWritesNothing) {
  SKIP_WITH_CUDA();
  const ScratchDirectory dir;
  const Outcome simulated = run_ltrnn(
      "simulate teacher --hidden 8 --neurons 6 --trials-per-epoch 4 --bins 10 "
      "--preparatory-bins 3 --out " +
      (dir / "data.npz").string());
  ASSERT_EQ(simulated.exit_code, 0) << simulated.output;
  const Outcome fit = run_ltrnn("fit --data " + (dir / "data.npz").string() +
                                " --model tensor_rank --rank 1 --device cuda --out " + (dir / "fit").string());
  EXPECT_EQ(fit.exit_code, 2) << fit.output;
  EXPECT_NE(fit.output.find("--device: 'cuda' asked for, but this ltrnn was built without CUDA"), std::string::npos)
      << fit.output;
  EXPECT_FALSE(fs::exists(dir / "fit"));

  std::ofstream(dir / "e.json")
      << R"({"name": "e", "dataset": {"file": ")" << (dir / "data.npz").string()
      << R"("}, "train": {"device": "cuda"}, "runs": [{"model": "tensor_rank", "ranks": [1]}]})";
  const Outcome from_file = run_ltrnn("run " + (dir / "e.json").string() + " --out " + (dir / "run").string());
  EXPECT_EQ(from_file.exit_code, 2) << from_file.output;
  EXPECT_NE(from_file.output.find("e.json#/train/device: 'cuda' asked for"), std::string::npos) << from_file.output;
  EXPECT_FALSE(fs::exists(dir / "run"));
  const Outcome overridden =
      run_ltrnn("run " + (dir / "e.json").string() + " --device cuda --out " + (dir / "run").string());
  EXPECT_EQ(overridden.exit_code, 2) << overridden.output;
  EXPECT_NE(overridden.output.find("--device: 'cuda' asked for"), std::string::npos) << overridden.output;
  const Outcome bad = run_ltrnn("run " + (dir / "e.json").string() + " --device tpu --out " + (dir / "run").string());
  EXPECT_EQ(bad.exit_code, 2) << bad.output;
  EXPECT_NE(bad.output.find("--device"), std::string::npos) << bad.output;

  const Outcome bench = run_ltrnn("bench --device cuda --out " + (dir / "bench.json").string());
  EXPECT_EQ(bench.exit_code, 2) << bench.output;
  EXPECT_NE(bench.output.find("--device: 'cuda' asked for"), std::string::npos) << bench.output;
  EXPECT_FALSE(fs::exists(dir / "bench.json"));
}

}  // namespace
}  // namespace ltrnn
