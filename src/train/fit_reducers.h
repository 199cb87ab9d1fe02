// The fit loop's view of one process or a distributed group (docs/design.md section 9):
// which trials this process simulates, and how its gradients and terms are summed. Used by
// train/fit.cpp alone.
#pragma once
#include <torch/torch.h>

#include <vector>

#include "model/ltrnn_model.h"
#include "train/distributed.h"
#include "train/loss.h"
#include "util/interrupt.h"

namespace ltrnn::fit_detail {

// The trials this process simulates, and the parts of the target that are theirs: all
// trials, or one share of a distributed fit (counts and variances stay the whole data's,
// so the shares' terms add up to the whole objective).
struct TrialShare {
  int64_t begin = 0, count = 0, total = 0;
  FitTarget target;
  bool split = false;  // a share of a distributed fit
};

inline TrialShare share_of(const FitTarget& target, const TrialGroup* group) {
  const int64_t K = target.data.size(1);
  TrialShare share{0, K, K, target, false};
  if (!group) return share;
  const auto [begin, end] = trial_share(K, group->rank(), group->size());
  share.begin = begin;
  share.count = end - begin;
  share.split = true;
  FitTarget& t = share.target;
  for (torch::Tensor* trials_axis_1 :
       {&t.data, &t.train, &t.validation, &t.test, &t.train_weight, &t.validation_weight, &t.test_weight})
    *trials_axis_1 = trials_axis_1->narrow(1, begin, share.count).contiguous();
  t.train_count_per_trial = t.train_count_per_trial.narrow(0, begin, share.count);
  return share;
}

// The terms an iteration's record needs, as sums over this process's trials (a share's
// parts add up to the whole data's sums), and whether a process was interrupted.
struct IterationTerms {
  double loss = 0, train = 0, test = 0, validation = 0;
  bool interrupted = false;  // a process received SIGINT/SIGTERM
};

// What a fit shares between processes (docs/design.md section 9). In one process nothing:
// the gradients and terms are already the whole data's. In a distributed fit, one sum per
// iteration over the group of every trainable parameter's gradient (each process's share of
// it) and of the terms, so that every process takes the same step.
class Reducer {
 public:
  virtual ~Reducer() = default;
  // The whole data's gradients (in place) and terms.
  virtual IterationTerms sum(const std::vector<torch::Tensor>& parameters, const IterationTerms& local,
                             int64_t iteration) = 0;
  // Whether the fit stops for an interrupt after this iteration (a group: where the processes
  // agreed, the flag in the last sum; alone: a signal received up to now).
  virtual bool interrupted(const IterationTerms& summed) const = 0;
  // Checks that every process starts from the same state.
  virtual void agree_on_start(RnnModel& model, const FitTarget& target, std::size_t iterations_done) = 0;
  // The trials this process simulates.
  virtual TrialShare share(const FitTarget& target) const = 0;
  // Terms shared by every process (the input penalty) are counted by one of them.
  virtual bool counts_shared_terms() const = 0;
};

class SingleProcess final : public Reducer {
 public:
  IterationTerms sum(const std::vector<torch::Tensor>&, const IterationTerms& local, int64_t) override { return local; }
  bool interrupted(const IterationTerms&) const override { return interrupt_signal() != 0; }
  void agree_on_start(RnnModel&, const FitTarget&, std::size_t) override {}
  TrialShare share(const FitTarget& target) const override { return share_of(target, nullptr); }
  bool counts_shared_terms() const override { return true; }
};

class GroupReducer final : public Reducer {
 public:
  explicit GroupReducer(TrialGroup& group) : group_(group) {}

  IterationTerms sum(const std::vector<torch::Tensor>& parameters, const IterationTerms& local,
                     int64_t iteration) override {
    std::vector<torch::Tensor> parts;
    for (const auto& p : parameters)
      parts.push_back(p.grad().defined() ? p.grad().reshape(-1) : torch::zeros({p.numel()}, p.options()));
    const auto dtype = parameters.front().scalar_type();
    parts.push_back(
        torch::tensor({local.loss, local.train, local.test, local.validation, local.interrupted ? 1.0 : 0.0},
                      torch::dtype(torch::kFloat64))
            .to(dtype));
    torch::Tensor buffer = torch::cat(parts);
    group_.sum(buffer, "the sum of the gradients of iteration " + std::to_string(iteration));
    int64_t offset = 0;
    for (const auto& p : parameters) {
      const torch::Tensor summed = buffer.narrow(0, offset, p.numel()).view(p.sizes());
      if (p.grad().defined())
        p.mutable_grad().copy_(summed);
      else
        p.mutable_grad() = summed.clone();
      offset += p.numel();
    }
    const torch::Tensor terms = buffer.narrow(0, offset, 5).to(torch::kFloat64);
    const auto* t = terms.data_ptr<double>();
    return {t[0], t[1], t[2], t[3], t[4] > 0};
  }
  bool interrupted(const IterationTerms& summed) const override { return summed.interrupted; }
  // The same iteration (a resume reads the checkpoint rank 0 writes, so every process must
  // see it), parameters and data.
  void agree_on_start(RnnModel& model, const FitTarget& target, std::size_t iterations_done) override {
    torch::NoGradGuard no_grad;
    double parameter_sum = 0;
    for (const auto& p : model->parameters()) parameter_sum += p.to(torch::kFloat64).sum().item<double>();
    group_.require_agreement(
        {static_cast<double>(iterations_done), parameter_sum, target.data.to(torch::kFloat64).sum().item<double>(),
         target.train_count, target.validation_count, target.test_count},
        "the state a distributed fit starts from (iterations done, parameter sum, data sum, "
        "training/validation/test entries); every process must read the same data and, "
        "with --resume, rank 0's checkpoint");
  }
  TrialShare share(const FitTarget& target) const override { return share_of(target, &group_); }
  bool counts_shared_terms() const override { return group_.rank() == 0; }

 private:
  TrialGroup& group_;
};

}  // namespace ltrnn::fit_detail
