// The dataset an experiment names: a file, or one of the generators.
#include "experiment/dataset_source.h"

#include "data/preprocess.h"
#include "data/sessions.h"
#include "sim/reach.h"
#include "sim/teacher.h"
#include "util/files.h"

namespace ltrnn {
namespace fs = std::filesystem;
using nlohmann::json;

// The dataset of the experiment: loaded, or generated (and saved, so it can be opened);
// what a generator reports about itself goes to `out` and into `notes`.
namespace {

// An NWB recording, imported and summarised (and saved as `saved` unless empty).
// `condition_values`, when given, receives what each condition label stands for.
Dataset imported_dataset(const NwbImportOptions& nwb, const fs::path& saved, std::ostream& out, json& notes,
                         std::vector<std::string>* condition_values = nullptr) {
  out << "importing " << nwb.file.string() << "...\n" << std::flush;
  const NwbImport imported = import_nwb(nwb);
  if (!saved.empty()) write_npz(saved, nwb_arrays(imported));
  out << format_import_summary(imported);
  notes = {{"units_total", imported.units_total},     {"units_kept", imported.counts.size(2)},
           {"trials_total", imported.trials_total},   {"trials_kept", imported.counts.size(1)},
           {"spikes_binned", imported.spikes_binned}, {"bins_missing", imported.bins_missing}};
  if (condition_values) *condition_values = imported.condition_values;
  return nwb_dataset(imported);
}

// Several sessions (docs/design.md section 7, "Sessions"): each loaded and preprocessed alone
// (smoothing and z-scoring need every entry observed, and the merged dataset has the other
// sessions' neurons missing), then merged; the merged, preprocessed dataset is saved.
Dataset sessions_dataset(const Experiment& e, const DatasetSessions& spec, const fs::path& out_dir, std::ostream& out,
                         json& notes, bool save) {
  std::vector<Session> sessions;
  for (const SessionSource& source : spec.sessions) {
    Session session;
    if (const auto* file = std::get_if<DatasetFile>(&source)) {
      session.name = shortened_path(file->path);
      session.dataset = load_dataset(file->path, e.preprocess.nan);
      session.condition_values = condition_values_of(file->path, session.dataset);
    } else {
      const auto& nwb = std::get<NwbImportOptions>(source);
      session.name = shortened_path(nwb.file);
      session.dataset = imported_dataset(nwb, {}, out, notes["import"][session.name], &session.condition_values);
    }
    try {
      session.dataset = preprocess(session.dataset, e.preprocess);
    } catch (const InputError& error) {
      throw InputError(session.name + ": " + error.what());
    }
    sessions.push_back(std::move(session));
  }
  const MergedSessions merged = merge_sessions(sessions, spec.gap_trials);
  out << "sessions: " << merged.spans.size() << ", merged into " << merged.dataset.n_trials() << " trials x "
      << merged.dataset.n_neurons() << " neurons (each session's neurons its own)\n";
  if (save) write_npz(out_dir / "dataset.npz", dataset_arrays(merged.dataset));
  return merged.dataset;
}

}  // namespace

Dataset experiment_dataset(const Experiment& e, const fs::path& out_dir, std::ostream& out, json& notes, bool save) {
  if (const auto* file = std::get_if<DatasetFile>(&e.dataset)) return load_dataset(file->path, e.preprocess.nan);
  if (const auto* nwb = std::get_if<NwbImportOptions>(&e.dataset))
    return imported_dataset(*nwb, save ? out_dir / "dataset.npz" : fs::path(), out, notes["import"]);
  if (const auto* sessions = std::get_if<DatasetSessions>(&e.dataset))
    return sessions_dataset(e, *sessions, out_dir, out, notes, save);
  if (const auto* reach_config = std::get_if<ReachConfig>(&e.dataset)) {
    out << "simulating the reach task (pre-training, then the BL/AD/WO session)...\n" << std::flush;
    const ReachData reach =
        simulate_reach(*reach_config, [&](const std::string& line) { out << "  " << line << "\n"
                                                                         << std::flush; });
    if (save) write_npz(out_dir / "dataset.npz", reach_arrays(reach));
    out << "pre-training: RMS position error " << reach.pretrain_error << ", endpoint error "
        << reach.pretrain_endpoint_error << "\n"
        << format_learning_curve(reach.curve) << "\n";
    const LearningCurve& c = reach.curve;
    notes["reach"] = {{"pretrain_rms_error", reach.pretrain_error},
                      {"pretrain_endpoint_error", reach.pretrain_endpoint_error},
                      {"lateral_deviation",
                       {{"window", c.window},
                        {"baseline_late", c.baseline_late},
                        {"field_early", c.field_early},
                        {"field_late", c.field_late},
                        {"washout_early", c.washout_early},
                        {"washout_late", c.washout_late}}}};
    return reach.dataset;
  }
  const TeacherData teacher = simulate_teacher(std::get<TeacherConfig>(e.dataset));
  if (save) write_npz(out_dir / "dataset.npz", teacher_arrays(teacher));
  return teacher.dataset;
}

}  // namespace ltrnn
