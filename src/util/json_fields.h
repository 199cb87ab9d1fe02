// JSON for any struct with a field list (util/fields.h): a writer of every field, and an
// overlay that sets the fields present in a JSON object, refusing unknown keys and wrong
// types with the JSON pointer of the bad field.
#pragma once
#include <array>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <type_traits>
#include <vector>

#include "util/errors.h"
#include "util/fields.h"

namespace ltrnn {

// Writes each visited field into a JSON object (enums by name).
class JsonFieldWriter {
 public:
  explicit JsonFieldWriter(nlohmann::json& j) : j_(j) {}
  template <typename T>
  void field(const char* key, const T& value, const char* /*help*/ = nullptr) {
    if constexpr (std::is_enum_v<T>)
      j_[key] = enum_name(value);
    else
      j_[key] = value;
  }

 private:
  nlohmann::json& j_;
};

// Sets the visited fields whose keys the JSON object holds; remembers which keys it used.
class JsonFieldOverlay {
 public:
  JsonFieldOverlay(const nlohmann::json& j, std::string pointer) : j_(j), pointer_(std::move(pointer)) {
    if (!j_.is_object()) throw InputError(pointer_ + ": must be an object");
  }
  void field(const char* key, int64_t& value, const char* = nullptr) {
    if (const nlohmann::json* v = find(key)) {
      if (!v->is_number_integer()) fail(key, "must be an integer");
      value = v->get<int64_t>();
    }
  }
  void field(const char* key, double& value, const char* = nullptr) {
    if (const nlohmann::json* v = find(key)) {
      if (!v->is_number()) fail(key, "must be a number");
      value = v->get<double>();
    }
  }
  void field(const char* key, bool& value, const char* = nullptr) {
    if (const nlohmann::json* v = find(key)) {
      if (!v->is_boolean()) fail(key, "must be true or false");
      value = v->get<bool>();
    }
  }
  void field(const char* key, std::string& value, const char* = nullptr) {
    if (const nlohmann::json* v = find(key)) {
      if (!v->is_string()) fail(key, "must be a string");
      value = v->get<std::string>();
    }
  }
  void field(const char* key, std::array<int64_t, 3>& value, const char* = nullptr) {
    if (const nlohmann::json* v = find(key)) {
      if (!v->is_array() || v->size() != 3) fail(key, "must be an array of 3 integers (time, trial, neuron)");
      for (std::size_t i = 0; i < 3; ++i) {
        if (!(*v)[i].is_number_integer()) fail(key, "must be an array of 3 integers (time, trial, neuron)");
        value[i] = (*v)[i].get<int64_t>();
      }
    }
  }
  template <typename E>
  std::enable_if_t<std::is_enum_v<E>> field(const char* key, E& value, const char* = nullptr) {
    if (const nlohmann::json* v = find(key)) {
      if (!v->is_string()) fail(key, "must be a string");
      value = parse_enum<E>(v->get<std::string>(), pointer_ + "/" + key);
    }
  }
  // Any other type nlohmann::json converts (a list of numbers, a struct with its own
  // from_json).
  template <typename T>
  std::enable_if_t<!std::is_enum_v<T>> field(const char* key, T& value, const char* = nullptr) {
    if (const nlohmann::json* v = find(key)) {
      try {
        value = v->get<T>();
      } catch (const nlohmann::json::exception& error) {
        fail(key, error.what());
      }
    }
  }
  // Throws on any key that no field used.
  void finish() const {
    for (const auto& item : j_.items())
      if (!used_.count(item.key())) throw InputError(pointer_ + "/" + item.key() + ": " + unknown_key_message_);
  }
  // The message for keys no field used (default "unknown key").
  void set_unknown_key_message(std::string message) { unknown_key_message_ = std::move(message); }

 private:
  const nlohmann::json* find(const char* key) {
    auto it = j_.find(key);
    if (it == j_.end()) return nullptr;
    used_.insert(key);
    return &*it;
  }
  [[noreturn]] void fail(const char* key, const std::string& what) const {
    throw InputError(pointer_ + "/" + key + ": " + what);
  }
  const nlohmann::json& j_;
  std::string pointer_;
  std::set<std::string> used_;
  std::string unknown_key_message_ = "unknown key";
};

// Every field of `config` as a JSON object.
template <typename Config>
nlohmann::json fields_to_json(const Config& config) {
  nlohmann::json j = nlohmann::json::object();
  JsonFieldWriter writer(j);
  Config::fields(config, writer);
  return j;
}

// Overlays the keys of `j` onto `config`; unknown keys and wrong types throw InputError
// naming `pointer` + "/key".
template <typename Config>
void overlay_fields(Config& config, const nlohmann::json& j, const std::string& pointer) {
  JsonFieldOverlay overlay(j, pointer);
  Config::fields(config, overlay);
  overlay.finish();
}

// Collects the keys of a field list, and the fields that come without a help text.
struct FieldKeyCollector {
  std::vector<std::string> keys, undocumented;
  template <typename T>
  void field(const char* key, const T&, const char* help = nullptr) {
    keys.push_back(key);
    if (!help || !*help) undocumented.push_back(key);
  }
};

// The keys of a field list, in order (e.g. to check that a schema lists the same ones).
template <typename Config>
std::vector<std::string> field_keys() {
  FieldKeyCollector visitor;
  const Config config{};
  Config::fields(config, visitor);
  return visitor.keys;
}

}  // namespace ltrnn
