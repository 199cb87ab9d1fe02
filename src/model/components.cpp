// The rank ladder's starts: parameters sliced or extended along their component axis.
#include "model/components.h"

#include <algorithm>
#include <map>
#include <set>

#include "model/family.h"
#include "util/errors.h"

namespace ltrnn {

namespace {

// The one axis along which two shapes differ, or -1 when they do not or differ elsewhere too.
int64_t component_axis(torch::IntArrayRef target, torch::IntArrayRef source) {
  if (target.size() != source.size()) return -1;
  int64_t axis = -1;
  for (std::size_t i = 0; i < target.size(); ++i) {
    if (target[i] == source[i]) continue;
    if (axis >= 0) return -1;
    axis = static_cast<int64_t>(i);
  }
  return axis;
}

// The indices of the `count` strongest components, in their original order.
torch::Tensor strongest(const torch::Tensor& strengths, int64_t count) {
  const torch::Tensor order = std::get<1>(strengths.sort(/*dim=*/0, /*descending=*/true));
  return std::get<0>(order.narrow(0, 0, count).sort());
}

std::string shape_text(torch::IntArrayRef shape) {
  std::string text = "[";
  for (std::size_t i = 0; i < shape.size(); ++i) text += (i ? ", " : "") + std::to_string(shape[i]);
  return text + "]";
}

}  // namespace

int64_t component_count(const RnnModel& source) {
  const std::optional<torch::Tensor> strengths = source->weights_->component_strengths();
  require(strengths.has_value(), "the rank ladder",
          "the " + to_string(source->config().kind) + " weights give no components");
  return strengths->size(0);
}

void start_from_neighbouring_rank(RnnModel& target, const RnnModel& source, const std::vector<int64_t>& kept_list) {
  const ModelConfig& config = target->config();
  require(config.kind == source->config().kind && has_components(config.kind), "the rank ladder",
          "needs two models of one family whose weights have components, got " + to_string(source->config().kind) +
              " and " + to_string(config.kind));
  const std::optional<torch::Tensor> strengths = source->weights_->component_strengths();
  require(strengths.has_value(), "the rank ladder", "the " + to_string(config.kind) + " weights give no components");
  const int64_t from = strengths->size(0), to = config.rank;
  std::set<std::string> drawn;
  for (const std::string& name : target->weights_->drawn_directions()) drawn.insert("weights." + name);

  torch::NoGradGuard no_grad;
  std::map<std::string, torch::Tensor> source_parameters;
  for (const auto& item : source->named_parameters()) source_parameters[item.key()] = item.value();
  torch::Tensor kept;
  if (to < from) {
    kept = kept_list.empty() ? strongest(strengths->cpu(), to) : torch::tensor(kept_list, torch::kInt64);
    require(kept.size(0) == to, "the rank ladder",
            "keeps " + std::to_string(kept.size(0)) + " of the source's components for a rank-" + std::to_string(to) +
                " model");
  }
  for (auto& item : target->named_parameters()) {
    const std::string& name = item.key();
    torch::Tensor destination = item.value();
    const auto found = source_parameters.find(name);
    require(found != source_parameters.end(), "the rank ladder", "the source model has no parameter '" + name + "'");
    const torch::Tensor from_values = found->second.to(destination.options());
    if (from_values.sizes() == destination.sizes()) {
      destination.copy_(from_values);
      continue;
    }
    const int64_t axis = component_axis(destination.sizes(), from_values.sizes());
    require(axis >= 0 && destination.size(axis) == to && from_values.size(axis) == from, "the rank ladder",
            "parameter '" + name + "' is " + shape_text(from_values.sizes()) + " in the rank-" + std::to_string(from) +
                " model and " + shape_text(destination.sizes()) + " in the rank-" + std::to_string(to) +
                " model: not one component axis");
    if (to < from) {
      destination.copy_(from_values.index_select(axis, kept.to(destination.device())));
      continue;
    }
    destination.narrow(axis, 0, from).copy_(from_values);
    if (!drawn.count(name)) destination.narrow(axis, from, to - from).zero_();
  }
}

}  // namespace ltrnn
