// The report's Vega-Lite charts of one fit (see charts.h): its training curve, trial factors,
// weight changes, loadings, predictions, latent trajectories and eigenvalues. Conventions as
// in report/charts.cpp.
#include <algorithm>
#include <cmath>
#include <map>
#include <set>

#include "report/chart_encoding.h"
#include "report/charts.h"

namespace ltrnn {
using namespace vega;

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

}  // namespace ltrnn
