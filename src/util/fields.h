// Field lists, written once per config struct and walked by every reader and writer.
//
// A struct lists its fields in a static member template
//   template <class Self, class Visitor> static void fields(Self& self, Visitor& v) {
//     v.field("tau", self.tau, "time constant (s)"); ...
//   }
// (Self is the struct or its const version). util/json_fields.h turns such a list into
// JSON overlay and writer, cli/options.h into command-line options. Enumerations are
// named by a specialisation of EnumNames next to the enum; parsing happens once, at the
// edge (JSON, command line), and logic sees the enum.
#pragma once
#include <string>
#include <utility>
#include <vector>

#include "util/errors.h"

namespace ltrnn {

// The names of an enumeration's values: each enum declares the specialisation of table()
// next to it and defines it in its .cpp.
template <typename E>
struct EnumNames {
  static const std::vector<std::pair<E, std::string>>& table();
};

template <typename E>
std::string enum_name(E value) {
  for (const auto& [v, name] : EnumNames<E>::table())
    if (v == value) return name;
  return "?";
}

// "a, b, c": the accepted spellings, for help texts and error messages.
template <typename E>
std::string enum_choices() {
  std::string choices;
  for (const auto& [v, name] : EnumNames<E>::table()) choices += (choices.empty() ? "" : ", ") + name;
  return choices;
}

// The enum value spelled `text`; InputError naming `pointer` and the choices otherwise.
template <typename E>
E parse_enum(const std::string& text, const std::string& pointer) {
  for (const auto& [v, name] : EnumNames<E>::table())
    if (name == text) return v;
  throw InputError(pointer + ": unknown value '" + text + "'; expected one of " + enum_choices<E>());
}

}  // namespace ltrnn
