// One job: the report's chart specs. Long (635 lines) on purpose: one declarative function per chart; see below.
// The report's Vega-Lite charts (see charts.h). Conventions: x and y titles carry units;
// colours of model families are fixed across charts (`families` gives the domain); charts
// over trials shade the epochs (BL, AD, WO, ...) behind the data.
// Over 450 lines (about 630) because it is one function per chart, each a
// declarative spec read top to bottom; they share the encoding helpers at the top, which
// splitting the file would scatter.
#include "report/charts.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <set>

namespace ltrnn {
using nlohmann::json;

namespace {

json quantitative(const std::string& field, const std::string& title) {
  return {{"field", field}, {"type", "quantitative"}, {"title", title}};
}
json nominal(const std::string& field, const std::string& title) {
  return {{"field", field}, {"type", "nominal"}, {"title", title}};
}
json with_scale(json channel, json scale) {
  channel["scale"] = std::move(scale);
  return channel;
}
json with_sort(json channel, json order) {
  channel["sort"] = std::move(order);
  return channel;
}
json log_scale_if_positive(bool positive) { return positive ? json{{"type", "log"}} : json{{"zero", false}}; }

json family_colour(const std::vector<std::string>& families) {
  return with_scale(nominal("model", "model family"), {{"domain", families}, {"scheme", "category10"}});
}

// Rows' `field` values, all finite and > 0 (a log axis is possible).
bool all_positive(const json& rows, const std::string& field) {
  for (const json& row : rows)
    if (!row.contains(field) || !row[field].is_number() || !(row[field].get<double>() > 0)) return false;
  return true;
}

// Shading and labels of the epochs behind a chart over trials (x = session position).
std::vector<json> epoch_layers(const std::vector<EpochSpan>& spans, const std::string& x_title) {
  json values = json::array();
  std::vector<std::string> labels;
  for (const EpochSpan& span : spans) {
    values.push_back({{"epoch", span.epoch}, {"start", span.first - 0.5}, {"end", span.last + 0.5}});
    if (std::find(labels.begin(), labels.end(), span.epoch) == labels.end()) labels.push_back(span.epoch);
  }
  json shade{{"data", {{"values", values}}},
             {"mark", {{"type", "rect"}, {"opacity", 0.35}}},
             {"encoding",
              {{"x", with_scale(quantitative("start", x_title), {{"nice", false}, {"zero", false}})},
               {"x2", {{"field", "end"}}},
               {"fill", with_scale(nominal("epoch", "epoch"), {{"domain", labels}, {"scheme", "pastel1"}})}}}};
  json label{
      {"data", {{"values", values}}},
      {"mark",
       {{"type", "text"},
        {"align", "left"},
        {"baseline", "top"},
        {"dx", 4},
        {"dy", 4},
        {"color", "#555"},
        {"fontWeight", "bold"}}},
      {"encoding", {{"x", quantitative("start", x_title)}, {"y", {{"value", 0}}}, {"text", {{"field", "epoch"}}}}}};
  return {shade, label};
}

constexpr const char* kTrialAxis = "trial (position in the session)";

// A chart over the session: the epochs shaded behind the given data layers.
json session_layers(const std::vector<EpochSpan>& spans, std::vector<json> data_layers) {
  json layers = json::array();
  for (json& layer : epoch_layers(spans, kTrialAxis)) layers.push_back(std::move(layer));
  for (json& layer : data_layers) layers.push_back(std::move(layer));
  return layers;
}

// The distinct values of `field` in the order the rows bring them (session order for
// epochs, condition order for conditions): facets and legends keep it, not the alphabet.
json appearance_order(const json& rows, const std::string& field) {
  json order = json::array();
  std::set<std::string> seen;
  for (const json& row : rows) {
    const std::string value = row.at(field).is_string() ? row.at(field).get<std::string>() : row.at(field).dump();
    if (seen.insert(value).second) order.push_back(row.at(field));
  }
  return order;
}

// The trial axis spans exactly the session (the epoch shading starts at -0.5).
// A rank axis: integer ticks, not starting at zero.
json rank_x(const std::string& title) {
  return with_scale(json{{"field", "rank"},
                         {"type", "quantitative"},
                         {"title", title},
                         {"axis", {{"tickMinStep", 1}, {"format", "d"}}}},
                    {{"zero", false}});
}

json trial_x(const std::string& field) {
  return with_scale(quantitative(field, kTrialAxis), {{"nice", false}, {"zero", false}});
}

}  // namespace

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

Chart training_curve_chart(const std::string& fit, const json& rows) {
  Chart chart;
  chart.title = "Training curve — " + fit;
  chart.caption =
      "Training objective on the training entries and loss on the held-out test entries at each "
      "iteration; a test curve that rises while training falls would mean over-fitting.";
  chart.spec = {{"width", 420},
                {"height", 240},
                {"data", {{"values", rows}}},
                {"mark", {{"type", "line"}, {"strokeWidth", 1.5}}},
                {"encoding",
                 {{"x", quantitative("iteration", "iteration (Adam steps)")},
                  {"y", with_scale(quantitative("loss", "loss (normalised MSE; Poisson: NLL per entry)"),
                                   log_scale_if_positive(all_positive(rows, "loss")))},
                  {"color", with_scale(nominal("set", "entries"), {{"domain", {"train", "test"}}})}}}};
  return chart;
}

Chart trial_factor_chart(const std::string& fit, const json& rows, const std::vector<EpochSpan>& spans) {
  Chart chart;
  chart.title = "Trial factors — " + fit;
  chart.caption =
      "How strongly each connectivity component c_r(k) a_r b_r^T is present on each trial; steps and "
      "drifts at epoch boundaries (shaded) show which components changed with learning.";
  const json line{{"data", {{"values", rows}}},
                  {"mark", {{"type", "line"}, {"strokeWidth", 1.5}}},
                  {"encoding",
                   {{"x", trial_x("trial")},
                    {"y", quantitative("value", "trial factor c_r(k) (weight units)")},
                    {"color", nominal("component", "component r")},
                    {"tooltip", json::array({quantitative("trial", "trial"), nominal("component", "r"),
                                             quantitative("value", "c_r(k)")})}}}};
  chart.spec = {{"width", 640}, {"height", 260}, {"layer", session_layers(spans, {line})}};
  return chart;
}

Chart weight_change_chart(const std::string& fit, const json& rows, const std::vector<EpochSpan>& spans) {
  Chart chart;
  chart.title = "Change of the weights over trials — " + fit;
  chart.caption =
      "This family has no trial factors: the relative distance of each trial's W(k) from the first "
      "trial's, with epochs shaded; flat lines mean connectivity did not change.";
  const json line{
      {"data", {{"values", rows}}},
      {"mark", {{"type", "line"}, {"strokeWidth", 1.5}, {"color", "#333"}}},
      {"encoding", {{"x", trial_x("trial")}, {"y", quantitative("change", "||W(k) − W(0)||_F / ||W(0)||_F (ratio)")}}}};
  chart.spec = {{"width", 640}, {"height", 220}, {"layer", session_layers(spans, {line})}};
  return chart;
}

Chart loading_chart(const std::string& fit, const json& rows) {
  Chart chart;
  chart.title = "Column and row factor loadings — " + fit;
  chart.caption =
      "Each component's column factor a_r (which hidden units it drives) and row factor b_r (which units' "
      "activity it reads), unit-norm; a few large bars mean the component is carried by a few units.";
  chart.spec = {{"data", {{"values", rows}}},
                {"facet", {{"row", nominal("component", "component r")}, {"column", nominal("factor", "factor")}}},
                {"spec",
                 {{"width", 320},
                  {"height", 90},
                  {"mark", "bar"},
                  {"encoding",
                   {{"x",
                     {{"field", "unit"},
                      {"type", "ordinal"},
                      {"title", "hidden unit (index)"},
                      {"axis", {{"labelOverlap", true}, {"labelAngle", 0}}}}},
                    {"y", quantitative("value", "loading (unit-norm vector entry)")},
                    {"tooltip", json::array({quantitative("unit", "unit"), quantitative("value", "loading")})}}}}},
                {"resolve", {{"scale", {{"y", "independent"}}}}}};
  return chart;
}

Chart prediction_chart(const std::string& fit, const json& rows, const std::string& activity_unit) {
  Chart chart;
  chart.title = "Predicted against recorded activity — " + fit;
  chart.caption =
      "For the neurons with the most variance and, per condition, the first and last trial of the "
      "session: recorded activity (dashed) and the fitted model's output (solid).";
  std::set<std::string> conditions;
  for (const json& row : rows) conditions.insert(row.at("condition").get<std::string>());
  const int width = conditions.size() > 4 ? 120 : 170;
  chart.spec = {{"data", {{"values", rows}}},
                {"facet",
                 {{"row", with_sort(nominal("neuron", ""), appearance_order(rows, "neuron"))},
                  {"column", with_sort(nominal("condition", ""), appearance_order(rows, "condition"))}}},
                {"transform", json::array({{{"fold", {"recorded", "predicted"}}, {"as", {"source", "value"}}}})},
                {"spec",
                 {{"width", width},
                  {"height", 90},
                  {"mark", {{"type", "line"}, {"strokeWidth", 1.3}}},
                  {"encoding",
                   {{"x", quantitative("time", "time from go cue (s)")},
                    {"y", with_scale(quantitative("value", "activity (" + activity_unit + ")"), {{"zero", false}})},
                    {"color", nominal("when", "trial")},
                    {"strokeDash", with_scale(nominal("source", "activity"),
                                              {{"domain", {"predicted", "recorded"}}, {"range", {{1, 0}, {4, 3}}}})},
                    {"detail", nominal("trial", "trial")}}}}},
                {"resolve", {{"scale", {{"y", "independent"}}}}}};
  return chart;
}

Chart trajectory_chart(const std::string& fit, const json& rows, const std::string& basis, bool two_d) {
  Chart chart;
  chart.title = "Hidden trajectories — " + fit;
  chart.caption =
      "One trial per condition from the middle of each epoch, hidden state x(t) projected onto " + basis +
      (two_d ? "; the dot marks the first bin. Changes between epochs show how learning reshaped the dynamics."
             : ", against time. Changes between epochs show how learning reshaped the dynamics.");
  json line{{"mark", {{"type", "line"}, {"strokeWidth", 1.5}}},
            {"encoding",
             {{"color", with_sort(nominal("condition", "condition"), appearance_order(rows, "condition"))},
              {"detail", nominal("trial", "trial")}}}};
  if (two_d) {
    line["encoding"]["x"] =
        with_scale(quantitative("p1", "projection on direction 1 (hidden-state units)"), {{"zero", false}});
    line["encoding"]["y"] =
        with_scale(quantitative("p2", "projection on direction 2 (hidden-state units)"), {{"zero", false}});
    line["encoding"]["order"] = {{"field", "time"}, {"type", "quantitative"}};
  } else {
    line["encoding"]["x"] = quantitative("time", "time from go cue (s)");
    line["encoding"]["y"] =
        with_scale(quantitative("p1", "projection on direction 1 (hidden-state units)"), {{"zero", false}});
  }
  json start = line;
  start["mark"] = {{"type", "point"}, {"filled", true}, {"size", 30}};
  start["transform"] = json::array({{{"filter", {{"field", "first"}, {"equal", true}}}}});
  chart.spec = {
      {"data", {{"values", rows}}},
      {"facet",
       {{"column",
         {{"field", "epoch"}, {"type", "nominal"}, {"title", "epoch"}, {"sort", appearance_order(rows, "epoch")}}}}},
      {"spec", {{"width", 220}, {"height", 200}, {"layer", two_d ? json::array({line, start}) : json::array({line})}}}};
  return chart;
}

Chart eigenvalue_chart(const std::string& fit, const json& rows) {
  Chart chart;
  chart.title = "Eigenvalues of W(k) — " + fit;
  chart.caption =
      "Eigenvalues of the recurrent weights on the first and last trial of each epoch, in the complex "
      "plane; the dashed line Re λ = 1 is where the linearised dynamics at rest become unstable.";
  json points{{"mark", {{"type", "point"}, {"filled", true}, {"size", 40}, {"opacity", 0.75}}},
              {"encoding",
               {{"x", quantitative("re", "Re λ (dimensionless)")},
                {"y", quantitative("im", "Im λ (dimensionless)")},
                {"color", with_scale(nominal("when", "trial"), {{"domain", {"first trial", "last trial"}}})},
                {"shape", with_scale(nominal("when", "trial"), {{"domain", {"first trial", "last trial"}}})},
                {"tooltip", json::array({quantitative("trial", "trial"), quantitative("re", "Re λ"),
                                         quantitative("im", "Im λ")})}}}};
  json unit_line{{"mark", {{"type", "rule"}, {"strokeDash", {5, 4}}, {"color", "#999"}}},
                 {"encoding", {{"x", {{"datum", 1}, {"type", "quantitative"}}}}}};
  chart.spec = {
      {"data", {{"values", rows}}},
      {"facet",
       {{"column",
         {{"field", "epoch"}, {"type", "nominal"}, {"title", "epoch"}, {"sort", appearance_order(rows, "epoch")}}}}},
      {"spec", {{"width", 220}, {"height", 220}, {"layer", {unit_line, points}}}}};
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
