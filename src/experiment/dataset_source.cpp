// The dataset an experiment names: a file, or one of the generators.
#include "experiment/dataset_source.h"

#include "sim/reach.h"
#include "sim/teacher.h"

namespace ltrnn {
namespace fs = std::filesystem;
using nlohmann::json;

// The dataset of the experiment: loaded, or generated (and saved, so it can be opened);
// what a generator reports about itself goes to `out` and into `notes`.
Dataset experiment_dataset(const Experiment& e, const fs::path& out_dir, std::ostream& out, json& notes, bool save) {
  if (const auto* file = std::get_if<DatasetFile>(&e.dataset)) return load_dataset(file->path, e.preprocess.nan);
  if (const auto* nwb = std::get_if<NwbImportOptions>(&e.dataset)) {
    out << "importing " << nwb->file.string() << "...\n" << std::flush;
    const NwbImport imported = import_nwb(*nwb);
    if (save) write_npz(out_dir / "dataset.npz", nwb_arrays(imported));
    out << format_import_summary(imported);
    notes["import"] = {{"units_total", imported.units_total},     {"units_kept", imported.counts.size(2)},
                       {"trials_total", imported.trials_total},   {"trials_kept", imported.counts.size(1)},
                       {"spikes_binned", imported.spikes_binned}, {"bins_missing", imported.bins_missing}};
    return nwb_dataset(imported);
  }
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
