// The panel's teachers: one row each, the defaults below changed where a row says so.
#include "recovery/panel.h"

#include <functional>
#include <set>

#include "util/errors.h"

namespace ltrnn {

namespace {

// The panel's common ground: 90 trials (30 per epoch) of 40 bins of 20 ms, 10 of them
// preparatory and driven by inputs, 30 hidden units, 30 neurons, 4 conditions, tau 5 bins,
// 5% noise, integrated finely (RK4, two substeps) with a readout offset.
TeacherConfig panel_default(int64_t rank) {
  TeacherConfig c;
  c.rank = rank;
  c.hidden = 30;
  c.neurons = 30;
  c.conditions = 4;
  c.trials_per_epoch = 30;
  c.bins = 40;
  c.preparatory_bins = 10;
  c.bin_width = 0.02;
  c.tau = 5 * c.bin_width;
  c.noise = 0.05;
  return c;
}

PanelTeacher row(int64_t rank, std::string name, std::string varies, bool in_class,
                 const std::function<void(TeacherConfig&)>& change) {
  PanelTeacher t{std::move(name), std::move(varies), in_class, panel_default(rank), rank + 2};
  change(t.teacher);
  return t;
}

void tau_bins(TeacherConfig& c, double bins) { c.tau = bins * c.bin_width; }
void trials(TeacherConfig& c, int64_t K) { c.trials_per_epoch = K / 3; }
void held(TeacherConfig& c, int64_t bins) {
  c.preparatory = PreparatoryActivity::Held;
  c.preparatory_bins = bins;
}

// Every teacher its own truth: seeds 100, 101, ... in panel order.
std::vector<PanelTeacher> with_own_seeds(std::vector<PanelTeacher> panel) {
  for (std::size_t i = 0; i < panel.size(); ++i) panel[i].teacher.seed = 100 + static_cast<int64_t>(i);
  return panel;
}

}  // namespace

std::vector<PanelTeacher> recovery_panel() {
  using C = TeacherConfig;
  return with_own_seeds({
      // Rank 1.
      row(1, "r1-base", "the common ground", true, [](C&) {}),
      row(1, "r1-fast-spikes", "spike counts, tau 2 bins, K 120, D 40, 2 conditions", true,
          [](C& c) {
            c.spikes = true;
            tau_bins(c, 2);
            trials(c, 120);
            c.neurons = 40;
            c.conditions = 2;
          }),
      row(1, "r1-slow-held", "tau 50 bins, 5 held preparatory bins, no readout offset", false,
          [](C& c) {
            tau_bins(c, 50);
            held(c, 5);
            c.readout_offset = false;
          }),
      row(1, "r1-large", "K 399, D 200, 8 conditions, 1% noise", true,
          [](C& c) {
            trials(c, 399);
            c.neurons = 200;
            c.conditions = 8;
            c.noise = 0.01;
          }),
      row(1, "r1-small-noisy", "K 60, D 20, 1 condition, 20% noise", true,
          [](C& c) {
            trials(c, 60);
            c.neurons = 20;
            c.conditions = 1;
            c.noise = 0.20;
          }),
      row(1, "r1-euler", "integrated by one Euler step per bin, tau 3 bins", false,
          [](C& c) {
            c.solver = Solver::Euler;
            c.substeps = 1;
            tau_bins(c, 3);
          }),
      // Rank 2.
      row(2, "r2-base", "K 120, D 40", true,
          [](C& c) {
            trials(c, 120);
            c.neurons = 40;
          }),
      row(2, "r2-slow-held", "bins of 45 ms, tau 22 bins, 5 held preparatory bins of 45, no readout offset", false,
          [](C& c) {
            c.bin_width = 0.045;
            c.bins = 45;
            c.tau = 1.0;
            held(c, 5);
            c.readout_offset = false;
            c.hidden = 40;
          }),
      row(2, "r2-spikes", "spike counts, tau 10 bins, K 150, D 60", true,
          [](C& c) {
            c.spikes = true;
            tau_bins(c, 10);
            trials(c, 150);
            c.neurons = 60;
          }),
      row(2, "r2-saturating", "a saturating readout (s = 1 signal std)", false, [](C& c) { c.saturation = 1.0; }),
      row(2, "r2-small-noisy", "K 60, D 20, 2 conditions, 20% noise", true,
          [](C& c) {
            trials(c, 60);
            c.neurons = 20;
            c.conditions = 2;
            c.noise = 0.20;
          }),
      row(2, "r2-euler-spikes", "spike counts integrated by two Euler steps per bin, tau 2 bins", false,
          [](C& c) {
            c.spikes = true;
            c.solver = Solver::Euler;
            c.substeps = 2;
            tau_bins(c, 2);
          }),
      // Rank 3.
      row(3, "r3-base", "K 120, D 50", true,
          [](C& c) {
            trials(c, 120);
            c.neurons = 50;
          }),
      row(3, "r3-slow", "tau 20 bins", true, [](C& c) { tau_bins(c, 20); }),
      row(3, "r3-held", "8 held preparatory bins, tau 10 bins", false,
          [](C& c) {
            held(c, 8);
            tau_bins(c, 10);
          }),
      row(3, "r3-spikes", "spike counts, 8 conditions, K 240, D 80", true,
          [](C& c) {
            c.spikes = true;
            c.conditions = 8;
            trials(c, 240);
            c.neurons = 80;
          }),
      row(3, "r3-clean", "1% noise, D 100", true,
          [](C& c) {
            c.noise = 0.01;
            c.neurons = 100;
          }),
      row(3, "r3-no-offset", "no readout offset, tau 3 bins", false,
          [](C& c) {
            c.readout_offset = false;
            tau_bins(c, 3);
          }),
      // Rank 4.
      row(4, "r4-base", "K 150, D 60", true,
          [](C& c) {
            trials(c, 150);
            c.neurons = 60;
          }),
      row(4, "r4-slow-spikes", "spike counts, tau 25 bins, K 180, D 80", true,
          [](C& c) {
            c.spikes = true;
            tau_bins(c, 25);
            trials(c, 180);
            c.neurons = 80;
          }),
      row(4, "r4-large", "K 300, D 150, 6 conditions, 2% noise", true,
          [](C& c) {
            trials(c, 300);
            c.neurons = 150;
            c.conditions = 6;
            c.noise = 0.02;
          }),
      row(4, "r4-held-noisy", "6 held preparatory bins, 15% noise", false,
          [](C& c) {
            held(c, 6);
            c.noise = 0.15;
          }),
      row(4, "r4-saturating", "a saturating readout (s = 0.7 signal std), D 50", false,
          [](C& c) {
            c.saturation = 0.7;
            c.neurons = 50;
          }),
      row(4, "r4-euler", "integrated by one Euler step per bin, tau 4 bins, 1 condition", false,
          [](C& c) {
            c.solver = Solver::Euler;
            c.substeps = 1;
            tau_bins(c, 4);
            c.conditions = 1;
          }),
  });
}

std::vector<PanelTeacher> quick_panel() {
  const auto small = [](TeacherConfig& c) {
    c.hidden = 20;
    c.neurons = 24;
    c.bins = 30;
    c.preparatory_bins = 6;
    trials(c, 60);
    c.conditions = 2;
  };
  return with_own_seeds({row(1, "quick-r1", "K 60, D 24, T 30, N 20", true, small),
                         row(2, "quick-r2", "K 60, D 24, T 30, N 20", true, small)});
}

std::vector<PanelTeacher> select_teachers(const std::vector<PanelTeacher>& panel, const std::vector<std::string>& names,
                                          const std::string& option) {
  const std::set<std::string> wanted(names.begin(), names.end());
  std::vector<PanelTeacher> chosen;
  std::set<std::string> found;
  for (const PanelTeacher& t : panel)
    if (wanted.count(t.name)) {
      chosen.push_back(t);
      found.insert(t.name);
    }
  for (const std::string& name : names)
    if (!found.count(name)) {
      std::string known;
      for (const PanelTeacher& t : panel) known += (known.empty() ? "" : ", ") + t.name;
      throw InputError(option + ": no teacher '" + name + "' in the panel (" + known + ")");
    }
  return chosen;
}

}  // namespace ltrnn
