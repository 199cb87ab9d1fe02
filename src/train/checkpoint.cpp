// Saving and loading checkpoints; rebuilding a fitted model from one.
#include "train/checkpoint.h"

#include <cmath>
#include <sstream>
#include <string>

#include "util/errors.h"
#include "util/files.h"
#include "util/json_fields.h"

namespace ltrnn {

void save_checkpoint(const std::filesystem::path& path, RnnModel& model, torch::optim::Optimizer* optimizer,
                     const std::vector<IterationRecord>& history, const BestIterate& best) {
  torch::serialize::OutputArchive archive;
  torch::serialize::OutputArchive model_archive;
  model->save(model_archive);
  archive.write("model", model_archive);
  if (optimizer) {
    torch::serialize::OutputArchive optimizer_archive;
    optimizer->save(optimizer_archive);
    archive.write("optimizer", optimizer_archive);
  }
  torch::Tensor records = torch::empty({static_cast<int64_t>(history.size()), 6}, torch::kFloat64);
  for (std::size_t i = 0; i < history.size(); ++i) {
    const auto& r = history[i];
    records[i] = torch::tensor({static_cast<double>(r.iteration), r.train_loss, r.test_loss, r.seconds,
                                r.validation_loss, r.polish ? 1.0 : 0.0},
                               torch::kFloat64);
  }
  archive.write("history", records);
  archive.write("best_iteration", torch::tensor({best.iteration}, torch::kInt64));
  archive.write("best_validation_loss", torch::tensor({best.validation_loss}, torch::kFloat64));
  for (std::size_t i = 0; i < best.parameters.size(); ++i)
    archive.write("best_parameter_" + std::to_string(i), best.parameters[i]);
  archive.write("model_config", c10::IValue(fields_to_json(model->config()).dump()));
  // The trial structure, so the model can be rebuilt without the dataset.
  const TrialStructure& s = model->structure();
  archive.write("structure_condition", s.condition);
  archive.write("structure_epoch", s.epoch);
  archive.write("structure_trial_id", s.trial_id);
  archive.write("structure_session", s.session);
  archive.write("structure_times", s.times);
  archive.write("structure_input_slot", torch::tensor(s.input_slot, torch::kInt64));
  archive.write("structure_sizes", torch::tensor({s.n_conditions, s.n_neurons}, torch::kInt64));
  archive.write("structure_dt", torch::tensor({s.dt}, torch::kFloat64));
  archive.write("exp_link", torch::tensor({model->exp_link ? 1 : 0}, torch::kInt64));
  // Serialised in memory, then written by write_file_atomic: LibTorch's file writer
  // terminates the process when a write fails (its destructor throws), e.g. on a full disk.
  std::ostringstream bytes;
  archive.save_to(bytes);
  write_file_atomic(path, bytes.str());
}

RnnModel model_from_checkpoint(const std::filesystem::path& path) {
  if (!std::filesystem::exists(path)) throw InputError(path.string() + ": file not found");
  torch::serialize::InputArchive archive;
  try {
    archive.load_from(path.string(), torch::Device(torch::kCPU));  // written on any device
  } catch (const c10::Error&) {
    throw InputError(path.string() + ": not a readable ltrnn checkpoint");
  }
  const auto read = [&](const std::string& key) {
    torch::Tensor t;
    if (!archive.try_read(key, t)) throw InputError(path.string() + ": checkpoint lacks '" + key + "'");
    return t;
  };
  c10::IValue config_text;
  if (!archive.try_read("model_config", config_text))
    throw InputError(path.string() + ": checkpoint lacks 'model_config'");
  ModelConfig config;
  overlay_fields(config, nlohmann::json::parse(config_text.toStringRef()), path.string() + "#model_config");
  TrialStructure s;
  s.condition = read("structure_condition");
  s.epoch = read("structure_epoch");
  s.trial_id = read("structure_trial_id");
  // Written since datasets have sessions; before, every trial was in one.
  if (!archive.try_read("structure_session", s.session)) s.session = torch::zeros_like(s.trial_id);
  s.times = read("structure_times");
  const torch::Tensor slots = read("structure_input_slot");
  s.input_slot.assign(slots.data_ptr<int64_t>(), slots.data_ptr<int64_t>() + slots.numel());
  const torch::Tensor sizes = read("structure_sizes");
  s.n_conditions = sizes[0].item<int64_t>();
  s.n_neurons = sizes[1].item<int64_t>();
  s.dt = read("structure_dt")[0].item<double>();
  RnnModel model(config, s);
  torch::serialize::InputArchive model_archive;
  torch::Tensor readout;
  if (archive.try_read("model", model_archive) && model_archive.try_read("readout", readout))
    model->to(readout.scalar_type());  // the precision the model was fitted in
  model->exp_link = read("exp_link")[0].item<int64_t>() != 0;
  load_checkpoint(path, model);
  return model;
}

FitStart load_checkpoint(const std::filesystem::path& path, RnnModel& model) {
  // Read on the CPU whatever device wrote it, then moved to the model's device: a fit may
  // resume on another device than it started on.
  const torch::Device device = model->parameters().front().device();
  auto archive = std::make_shared<torch::serialize::InputArchive>();
  try {
    archive->load_from(path.string(), torch::Device(torch::kCPU));
  } catch (const c10::Error&) {
    throw InputError(path.string() + ": not a readable ltrnn checkpoint");
  }
  torch::serialize::InputArchive model_archive;
  archive->read("model", model_archive);
  model->load(model_archive);
  model->to(device);
  torch::Tensor records;
  archive->read("history", records);
  FitStart start;
  const auto r = records.accessor<double, 2>();
  // Checkpoints written before the validation set have four columns, before the polish five.
  const bool has_validation_column = records.size(1) >= 5;
  const bool has_polish_column = records.size(1) >= 6;
  for (int64_t i = 0; i < records.size(0); ++i)
    start.history.push_back({static_cast<int64_t>(r[i][0]), r[i][1], r[i][2], r[i][3],
                             has_validation_column ? r[i][4] : NAN, has_polish_column && r[i][5] != 0});
  torch::Tensor best_iteration, best_loss;
  if (archive->try_read("best_iteration", best_iteration) && best_iteration[0].item<int64_t>() > 0) {
    start.best.iteration = best_iteration[0].item<int64_t>();
    archive->read("best_validation_loss", best_loss);
    start.best.validation_loss = best_loss[0].item<double>();
    for (std::size_t i = 0; i < model->parameters().size(); ++i) {
      torch::Tensor p;
      archive->read("best_parameter_" + std::to_string(i), p);
      start.best.parameters.push_back(p.to(device));
    }
  }
  // Adam's state is read onto the parameters' device (it is created there, not moved).
  start.restore_optimizer = [path, device](torch::optim::Optimizer& optimizer) {
    torch::serialize::InputArchive on_device, optimizer_archive;
    on_device.load_from(path.string(), device);
    if (on_device.try_read("optimizer", optimizer_archive)) optimizer.load(optimizer_archive);
  };
  return start;
}

}  // namespace ltrnn
