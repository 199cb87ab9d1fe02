// The comparison table and the one-standard-error rule.
#include "run/comparison.h"

#include <algorithm>
#include <cmath>
#include <iomanip>
#include <nlohmann/json.hpp>
#include <sstream>

#include "io/npy.h"
#include "util/errors.h"

namespace ltrnn {

std::string basis_description(SelectionBasis basis) {
  return basis == SelectionBasis::Validation ? "validation loss of the best seed" : "mean test nMSE over seeds";
}

namespace {

// A rank that lost by at most this many standard errors of the difference is a close loss
// when its fits disagree (CloseLoss): further, more seeds are unlikely to close the gap.
constexpr double kCloseLossStandardErrors = 3.0;

// A seed stalled when its validation loss is further above its rank's best seed than
// sampling error explains (docs/design.md section 5).
constexpr double kStalledStandardErrors = 5.0;

// The row's best seed on the validation loss, and how many seeds stalled behind it.
void score_on_validation(ComparisonRow& row, const std::vector<const RunRecord*>& runs) {
  const RunRecord* best = nullptr;
  for (const RunRecord* run : runs)
    if (run->finished() && (!best || run->validation_loss < best->validation_loss)) best = run;
  if (!best) return;
  row.score = best->validation_loss;
  row.score_se = best->validation_loss_se;
  row.best_id = best->id;
  row.best_start = best->start == RunStart::Seed ? "seed " + std::to_string(best->seed) : enum_name(best->start);
  row.best_test_nmse = best->test_nmse;
  row.best_test_bits_per_spike = best->test_bits_per_spike;
  std::vector<double> kept;  // the seeds that did not stall
  for (const RunRecord* run : runs) {
    if (!run->finished()) continue;
    if (run->validation_loss > row.score + kStalledStandardErrors * row.score_se)
      ++row.stalled;
    else
      kept.push_back(run->validation_loss);
  }
  if (kept.size() > 1) {
    double mean = 0, sq = 0;
    for (double v : kept) mean += v / kept.size();
    for (double v : kept) sq += (v - mean) * (v - mean);
    row.seed_spread = std::sqrt(sq / (kept.size() - 1));
  }
}

}  // namespace

EntryLosses entry_losses_in(const std::filesystem::path& out_dir) {
  return [out_dir](const RunRecord& run) -> std::vector<double> {
    const std::filesystem::path file = out_dir / "runs" / run.id / kValidationLossesFile;
    if (!std::filesystem::exists(file)) return {};
    try {
      return read_npy(file).to_doubles();
    } catch (const std::exception&) {
      return {};  // unreadable: the rule falls back to the unpaired standard error
    }
  };
}

namespace {

// The standard error of the mean difference of two fits' validation losses, from their
// per-block (sum, entries) pairs: the cluster-robust error of a ratio mean,
// sqrt(G / (G - 1) sum_g (d_g - mean m_g)^2) / sum_g m_g, where d_g is the difference of
// the block sums and m_g the block's entries (docs/design.md section 5).
double paired_standard_error(const std::vector<double>& a, const std::vector<double>& b) {
  if (a.size() != b.size() || a.size() < 4 || a.size() % 2 != 0) return NAN;
  const std::size_t groups = a.size() / 2;
  double total_difference = 0, entries = 0;
  for (std::size_t g = 0; g < groups; ++g) {
    if (a[2 * g + 1] != b[2 * g + 1]) return NAN;  // not the same validation entries
    total_difference += a[2 * g] - b[2 * g];
    entries += a[2 * g + 1];
  }
  const double mean = total_difference / entries;
  double sq = 0;
  for (std::size_t g = 0; g < groups; ++g) {
    const double residual = a[2 * g] - b[2 * g] - mean * a[2 * g + 1];
    sq += residual * residual;
  }
  return std::sqrt(sq * groups / (groups - 1.0)) / entries;
}

// Per ranked family, the index of its row with the lowest score among rows with a finished
// run (the first such row on ties): the rank the one-standard-error rule measures from.
std::map<ModelKind, std::size_t> best_rows(const ComparisonTable& table) {
  std::map<ModelKind, std::size_t> best;
  for (std::size_t i = 0; i < table.rows.size(); ++i) {
    const ComparisonRow& row = table.rows[i];
    if (row.rank == 0 || row.finished == 0) continue;
    const auto found = best.find(row.model);
    if (found == best.end() || row.score < table.rows[found->second].score) best[row.model] = i;
  }
  return best;
}

// The run of this id among `runs`.
const RunRecord* run_of(const std::vector<RunRecord>& runs, const std::string& id) {
  for (const RunRecord& run : runs)
    if (run.id == id) return &run;
  return nullptr;
}

// Each ranked row's paired standard error against its family's best row.
void add_paired_errors(ComparisonTable& table, const std::map<ModelKind, std::size_t>& best,
                       const std::vector<RunRecord>& runs, const EntryLosses& losses) {
  const auto losses_of = [&](const std::string& id) {
    const RunRecord* run = run_of(runs, id);
    return run ? losses(*run) : std::vector<double>{};
  };
  std::map<ModelKind, std::vector<double>> best_losses;
  for (const auto& [family, index] : best) best_losses[family] = losses_of(table.rows[index].best_id);
  for (ComparisonRow& row : table.rows)
    if (row.rank > 0 && !row.best_id.empty() && best_losses.count(row.model))
      row.paired_se = paired_standard_error(losses_of(row.best_id), best_losses[row.model]);
}

// Each ranked row's standard error of its difference from its family's best row: sampling
// (paired, or the best's own) and optimisation (both rows' seed spreads).
void add_difference_errors(ComparisonTable& table, const std::map<ModelKind, std::size_t>& best) {
  for (std::size_t i = 0; i < table.rows.size(); ++i) {
    ComparisonRow& row = table.rows[i];
    const auto found = best.find(row.model);
    if (row.rank == 0 || found == best.end()) continue;
    const ComparisonRow& top = table.rows[found->second];
    if (i == found->second) {
      row.difference_se = 0;
      continue;
    }
    const double sampling = std::isnan(row.paired_se) ? top.score_se : row.paired_se;
    row.difference_se =
        std::sqrt(sampling * sampling + row.seed_spread * row.seed_spread + top.seed_spread * top.seed_spread);
  }
}

// The discretisation check of each family's decision (DiscretisationCheck).
void add_discretisation_checks(ComparisonTable& table, const std::map<ModelKind, std::size_t>& best,
                               const std::vector<RunRecord>& runs) {
  for (const auto& [family, top_index] : best) {
    const ComparisonRow* selected = nullptr;
    const ComparisonRow* competitor = nullptr;
    for (const ComparisonRow& row : table.rows)
      if (row.model == family && row.rank == table.selected_rank.at(family)) selected = &row;
    const ComparisonRow& top = table.rows[top_index];
    if (!selected) continue;
    if (selected != &top) {
      competitor = &top;
    } else {
      for (const ComparisonRow& row : table.rows)
        if (row.model == family && row.rank > 0 && row.finished > 0 && &row != selected &&
            (!competitor || row.score < competitor->score))
          competitor = &row;
    }
    if (!competitor) continue;
    const RunRecord* a = run_of(runs, selected->best_id);
    const RunRecord* b = run_of(runs, competitor->best_id);
    if (!a || !b || !std::isfinite(a->validation_loss_double_substeps) ||
        !std::isfinite(b->validation_loss_double_substeps))
      continue;
    DiscretisationCheck check;
    check.selected_id = a->id;
    check.competitor_id = b->id;
    check.competitor_rank = competitor->rank;
    check.selected_change = a->validation_loss_double_substeps - a->validation_loss;
    check.competitor_change = b->validation_loss_double_substeps - b->validation_loss;
    check.deciding_se = selected == &top ? competitor->difference_se : selected->difference_se;
    table.discretisation[family] = check;
  }
}

}  // namespace

ComparisonTable compare_runs(const std::vector<RunRecord>& runs, const EntryLosses& losses) {
  ComparisonTable table;
  bool any_finished = false, all_validated = true;
  for (const auto& run : runs)
    if (run.finished()) {
      any_finished = true;
      all_validated = all_validated && run.validated();
    }
  table.basis = any_finished && all_validated ? SelectionBasis::Validation : SelectionBasis::Test;
  // 1. Group by (family, rank) in first-appearance order.
  std::vector<std::pair<ModelKind, int64_t>> keys;
  std::map<std::pair<ModelKind, int64_t>, std::vector<const RunRecord*>> groups;
  for (const auto& run : runs) {
    const auto key = std::make_pair(run.model, run.rank);
    if (!groups.count(key)) keys.push_back(key);
    groups[key].push_back(&run);
  }
  // 2. Mean, std (n - 1) and standard error of test nMSE over finished seeds.
  for (const auto& key : keys) {
    ComparisonRow row;
    row.model = key.first;
    row.rank = key.second;
    std::vector<double> values;
    double test_variance = 0;  // mean of the runs' squared test-set standard errors
    for (const RunRecord* run : groups[key]) {
      ++row.planned;
      if (!run->finished()) continue;
      values.push_back(run->test_nmse);
      test_variance += run->test_nmse_se * run->test_nmse_se;
    }
    row.finished = static_cast<int64_t>(values.size());
    if (!values.empty()) {
      for (double v : values) row.mean_nmse += v / values.size();
      double sq = 0;
      for (double v : values) sq += (v - row.mean_nmse) * (v - row.mean_nmse);
      row.std_nmse = values.size() > 1 ? std::sqrt(sq / (values.size() - 1)) : 0.0;
      test_variance /= values.size();
      row.sem_nmse = std::sqrt(row.std_nmse * row.std_nmse / values.size() + test_variance);
    }
    row.score = row.mean_nmse;
    row.score_se = row.sem_nmse;
    if (table.basis == SelectionBasis::Validation) score_on_validation(row, groups[key]);
    table.rows.push_back(row);
  }
  // 3. One-standard-error rule per ranked family, measured from its best row.
  const std::map<ModelKind, std::size_t> best = best_rows(table);
  if (table.basis == SelectionBasis::Validation) {
    if (losses) add_paired_errors(table, best, runs, losses);
    add_difference_errors(table, best);
  }
  for (const auto& [family, index] : best) {
    const ComparisonRow& top = table.rows[index];
    int64_t selected = top.rank;
    for (const ComparisonRow& row : table.rows) {
      if (row.model != family || row.rank == 0 || row.finished == 0) continue;
      const double margin = table.basis == SelectionBasis::Validation ? row.difference_se : top.score_se;
      if (row.score <= top.score + margin) selected = std::min(selected, row.rank);
    }
    table.selected_rank[family] = selected;
  }
  if (table.basis == SelectionBasis::Validation) add_discretisation_checks(table, best, runs);
  return table;
}

nlohmann::json discretisation_json(const ComparisonTable& table) {
  nlohmann::json j = nlohmann::json::object();
  for (const auto& [family, c] : table.discretisation)
    j[to_string(family)] = {{"selected_id", c.selected_id},         {"competitor_id", c.competitor_id},
                            {"selected_change", c.selected_change}, {"competitor_change", c.competitor_change},
                            {"deciding_se", c.deciding_se},         {"flagged", c.flagged()}};
  return j;
}

std::string format_discretisation(const ComparisonTable& table) {
  std::ostringstream out;
  out << std::scientific << std::setprecision(2) << std::showpos;
  for (const auto& [family, c] : table.discretisation) {
    out << "discretisation check for " << to_string(family) << ": with the substeps doubled, the validation loss of "
        << c.selected_id << " changes by " << c.selected_change << " and that of rank " << std::noshowpos
        << c.competitor_rank << "'s best (" << c.competitor_id << ") by " << std::showpos << c.competitor_change
        << std::noshowpos;
    if (c.flagged())
      out << ": MORE than the " << c.deciding_se
          << " standard error that decided between them; the integrator's error may decide the rank (set "
             "\"substeps\" higher in the run's overrides and compare)\n";
    else
      out << ", within the " << c.deciding_se << " standard error that decided between them\n";
    out << std::showpos;
  }
  return out.str();
}

namespace {

bool is_selected(const ComparisonTable& table, const ComparisonRow& row) {
  return row.rank > 0 && table.selected_rank.count(row.model) && table.selected_rank.at(row.model) == row.rank;
}

// The table when ranks are compared on validation: each row's best seed, its validation
// loss and standard error, its test scores (reported, not used), and the stalled seeds.
std::string format_validation_comparison(const ComparisonTable& table) {
  bool counts = false;
  for (const auto& row : table.rows) counts = counts || std::isfinite(row.best_test_bits_per_spike);
  std::ostringstream out;
  out << std::left << std::setw(14) << "model" << std::setw(6) << "rank" << std::setw(8) << "runs" << std::setw(9)
      << "stalled" << std::right << std::setw(13) << "validation" << std::setw(12) << "s.e." << std::setw(12)
      << "s.e. diff" << std::setw(13) << "test nMSE" << (counts ? "  test bits/spike" : "") << "  best start\n";
  for (const auto& row : table.rows) {
    std::ostringstream runs, difference_text;
    runs << row.finished << "/" << row.planned;
    // Families without a rank are not compared by the rule: no difference to show.
    if (std::isnan(row.difference_se))
      difference_text << "-";
    else
      difference_text << std::scientific << std::setprecision(3) << row.difference_se;
    out << std::left << std::setw(14) << to_string(row.model) << std::setw(6)
        << (row.rank > 0 ? std::to_string(row.rank) : "-") << std::setw(8) << runs.str() << std::setw(9) << row.stalled
        << std::right << std::scientific << std::setprecision(3) << std::setw(13) << row.score << std::setw(12)
        << row.score_se << std::setw(12) << difference_text.str() << std::setw(13) << row.best_test_nmse
        << std::defaultfloat;
    if (counts) out << std::fixed << std::setprecision(4) << std::setw(18) << row.best_test_bits_per_spike;
    out << std::defaultfloat << "  " << std::left << std::setw(10) << row.best_start << std::right
        << (is_selected(table, row) ? " <- selected" : "") << "\n";
  }
  for (const auto& [family, rank] : table.selected_rank)
    out << "selected rank for " << to_string(family) << ": " << rank
        << " (smallest rank whose best fit's validation loss is within one standard error of the best's; "
           "s.e. diff: of the difference from the best, over the same validation blocks and over seeds; test "
           "scores are "
           "reported, never used to choose)\n";
  return out.str();
}

}  // namespace

std::string format_comparison(const ComparisonTable& table) {
  if (table.basis == SelectionBasis::Validation) return format_validation_comparison(table);
  std::ostringstream out;
  out << std::left << std::setw(14) << "model" << std::setw(6) << "rank" << std::setw(10) << "runs" << std::right
      << std::setw(13) << "test nMSE" << std::setw(12) << "std" << std::setw(12) << "s.e."
      << "\n";
  for (const auto& row : table.rows) {
    const bool selected = is_selected(table, row);
    std::ostringstream runs;
    runs << row.finished << "/" << row.planned;
    out << std::left << std::setw(14) << to_string(row.model) << std::setw(6)
        << (row.rank > 0 ? std::to_string(row.rank) : "-") << std::setw(10) << runs.str() << std::right
        << std::scientific << std::setprecision(3) << std::setw(13) << row.mean_nmse << std::setw(12) << row.std_nmse
        << std::setw(12) << row.sem_nmse << std::defaultfloat << (selected ? "   <- selected" : "") << "\n";
  }
  for (const auto& [family, rank] : table.selected_rank)
    out << "selected rank for " << to_string(family) << ": " << rank
        << " (smallest rank within one standard error of the best mean test nMSE)\n";
  return out.str();
}

nlohmann::json selected_rank_json(const std::map<ModelKind, int64_t>& selected_rank) {
  nlohmann::json j = nlohmann::json::object();
  for (const auto& [family, rank] : selected_rank) j[to_string(family)] = rank;
  return j;
}

std::map<ModelKind, int64_t> selected_rank_from_json(const nlohmann::json& j, const std::string& where) {
  if (!j.is_object()) throw InputError(where + ": /selected_rank: expected family -> rank");
  std::map<ModelKind, int64_t> selected;
  for (const auto& [name, rank] : j.items()) {
    if (!rank.is_number_integer()) throw InputError(where + ": /selected_rank/" + name + ": expected an integer rank");
    selected[parse_enum<ModelKind>(name, where + ": /selected_rank")] = rank.get<int64_t>();
  }
  return selected;
}

std::vector<ComparisonRow> comparison_rows_from_json(const nlohmann::json& rows, const std::string& where) {
  if (!rows.is_array()) throw InputError(where + ": expected an array of rows");
  std::vector<ComparisonRow> table;
  for (std::size_t i = 0; i < rows.size(); ++i) {
    const nlohmann::json& j = rows[i];
    const std::string at = where + "/" + std::to_string(i);
    const auto number = [&](const char* key) {
      return !j.contains(key) || j.at(key).is_null() ? NAN : j.at(key).get<double>();
    };
    try {
      ComparisonRow row;
      row.model = parse_enum<ModelKind>(j.at("model").get<std::string>(), at + "/model");
      row.rank = j.at("rank").get<int64_t>();
      row.finished = j.value("finished", int64_t{0});
      row.planned = j.value("planned", int64_t{0});
      row.mean_nmse = number("mean_test_nmse");
      row.std_nmse = number("std_test_nmse");
      row.sem_nmse = number("se_test_nmse");
      row.score = number("score");
      row.score_se = number("score_se");
      row.best_id = j.value("best_id", "");
      row.best_start = j.value("best_start", "");
      row.paired_se = number("paired_se");
      row.seed_spread = number("seed_spread");
      row.difference_se = number("difference_se");
      row.best_test_nmse = number("best_test_nmse");
      row.best_test_bits_per_spike = number("best_test_bits_per_spike");
      row.stalled = j.value("stalled", int64_t{0});
      table.push_back(row);
    } catch (const nlohmann::json::exception& error) {
      throw InputError(at + ": " + error.what());
    }
  }
  return table;
}

std::vector<CloseLoss> close_losses(const ComparisonTable& table) {
  std::vector<CloseLoss> losses;
  if (table.basis != SelectionBasis::Validation) return losses;
  const std::map<ModelKind, std::size_t> best = best_rows(table);
  for (const ComparisonRow& row : table.rows) {
    const auto top = best.find(row.model);
    if (row.rank == 0 || row.finished < 2 || top == best.end()) continue;
    if (row.rank >= table.selected_rank.at(row.model)) continue;
    const ComparisonRow& best_row = table.rows[top->second];
    CloseLoss loss{row.model,
                   row.rank,
                   best_row.rank,
                   row.score - best_row.score,
                   row.difference_se,
                   row.seed_spread,
                   std::isnan(row.paired_se) ? best_row.score_se : row.paired_se};
    if (loss.seed_spread > loss.sampling_se && loss.gap <= kCloseLossStandardErrors * loss.difference_se)
      losses.push_back(loss);
  }
  return losses;
}

nlohmann::json comparison_rows_json(const ComparisonTable& table) {
  nlohmann::json rows = nlohmann::json::array();
  for (const auto& row : table.rows)
    rows.push_back({{"model", to_string(row.model)},
                    {"rank", row.rank},
                    {"finished", row.finished},
                    {"planned", row.planned},
                    {"mean_test_nmse", row.mean_nmse},
                    {"std_test_nmse", row.std_nmse},
                    {"se_test_nmse", row.sem_nmse},
                    {"basis", table.basis == SelectionBasis::Validation ? "validation" : "test"},
                    {"score", row.score},
                    {"score_se", row.score_se},
                    {"best_id", row.best_id},
                    {"best_start", row.best_start},
                    {"paired_se", row.paired_se},
                    {"seed_spread", row.seed_spread},
                    {"difference_se", row.difference_se},
                    {"best_test_nmse", row.best_test_nmse},
                    {"best_test_bits_per_spike", row.best_test_bits_per_spike},
                    {"stalled", row.stalled}});
  return rows;
}

}  // namespace ltrnn
