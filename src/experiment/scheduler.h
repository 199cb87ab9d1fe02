// The runs of one process of `ltrnn run`, fitted (docs/design.md section 9): one job takes
// them in the order given, several jobs take them from a shared queue on threads; the runs
// marked distributed are fitted one at a time with every process of a group. Each run's
// record is reused on --resume, fitted, or a failure is recorded and the rest go on; an error
// that ends the experiment (an interrupt, a full disk, a failed distributed fit) stops every
// job and is rethrown with the command that resumes.
#pragma once
#include <condition_variable>
#include <cstddef>
#include <exception>
#include <mutex>
#include <optional>
#include <ostream>
#include <vector>

#include "experiment/run_modes.h"
#include "experiment/shared_data.h"
#include "run/record.h"
#include "train/distributed.h"

namespace ltrnn {

class RunScheduler {
 public:
  RunScheduler(const ExperimentContext& context, RunMode& mode, const SharedData& shared, std::ostream& out);

  // Rank 0 of --distributed: the entries of `runs` marked distributed, in that order, each
  // announced to the other processes and fitted with them.
  void fit_together(const std::vector<std::size_t>& runs, TrialGroup& group);
  // The entries `order` of the plan with options.jobs jobs (none when the experiment ended),
  // each taken once the runs it starts from (a rank-ladder start's sources) have records.
  void fit(const std::vector<std::size_t>& order);

  // After the runner appended runs to the plan (the more starts): room for their records.
  void plan_grew();

  // Rethrows the error that ended the experiment, if any, with the command that resumes.
  void rethrow_if_ended() const;
  // Every record so far, in plan order.
  std::vector<RunRecord> records() const;

 private:
  void fit_one(std::size_t i, TrialGroup* group);
  // The fitted run's record; a failure that ends the experiment is kept and nothing returned.
  std::optional<RunRecord> fitted_record(std::size_t i, TrialGroup* group);
  RunRecord failure_record(std::size_t i, const std::exception& error);
  // The run directory a ladder start begins from: the best finished fit among its sources
  // (plan.h ladder_sources) on the selection loss; InputError when none has finished.
  std::filesystem::path ladder_source(std::size_t i) const;
  void end_with(std::exception_ptr error);
  bool has_ended();
  void work_through(const std::vector<std::size_t>& order);
  // The position in `order` of the next run to fit: the first one not taken whose ladder
  // sources among `order` have records (waiting while other runs are in progress); none
  // when every entry is taken or the experiment has ended.
  std::optional<std::size_t> take_next(const std::vector<std::size_t>& order);
  bool ready(std::size_t i, const std::vector<std::size_t>& order) const;  // under mutex_

  const ExperimentContext& context_;
  RunMode& mode_;
  const SharedData& shared_;
  std::ostream& out_;
  std::vector<std::optional<RunRecord>> slots_;  // by plan entry
  mutable std::mutex mutex_;                     // guards slots_, out_, ended_ and the results files
  std::exception_ptr ended_;                     // the first error that ends the experiment
  std::vector<bool> taken_;                      // by position in fit()'s order (guarded by mutex_)
  int64_t running_ = 0;                          // runs in progress (guarded by mutex_)
  std::condition_variable run_done_;             // a run has finished
};

}  // namespace ltrnn
