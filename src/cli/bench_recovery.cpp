// `ltrnn bench recovery`: the rank-recovery panel (docs/recovery.md).
#include <iostream>

#include "cli/commands.h"
#include "cli/options.h"
#include "recovery/recovery.h"
#include "util/errors.h"

namespace ltrnn {

namespace {

// --train / --model: a JSON object of training or model fields (checked as an experiment's
// "train" or a run group's "overrides" when each teacher's experiment is parsed).
nlohmann::json fields_option(const std::string& option, const std::string& text, const std::string& example) {
  nlohmann::json fields;
  try {
    fields = nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception& e) {
    throw InputError("--" + option + ": not JSON (" + e.what() + ")");
  }
  if (!fields.is_object())
    throw InputError("--" + option + ": expected a JSON object of fields, e.g. '" + example + "'");
  return fields;
}

}  // namespace

int bench_recovery_command(int argc, const char* const* argv) {
  cxxopts::Options options(
      "ltrnn bench recovery",
      "Fits every teacher of the rank-recovery panel (planted ranks 1-4 over the ranges of docs/recovery.md) as an\n"
      "experiment with ranks 1 to its planted rank + 2 and the default settings, and compares the selected rank with\n"
      "the planted one: a table, the confusion matrix, the exact recovery rate, the fraction of fits that converged,\n"
      "the fitted time constants and the seconds of fitting per decision; OUT/recovery.json holds them all. A second\n"
      "call with the same --out resumes.");
  options.add_options()("out", "output directory", cxxopts::value<std::string>()->default_value("recovery"))(
      "quick", "only the quick subset (two small teachers, about a minute on two cores)")(
      "teachers", "only these teachers of the panel (comma-separated names)",
      cxxopts::value<std::vector<std::string>>())("seeds", "seeds of each rank",
                                                  cxxopts::value<std::vector<int64_t>>()->default_value("0,1"))(
      "jobs", "runs fitted at once within a teacher's experiment", cxxopts::value<int64_t>()->default_value("1"))(
      "threads", "intra-op threads per run (0: LibTorch's default)", cxxopts::value<int64_t>()->default_value("0"))(
      "train", "training fields every teacher's experiment sets, a JSON object (e.g. '{\"polish_after\": 0}')",
      cxxopts::value<std::string>())(
      "model", "model fields every teacher's runs set, a JSON object (e.g. '{\"trial_inputs\": true}')",
      cxxopts::value<std::string>())("list", "print the panel's teachers and exit");
  cxxopts::ParseResult r;
  if (!parse_options(options, argc, argv, r)) return kExitOk;
  std::vector<PanelTeacher> panel = r.count("quick") ? quick_panel() : recovery_panel();
  if (r.count("list")) {
    for (const PanelTeacher& t : panel)
      std::cout << t.name << " (planted rank " << t.teacher.rank << (t.in_class ? "" : ", out of class")
                << "): " << t.varies << "\n";
    return kExitOk;
  }
  if (r.count("teachers")) panel = select_teachers(panel, r["teachers"].as<std::vector<std::string>>(), "--teachers");
  RecoveryOptions o;
  o.out_dir = r["out"].as<std::string>();
  o.seeds = r["seeds"].as<std::vector<int64_t>>();
  o.jobs = r["jobs"].as<int64_t>();
  o.threads = r["threads"].as<int64_t>();
  if (r.count("train")) o.train = fields_option("train", r["train"].as<std::string>(), R"({"iterations": 500})");
  if (r.count("model")) o.model = fields_option("model", r["model"].as<std::string>(), R"({"solver": "rk4"})");
  if (o.seeds.empty()) throw InputError("--seeds: at least one seed");
  for (int64_t seed : o.seeds)
    if (seed < 0) throw InputError("--seeds: each seed must be >= 0");
  if (o.jobs < 1) throw InputError("--jobs: must be >= 1");
  if (o.threads < 0) throw InputError("--threads: must be >= 0");
  const RecoverySummary summary = run_recovery(panel, o, std::cout);
  std::cout << "\n" << format_recovery(summary) << "wrote " << (o.out_dir / "recovery.json").string() << "\n";
  return kExitOk;
}

}  // namespace ltrnn
