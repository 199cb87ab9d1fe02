// A refit: the fitted latent network frozen, the new trials' own parameters fitted.
#include "model/refit.h"

#include <map>
#include <set>

#include "model/trial_prior.h"
#include "util/errors.h"

namespace ltrnn {

namespace {

constexpr const char* kWhere = "refit";

bool is_readout(const std::string& name) {
  return name == "readout" || name == "readout_bias" || name == "readout_scale";
}

// The per-trial modules of the weights (trial factors of every family that has them), by
// their parameter-name prefix ("weights.trial_factors.").
std::map<std::string, TrialValuesImpl*> trial_value_modules(const RnnModel& model) {
  std::map<std::string, TrialValuesImpl*> found;
  for (const auto& item : model->weights_->named_modules("weights"))
    if (auto* values = dynamic_cast<TrialValuesImpl*>(item.value().get())) found[item.key() + "."] = values;
  return found;
}

std::string per_trial_prefix(const std::map<std::string, TrialValuesImpl*>& modules, const std::string& name) {
  for (const auto& [prefix, module] : modules)
    if (name.rfind(prefix, 0) == 0) return prefix;
  return "";
}

// Every new trial starts at the fitted trials' mean value: the GP prior's mean (its latent
// keeps the small draw it was built with), or each free per-trial value.
void start_at_mean(TrialValuesImpl& values, const torch::Tensor& fitted_mean) {
  torch::NoGradGuard no_grad;
  if (values.mean.defined()) {
    values.mean.copy_(fitted_mean.to(values.mean.options()));
  } else {
    const torch::Tensor drawn = values.free - values.free.mean(0, /*keepdim=*/true);
    values.free.copy_(drawn + fitted_mean.to(values.free.options()).unsqueeze(0));
  }
}

}  // namespace

std::vector<std::string> start_refit(RnnModel& target, const RnnModel& fitted, const std::optional<ReadoutRows>& rows) {
  require(
      target->config().kind == fitted->config().kind, kWhere,
      "the new model is " + to_string(target->config().kind) + ", the fitted one " + to_string(fitted->config().kind));
  std::map<std::string, TrialValuesImpl*> new_trials = trial_value_modules(target);
  std::map<std::string, TrialValuesImpl*> fitted_trials = trial_value_modules(fitted);
  require(!new_trials.empty(), kWhere,
          "the " + to_string(target->config().kind) +
              " family has no per-trial parameters (trial factors) to fit to new trials");

  torch::NoGradGuard no_grad;
  std::map<std::string, torch::Tensor> fitted_parameters;
  for (const auto& item : fitted->named_parameters()) fitted_parameters[item.key()] = item.value();
  std::vector<std::string> fitted_names;
  std::set<std::string> started;
  for (auto& item : target->named_parameters()) {
    const std::string& name = item.key();
    torch::Tensor destination = item.value();
    const bool trainable = destination.requires_grad();
    const std::string prefix = per_trial_prefix(new_trials, name);
    if (!prefix.empty()) {
      if (started.insert(prefix).second) {
        const auto source = fitted_trials.find(prefix);
        require(source != fitted_trials.end(), kWhere, "the fitted model has no per-trial module '" + prefix + "'");
        start_at_mean(*new_trials.at(prefix), source->second->values().mean(0));
      }
      if (trainable) fitted_names.push_back(name);
      continue;
    }
    const auto found = fitted_parameters.find(name);
    require(found != fitted_parameters.end(), kWhere, "the fitted model has no parameter '" + name + "'");
    torch::Tensor from = found->second.to(destination.options());
    if (is_readout(name) && !rows) {
      if (trainable) fitted_names.push_back(name);
      continue;
    }
    if (rows && (name == "readout" || name == "readout_bias")) from = from.narrow(0, rows->first, rows->count);
    require(from.sizes() == destination.sizes(), kWhere,
            "parameter '" + name + "' has another shape in the fitted model than the new trials need");
    destination.copy_(from);
    destination.requires_grad_(false);
  }
  return fitted_names;
}

}  // namespace ltrnn
