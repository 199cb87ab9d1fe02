// The rank ladder's starts (docs/design.md section 5): a model of one rank made from a
// fitted model of the same family at a neighbouring rank.
#pragma once
#include <vector>

#include "model/ltrnn_model.h"

namespace ltrnn {

// Sets `target`'s parameters from `source`'s, a model of the same family (one whose
// weights have components, FamilyTraits::has_components) and shapes except for the number
// of components. Fewer components: the source's strongest ones, in their order (the
// weakest dropped). More: every source component, and new ones that contribute nothing
// yet: their trial factors, input, initial-state and bias coefficients zero, their
// directions as `target` drew them -- so the target starts at exactly the source's
// simulation and loss. Parameters without a rank axis (readout, time constant, ...) are
// copied. InputError when the two models cannot be matched that way.
// `kept`: the source components a target with fewer keeps (ascending indices; empty: the
// strongest, by component_strengths).
void start_from_neighbouring_rank(RnnModel& target, const RnnModel& source, const std::vector<int64_t>& kept = {});
// The number of components of `source` (a family with components).
int64_t component_count(const RnnModel& source);

}  // namespace ltrnn
