// The typed record of one run: what summary.json holds, one row of results.json and
// results.csv, and what the report and the analyses read (docs/design.md section 7).
#pragma once
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <string>
#include <vector>

#include "model/config.h"

namespace ltrnn {

enum class RunStatus {
  Finished,  // fitted; its scores are those of the saved model
  Diverged,  // the loss became non-finite; the last good checkpoint is kept (final, not retried)
  Failed,    // an error (bad data, a full disk, ...): `--resume` tries it again
};
template <>
const std::vector<std::pair<RunStatus, std::string>>& EnumNames<RunStatus>::table();

// How a run ended. In JSON and CSV: "status" ("finished", "diverged" or "failed") and, when
// not finished, "status_reason". Records written before the two were separate hold one
// "status" text, "finished" or "failed: <reason>" (a diverged run's reason starting with
// "diverged"); `parse` reads both.
struct RunOutcome {
  RunStatus status = RunStatus::Failed;
  std::string reason;  // empty when finished

  static RunOutcome finished() { return {RunStatus::Finished, ""}; }
  static RunOutcome diverged(std::string why) { return {RunStatus::Diverged, std::move(why)}; }
  static RunOutcome failed(std::string why) { return {RunStatus::Failed, std::move(why)}; }
  // For people: "finished", "diverged: <reason>", "failed: <reason>".
  std::string text() const;
  // "status" and "status_reason" as written, or a status text of an older record.
  static RunOutcome parse(const std::string& status, const std::string& reason = "");
};
void to_json(nlohmann::json& j, const RunOutcome& outcome);  // the status's name

// Where a fit started (docs/design.md section 5): its seed's random draw, or the rank
// ladder's best fit of the rank below plus new components ("up") or of the rank above less
// its weakest ones ("down").
enum class RunStart { Seed, Up, Down };
template <>
const std::vector<std::pair<RunStart, std::string>>& EnumNames<RunStart>::table();

// One recording session's held-out scores, of a run on a dataset of several (the scores of
// RunRecord restricted to the session's trials and neurons; NaN where the session has no such
// entries, or for bits per spike on rates).
struct SessionScores {
  std::string session;  // its name (data/sessions.h)
  double test_nmse = NAN, test_r2 = NAN, test_bits_per_spike = NAN;
  double validation_loss = NAN;
};
void to_json(nlohmann::json& j, const SessionScores& scores);

struct RunRecord {
  std::string id;                      // "<model>-r<rank>-n<hidden>-s<seed>", or "-up"/"-down" (run/execute.h)
  ModelKind model = kReferenceFamily;  // the family (its name in JSON and CSV)
  int64_t rank = 0;                    // 0 for families without a rank (full, static)
  int64_t hidden = 0, seed = 0, n_params = 0;
  double train_loss = 0, test_loss = 0, test_nmse = 0, test_r2 = 0;
  int64_t iterations = 0;
  double seconds = 0;
  RunOutcome outcome;
  double test_nmse_se = 0;  // standard error of test_nmse from the finite test set (train/loss.h Scores)
  // The validation set (0 entries: none, and the test set selects): its data term and the
  // standard error that rank selection compares (train/loss.h Scores), its nMSE.
  int64_t validation_entries = 0;
  double validation_loss = NAN, validation_loss_se = NAN, validation_nmse = NAN;
  // Count data (Poisson loss) only, else NaN (null in JSON).
  double test_bits_per_spike = NAN, validation_bits_per_spike = NAN, test_deviance_explained = NAN;
  RunStart start = RunStart::Seed;
  std::string start_from;  // the ladder's source run id (empty for a seed's start)
  // The saved model's validation loss with its ODE substeps doubled: the discretisation
  // check (docs/design.md section 5; NaN without a validation set).
  double validation_loss_double_substeps = NAN;
  // Per session, on a dataset of several (else empty); in JSON as "sessions", not in
  // results.csv (results_sessions.csv holds them).
  std::vector<SessionScores> sessions;

  bool finished() const { return outcome.status == RunStatus::Finished; }
  bool validated() const { return validation_entries > 0; }

  // The fields, in results.csv's column order (which omits the standard errors); JSON keys
  // are the same names.
  template <class Self, class Visitor>
  static void fields(Self& r, Visitor& v) {
    v.field("id", r.id);
    v.field("model", r.model);
    v.field("rank", r.rank);
    v.field("hidden", r.hidden);
    v.field("seed", r.seed);
    v.field("n_params", r.n_params);
    v.field("train_loss", r.train_loss);
    v.field("test_loss", r.test_loss);
    v.field("test_nmse", r.test_nmse);
    v.field("test_r2", r.test_r2);
    v.field("iterations", r.iterations);
    v.field("seconds", r.seconds);
    v.field("status", r.outcome);
    v.field("test_nmse_se", r.test_nmse_se);
    v.field("validation_entries", r.validation_entries);
    v.field("validation_loss", r.validation_loss);
    v.field("validation_loss_se", r.validation_loss_se);
    v.field("validation_nmse", r.validation_nmse);
    v.field("test_bits_per_spike", r.test_bits_per_spike);
    v.field("validation_bits_per_spike", r.validation_bits_per_spike);
    v.field("test_deviance_explained", r.test_deviance_explained);
    v.field("start", r.start);
    v.field("start_from", r.start_from);
    v.field("validation_loss_double_substeps", r.validation_loss_double_substeps);
  }
};
void to_json(nlohmann::json& j, const RunRecord& record);
// The record in `j`; InputError naming `where` when a field is missing or mistyped
// (test_nmse_se and the fields after it may be absent: records written before they existed
// read as their defaults).
RunRecord run_record_from_json(const nlohmann::json& j, const std::string& where);

// The record of a run directory whose summary.json exists, or nothing; InputError when it
// exists but cannot be read.
std::optional<RunRecord> read_run_record(const std::filesystem::path& run_dir);
// Writes run_dir/summary.json: {"summary": record} plus `extra` keys (e.g. stop_reason).
void write_run_record(const std::filesystem::path& run_dir, const RunRecord& record, const nlohmann::json& extra);

// What runs are compared on (docs/design.md section 5): the validation loss of a run with
// a validation set, else its test nMSE.
double selection_loss(const RunRecord& record);

// The finished run with the lowest selection_loss among those `among` accepts (all when
// empty); null when there is none.
const RunRecord* best_finished_run(const std::vector<RunRecord>& runs,
                                   const std::function<bool(const RunRecord&)>& among = {});

}  // namespace ltrnn
