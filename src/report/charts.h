// The report's charts as Vega-Lite specifications, built from saved results. Torch-free:
// the data arrive as long-format rows (JSON arrays of flat objects, one object per mark),
// prepared by report.cpp and fit_section.cpp. Every chart has a title, axis titles with units and a caption.
#pragma once
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "report/html.h"
#include "run/comparison.h"
#include "run/record.h"

namespace ltrnn {

// A contiguous block of trials (session positions first..last) of one epoch, shaded in
// charts over trials.
struct EpochSpan {
  std::string epoch;
  int64_t first = 0, last = 0;
};
// The spans of a per-trial epoch labelling, in session order.
std::vector<EpochSpan> epoch_spans(const std::vector<std::string>& epoch_of_trial);

// Test NMSE against rank for each ranked family: mean +- one standard error over seeds,
// every seed as a point, the one-standard-error threshold and the selected rank marked;
// families without a rank (full, static) as horizontal reference lines. `table` is
// compare_runs(runs) with the selected ranks.
Chart rank_selection_chart(const std::vector<RunRecord>& runs, const ComparisonTable& table,
                           const std::vector<std::string>& families);
// Test NMSE against the number of fitted parameters, every finished run; the selected fit of
// each family ringed.
Chart parameter_count_chart(const std::vector<RunRecord>& runs, const std::vector<std::string>& families,
                            const std::vector<std::string>& selected_ids);

// Charts of one fitted model; `fit` names it ("tensor_rank, rank 2, seed 0").
// rows {iteration, loss, set: "train"|"test"}.
Chart training_curve_chart(const std::string& fit, const nlohmann::json& rows);
// rows {trial, component, value}: the trial factors c_r(k).
Chart trial_factor_chart(const std::string& fit, const nlohmann::json& rows, const std::vector<EpochSpan>& spans);
// rows {trial, change}: ||W(k) - W(0)||_F / ||W(0)||_F, for families without trial factors.
Chart weight_change_chart(const std::string& fit, const nlohmann::json& rows, const std::vector<EpochSpan>& spans);
// rows {unit, component, factor: "column a_r"|"row b_r", value}.
Chart loading_chart(const std::string& fit, const nlohmann::json& rows);
// rows {time, neuron, condition, when, trial, recorded, predicted}.
Chart prediction_chart(const std::string& fit, const nlohmann::json& rows, const std::string& activity_unit);
// rows {time, p1, p2, epoch, condition, trial}: hidden states projected onto two directions
// (p2 absent: one direction, drawn against time). `basis` says which directions.
Chart trajectory_chart(const std::string& fit, const nlohmann::json& rows, const std::string& basis, bool two_d);
// rows {re, im, epoch, when: "first trial"|"last trial", trial}: eigenvalues of W(k).
Chart eigenvalue_chart(const std::string& fit, const nlohmann::json& rows);

// Reach data. rows {x, y, time, epoch, when, condition, trial}: hand positions.
Chart hand_path_chart(const nlohmann::json& rows);
// rows {trial, deviation}: signed peak lateral deviation of each reach.
Chart lateral_deviation_chart(const nlohmann::json& rows, const std::vector<EpochSpan>& spans);
// rows {rank, relative_error}: CP decomposition error against rank (analysis/cp.json).
Chart cp_error_chart(const std::string& key, bool updates, const nlohmann::json& rows);

// Sweeps (report/sweep.h): one line per cell (experiment) of the sweep against rank.
// rows {cell, rank, value} plus, with `dashed_field`, a nominal field drawn as solid vs
// dashed lines (e.g. fitted vs shuffled chance); `selected_field` (optional, boolean)
// rings the rank each cell selected.
Chart sweep_rank_chart(const std::string& title, const std::string& caption, const std::string& y_title,
                       const nlohmann::json& rows, const std::string& dashed_field = "",
                       const std::string& selected_field = "");
// rows {cell, order, point, deviation}: the five points of each cell's reaching learning curve.
Chart sweep_learning_curve_chart(const nlohmann::json& rows);

// The rank-recovery panel (docs/recovery.md). rows {planted, selected, count}: how many
// teachers of each planted rank had each rank selected (0: none finished).
Chart confusion_matrix_chart(const nlohmann::json& rows);

}  // namespace ltrnn
