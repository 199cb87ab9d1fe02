// The rank-recovery panel (docs/recovery.md): planted teachers made by the teacher
// generator (sim/teacher.h) over the ranges users' data span, each with the ranks an
// experiment fits to it. The panel is what says whether the selected rank is the planted one.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "sim/teacher.h"

namespace ltrnn {

// One planted teacher of the panel.
struct PanelTeacher {
  std::string name;       // unique, a file name ("r2-slow-held")
  std::string varies;     // what sets it apart, for the table ("tau 50 bins, held preparatory")
  bool in_class = true;   // generated inside the fitted family's assumptions
  TeacherConfig teacher;  // the generator's parameters (rank = the planted rank)
  int64_t max_rank = 0;   // ranks 1..max_rank are fitted (the planted rank + 2)
};

// The full panel: 24 teachers, six per planted rank 1-4, spanning tau from 2 to 50 bins,
// preparatory periods driven by inputs or held still, rates and spike counts, K from 60 to
// 400 trials, D from 20 to 200 neurons, 1-8 conditions, noise from 1% to 20%, and teachers
// outside the fitted class (Euler-integrated, no readout offset, a saturating readout).
std::vector<PanelTeacher> recovery_panel();

// The panel's quick subset: small in-class teachers of ranks 1-3 whose decisions take about a
// minute together on two cores (the test suite runs them).
std::vector<PanelTeacher> quick_panel();

// The teachers of `panel` whose names are in `names` (in panel order); InputError naming
// `option` and the unknown name otherwise.
std::vector<PanelTeacher> select_teachers(const std::vector<PanelTeacher>& panel, const std::vector<std::string>& names,
                                          const std::string& option);

}  // namespace ltrnn
