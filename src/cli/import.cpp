// `ltrnn import nwb`: sorted spikes of an NWB file binned into a dataset .npz.
#include <iostream>
#include <sstream>

#include "cli/commands.h"
#include "cli/options.h"
#include "data/nwb.h"

namespace ltrnn {
namespace fs = std::filesystem;

namespace {

// "KEY=VALUE" -> (KEY, VALUE); InputError naming the option otherwise.
std::pair<std::string, std::string> key_value(const std::string& text, const std::string& option) {
  const auto eq = text.find('=');
  if (eq == std::string::npos || eq == 0) throw InputError(option + " " + text + ": expected COLUMN=VALUE");
  return {text.substr(0, eq), text.substr(eq + 1)};
}

// "BL=0,AD=812.5,WO=1630": epoch names with the session time each starts at.
std::vector<std::pair<std::string, double>> epoch_boundaries(const std::string& text) {
  std::vector<std::pair<std::string, double>> epochs;
  std::stringstream items(text);
  for (std::string item; std::getline(items, item, ',');) {
    const auto [name, from] = key_value(item, "--epochs");
    try {
      std::size_t used = 0;
      epochs.emplace_back(name, std::stod(from, &used));
      if (used != from.size()) throw std::invalid_argument(from);
    } catch (const std::exception&) {
      throw InputError("--epochs " + item + ": expected NAME=SECONDS");
    }
  }
  return epochs;
}

// "-0.5,1.0" -> (start, stop).
std::pair<double, double> window_of(const std::string& text) {
  const auto comma = text.find(',');
  try {
    if (comma == std::string::npos) throw std::invalid_argument(text);
    return {std::stod(text.substr(0, comma)), std::stod(text.substr(comma + 1))};
  } catch (const std::exception&) {
    throw InputError("--window " + text + ": expected START,STOP in seconds relative to the event, e.g. -0.5,1.0");
  }
}

}  // namespace

int import_nwb_command(int argc, const char* const* argv) {
  cxxopts::Options options("ltrnn import nwb",
                           "Bins the sorted spikes of an NWB 2.x file (units table) around a trial event (trials\n"
                           "table) into a dataset .npz: int32 counts, condition, epoch, trial_id, times, missing,\n"
                           "unit_ids, condition_values.");
  options.add_options()("file", "the .nwb file", cxxopts::value<std::string>())(
      "align", "trials column with each trial's event time (s), e.g. go_cue_time", cxxopts::value<std::string>())(
      "window", "START,STOP in seconds relative to the event",
      cxxopts::value<std::string>()->default_value("-0.5,1.0"))("bin", "bin width in seconds (must divide the window)",
                                                                cxxopts::value<double>()->default_value("0.02"))(
      "condition", "trials column of the task condition (numbers or strings)", cxxopts::value<std::string>())(
      "epoch", "trials column of the learning epoch", cxxopts::value<std::string>())(
      "epochs", "epoch boundaries in session time, NAME=SECONDS,... (e.g. BL=0,AD=812.5,WO=1630)",
      cxxopts::value<std::string>())("where", "keep trials whose COLUMN equals VALUE (repeatable)",
                                     cxxopts::value<std::vector<std::string>>())(
      "units-where", "keep units whose COLUMN equals VALUE (repeatable)", cxxopts::value<std::vector<std::string>>())(
      "min-spikes", "drop units with fewer spikes in the kept windows", cxxopts::value<int64_t>()->default_value("0"))(
      "out", "output .npz file", cxxopts::value<std::string>());
  options.parse_positional({"file"});
  cxxopts::ParseResult r;
  if (!parse_options(options, argc, argv, r)) return kExitOk;
  NwbImportOptions o;
  o.file = required_string(r, "file");
  const fs::path out = required_string(r, "out");
  o.align = required_string(r, "align");
  std::tie(o.window_start, o.window_stop) = window_of(r["window"].as<std::string>());
  o.bin_width = r["bin"].as<double>();
  if (r.count("condition")) o.condition = r["condition"].as<std::string>();
  if (r.count("epoch")) o.epoch = r["epoch"].as<std::string>();
  if (r.count("epochs")) o.epochs = epoch_boundaries(r["epochs"].as<std::string>());
  if (r.count("where"))
    for (const std::string& w : r["where"].as<std::vector<std::string>>())
      o.trials_where.insert(key_value(w, "--where"));
  if (r.count("units-where"))
    for (const std::string& w : r["units-where"].as<std::vector<std::string>>())
      o.units_where.insert(key_value(w, "--units-where"));
  o.min_spikes = r["min-spikes"].as<int64_t>();
  const NwbImport imported = import_nwb(o);
  // Spike counts are mostly small integers: the fastest deflate level costs little in size.
  write_npz(out, nwb_arrays(imported), /*compressed=*/true, /*level=*/1);
  std::cout << format_import_summary(imported) << "wrote " << out.string() << ": " << imported.counts.size(0) << " x "
            << imported.counts.size(1) << " x " << imported.counts.size(2) << " (time x trial x neuron)\n";
  return kExitOk;
}

}  // namespace ltrnn
