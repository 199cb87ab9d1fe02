// Reading and writing HDF5 files (NWB is HDF5) with the HDF5 C library (Debian's
// libhdf5-dev; no C++ wrapper is packaged for Debian 12). Reading: only what the NWB import
// needs: objects by path, 1-D numeric datasets (whole or a slice), string datasets and
// string attributes; every failure is an InputError naming the file and the HDF5 path.
// Writing: groups, 1-D/2-D numeric datasets, string datasets and attributes (the
// simulated NWB files).
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

// Writes a new HDF5 file (truncating one that exists). Errors are std::runtime_error
// naming the file and the object (a full disk is not bad input).
class Hdf5Writer {
 public:
  explicit Hdf5Writer(const std::filesystem::path& path);
  ~Hdf5Writer();
  Hdf5Writer(const Hdf5Writer&) = delete;
  Hdf5Writer& operator=(const Hdf5Writer&) = delete;

  // Creates `group` and any missing parents.
  void group(const std::string& group);
  // Row-major data of the given shape (1-D or 2-D).
  void doubles(const std::string& dataset, const std::vector<double>& values, std::vector<int64_t> shape = {});
  void int64s(const std::string& dataset, const std::vector<int64_t>& values);
  void uint64s(const std::string& dataset, const std::vector<uint64_t>& values);
  // Variable-length UTF-8 strings, as h5py writes them.
  void strings(const std::string& dataset, const std::vector<std::string>& values);
  void string_attribute(const std::string& object, const std::string& name, const std::string& value);
  // A 1-D array attribute of variable-length strings (NWB's `colnames`).
  void strings_attribute(const std::string& object, const std::string& name, const std::vector<std::string>& values);
  // Flushes and closes the file; the destructor closes without checking.
  void close();

 private:
  void write(const std::string& dataset, long long type, const void* data, const std::vector<int64_t>& shape);
  std::filesystem::path path_;
  long long file_ = -1;  // hid_t
};

}  // namespace ltrnn
