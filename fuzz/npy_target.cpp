// Fuzz targets of the NPY/NPZ reader (io/npy.h): arbitrary bytes as a .npy payload and as an
// .npz file. An accepted array must be self-consistent and survive a write/read round trip.
#include <map>
#include <string>

#include "fuzz/support.h"
#include "fuzz/targets.h"
#include "io/npy.h"
#include "util/errors.h"

namespace ltrnn::fuzz {

namespace {

// What every accepted array promises its readers: bytes = numel x item size, conversions
// that do not throw for its dtype, and the same array after serialize_npy/parse_npy.
void check_array(const std::string& target, const NpyArray& array) {
  int64_t numel = 1;
  for (int64_t extent : array.shape) {
    check(extent >= 0, target, "a negative extent");
    check(!__builtin_mul_overflow(numel, extent, &numel), target, "an element count beyond int64");
  }
  check(array.numel() == numel, target, "numel() differs from the product of the shape");
  check(array.item_size > 0 && array.bytes.size() == static_cast<std::size_t>(numel) * array.item_size, target,
        "bytes do not hold numel x item_size");
  check(!array.dtype_name().empty(), target, "an empty dtype name");
  std::size_t converted = 0;
  if (array.dtype == DType::Unicode)
    converted = array.to_strings().size();
  else
    converted = array.to_doubles().size();
  if (array.is_integer()) check(array.to_int64s().size() == converted, target, "to_int64s() lost elements");
  check(converted == static_cast<std::size_t>(numel), target, "a conversion returned the wrong count");

  NpyArray again;
  try {
    again = parse_npy(serialize_npy(array), "round trip");
  } catch (const InputError& error) {
    throw Finding(target + ": parse_npy refused what serialize_npy wrote: " + error.what());
  }
  check(again.dtype == array.dtype && again.shape == array.shape && again.item_size == array.item_size &&
            again.bytes == array.bytes,
        target, "serialize_npy then parse_npy changed the array");
}

}  // namespace

void npy_input(const uint8_t* data, std::size_t size) {
  const std::string payload(reinterpret_cast<const char*>(data), size);
  expect_clean("npy", [&] { check_array("npy", parse_npy(payload, "fuzz.npy")); });
}

void npz_input(const uint8_t* data, std::size_t size) {
  const auto path = write_scratch_file("fuzz.npz", data, size);
  expect_clean("npz", [&] {
    for (const auto& [key, array] : read_npz(path)) check_array("npz, key '" + key + "'", array);
  });
}

}  // namespace ltrnn::fuzz
