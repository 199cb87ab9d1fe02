// NumPy .npy / .npz reading and writing (format spec: numpy.lib.format, NEP 1).
// Torch-free on purpose: this file is the boundary between disk bytes and typed arrays.
#pragma once
#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace ltrnn {

// Element types ltrnn reads and writes. Anything else is refused with a message.
enum class DType { Bool, Int32, Int64, Float32, Float64, Unicode };

// An n-d array held as raw little-endian bytes in C (row-major) order, whatever the
// byte order and memory order of the file it came from.
struct NpyArray {
  DType dtype = DType::Float64;
  std::vector<int64_t> shape;
  std::size_t item_size = 8;         // bytes per element (Unicode: 4 x characters)
  std::vector<unsigned char> bytes;  // numel() * item_size bytes, C order, little endian

  int64_t numel() const;
  bool is_integer() const { return dtype == DType::Int32 || dtype == DType::Int64 || dtype == DType::Bool; }
  bool is_float() const { return dtype == DType::Float32 || dtype == DType::Float64; }
  std::string dtype_name() const;  // numpy's spelling: "float32", "<U5", ...

  std::vector<double> to_doubles() const;       // numeric dtypes only
  std::vector<int64_t> to_int64s() const;       // integer and bool dtypes only
  std::vector<std::string> to_strings() const;  // Unicode only (UTF-8 out)

  static NpyArray from_floats(std::vector<int64_t> shape, const std::vector<float>& values);
  static NpyArray from_doubles(std::vector<int64_t> shape, const std::vector<double>& values);
  static NpyArray from_int64s(std::vector<int64_t> shape, const std::vector<int64_t>& values);
  static NpyArray from_strings(std::vector<int64_t> shape, const std::vector<std::string>& values);
};

// Parses one .npy payload. `where` names the source in errors ("f.npz, key 'data'").
NpyArray parse_npy(const std::string& payload, const std::string& where);
// Serialises to .npy format version 1.0 (2.0 for very long headers).
std::string serialize_npy(const NpyArray& array);

NpyArray read_npy(const std::filesystem::path& path);
void write_npy(const std::filesystem::path& path, const NpyArray& array);  // atomic

// An .npz archive (numpy.savez / savez_compressed): key -> array, keys without ".npy".
using NpzContents = std::vector<std::pair<std::string, NpyArray>>;
std::map<std::string, NpyArray> read_npz(const std::filesystem::path& path);
// Atomic; `compressed` = deflate (savez_compressed), otherwise stored (savez); `level`
// 1 (fastest) .. 9 (smallest), 0 = zlib's default (6).
void write_npz(const std::filesystem::path& path, const NpzContents& arrays, bool compressed = true, int level = 0);

}  // namespace ltrnn
