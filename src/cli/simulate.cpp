// `ltrnn simulate teacher` and `ltrnn simulate reach`: the generators, to an .npz file.
#include <algorithm>
#include <iostream>

#include "cli/commands.h"
#include "cli/options.h"
#include "sim/reach.h"
#include "sim/teacher.h"
#include "sim/teacher_nwb.h"
#include "util/errors.h"

namespace ltrnn {
namespace fs = std::filesystem;

namespace {

void print_nwb_summary(const fs::path& nwb, const TeacherNwbSummary& s, const TeacherConfig& c) {
  std::cout << "wrote " << nwb.string() << ": " << s.units << " units, " << s.spikes << " spikes, " << s.trials
            << " trials (" << s.failed_trials << " failed, result F)";
  if (s.dropout_time > 0) std::cout << "; the last unit is observed until " << s.dropout_time << " s";
  std::cout << "\n"
            << "import it with: ltrnn import nwb " << nwb.string() << " --align go_cue_time --window=" << s.window_start
            << "," << s.window_stop << " --bin " << c.bin_width
            << " --condition target --epoch epoch --where result=R --out DATA.npz\n";
}

}  // namespace

int simulate_teacher_command(int argc, const char* const* argv) {
  TeacherConfig c;
  cxxopts::Options options("ltrnn simulate teacher",
                           "Simulates a known low-tensor-rank RNN over three epochs (baseline BL, adaptation AD,\n"
                           "washout WO) and saves its noisy activity (or, with --spikes, Poisson spike counts),\n"
                           "labels and true factors as .npz; --nwb also writes a spiking teacher's spike times and\n"
                           "trials as an NWB 2.x file (with failed trials and a unit that drops out half-way).\n"
                           "With --sessions S, OUT holds the sessions side by side and OUT_session1.npz ... each\n"
                           "session alone (its trials, its neurons, its truth).");
  options.add_options()("out", "output .npz file", cxxopts::value<std::string>())(
      "nwb",
      "also write the spike times as this NWB file (needs --spikes; with --sessions, NWB_session1.nwb, ... one per "
      "session)",
      cxxopts::value<std::string>());
  declare_field_options(options, c);
  cxxopts::ParseResult r;
  if (!parse_options(options, argc, argv, r)) return kExitOk;
  const fs::path out = required_string(r, "out");
  read_field_options(r, c);
  if (r.count("nwb") && !c.spikes) throw InputError("--nwb: NWB files hold spike times; add --spikes");
  const TeacherData teacher = simulate_teacher(c);
  write_npz(out, teacher_arrays(teacher));
  std::cout << "wrote " << out.string() << ": " << (c.spikes ? "spike counts " : "data ") << teacher.dataset.n_bins()
            << " x " << teacher.dataset.n_trials() << " x " << teacher.dataset.n_neurons()
            << " (time x trial x neuron), true rank " << c.rank << "\n";
  for (std::size_t s = 0; s < teacher.dataset.sessions.size(); ++s) {
    const fs::path file = out.parent_path() / (out.stem().string() + "_session" + std::to_string(s + 1) + ".npz");
    write_npz(file, teacher_session_arrays(teacher, teacher.dataset.sessions[s]));
    std::cout << "wrote " << file.string() << ": " << teacher.dataset.sessions[s].name << " alone ("
              << teacher.dataset.sessions[s].trials << " trials x " << teacher.dataset.sessions[s].neurons
              << " neurons)\n";
  }
  if (r.count("nwb")) {
    // One NWB file per recording session: NWB_session1.nwb, ... with several.
    const fs::path nwb = r["nwb"].as<std::string>();
    const auto& sessions = teacher.dataset.sessions;
    for (std::size_t s = 0; s < std::max<std::size_t>(1, sessions.size()); ++s) {
      const fs::path file =
          sessions.empty() ? nwb
                           : nwb.parent_path() / (nwb.stem().string() + "_session" + std::to_string(s + 1) + ".nwb");
      const TeacherData recorded = sessions.empty() ? teacher : teacher_session(teacher, sessions[s]);
      print_nwb_summary(file, write_teacher_nwb(file, recorded, c), c);
    }
  }
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
