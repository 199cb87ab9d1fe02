// The shared data: dataset, preprocessing and masks, once per process, written once.
#include "experiment/shared_data.h"

#include <torch/torch.h>

#include <map>
#include <string>

#include "data/preprocess.h"
#include "data/sessions.h"
#include "experiment/dataset_source.h"
#include "experiment/output_directory.h"
#include "io/npy.h"
#include "util/directory_lock.h"
#include "util/errors.h"
#include "util/files.h"

namespace ltrnn {
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

// A process that did not write dataset.npz checks that it generated the same data.
void check_same_data(const fs::path& saved, const Dataset& raw) {
  const std::map<std::string, NpyArray> arrays = read_npz(saved);
  const auto it = arrays.find("data");
  if (it == arrays.end() || !torch::equal(from_npy(it->second).to(torch::kFloat64), raw.data.to(torch::kFloat64)))
    throw InputError(saved.string() +
                     ": the data this shard generated differ from those the first shard wrote (a generator whose "
                     "numbers depend on the machine's kernels or the thread count); run every shard with the same "
                     "--threads on the same kind of machine, or give the experiment that dataset.npz as its file");
}

// A shard that did not create the shared files checks that its own masks are the ones the
// other shards fit with (the dataset and masks are deterministic given their seeds).
void check_shared_masks(const fs::path& out_dir, const Masks& masks) {
  const fs::path path = out_dir / "masks.npz";
  const std::map<std::string, NpyArray> saved = read_npz(path);
  for (const auto& [key, mask] : {std::pair<std::string, torch::Tensor>{"train", masks.train},
                                  {"validation", masks.validation},
                                  {"test", masks.test}}) {
    const auto it = saved.find(key);
    if (it == saved.end() || !torch::equal(from_npy(it->second), mask))
      throw InputError(path.string() + ": the \"" + key +
                       "\" mask differs from the one this shard computes from the experiment; "
                       "the dataset or mask settings changed, use another --out");
  }
}

void print_sizes(const Dataset& dataset, const Masks& masks, std::ostream& out) {
  out << "data: " << dataset.n_bins() << " bins x " << dataset.n_trials() << " trials x " << dataset.n_neurons()
      << " neurons; " << masks.test.sum().item<int64_t>() << " test entries, " << masks.validation.sum().item<int64_t>()
      << " validation entries, " << masks.train.sum().item<int64_t>() << " training entries";
  if (dataset.missing.defined())
    out << "; " << dataset.missing.sum().item<int64_t>() << " missing entries (in neither)";
  out << std::endl;
}

// A shard may start only runs it has not started before, unless it resumes them.
void check_runs_not_started(const RunnerOptions& options, const std::vector<PlannedRun>& plan,
                            const std::vector<std::size_t>& mine) {
  if (options.resume) return;
  for (const std::size_t i : mine)
    if (fs::exists(options.out_dir / "runs" / plan[i].id))
      throw InputError((options.out_dir / "runs" / plan[i].id).string() + " already exists (shard " +
                       options.shard->text() + " ran before); pass --resume to continue it, or use another --out");
}

}  // namespace

SharedData prepare_data(const Experiment& e, const fs::path& out_dir, bool save, bool compare_with_saved,
                        std::ostream& out) {
  SharedData shared;
  const Dataset raw = experiment_dataset(e, out_dir, out, shared.notes, save);
  if (compare_with_saved && !dataset_file(e)) check_same_data(out_dir / "dataset.npz", raw);
  // Sessions come preprocessed one by one (experiment/dataset_source.cpp).
  shared.dataset = std::holds_alternative<DatasetSessions>(e.dataset) ? raw : preprocess(raw, e.preprocess);
  for (const auto& note : shared.dataset.notes) out << "note: " << note << "\n";
  const Dataset& dataset = shared.dataset;
  shared.masks = without_unscored_bins(make_dataset_masks(dataset, e.mask), dataset.times, e.mask);
  print_sizes(dataset, shared.masks, out);
  return shared;
}

void write_shared_files(const Experiment& e, const fs::path& out_dir, const SharedData& shared) {
  const Masks& masks = shared.masks;
  write_npz(out_dir / "masks.npz",
            {{"train", to_npy(masks.train)}, {"validation", to_npy(masks.validation)}, {"test", to_npy(masks.test)}});
  write_file_atomic(out_dir / "dataset_notes.json", shared.notes.dump(2) + "\n");
  write_resolved_experiment(out_dir, e);
}

SharedData prepare_shard_data(const Experiment& e, const json& resolved, const RunnerOptions& options,
                              const std::vector<PlannedRun>& plan, const std::vector<std::size_t>& mine,
                              std::ostream& out) {
  {
    const DirectoryLock setup(options.out_dir, LockMode::Exclusive, ".setup.lock", LockWait::Wait);
    if (!fs::exists(options.out_dir / "experiment.json")) {
      out << "shard " << options.shard->text() << ": writing the experiment's shared files\n";
      SharedData shared = prepare_data(e, options.out_dir, true, false, out);
      write_shared_files(e, options.out_dir, shared);
      return shared;
    }
    check_output_directory(e, resolved, options.out_dir, true);
  }
  check_runs_not_started(options, plan, mine);
  for (const std::size_t i : mine) remove_temporary_files(options.out_dir / "runs" / plan[i].id);
  SharedData shared = prepare_data(e, options.out_dir, false, true, out);
  check_shared_masks(options.out_dir, shared.masks);
  shared.notes = json::parse(read_file(options.out_dir / "dataset_notes.json"));
  return shared;
}

}  // namespace ltrnn
