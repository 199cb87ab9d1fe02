// Command-line options in one style (cxxopts), and options generated from a config
// struct's field list (util/fields.h): `trials_per_epoch` becomes `--trials-per-epoch`,
// with the field's help text and its current value as the default.
#pragma once
#include <cxxopts.hpp>
#include <iomanip>
#include <set>
#include <sstream>
#include <string>
#include <type_traits>

#include "util/errors.h"
#include "util/fields.h"

namespace ltrnn {

// Adds -h/--help, parses argv (argv[0] is the command's name) and refuses stray
// arguments; prints the help and returns false when --help was given.
bool parse_options(cxxopts::Options& options, int argc, const char* const* argv, cxxopts::ParseResult& result);
// The value of a required string option; InputError "--name is required" without it.
std::string required_string(const cxxopts::ParseResult& result, const std::string& name);

// "trials_per_epoch" -> "trials-per-epoch".
inline std::string option_name(const char* key) {
  std::string name = key;
  for (char& c : name)
    if (c == '_') c = '-';
  return name;
}

// The shortest decimal text that reads back as exactly `value` (for option defaults).
inline std::string exact_text(double value) {
  const auto text_with = [value](int digits) {
    std::ostringstream out;
    out << std::setprecision(digits) << value;
    return out.str();
  };
  for (int digits = 6; digits < 17; ++digits)
    if (std::stod(text_with(digits)) == value) return text_with(digits);
  return text_with(17);
}
template <typename T>
std::string default_text(const T& value) {
  if constexpr (std::is_floating_point_v<T>)
    return exact_text(value);
  else
    return std::to_string(value);
}

// Declares one option per field. With defaults, each option defaults to the field's value;
// without (`defaults` false), an option is applied only when given (e.g. to override a preset).
class FieldOptionDeclarer {
 public:
  FieldOptionDeclarer(cxxopts::Options& options, bool defaults, std::set<std::string> skip = {})
      : adder_(options.add_options()), defaults_(defaults), skip_(std::move(skip)) {}
  template <typename T>
  void field(const char* key, const T& value, const char* help = "") {
    if (skip_.count(key)) return;
    std::string text = help ? help : "";
    if constexpr (std::is_same_v<T, bool>) {
      adder_(option_name(key), text,
             cxxopts::value<bool>()->default_value(value ? "true" : "false")->implicit_value("true"));
    } else if constexpr (std::is_enum_v<T>) {
      text += " (" + enum_choices<T>() + ")";
      if (defaults_)
        adder_(option_name(key), text, cxxopts::value<std::string>()->default_value(enum_name(value)));
      else
        adder_(option_name(key), text, cxxopts::value<std::string>());
    } else {
      if (defaults_)
        adder_(option_name(key), text, cxxopts::value<T>()->default_value(default_text(value)));
      else
        adder_(option_name(key), text, cxxopts::value<T>());
    }
  }

 private:
  cxxopts::OptionAdder adder_;
  bool defaults_;
  std::set<std::string> skip_;
};

// Reads back the options FieldOptionDeclarer declared: with defaults, every one; without,
// only those given on the command line (a flag's implicit default must not undo a preset).
class FieldOptionReader {
 public:
  FieldOptionReader(const cxxopts::ParseResult& result, bool with_defaults, std::set<std::string> skip = {})
      : result_(result), with_defaults_(with_defaults), skip_(std::move(skip)) {}
  template <typename T>
  void field(const char* key, T& value, const char* = nullptr) {
    const std::string name = option_name(key);
    if (skip_.count(key) || (!result_.count(name) && !(with_defaults_ && has_default(name)))) return;
    if constexpr (std::is_enum_v<T>)
      value = parse_enum<T>(result_[name].as<std::string>(), "--" + name);
    else
      value = result_[name].as<T>();
  }

 private:
  bool has_default(const std::string& name) const {
    for (const auto& kv : result_.defaults())
      if (kv.key() == name) return true;
    return false;
  }
  const cxxopts::ParseResult& result_;
  bool with_defaults_;
  std::set<std::string> skip_;
};

template <typename Config>
void declare_field_options(cxxopts::Options& options, const Config& defaults, bool with_defaults = true,
                           std::set<std::string> skip = {}) {
  FieldOptionDeclarer declarer(options, with_defaults, std::move(skip));
  Config::fields(defaults, declarer);
}

template <typename Config>
void read_field_options(const cxxopts::ParseResult& result, Config& config, bool with_defaults = true,
                        std::set<std::string> skip = {}) {
  FieldOptionReader reader(result, with_defaults, std::move(skip));
  Config::fields(config, reader);
}

}  // namespace ltrnn
