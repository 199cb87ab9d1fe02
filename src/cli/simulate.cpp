// `ltrnn simulate teacher` and `ltrnn simulate reach`: the generators, to an .npz file.
#include <iostream>

#include "cli/commands.h"
#include "cli/options.h"
#include "sim/reach.h"
#include "sim/teacher.h"

namespace ltrnn {
namespace fs = std::filesystem;

int simulate_teacher_command(int argc, const char* const* argv) {
  TeacherConfig c;
  cxxopts::Options options("ltrnn simulate teacher",
                           "Simulates a known low-tensor-rank RNN over three epochs (baseline BL, adaptation AD,\n"
                           "washout WO) and saves its noisy activity, labels and true factors as .npz.");
  options.add_options()("out", "output .npz file", cxxopts::value<std::string>());
  declare_field_options(options, c);
  cxxopts::ParseResult r;
  if (!parse_options(options, argc, argv, r)) return kExitOk;
  const fs::path out = required_string(r, "out");
  read_field_options(r, c);
  const TeacherData teacher = simulate_teacher(c);
  write_npz(out, teacher_arrays(teacher));
  std::cout << "wrote " << out.string() << ": data " << teacher.dataset.n_bins() << " x " << teacher.dataset.n_trials()
            << " x " << teacher.dataset.n_neurons() << " (time x trial x neuron), true rank " << c.rank << "\n";
  return kExitOk;
}

int simulate_reach_command(int argc, const char* const* argv) {
  ReachConfig c;
  cxxopts::Options options("ltrnn simulate reach",
                           "Pre-trains a rate RNN to make centre-out reaches with a point-mass hand, then runs a\n"
                           "session of baseline (BL), curl field (AD) and washout (WO) trials with one gradient\n"
                           "step on W after each trial. Saves the recorded activity, labels, the weights used on\n"
                           "every trial, hand paths and lateral deviations as .npz.");
  options.add_options()("out", "output .npz file", cxxopts::value<std::string>())("quiet", "no progress lines");
  declare_field_options(options, c);
  cxxopts::ParseResult r;
  if (!parse_options(options, argc, argv, r)) return kExitOk;
  const fs::path out = required_string(r, "out");
  read_field_options(r, c);
  std::function<void(const std::string&)> progress;
  if (!r.count("quiet"))
    progress = [](const std::string& line) { std::cerr << "simulate reach: " << line << std::endl; };
  const ReachData reach = simulate_reach(c, progress);
  write_npz(out, reach_arrays(reach));
  std::cout << "pre-training: RMS position error " << reach.pretrain_error << ", endpoint error "
            << reach.pretrain_endpoint_error << " (target distance " << c.distance << ")\n"
            << format_learning_curve(reach.curve) << "\n"
            << "wrote " << out.string() << ": data " << reach.dataset.n_bins() << " x " << reach.dataset.n_trials()
            << " x " << reach.dataset.n_neurons() << " (time x trial x neuron), weights " << reach.weights.size(0)
            << " x " << reach.weights.size(1) << " x " << reach.weights.size(2) << "\n";
  return kExitOk;
}

}  // namespace ltrnn
