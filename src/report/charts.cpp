// The report's Vega-Lite charts of an experiment (see charts.h): rank selection, the reach
// generator, the CP analysis, sweeps, rank recovery. Conventions: x and y titles carry units;
// colours of model families are fixed across charts (`families` gives the domain); charts
// over trials shade the epochs (BL, AD, WO, ...) behind the data. The charts of one fit are
// report/fit_charts.cpp; the encoding helpers they share, report/chart_encoding.h.
#include "report/charts.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <set>

#include "report/chart_encoding.h"

namespace ltrnn {
using nlohmann::json;

using namespace vega;

std::vector<EpochSpan> epoch_spans(const std::vector<std::string>& epoch_of_trial) {
  std::vector<EpochSpan> spans;
  for (int64_t k = 0; k < static_cast<int64_t>(epoch_of_trial.size()); ++k) {
    if (spans.empty() || spans.back().epoch != epoch_of_trial[k]) spans.push_back({epoch_of_trial[k], k, k});
    spans.back().last = k;
  }
  return spans;
}

// The y axis of the rank-selection chart.
static std::string score_title(bool on_validation) {
  return on_validation ? "validation loss (nMSE, or Poisson NLL per entry)"
                       : "test NMSE (MSE / variance of test entries)";
}

Chart rank_selection_chart(const std::vector<RunRecord>& runs, const ComparisonTable& table,
                           const std::vector<std::string>& families) {
  // 1. The data: seeds, means with error bars, reference families, thresholds, selections.
  json seeds = json::array(), means = json::array(), reference = json::array(), threshold = json::array(),
       selected = json::array();
  // The score the rule compares (run/comparison.h): each seed's validation loss, or its test NMSE.
  const bool on_validation = table.basis == SelectionBasis::Validation;
  for (const RunRecord& run : runs)
    if (run.finished() && run.rank > 0 && std::isfinite(selection_loss(run)))
      seeds.push_back({{"model", to_string(run.model)},
                       {"rank", run.rank},
                       {"seed", run.seed},
                       {"id", run.id},
                       {"score", selection_loss(run)}});
  std::map<std::string, std::pair<double, double>> best;  // family -> (mean, se) of the best rank
  for (const ComparisonRow& row : table.rows) {
    if (row.finished == 0 || !std::isfinite(row.score)) continue;
    const std::string model = to_string(row.model);
    // Paired: the standard error of the difference from the best rank (the rule's margin).
    const bool paired = on_validation && !std::isnan(row.difference_se);
    const double mean = row.score, se = paired ? row.difference_se : row.score_se;
    const int64_t rank = row.rank;
    if (rank == 0) {
      reference.push_back({{"model", model}, {"score", mean}, {"label", model + " (no rank)"}});
      continue;
    }
    means.push_back(
        {{"model", model}, {"rank", rank}, {"score", mean}, {"low", mean - se}, {"high", mean + se}, {"se", se}});
    if (!best.count(model) || mean < best[model].first) best[model] = {mean, paired ? 0.0 : se};
    if (table.selected_rank.count(row.model) && table.selected_rank.at(row.model) == rank)
      selected.push_back(
          {{"model", model}, {"rank", rank}, {"score", mean}, {"label", "selected: rank " + std::to_string(rank)}});
  }
  for (const auto& [model, value] : best)
    threshold.push_back(
        {{"model", model},
         {"score", value.first + value.second},
         {"label", value.second > 0 ? std::string(on_validation ? "best" : "best mean") + " + 1 s.e. (" + model + ")"
                                    : "best (" + model + ")"}});

  Chart chart;
  chart.title = "Cross-validated error against rank";
  if (means.empty()) {
    // No ranked family: the families side by side.
    chart.caption = on_validation ? "Validation loss of each model family's best seed (lower is better)."
                                  : "Test NMSE of each model family (lower is better).";
    chart.spec = {{"width", 420},
                  {"height", 260},
                  {"data", {{"values", reference}}},
                  {"mark", {{"type", "point"}, {"filled", true}, {"size", 80}}},
                  {"encoding",
                   {{"x", nominal("model", "model family")},
                    {"y", with_scale(quantitative("score", score_title(on_validation)),
                                     log_scale_if_positive(all_positive(reference, "score")))},
                    {"color", family_colour(families)}}}};
    return chart;
  }
  chart.caption =
      on_validation
          ? "Lines: each rank's best seed on the validation loss; error bars: the standard error of its difference "
            "from the best rank (over the same validation blocks, and over seeds); dots: every seed (those far above "
            "the line "
            "stalled); dashed lines: families without a rank; grey dotted line: the best rank. The selected rank "
            "(diamond) is the smallest rank whose error bar reaches that line — more components would not fit "
            "held-out data reliably better. Test scores are not used to choose."
          : "Lines: mean test NMSE over seeds with one standard error; dots: single seeds; dashed lines: families "
            "without a rank; grey dotted line: the best mean plus one standard error. The selected rank (diamond) is "
            "the smallest rank whose mean lies below that line — more components would not fit held-out data reliably "
            "better.";
  int64_t min_rank = 1 << 30, max_rank = 0;
  for (const json& row : means) {
    min_rank = std::min<int64_t>(min_rank, row.at("rank"));
    max_rank = std::max<int64_t>(max_rank, row.at("rank"));
  }
  json all = means;
  for (const json* set : {&seeds, &reference, &threshold})
    for (const json& row : *set) all.push_back(row);
  const bool log_axis = all_positive(all, "score");
  const json y_scale = log_scale_if_positive(log_axis);
  // On the log axis an error bar reaching zero or below cannot be drawn: it is cut at a
  // tenth of the mean, and the caption says so.
  bool clipped = false;
  for (json& row : means)
    if (log_axis && row.at("low").get<double>() <= 0) {
      row["low"] = row.at("score").get<double>() / 10;
      clipped = true;
    }
  if (clipped) chart.caption += " (Error bars reaching zero are cut at a tenth of the mean on this log axis.)";
  const std::string y_title = score_title(on_validation);
  const json x = with_scale(quantitative("rank", "rank R (components)"),
                            {{"domain", {min_rank - 0.5, max_rank + 0.5}}, {"nice", false}});
  json x_axis = x;
  x_axis["axis"] = {{"tickMinStep", 1}, {"format", "d"}};
  const json y = with_scale(quantitative("score", y_title), y_scale);
  const json colour = family_colour(families);

  // 2. The layers, back to front.
  json layers = json::array();
  if (!reference.empty())
    layers.push_back(
        {{"data", {{"name", "reference"}}},
         {"mark", {{"type", "rule"}, {"strokeDash", {6, 4}}, {"strokeWidth", 2}}},
         {"encoding",
          {{"y", y},
           {"color", colour},
           {"tooltip", json::array({nominal("label", "family"),
                                    quantitative("score", on_validation ? "validation loss" : "mean test NMSE")})}}}});
  layers.push_back(
      {{"data", {{"name", "threshold"}}},
       {"mark", {{"type", "rule"}, {"strokeDash", {2, 3}}, {"color", "#777"}}},
       {"encoding",
        {{"y", y},
         {"tooltip", json::array({nominal("label", "line"),
                                  quantitative("score", on_validation ? "validation loss" : "test NMSE")})}}}});
  layers.push_back({{"data", {{"name", "means"}}},
                    {"mark", {{"type", "errorbar"}, {"ticks", true}}},
                    {"encoding",
                     {{"x", x_axis},
                      {"y", with_scale(quantitative("low", y_title), y_scale)},
                      {"y2", {{"field", "high"}}},
                      {"color", colour}}}});
  layers.push_back(
      {{"data", {{"name", "means"}}},
       {"mark", {{"type", "line"}, {"point", true}}},
       {"encoding",
        {{"x", x_axis},
         {"y", y},
         {"color", colour},
         {"tooltip", json::array({nominal("model", "family"), quantitative("rank", "rank"),
                                  quantitative("score", on_validation ? "validation loss" : "mean test NMSE"),
                                  quantitative("se", "standard error")})}}}});
  layers.push_back(
      {{"data", {{"name", "seeds"}}},
       {"mark", {{"type", "point"}, {"opacity", 0.6}, {"size", 30}}},
       {"encoding",
        {{"x", x_axis},
         {"y", y},
         {"color", colour},
         {"tooltip", json::array({nominal("id", "run"), quantitative("seed", "seed"),
                                  quantitative("score", on_validation ? "validation loss" : "test NMSE")})}}}});
  layers.push_back({{"data", {{"name", "selected"}}},
                    {"mark",
                     {{"type", "point"},
                      {"shape", "diamond"},
                      {"size", 320},
                      {"filled", false},
                      {"strokeWidth", 2.5},
                      {"color", "black"}}},
                    {"encoding", {{"x", x_axis}, {"y", y}}}});
  layers.push_back({{"data", {{"name", "selected"}}},
                    {"mark", {{"type", "text"}, {"dy", -18}, {"fontWeight", "bold"}}},
                    {"encoding", {{"x", x_axis}, {"y", y}, {"text", {{"field", "label"}}}}}});
  chart.spec = {{"width", 520},
                {"height", 320},
                {"datasets",
                 {{"seeds", seeds},
                  {"means", means},
                  {"reference", reference},
                  {"threshold", threshold},
                  {"selected", selected}}},
                {"layer", layers}};
  return chart;
}

Chart parameter_count_chart(const std::vector<RunRecord>& records, const std::vector<std::string>& families,
                            const std::vector<std::string>& selected_ids) {
  json runs = json::array(), selected = json::array();
  for (const RunRecord& run : records) {
    if (!run.finished() || !std::isfinite(run.test_nmse)) continue;
    json row{{"model", to_string(run.model)}, {"rank", run.rank},          {"seed", run.seed}, {"id", run.id},
             {"n_params", run.n_params},      {"test_nmse", run.test_nmse}};
    runs.push_back(row);
    if (std::find(selected_ids.begin(), selected_ids.end(), run.id) != selected_ids.end()) selected.push_back(row);
  }
  const std::string y_title = "test NMSE (MSE / variance of test entries)";
  const json x = with_scale(quantitative("n_params", "fitted parameters (count)"),
                            log_scale_if_positive(all_positive(runs, "n_params")));
  const json y = with_scale(quantitative("test_nmse", y_title), log_scale_if_positive(all_positive(runs, "test_nmse")));
  Chart chart;
  chart.title = "Error against model size";
  chart.caption =
      "Every finished run: test NMSE against its number of fitted parameters; the report's selected fit "
      "of each family is ringed. Points to the lower left explain held-out activity with fewer parameters.";
  chart.spec = {
      {"width", 520},
      {"height", 320},
      {"layer",
       {{{"data", {{"values", runs}}},
         {"mark", {{"type", "point"}, {"filled", true}, {"size", 50}, {"opacity", 0.8}}},
         {"encoding",
          {{"x", x},
           {"y", y},
           {"color", family_colour(families)},
           {"tooltip", json::array({nominal("id", "run"), quantitative("n_params", "parameters"),
                                    quantitative("test_nmse", "test NMSE")})}}}},
        {{"data", {{"values", selected}}},
         {"mark", {{"type", "point"}, {"filled", false}, {"size", 260}, {"strokeWidth", 2}, {"color", "black"}}},
         {"encoding", {{"x", x}, {"y", y}}}}}}};
  return chart;
}

Chart hand_path_chart(const json& rows) {
  double extent = 0;
  for (const json& row : rows)
    extent = std::max({extent, std::abs(row.at("x").get<double>()), std::abs(row.at("y").get<double>())});
  extent = extent > 0 ? 1.1 * extent : 1.0;
  const json domain = {-extent, extent};
  Chart chart;
  chart.title = "Hand paths";
  chart.caption =
      "Reaches to each target on the first and last trial to it in each epoch: straight in baseline, "
      "curved by the curl field at the start of adaptation and straight again at its end, with the "
      "mirror-image after-effect early in washout.";
  chart.spec = {
      {"data", {{"values", rows}}},
      {"facet",
       {{"row", {{"field", "when"}, {"type", "nominal"}, {"title", ""}, {"sort", appearance_order(rows, "when")}}},
        {"column",
         {{"field", "epoch"}, {"type", "nominal"}, {"title", "epoch"}, {"sort", appearance_order(rows, "epoch")}}}}},
      {"spec",
       {{"width", 200},
        {"height", 200},
        {"mark", {{"type", "line"}, {"strokeWidth", 1.5}}},
        {"encoding",
         {{"x", with_scale(quantitative("x", "hand x (target distances)"), {{"domain", domain}})},
          {"y", with_scale(quantitative("y", "hand y (target distances)"), {{"domain", domain}})},
          {"order", {{"field", "time"}, {"type", "quantitative"}}},
          {"color", with_sort(nominal("condition", "target"), appearance_order(rows, "condition"))},
          {"detail", nominal("trial", "trial")}}}}}};
  return chart;
}

Chart lateral_deviation_chart(const json& rows, const std::vector<EpochSpan>& spans) {
  Chart chart;
  chart.title = "Lateral deviation per trial";
  chart.caption =
      "Signed peak deviation of the hand from the straight path on each trial: the learning curve — a jump "
      "when the field is switched on, decay as the network adapts, an opposite after-effect in washout.";
  const json zero{{"mark", {{"type", "rule"}, {"color", "#999"}}},
                  {"encoding", {{"y", {{"datum", 0}, {"type", "quantitative"}}}}}};
  const json line{
      {"data", {{"values", rows}}},
      {"mark", {{"type", "line"}, {"point", {{"size", 12}}}, {"strokeWidth", 1}, {"color", "#333"}}},
      {"encoding",
       {{"x", trial_x("trial")},
        {"y", quantitative("deviation", "lateral deviation (target distances)")},
        {"tooltip", json::array({quantitative("trial", "trial"), quantitative("deviation", "deviation")})}}}};
  chart.spec = {{"width", 640}, {"height", 240}, {"layer", session_layers(spans, {zero, line})}};
  return chart;
}

Chart cp_error_chart(const std::string& key, bool updates, const json& rows) {
  Chart chart;
  chart.title = "CP decomposition of '" + key + "'" + (updates ? " (learning updates)" : "");
  chart.caption =
      "Relative reconstruction error ||X − X̂||_F / ||X||_F of the best CP model at each rank; where the "
      "curve flattens, more components add little — an estimate of the tensor rank of the weights.";
  chart.spec = {{"width", 420},
                {"height", 240},
                {"data", {{"values", rows}}},
                {"mark", {{"type", "line"}, {"point", true}}},
                {"encoding",
                 {{"x", rank_x("CP rank (components)")},
                  {"y", with_scale(quantitative("relative_error", "relative error (ratio)"), {{"zero", true}})}}}};
  return chart;
}

// Cells are named by their settings ("activation tanh, init_gain 0.3, ..."): a legend under
// the chart, labels in full.
static json sweep_cell_colour() {
  json colour = nominal("cell", "sweep cell");
  colour["legend"] = {{"orient", "bottom"}, {"columns", 2}, {"labelLimit", 400}};
  return colour;
}

Chart sweep_rank_chart(const std::string& title, const std::string& caption, const std::string& y_title,
                       const json& rows, const std::string& dashed_field, const std::string& selected_field) {
  Chart chart;
  chart.title = title;
  chart.caption = caption;
  json encoding{{"x", rank_x("rank (components)")},
                {"y", with_scale(quantitative("value", y_title), {{"zero", true}})},
                {"color", sweep_cell_colour()},
                {"tooltip",
                 json::array({nominal("cell", "cell"), quantitative("rank", "rank"), quantitative("value", y_title)})}};
  if (!dashed_field.empty()) {
    encoding["strokeDash"] = nominal(dashed_field, dashed_field);
    encoding["detail"] = nominal(dashed_field, dashed_field);
  }
  json layers = json::array({{{"mark", {{"type", "line"}, {"point", true}}}, {"encoding", encoding}}});
  if (!selected_field.empty()) {
    json ring = encoding;
    ring.erase("strokeDash");
    ring.erase("detail");
    layers.push_back({{"transform", json::array({{{"filter", "datum." + selected_field}}})},
                      {"mark", {{"type", "point"}, {"size", 220}, {"strokeWidth", 2}, {"filled", false}}},
                      {"encoding", ring}});
  }
  chart.spec = {{"width", 420}, {"height", 260}, {"data", {{"values", rows}}}, {"layer", layers}};
  return chart;
}

Chart sweep_learning_curve_chart(const json& rows) {
  Chart chart;
  chart.title = "Reaching learning curve per cell";
  chart.caption =
      "Mean lateral deviation of 8 trials at the end of baseline, the start and end of the field, the start and end "
      "of washout: every cell should show the jump, adaptation and an opposite after-effect.";
  chart.spec = {{"width", 420},
                {"height", 260},
                {"data", {{"values", rows}}},
                {"mark", {{"type", "line"}, {"point", true}}},
                {"encoding",
                 {{"x", with_sort(nominal("point", "point of the session"), {{"field", "order"}})},
                  {"y", quantitative("deviation", "lateral deviation (target distances)")},
                  {"color", sweep_cell_colour()},
                  {"tooltip", json::array({nominal("cell", "cell"), nominal("point", "point"),
                                           quantitative("deviation", "deviation")})}}}};
  return chart;
}

Chart confusion_matrix_chart(const json& rows) {
  Chart chart;
  chart.title = "Selected against planted rank";
  chart.caption =
      "Teachers of each planted rank (rows) by the rank the experiment selected (columns; 0: no fit finished). "
      "Exact recovery fills the diagonal; cells right of it are over-selection, left of it under-selection.";
  const auto rank_axis = [](const std::string& field, const std::string& title) {
    return json{{"field", field}, {"type", "ordinal"}, {"title", title}};
  };
  chart.spec = {{"width", 300},
                {"height", 240},
                {"data", {{"values", rows}}},
                {"encoding",
                 {{"x", rank_axis("selected", "selected rank (components)")},
                  {"y", rank_axis("planted", "planted rank (components)")}}},
                {"layer", json::array({{{"mark", "rect"},
                                        {"encoding",
                                         {{"color", with_scale(quantitative("count", "teachers (count)"),
                                                               {{"scheme", "blues"}, {"zero", true}})}}}},
                                       {{"mark", {{"type", "text"}, {"fontSize", 14}}},
                                        {"encoding", {{"text", quantitative("count", "teachers (count)")}}}}})}};
  return chart;
}

}  // namespace ltrnn
