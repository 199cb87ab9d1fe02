// The local and shard modes of `ltrnn run`.
#include "experiment/run_modes.h"

#include <algorithm>
#include <iomanip>

#include "experiment/collect.h"
#include "experiment/shards.h"
#include "run/results.h"
#include "util/errors.h"

namespace ltrnn {
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

// The whole plan by this one process.
class LocalMode final : public RunMode {
 public:
  using RunMode::RunMode;

  std::vector<std::size_t> runs() const override {
    std::vector<std::size_t> all(context_.plan.size());
    for (std::size_t i = 0; i < all.size(); ++i) all[i] = i;
    return all;
  }
  void open_directory(DirectoryLocks& locks, std::ostream& out) override {
    open_output_directory(context_.options, locks, out);
    check_output_directory(context_.experiment, context_.resolved, context_.options.out_dir, context_.options.resume);
  }
  void describe(std::ostream&) const override {}
  SharedData prepare_data(std::ostream& out) override {
    return ltrnn::prepare_data(context_.experiment, context_.options.out_dir, true, false, out);
  }
  void begin(const SharedData& shared) override {
    write_shared_files(context_.experiment, context_.options.out_dir, shared);
  }
  void claim_run(const fs::path&, std::optional<DirectoryLock>&) override {}
  void run_recorded(const std::vector<RunRecord>& records, std::ostream& out) override {
    try {
      write_results(context_.options.out_dir, context_.resolved, records);  // partial results survive a crash
    } catch (const std::exception& error) {
      out << "warning: could not write " << (context_.options.out_dir / "results.json").string() << ": "
          << one_line_message(error) << std::endl;
    }
  }
  void stopped(const std::string&) override {}
  void finish(const std::vector<RunRecord>& records, const SharedData& shared, double wall_seconds,
              std::ostream& out) override {
    json extra = shared.notes;
    extra["wall_seconds"] = wall_seconds;
    extra["more_starts"] = context_.more_starts;
    summarise_experiment(context_.experiment, context_.options.out_dir, context_.resolved, records, extra, out);
    out << "wall time " << std::fixed << std::setprecision(1) << wall_seconds << std::defaultfloat << " s\n";
  }
};

// One shard's runs, beside the other shards in the same directory.
class ShardMode final : public RunMode {
 public:
  explicit ShardMode(const ExperimentContext& context) : RunMode(context), shard_(*context.options.shard) {
    // The rank ladder's starts depend on every shard's fits: a single process runs them
    // (docs/design.md section 5); shards fit the seeds' runs, which precede them in the plan.
    for (const std::size_t i : runs_of_shard(context.plan.size(), shard_))
      if (!context.plan[i].laddered()) mine_.push_back(i);
    for (const std::size_t i : mine_) ids_.push_back(context.plan[i].id);
  }

  std::vector<std::size_t> runs() const override { return mine_; }
  void open_directory(DirectoryLocks& locks, std::ostream& out) override {
    // The experiment's own files are checked once they exist (prepare_shard_data).
    open_output_directory(context_.options, locks, out);
  }
  void describe(std::ostream& out) const override {
    out << "shard " << shard_.text() << ": " << mine_.size() << " of the " << context_.plan.size()
        << " runs (plan entries i with i mod " << shard_.count << " = " << shard_.index << ")\n";
  }
  SharedData prepare_data(std::ostream& out) override {
    return prepare_shard_data(context_.experiment, context_.resolved, context_.options, context_.plan, mine_, out);
  }
  void begin(const SharedData&) override {
    write_shard_record(context_.options.out_dir, shard_, ids_, ShardState::Running);
  }
  // Shards of different counts, or one array task resubmitted alone (its own shard 0/1),
  // never write the same run at once.
  void claim_run(const fs::path& run_dir, std::optional<DirectoryLock>& lock) override {
    fs::create_directories(run_dir);
    lock.emplace(run_dir);
  }
  void run_recorded(const std::vector<RunRecord>&, std::ostream&) override {}  // `ltrnn collect` writes results
  void stopped(const std::string& why) override {
    try {
      write_shard_record(context_.options.out_dir, shard_, ids_, ShardState::Stopped, why);
    } catch (const std::exception&) {
      // the shard's runs keep their checkpoints; the record is informative only
    }
  }
  void finish(const std::vector<RunRecord>& records, const SharedData&, double, std::ostream& out) override {
    write_shard_record(context_.options.out_dir, shard_, ids_, ShardState::Finished);
    const auto finished =
        std::count_if(records.begin(), records.end(), [](const RunRecord& r) { return r.finished(); });
    out << "shard " << shard_.text() << ": " << finished << " of its " << records.size()
        << " runs finished. Once every shard has finished: ltrnn collect " << context_.options.out_dir.string() << "\n";
  }

 private:
  Shard shard_;
  std::vector<std::size_t> mine_;
  std::vector<std::string> ids_;
};

}  // namespace

std::unique_ptr<RunMode> make_run_mode(const ExperimentContext& context) {
  if (context.options.shard) return std::make_unique<ShardMode>(context);
  return std::make_unique<LocalMode>(context);
}

}  // namespace ltrnn
