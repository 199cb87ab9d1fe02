// report.html: one self-contained page per experiment output directory (docs/design.md section 7),
// built from what `ltrnn run` saved -- experiment.json, results.json, the dataset, each
// selected run's log.csv and checkpoint, analysis/cp.json. Nothing is refitted.
#pragma once
#include <filesystem>
#include <string>

#include "report/html.h"

namespace ltrnn {

// The page of an output directory. Throws InputError when out_dir lacks experiment.json or
// results.json (not an ltrnn output directory) or they are unreadable. Parts whose inputs
// are missing (a moved data file, a run without a checkpoint) are left out with a note.
ReportPage build_report(const std::filesystem::path& out_dir);

// Writes build_report(out_dir) to html_path (default out_dir/report.html), atomically;
// returns the path written.
std::filesystem::path write_report(const std::filesystem::path& out_dir, std::filesystem::path html_path = {});

}  // namespace ltrnn
