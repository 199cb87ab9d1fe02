// Reading HDF5 files (NWB is HDF5) with the HDF5 C library (Debian's libhdf5-dev; no C++
// wrapper is packaged for Debian 12). Only what the NWB import needs: objects by path,
// 1-D numeric datasets (whole or a slice), string datasets and string attributes. Every
// failure is an InputError naming the file and the HDF5 path.
#pragma once
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace ltrnn {

class Hdf5File {
 public:
  // Opens read-only; InputError "FILE: not an HDF5 file" (or "not found").
  explicit Hdf5File(const std::filesystem::path& path);
  ~Hdf5File();
  Hdf5File(const Hdf5File&) = delete;
  Hdf5File& operator=(const Hdf5File&) = delete;

  const std::filesystem::path& path() const { return path_; }
  bool is_group(const std::string& object) const;
  bool is_dataset(const std::string& object) const;
  // Names of a group's members, sorted.
  std::vector<std::string> members(const std::string& group) const;

  enum class Kind { Integer, Float, String, Other };
  Kind kind(const std::string& dataset) const;
  std::vector<int64_t> shape(const std::string& dataset) const;

  // A numeric dataset of any integer or float type as float64 / int64, all of it or
  // `count` elements from `offset` of a 1-D dataset (hyperslab: nothing else is read).
  std::vector<double> read_doubles(const std::string& dataset) const;
  std::vector<double> read_doubles(const std::string& dataset, int64_t offset, int64_t count) const;
  std::vector<int64_t> read_int64s(const std::string& dataset) const;
  // A 1-D dataset of fixed- or variable-length strings.
  std::vector<std::string> read_strings(const std::string& dataset) const;
  // A string attribute of an object, or "" when it has none.
  std::string string_attribute(const std::string& object, const std::string& name) const;

  // "FILE: /path: what": the text of an InputError about an object of this file.
  std::string where(const std::string& object) const;

 private:
  std::filesystem::path path_;
  long long file_ = -1;  // hid_t
};

}  // namespace ltrnn
