// Vega-Lite encoding pieces the report's charts share (see chart_encoding.h).
#include "report/chart_encoding.h"

#include <algorithm>
#include <set>

namespace ltrnn::vega {

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

}  // namespace ltrnn::vega
