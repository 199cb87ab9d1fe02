// Small models and datasets shared by the model and training tests.
#pragma once
#include <torch/torch.h>

#include <vector>

#include "data/dataset.h"
#include "model/ltrnn_model.h"

namespace ltrnn::testing {

// A tiny dataset skeleton: T bins (the first 3 preparatory), K trials, D neurons,
// 2 conditions, 2 epochs, random activity.
inline Dataset tiny_dataset(int64_t T = 6, int64_t K = 5, int64_t D = 3) {
  Dataset ds;
  ds.data = torch::randn({T, K, D}, torch::kFloat64);
  ds.condition = torch::arange(K, torch::kInt64).remainder(2);
  ds.condition_labels = {0, 1};
  ds.epoch = (torch::arange(K, torch::kInt64) >= K / 2).to(torch::kInt64);
  ds.epoch_labels = {"BL", "AD"};
  ds.trial_id = torch::arange(K, torch::kInt64) * 2;
  ds.times = (torch::arange(T, torch::kFloat64) - 3.0) * 0.05;
  return ds;
}

// Every model family of model/family_list.h: parameterised tests run on each, so a new
// family is tested the day it is added.
inline std::vector<ModelKind> all_model_kinds() {
  std::vector<ModelKind> kinds;
  for (const auto& [kind, name] : EnumNames<ModelKind>::table()) kinds.push_back(kind);
  return kinds;
}

inline ModelConfig tiny_config(int64_t rank = 2, int64_t hidden = 4) {
  ModelConfig c;
  c.rank = rank;
  c.hidden = hidden;
  c.gp_length = 3.0;
  return c;
}

// Gives every parameter (including the zero-initialised inputs) a random non-trivial value.
inline void randomise_parameters(RnnModel& model) {
  torch::NoGradGuard no_grad;
  for (auto& item : model->named_parameters()) {
    torch::Tensor p = item.value();
    if (item.key() == "log_tau")  // a time constant within about 30% of the configured one
      p.add_(0.3 * torch::randn_like(p));
    else
      p.copy_(0.5 * torch::randn_like(p) + (p.dim() == 0 ? 1.0 : 0.0));
  }
}

}  // namespace ltrnn::testing
