// Vega-Lite encoding pieces the report's charts share (report/charts.cpp,
// report/fit_charts.cpp): typed fields, scales, the fixed family colours, the epoch shading
// behind charts over trials.
#pragma once
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "report/charts.h"

namespace ltrnn::vega {
using nlohmann::json;

inline constexpr const char* kTrialAxis = "trial (position in the session)";

json quantitative(const std::string& field, const std::string& title);
json nominal(const std::string& field, const std::string& title);
json with_scale(json channel, json scale);
json with_sort(json channel, json order);
// A log scale when every value is positive, else a linear one not forced to include zero.
json log_scale_if_positive(bool positive);
// Model families in fixed colours (`families` is the domain, the same in every chart).
json family_colour(const std::vector<std::string>& families);
// Rows' `field` values, all finite and > 0 (a log axis is possible).
bool all_positive(const json& rows, const std::string& field);
// Shading and labels of the epochs behind a chart over trials (x = session position).
std::vector<json> epoch_layers(const std::vector<EpochSpan>& spans, const std::string& x_title);
// A chart over the session: the epochs shaded behind the given data layers.
json session_layers(const std::vector<EpochSpan>& spans, std::vector<json> data_layers);
// The distinct values of `field` in the order the rows bring them (session order for
// epochs, condition order for conditions): facets and legends keep it, not the alphabet.
json appearance_order(const json& rows, const std::string& field);
// A rank axis: integer ticks, not starting at zero.
json rank_x(const std::string& title);
// The trial axis spans exactly the session (the epoch shading starts at -0.5).
json trial_x(const std::string& field);

}  // namespace ltrnn::vega
