// CP of the true weights and the trial-factor comparison, run after an experiment's fits.
#include "experiment/analyses.h"

#include <ATen/CPUGeneratorImpl.h>
#include <torch/torch.h>

#include <cstdio>

#include "analysis/cp.h"
#include "analysis/cp_files.h"
#include "data/dataset.h"
#include "model/family.h"
#include "util/files.h"

namespace ltrnn {
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

// The similarity expected by chance for factors with these values but no relation in
// time: the mean score over 100 seeded shuffles of the fitted factors' trial order.
double chance_similarity(const torch::Tensor& fitted, const torch::Tensor& reference) {
  auto generator = at::detail::createCPUGenerator(0);
  double total = 0;
  const int shuffles = 100;
  for (int i = 0; i < shuffles; ++i) {
    const torch::Tensor order = torch::randperm(fitted.size(0), generator, torch::TensorOptions().dtype(torch::kInt64));
    total += kruskal_similarity({fitted.index_select(0, order)}, {reference});
  }
  return total / shuffles;
}

// Each rank's best fit of the trial-factor family: its updates c(k) - c(first) against the
// trial factors of the CP model of the same rank (kruskal_align's score on that mode).
json compare_trial_factors(const CpAnalysis& cp, const fs::path& out_dir, const std::vector<RunRecord>& results,
                           const std::map<ModelKind, int64_t>& selected_rank, std::ostream& out) {
  json comparisons = json::array();
  // The family whose fits have trial factors c(k), as a CP model of the weights has.
  const ModelKind family = family_with_view(ConnectivityView::TrialFactors);
  const auto selected = selected_rank.find(family);
  out << "trial factors of the fits (c(k) - c(first)) vs the CP trial factors of the same rank:\n";
  for (const CpModel& model : cp.models) {
    const RunRecord* run =
        best_finished_run(results, [&](const RunRecord& r) { return r.model == family && r.rank == model.rank(); });
    if (!run) continue;
    const auto arrays = read_npz(out_dir / "runs" / run->id / "factors.npz");
    const torch::Tensor c = from_npy(arrays.at("trial_factors")).to(torch::kFloat64);
    const torch::Tensor updates = c - c.select(0, 0).unsqueeze(0);
    std::vector<std::pair<int64_t, int64_t>> matching;
    const double score = kruskal_similarity({updates}, {model.factors[0]}, &matching);
    const double chance = chance_similarity(updates, model.factors[0]);
    const bool is_selected = selected != selected_rank.end() && selected->second == model.rank();
    comparisons.push_back({{"rank", model.rank()},
                           {"run", run->id},
                           {"similarity", score},
                           {"chance_similarity", chance},
                           {"selected", is_selected},
                           {"matching", matching}});
    char line[200];
    std::snprintf(line, sizeof line, "  rank %lld  %-28s similarity %.3f (trials shuffled: %.3f)%s\n",
                  static_cast<long long>(model.rank()), run->id.c_str(), score, chance,
                  is_selected ? "   <- selected rank" : "");
    out << line;
  }
  return comparisons;
}

}  // namespace

json run_analyses(const Experiment& e, const fs::path& out_dir, const fs::path& dataset_npz,
                  const std::vector<RunRecord>& results, const std::map<ModelKind, int64_t>& selected_rank,
                  std::ostream& out) {
  json analyses = json::object();
  if (!e.analyses.cp) return analyses;
  torch::Tensor X = load_tensor(dataset_npz, e.analyses.cp_key);
  if (e.analyses.cp_updates) X = learning_updates(X);
  CpOptions options;
  options.starts = e.analyses.cp_starts;
  options.max_iterations = e.analyses.cp_iterations;
  out << "\nCP decomposition of " << (e.analyses.cp_updates ? "the updates of " : "") << "'" << e.analyses.cp_key
      << "' (" << X.size(0) << " x " << X.size(1) << " x " << X.size(2) << "):\n";
  const CpAnalysis cp = analyze_cp(X, e.analyses.cp_ranks, options);
  out << format_cp_table(cp);
  json cp_json = cp_analysis_json(cp);
  cp_json["key"] = e.analyses.cp_key;
  cp_json["updates"] = e.analyses.cp_updates;
  fs::create_directories(out_dir / "analysis");
  write_file_atomic(out_dir / "analysis" / "cp.json", cp_json.dump(2) + "\n");
  write_npz(out_dir / "analysis" / "cp.npz", cp_factor_arrays(cp));
  json errors = json::array();
  for (const auto& m : cp.models) errors.push_back({{"rank", m.rank()}, {"relative_error", m.relative_error}});
  analyses["cp"] = {{"key", e.analyses.cp_key},
                    {"updates", e.analyses.cp_updates},
                    {"errors", errors},
                    {"unfolding_rank_99", json::array()}};
  for (const auto& s : cp.singular_values) analyses["cp"]["unfolding_rank_99"].push_back(rank_holding(s, 0.99));
  if (e.analyses.compare_trial_factors)
    analyses["trial_factor_similarity"] = compare_trial_factors(cp, out_dir, results, selected_rank, out);
  return analyses;
}

}  // namespace ltrnn
