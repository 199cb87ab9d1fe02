// Subcommands: parse options at the edge, call the library, map errors to exit codes.
#include "cli/commands.h"

#include <torch/torch.h>

#include <cxxopts.hpp>
#include <iostream>
#include <sstream>
#include <nlohmann/json.hpp>

#include "analysis/cp.h"
#include "bench/bench.h"
#include "data/dataset.h"
#include "data/masks.h"
#include "experiment/config.h"
#include "experiment/experiment.h"
#include "experiment/pipeline.h"
#include "experiment/runner.h"
#include "export/torchscript.h"
#include "report/report.h"
#include "train/fit.h"
#include "sim/reach.h"
#include "sim/teacher.h"
#include "util/blas.h"
#include "util/errors.h"
#include "util/files.h"

namespace ltrnn {
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

constexpr int kOk = 0, kInternalError = 1, kBadInput = 2;

const char* kUsage =
    "ltrnn - low-tensor-rank RNNs fitted to neural recordings made over learning\n"
    "\n"
    "usage:\n"
    "  ltrnn simulate teacher [options] --out FILE.npz   data from a known low-tensor-rank RNN\n"
    "  ltrnn simulate reach [options] --out FILE.npz     an RNN learning to reach in a curl field\n"
    "  ltrnn fit --data FILE.npz --model tensor_rank --rank R [options] --out DIR\n"
    "  ltrnn validate EXPERIMENT.json                    check an experiment file and print its plan\n"
    "  ltrnn run EXPERIMENT.json [--out DIR] [--threads N] [--jobs J] [--resume]\n"
    "  ltrnn export RUN_DIR [--out model.pt]             TorchScript from a run's checkpoint\n"
    "  ltrnn report OUT_DIR [--out report.html]          the experiment's charts, one offline page\n"
    "  ltrnn analyze cp --tensor FILE --ranks 1-8        CP decomposition: error vs rank, factors\n"
    "  ltrnn bench [--config B1] [--scaling]             ms per training iteration, GFLOP/s, memory\n"
    "\n"
    "Run 'ltrnn COMMAND --help' for a command's options.\n";

// Parses argv with cxxopts; prints help and returns false when --help was given.
bool parse(cxxopts::Options& options, int argc, const char* const* argv, cxxopts::ParseResult& result) {
  options.add_options()("h,help", "show this help");
  result = options.parse(argc, argv);
  if (!result.unmatched().empty()) throw InputError("unexpected argument '" + result.unmatched().front() + "'");
  if (result.count("help")) {
    std::cout << options.help() << std::endl;
    return false;
  }
  return true;
}

std::string required_string(const cxxopts::ParseResult& r, const std::string& name) {
  if (!r.count(name)) throw InputError("--" + name + " is required");
  return r[name].as<std::string>();
}

int simulate_reach_command(int argc, const char* const* argv) {
  ReachConfig c;
  cxxopts::Options options("ltrnn simulate reach",
                           "Pre-trains a rate RNN to make centre-out reaches with a point-mass hand, then runs a\n"
                           "session of baseline (BL), curl field (AD) and washout (WO) trials with one gradient\n"
                           "step on W after each trial. Saves the recorded activity, labels, the weights used on\n"
                           "every trial, hand paths and lateral deviations as .npz.");
  const auto number = [](double v) { return cxxopts::value<double>()->default_value(std::to_string(v)); };
  const auto integer = [](int64_t v) { return cxxopts::value<int64_t>()->default_value(std::to_string(v)); };
  options.add_options()("out", "output .npz file", cxxopts::value<std::string>())
      ("hidden", "RNN units N", integer(c.hidden))
      ("recorded", "units recorded, a random subset (0: all)", integer(c.recorded))
      ("trials-per-epoch", "trials in each of BL, AD, WO", integer(c.trials_per_epoch))
      ("bins", "time bins T per trial", integer(c.bins))
      ("preparatory-bins", "bins before the go cue", integer(c.preparatory_bins))
      ("bin-width", "seconds per bin", number(c.bin_width))
      ("substeps", "Euler steps per bin", integer(c.substeps))
      ("tau", "RNN time constant (s)", number(c.tau))
      ("movement-time", "duration of the minimum-jerk reach (s)", number(c.movement_time))
      ("curl", "curl field strength b (force = b [[0,1],[-1,0]] v)", number(c.curl))
      ("learning-rate", "SGD step on W after each session trial", number(c.learning_rate))
      ("pretrain-iterations", "Adam iterations of pre-training", integer(c.pretrain_iterations))
      ("pretrain-learning-rate", "Adam learning rate of pre-training", number(c.pretrain_learning_rate))
      ("noise", "recording noise std as a fraction of the signal std", number(c.noise))
      ("seed", "random seed", integer(c.seed))
      ("quiet", "no progress lines");
  cxxopts::ParseResult r;
  if (!parse(options, argc - 1, argv + 1, r)) return kOk;
  const fs::path out = required_string(r, "out");
  c.hidden = r["hidden"].as<int64_t>();
  c.recorded = r["recorded"].as<int64_t>();
  c.trials_per_epoch = r["trials-per-epoch"].as<int64_t>();
  c.bins = r["bins"].as<int64_t>();
  c.preparatory_bins = r["preparatory-bins"].as<int64_t>();
  c.bin_width = r["bin-width"].as<double>();
  c.substeps = r["substeps"].as<int64_t>();
  c.tau = r["tau"].as<double>();
  c.movement_time = r["movement-time"].as<double>();
  c.curl = r["curl"].as<double>();
  c.learning_rate = r["learning-rate"].as<double>();
  c.pretrain_iterations = r["pretrain-iterations"].as<int64_t>();
  c.pretrain_learning_rate = r["pretrain-learning-rate"].as<double>();
  c.noise = r["noise"].as<double>();
  c.seed = r["seed"].as<int64_t>();
  std::function<void(const std::string&)> progress;
  if (!r.count("quiet")) progress = [](const std::string& line) { std::cerr << "simulate reach: " << line << std::endl; };
  const ReachData reach = simulate_reach(c, progress);
  write_npz(out, reach_arrays(reach));
  std::cout << "pre-training: RMS position error " << reach.pretrain_error << ", endpoint error "
            << reach.pretrain_endpoint_error << " (target distance " << c.distance << ")\n"
            << format_learning_curve(reach.curve) << "\n"
            << "wrote " << out.string() << ": data " << reach.dataset.n_bins() << " x " << reach.dataset.n_trials()
            << " x " << reach.dataset.n_neurons() << " (time x trial x neuron), weights " << reach.weights.size(0)
            << " x " << reach.weights.size(1) << " x " << reach.weights.size(2) << "\n";
  return kOk;
}

int simulate_command(int argc, const char* const* argv) {
  if (argc < 2 || std::string(argv[1]) == "--help" || std::string(argv[1]) == "-h") {
    std::cout << "usage: ltrnn simulate teacher|reach [options] --out FILE.npz\n";
    return argc < 2 ? kBadInput : kOk;
  }
  const std::string kind = argv[1];
  if (kind == "reach") return simulate_reach_command(argc, argv);
  if (kind != "teacher") throw InputError("simulate: unknown generator '" + kind + "'; expected 'teacher' or 'reach'");
  TeacherConfig c;
  cxxopts::Options options("ltrnn simulate teacher",
                           "Simulates a known low-tensor-rank RNN over three epochs (baseline BL, adaptation AD,\n"
                           "washout WO) and saves its noisy activity, labels and true factors as .npz.");
  options.add_options()("out", "output .npz file", cxxopts::value<std::string>())
      ("rank", "true rank R", cxxopts::value<int64_t>()->default_value(std::to_string(c.rank)))
      ("hidden", "teacher hidden units N", cxxopts::value<int64_t>()->default_value(std::to_string(c.hidden)))
      ("neurons", "recorded neurons D", cxxopts::value<int64_t>()->default_value(std::to_string(c.neurons)))
      ("conditions", "task conditions", cxxopts::value<int64_t>()->default_value(std::to_string(c.conditions)))
      ("trials-per-epoch", "trials in each epoch", cxxopts::value<int64_t>()->default_value(std::to_string(c.trials_per_epoch)))
      ("bins", "time bins T per trial", cxxopts::value<int64_t>()->default_value(std::to_string(c.bins)))
      ("preparatory-bins", "bins before the go cue", cxxopts::value<int64_t>()->default_value(std::to_string(c.preparatory_bins)))
      ("bin-width", "seconds per bin", cxxopts::value<double>()->default_value(std::to_string(c.bin_width)))
      ("tau", "time constant (s)", cxxopts::value<double>()->default_value(std::to_string(c.tau)))
      ("noise", "noise std as a fraction of the signal std", cxxopts::value<double>()->default_value(std::to_string(c.noise)))
      ("seed", "random seed", cxxopts::value<int64_t>()->default_value(std::to_string(c.seed)));
  cxxopts::ParseResult r;
  if (!parse(options, argc - 1, argv + 1, r)) return kOk;
  const fs::path out = required_string(r, "out");
  c.rank = r["rank"].as<int64_t>();
  c.hidden = r["hidden"].as<int64_t>();
  c.neurons = r["neurons"].as<int64_t>();
  c.conditions = r["conditions"].as<int64_t>();
  c.trials_per_epoch = r["trials-per-epoch"].as<int64_t>();
  c.bins = r["bins"].as<int64_t>();
  c.preparatory_bins = r["preparatory-bins"].as<int64_t>();
  c.bin_width = r["bin-width"].as<double>();
  c.tau = r["tau"].as<double>();
  c.noise = r["noise"].as<double>();
  c.seed = r["seed"].as<int64_t>();
  const TeacherData teacher = simulate_teacher(c);
  write_npz(out, teacher_arrays(teacher));
  std::cout << "wrote " << out.string() << ": data " << teacher.dataset.n_bins() << " x " << teacher.dataset.n_trials()
            << " x " << teacher.dataset.n_neurons() << " (time x trial x neuron), true rank " << c.rank << "\n";
  return kOk;
}

int fit_command(int argc, const char* const* argv) {
  const TrainConfig t;
  const MaskConfig mask;
  cxxopts::Options options("ltrnn fit", "Fits one model to a dataset and writes results.json and runs/<id>/ into --out.");
  options.add_options()("data", "dataset .npz or .npy (DESIGN section 3)", cxxopts::value<std::string>())
      ("model", "model family: tensor_rank, full, static, matrix_rank (defaults: models/<family>.json)",
       cxxopts::value<std::string>()->default_value("tensor_rank"))
      ("rank", "rank R (tensor_rank, matrix_rank)", cxxopts::value<int64_t>())
      ("hidden", "hidden units N (default: the preset's)", cxxopts::value<int64_t>())
      ("iterations", "iteration cap", cxxopts::value<int64_t>()->default_value(std::to_string(t.iterations)))
      ("seed", "random seed (model initialisation and trial dropout)", cxxopts::value<int64_t>()->default_value("0"))
      ("out", "output directory", cxxopts::value<std::string>())
      ("solver", "ODE solver: euler, heun, rk4 (default: the preset's)", cxxopts::value<std::string>())
      ("substeps", "ODE steps per time bin (default: the preset's)", cxxopts::value<int64_t>())
      ("tau", "time constant, in the units of times (default: the preset's)", cxxopts::value<double>())
      ("learning-rate", "Adam learning rate", cxxopts::value<double>()->default_value(std::to_string(t.learning_rate)))
      ("fraction-masked", "fraction of trials dropped from the training loss each iteration",
       cxxopts::value<double>()->default_value(std::to_string(t.fraction_masked)))
      ("l2-hidden", "weight of the L2 penalty on hidden activity", cxxopts::value<double>()->default_value(std::to_string(t.l2_hidden)))
      ("l2-inputs", "weight of the L2 penalty on inputs", cxxopts::value<double>()->default_value(std::to_string(t.l2_inputs)))
      ("loss", "auto (poisson for integer counts, else mse), mse, poisson", cxxopts::value<std::string>()->default_value("auto"))
      ("test-fraction", "fraction of entries held out for testing", cxxopts::value<double>()->default_value(std::to_string(mask.test_fraction)))
      ("mask-seed", "seed of the cross-validation mask", cxxopts::value<int64_t>()->default_value("0"))
      ("smooth", "Gaussian smoothing over time, std in bins (0: none)", cxxopts::value<double>()->default_value("0"))
      ("zscore", "z-score each neuron")
      ("float64", "compute in double precision")
      ("threads", "intra-op threads (0: LibTorch default)", cxxopts::value<int64_t>()->default_value("0"))
      ("set", "override a model hyperparameter of models/<family>.json, e.g. --set trial_prior=free (repeatable)",
       cxxopts::value<std::vector<std::string>>())
      ("quiet", "no progress output");
  cxxopts::ParseResult r;
  if (!parse(options, argc, argv, r)) return kOk;
  const fs::path data_path = required_string(r, "data");
  const fs::path out = required_string(r, "out");
  ModelConfig model = model_preset(parse_model_kind(r["model"].as<std::string>(), "--model"));
  if (has_rank(model.kind) && !r.count("rank")) throw InputError("--rank is required for --model " + to_string(model.kind));
  if (!has_rank(model.kind) && r.count("rank")) throw InputError("--rank: the " + to_string(model.kind) + " family has no rank");
  if (r.count("rank")) model.rank = r["rank"].as<int64_t>();
  if (r.count("hidden")) model.hidden = r["hidden"].as<int64_t>();
  if (!has_rank(model.kind)) model.rank = std::min(model.rank, model.hidden);
  if (r.count("solver")) model.solver = parse_solver(r["solver"].as<std::string>(), "--solver");
  if (r.count("substeps")) model.substeps = r["substeps"].as<int64_t>();
  if (r.count("tau")) model.tau = r["tau"].as<double>();
  if (r.count("set")) {
    for (const std::string& assignment : r["set"].as<std::vector<std::string>>()) {
      const auto eq = assignment.find('=');
      if (eq == std::string::npos || eq == 0) throw InputError("--set " + assignment + ": expected KEY=VALUE");
      const std::string value = assignment.substr(eq + 1);
      // Numbers and booleans as JSON; anything else as a string.
      json parsed = json::parse(value, nullptr, /*allow_exceptions=*/false);
      if (parsed.is_discarded() || parsed.is_string()) parsed = value;
      update_from_json(model, json{{assignment.substr(0, eq), parsed}}, "--set ");
    }
  }
  TrainConfig train;
  train.iterations = r["iterations"].as<int64_t>();
  train.seed = r["seed"].as<int64_t>();
  train.learning_rate = r["learning-rate"].as<double>();
  train.fraction_masked = r["fraction-masked"].as<double>();
  train.l2_hidden = r["l2-hidden"].as<double>();
  train.l2_inputs = r["l2-inputs"].as<double>();
  train.loss = parse_loss_kind(r["loss"].as<std::string>(), "--loss");
  train.float64 = r.count("float64") > 0;
  train.threads = r["threads"].as<int64_t>();
  MaskConfig mask_config;
  mask_config.test_fraction = r["test-fraction"].as<double>();
  mask_config.seed = r["mask-seed"].as<int64_t>();
  PreprocessConfig preprocess_config;
  preprocess_config.smooth_sigma = r["smooth"].as<double>();
  preprocess_config.zscore = r.count("zscore") > 0;
  validate(model, "fit options");
  validate(train, "fit options");
  validate(mask_config, "fit options");
  validate(preprocess_config, "fit options");

  // Everything is checked before any output is written.
  if (fs::exists(out / "experiment.json"))
    throw InputError(out.string() + " already holds results; choose another --out or remove it");
  const Dataset raw = load_dataset(data_path);
  for (const auto& note : raw.notes) std::cerr << "note: " << note << "\n";
  const Dataset dataset = preprocess(raw, preprocess_config);
  const Masks masks = make_block_masks(dataset.n_bins(), dataset.n_trials(), dataset.n_neurons(), mask_config);

  const json experiment{{"name", out.filename().string()},
                        {"dataset", {{"file", fs::absolute(data_path).string()}}},
                        {"preprocess", preprocess_config},
                        {"mask", mask_config},
                        {"model", model},
                        {"train", train}};
  fs::create_directories(out);
  write_file_atomic(out / "experiment.json", experiment.dump(2) + "\n");
  const RunSummary summary =
      execute_run(dataset, masks, model, train, out / "runs" / run_id(model, train), RunOptions{!r.count("quiet")});
  write_results(out, experiment, {summary});
  std::cout << summary.id << ": " << summary.status << " after " << summary.iterations << " iterations, "
            << summary.seconds << " s; test nMSE " << summary.test_nmse << ", test R^2 " << summary.test_r2 << "\n"
            << "results in " << (out / "results.json").string() << "\n";
  return summary.status == "finished" ? kOk : kInternalError;
}

int export_command(int argc, const char* const* argv) {
  cxxopts::Options options("ltrnn export", "Writes a run's fitted model as TorchScript, rebuilt from its checkpoint.");
  options.add_options()("run_dir", "a run directory (runs/<id>/ of an output directory)", cxxopts::value<std::string>())
      ("out", "output file (default: RUN_DIR/model.pt)", cxxopts::value<std::string>());
  options.parse_positional({"run_dir"});
  cxxopts::ParseResult r;
  if (!parse(options, argc, argv, r)) return kOk;
  const fs::path run_dir = required_string(r, "run_dir");
  if (!fs::is_directory(run_dir)) throw InputError(run_dir.string() + ": not a run directory");
  const RnnModel model = model_from_checkpoint(run_dir / "checkpoint.pt");
  const fs::path out = r.count("out") ? fs::path(r["out"].as<std::string>()) : run_dir / "model.pt";
  save_torchscript(out, model);
  std::cout << "wrote " << out.string() << " (" << to_string(model->config().kind) << ", "
            << model->structure().n_trials() << " trials)\n";
  return kOk;
}

int report_command(int argc, const char* const* argv) {
  cxxopts::Options options("ltrnn report",
                           "Writes report.html, the charts of an experiment's saved results in one self-contained page "
                           "(opens offline in any browser).");
  options.add_options()("out_dir", "the output directory of `ltrnn run`", cxxopts::value<std::string>())
      ("out", "output file (default: OUT_DIR/report.html)", cxxopts::value<std::string>());
  options.parse_positional({"out_dir"});
  cxxopts::ParseResult r;
  if (!parse(options, argc, argv, r)) return kOk;
  const fs::path out_dir = required_string(r, "out_dir");
  if (!fs::is_directory(out_dir)) throw InputError(out_dir.string() + ": not a directory (expected the output directory of `ltrnn run`)");
  const fs::path out = r.count("out") ? fs::path(r["out"].as<std::string>()) : fs::path();
  std::cout << "wrote " << write_report(out_dir, out).string() << "\n";
  return kOk;
}

int validate_command(int argc, const char* const* argv) {
  cxxopts::Options options("ltrnn validate", "Checks an experiment file (schema, settings, data file) and prints its plan.");
  options.add_options()("experiment", "experiment .json", cxxopts::value<std::string>());
  options.parse_positional({"experiment"});
  cxxopts::ParseResult r;
  if (!parse(options, argc, argv, r)) return kOk;
  const fs::path path = required_string(r, "experiment");
  const Experiment experiment = load_experiment(path);
  if (experiment.dataset.file) {
    const Dataset ds = load_dataset(*experiment.dataset.file);  // refuses malformed data, naming file and key
    std::cout << "data: " << experiment.dataset.file->string() << ": " << ds.n_bins() << " x " << ds.n_trials() << " x "
              << ds.n_neurons() << "\n";
  }
  std::cout << path.string() << ": valid\n" << format_plan(plan_runs(experiment));
  return kOk;
}

int run_command(int argc, const char* const* argv) {
  cxxopts::Options options("ltrnn run", "Runs an experiment: every planned fit, the results table and the selected rank.");
  options.add_options()("experiment", "experiment .json", cxxopts::value<std::string>())
      ("out", "output directory (default: runs/<experiment name>)", cxxopts::value<std::string>())
      ("threads", "intra-op threads (0: LibTorch default)", cxxopts::value<int64_t>()->default_value("0"))
      ("jobs", "runs fitted at the same time, each single-threaded unless --threads is given",
       cxxopts::value<int64_t>()->default_value("1"))
      ("resume", "skip finished runs and continue unfinished ones from their checkpoints")
      ("quiet", "no progress lines");
  options.parse_positional({"experiment"});
  cxxopts::ParseResult r;
  if (!parse(options, argc, argv, r)) return kOk;
  const Experiment experiment = load_experiment(required_string(r, "experiment"));
  RunnerOptions runner;
  runner.out_dir = r.count("out") ? fs::path(r["out"].as<std::string>()) : fs::path("runs") / experiment.name;
  runner.threads = r["threads"].as<int64_t>();
  if (runner.threads < 0) throw InputError("--threads: must be >= 0");
  runner.jobs = r["jobs"].as<int64_t>();
  if (runner.jobs < 1) throw InputError("--jobs: must be >= 1");
  runner.resume = r.count("resume") > 0;
  runner.progress = r.count("quiet") == 0;
  const auto results = run_experiment(experiment, runner, std::cout);
  const bool any_finished =
      std::any_of(results.begin(), results.end(), [](const RunSummary& s) { return s.status == "finished"; });
  return any_finished ? kOk : kInternalError;
}

// "1-8" or "1,2,4": a list of ranks >= 1.
std::vector<int64_t> parse_rank_list(const std::string& text, const std::string& option) {
  const std::vector<int64_t> ranks = parse_rank_text(text, option);
  if (ranks.empty() || *std::min_element(ranks.begin(), ranks.end()) < 1)
    throw InputError(option + ": expected ranks >= 1, got '" + text + "'");
  return ranks;
}

int analyze_command(int argc, const char* const* argv) {
  if (argc < 2 || std::string(argv[1]) != "cp") {
    if (argc >= 2 && (std::string(argv[1]) == "--help" || std::string(argv[1]) == "-h")) {
      std::cout << "usage: ltrnn analyze cp --tensor FILE --ranks 1-8 [options]\n";
      return kOk;
    }
    throw InputError("analyze: expected 'cp' (ltrnn analyze cp --tensor FILE --ranks 1-8)");
  }
  const CpOptions defaults;
  cxxopts::Options options("ltrnn analyze cp",
                           "CP decomposition (alternating least squares, best of several random starts) of a\n"
                           "3-tensor at each rank: relative error vs rank, the factors, and the matrix rank of\n"
                           "each unfolding. For weights over learning (K x N x N), --updates analyses\n"
                           "dW(k) = W(k) - W(first trial).");
  options.add_options()("tensor", ".npy file, or .npz archive with --key", cxxopts::value<std::string>())
      ("key", "array of the .npz to analyse (e.g. weights)", cxxopts::value<std::string>()->default_value(""))
      ("ranks", "ranks, FROM-TO or a list (1,2,4)", cxxopts::value<std::string>()->default_value("1-8"))
      ("updates", "analyse W(k) - W(first) along the first axis")
      ("starts", "random starts per rank", cxxopts::value<int64_t>()->default_value(std::to_string(defaults.starts)))
      ("iterations", "ALS sweeps per start", cxxopts::value<int64_t>()->default_value(std::to_string(defaults.max_iterations)))
      ("tolerance", "stop when the relative error changes by less", cxxopts::value<double>()->default_value("1e-8"))
      ("seed", "random seed of the starts", cxxopts::value<int64_t>()->default_value("0"))
      ("out", "JSON results (factors go to the same name with .npz)", cxxopts::value<std::string>()->default_value("cp.json"));
  cxxopts::ParseResult r;
  if (!parse(options, argc - 1, argv + 1, r)) return kOk;
  const fs::path tensor_path = required_string(r, "tensor");
  CpOptions o;
  o.starts = r["starts"].as<int64_t>();
  o.max_iterations = r["iterations"].as<int64_t>();
  o.tolerance = r["tolerance"].as<double>();
  o.seed = static_cast<uint64_t>(r["seed"].as<int64_t>());
  if (o.starts < 1) throw InputError("--starts: must be >= 1");
  if (o.max_iterations < 1) throw InputError("--iterations: must be >= 1");
  const std::vector<int64_t> ranks = parse_rank_list(r["ranks"].as<std::string>(), "--ranks");
  torch::Tensor X = load_tensor(tensor_path, r["key"].as<std::string>());
  const bool updates = r.count("updates") > 0;
  if (updates) X = learning_updates(X);
  const CpAnalysis analysis = analyze_cp(X, ranks, o);
  const fs::path out = r["out"].as<std::string>();
  json result = cp_analysis_json(analysis);
  result["tensor"] = tensor_path.string();
  result["key"] = r["key"].as<std::string>();
  result["updates"] = updates;
  result["starts"] = o.starts;
  result["seed"] = o.seed;
  if (out.has_parent_path()) fs::create_directories(out.parent_path());
  write_npz(fs::path(out).replace_extension(".npz"), cp_factor_arrays(analysis));
  write_file_atomic(out, result.dump(2) + "\n");
  std::cout << format_cp_table(analysis) << "wrote " << out.string() << " and "
            << fs::path(out).replace_extension(".npz").string() << "\n";
  return kOk;
}

int bench_command(int argc, const char* const* argv) {
  cxxopts::Options options("ltrnn bench",
                           "Times training iterations (forward, loss, backward, Adam step) on the benchmark\n"
                           "configurations of DESIGN section 4, each case in its own process. Without --config:\n"
                           "B1 for every model family, and B1 with one thread.");
  options.add_options()("config", "run only the case of this name (e.g. B1, 'B1 full')", cxxopts::value<std::string>())
      ("scaling", "also time B1 with K, N and R each doubled over a series")
      ("threads", "intra-op threads", cxxopts::value<int64_t>()->default_value("2"))
      ("iterations", "timed iterations per case (after the warm-up)", cxxopts::value<int64_t>()->default_value("20"))
      ("warmup", "untimed iterations before the timed ones", cxxopts::value<int64_t>()->default_value("3"))
      ("out", "JSON file for the results", cxxopts::value<std::string>()->default_value("bench.json"))
      ("case", "run one case given as JSON in this process and print its result (used internally)",
       cxxopts::value<std::string>());
  cxxopts::ParseResult r;
  if (!parse(options, argc, argv, r)) return kOk;
  if (r.count("case")) {
    BenchCase c;
    try {
      c = json::parse(r["case"].as<std::string>()).get<BenchCase>();
    } catch (const json::exception& e) {
      throw InputError(std::string("--case: expected a benchmark case as JSON (") + e.what() + ")");
    }
    std::cout << json(run_bench_case(c)).dump() << std::endl;
    return kOk;
  }
  const int64_t threads = r["threads"].as<int64_t>(), iterations = r["iterations"].as<int64_t>(),
                warmup = r["warmup"].as<int64_t>();
  if (threads < 1) throw InputError("--threads: must be >= 1");
  if (iterations < 1) throw InputError("--iterations: must be >= 1");
  if (warmup < 0) throw InputError("--warmup: must be >= 0");
  std::vector<BenchCase> cases = standard_cases(r.count("scaling") > 0, threads);
  if (r.count("config")) {
    const std::string name = r["config"].as<std::string>();
    std::vector<BenchCase> chosen;
    for (const auto& c : cases)
      if (c.name == name) chosen.push_back(c);
    if (chosen.empty()) {
      std::string names;
      for (const auto& c : cases) names += (names.empty() ? "" : ", ") + c.name;
      throw InputError("--config: unknown case '" + name + "'; expected one of: " + names);
    }
    cases = chosen;
  }
  const fs::path out = r["out"].as<std::string>();
  std::cout << "BLAS: " << blas_description() << "\n";
  std::vector<BenchResult> results;
  for (auto c : cases) {
    c.iterations = iterations;
    c.warmup = warmup;
    std::cerr << "bench: " << c.name << " (" << warmup << " + " << iterations << " iterations)..." << std::endl;
    results.push_back(run_bench_case_in_child(c, fs::canonical("/proc/self/exe").string()));
  }
  std::cout << format_bench_table(results);
  write_file_atomic(out, json{{"blas", blas_description()}, {"results", results}}.dump(2) + "\n");
  std::cout << "wrote " << out.string() << "\n";
  return kOk;
}

}  // namespace

// LibTorch's matrix products run on the system's libblas.so.3; Debian's default reference
// BLAS is about ten times slower than OpenBLAS on this work.
void warn_without_openblas() {
  if (blas_description().rfind("OpenBLAS", 0) != 0)
    std::cerr << "ltrnn: warning: the active BLAS is not OpenBLAS; fits may run ~10x slower. "
                 "Install it with: apt-get install libopenblas0-pthread\n";
}

int run_cli(int argc, const char* const* argv) {
  try {
    if (argc < 2) {
      std::cerr << kUsage;
      return kBadInput;
    }
    const std::string command = argv[1];
    if (command == "-h" || command == "--help" || command == "help") {
      std::cout << kUsage;
      return kOk;
    }
    if (command == "simulate") return simulate_command(argc - 1, argv + 1);
    if (command == "fit" || command == "run" || command == "bench") warn_without_openblas();
    if (command == "fit") return fit_command(argc - 1, argv + 1);
    if (command == "validate") return validate_command(argc - 1, argv + 1);
    if (command == "run") return run_command(argc - 1, argv + 1);
    if (command == "export") return export_command(argc - 1, argv + 1);
    if (command == "report") return report_command(argc - 1, argv + 1);
    if (command == "bench") return bench_command(argc - 1, argv + 1);
    if (command == "analyze") return analyze_command(argc - 1, argv + 1);
    std::cerr << "ltrnn: unknown command '" << command << "'\n\n" << kUsage;
    return kBadInput;
  } catch (const InputError& e) {
    std::cerr << "ltrnn: error: " << e.what() << "\n";
    return kBadInput;
  } catch (const cxxopts::exceptions::exception& e) {
    std::cerr << "ltrnn: error: " << e.what() << "\n";
    return kBadInput;
  } catch (const std::exception& e) {
    std::cerr << "ltrnn: internal error: " << e.what() << "\n";
    return kInternalError;
  }
}

}  // namespace ltrnn
