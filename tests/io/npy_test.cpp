// NPY/NPZ: fixtures written by numpy read back exactly; round trips; malformed files refused.
#include "io/npy.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "scratch_directory.h"
#include "test_paths.h"
#include "util/errors.h"
#include "util/files.h"

namespace ltrnn {
namespace {
namespace fs = std::filesystem;

fs::path fixture(const std::string& name) { return fs::path(LTRNN_FIXTURE_DIR) / name; }

fs::path temp_path(const std::string& name) {
  static const ScratchDirectory dir("npy_test");  // for the whole test process
  return dir / name;
}

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const InputError& e) {
    return e.what();
  }
  return "no error";
}

// values = arange(24).reshape(2, 3, 4) / 8 - 1, as in make_fixtures.py
std::vector<double> expected_values() {
  std::vector<double> v(24);
  for (int i = 0; i < 24; ++i) v[i] = i / 8.0 - 1.0;
  return v;
}

TEST(Npy, ReadsNumpyFloat64InCOrder) {
  const NpyArray a = read_npy(fixture("c_float64.npy"));
  EXPECT_EQ(a.dtype, DType::Float64);
  EXPECT_EQ(a.shape, (std::vector<int64_t>{2, 3, 4}));
  EXPECT_EQ(a.to_doubles(), expected_values());
}

TEST(Npy, ReadsFortranOrderIntoCOrder) {
  const NpyArray a = read_npy(fixture("fortran_float32.npy"));
  EXPECT_EQ(a.dtype, DType::Float32);
  EXPECT_EQ(a.shape, (std::vector<int64_t>{2, 3, 4}));
  EXPECT_EQ(a.to_doubles(), expected_values());  // exact: all values are representable in float32
}

TEST(Npy, ReadsBigEndianIntegers) {
  const NpyArray a = read_npy(fixture("bigendian_int32.npy"));
  EXPECT_EQ(a.dtype, DType::Int32);
  EXPECT_EQ(a.to_int64s(), (std::vector<int64_t>{0, 1, 2, 3, 4, 5}));
}

TEST(Npy, ReadsBoolAndUnicode) {
  EXPECT_EQ(read_npy(fixture("bool.npy")).to_int64s(), (std::vector<int64_t>{1, 0, 1}));
  const NpyArray u = read_npy(fixture("unicode.npy"));
  EXPECT_EQ(u.to_strings(), (std::vector<std::string>{"BL", "AD", "WO", "ÄΩ"}));
}

TEST(Npz, ReadsStoredAndDeflatedArchivesIdentically) {
  const auto stored = read_npz(fixture("dataset_stored.npz"));
  const auto deflated = read_npz(fixture("dataset_deflated.npz"));
  for (const char* key : {"data", "condition", "epoch", "trial_id", "times"}) {
    ASSERT_TRUE(stored.count(key)) << key;
    ASSERT_TRUE(deflated.count(key)) << key;
    EXPECT_EQ(stored.at(key).bytes, deflated.at(key).bytes) << key;
    EXPECT_EQ(stored.at(key).shape, deflated.at(key).shape) << key;
  }
  EXPECT_EQ(stored.at("data").shape, (std::vector<int64_t>{8, 5, 3}));
  EXPECT_FLOAT_EQ(stored.at("data").to_doubles()[7], 0.7f);
  EXPECT_EQ(stored.at("epoch").to_strings(), (std::vector<std::string>{"BL", "BL", "AD", "AD", "WO"}));
}

TEST(Npz, RoundTripsEveryDtypeStoredAndCompressed) {
  const NpzContents arrays{{"f64", NpyArray::from_doubles({2, 3}, {1.5, -2, 3, 4e-300, 5e300, 0})},
                           {"f32", NpyArray::from_floats({3}, {1.25f, -0.5f, 7.0f})},
                           {"i64", NpyArray::from_int64s({2, 2}, {-1, 0, 1LL << 40, 5})},
                           {"text", NpyArray::from_strings({3}, {"BL", "adaptation", "Ω"})},
                           {"empty", NpyArray::from_doubles({0, 4}, {})}};
  for (bool compressed : {false, true}) {
    const fs::path path = temp_path(compressed ? "rt_c.npz" : "rt_s.npz");
    write_npz(path, arrays, compressed);
    const auto back = read_npz(path);
    ASSERT_EQ(back.size(), arrays.size());
    for (const auto& [key, array] : arrays) {
      EXPECT_EQ(back.at(key).dtype, array.dtype) << key;
      EXPECT_EQ(back.at(key).shape, array.shape) << key;
      EXPECT_EQ(back.at(key).bytes, array.bytes) << key;
    }
    EXPECT_EQ(back.at("text").to_strings(), (std::vector<std::string>{"BL", "adaptation", "Ω"}));
  }
}

// An empty string among the values (an NWB epoch named "", found by fuzzing: the writer
// passed its null data() to memcpy, which the sanitizer build reports).
TEST(Npy, EmptyStringsRoundTrip) {
  const NpyArray array = NpyArray::from_strings({3}, {"", "AD", ""});
  EXPECT_EQ(parse_npy(serialize_npy(array), "x.npy").to_strings(), (std::vector<std::string>{"", "AD", ""}));
  EXPECT_EQ(NpyArray::from_strings({1}, {""}).to_strings(), std::vector<std::string>{""});
}

TEST(Npy, SerialisedHeaderIsAlignedAndParsable) {
  const NpyArray a = NpyArray::from_doubles({4}, {1, 2, 3, 4});
  const std::string bytes = serialize_npy(a);
  const std::size_t header_length = static_cast<unsigned char>(bytes[8]) | (static_cast<unsigned char>(bytes[9]) << 8);
  EXPECT_EQ((10 + header_length) % 64, 0u);
  EXPECT_EQ(parse_npy(bytes, "x").to_doubles(), (std::vector<double>{1, 2, 3, 4}));
}

TEST(Npy, RefusesTruncatedData) {
  const std::string bytes = read_file(fixture("c_float64.npy"));
  const std::string message = error_of([&] { parse_npy(bytes.substr(0, bytes.size() - 8), "f.npy"); });
  EXPECT_NE(message.find("f.npy"), std::string::npos) << message;
  EXPECT_NE(message.find("truncated data: expected 192 bytes"), std::string::npos) << message;
}

TEST(Npy, RefusesTruncatedHeaderAndBadMagic) {
  const std::string bytes = read_file(fixture("c_float64.npy"));
  EXPECT_NE(error_of([&] { parse_npy(bytes.substr(0, 30), "f.npy"); }).find("truncated .npy header"),
            std::string::npos);
  EXPECT_NE(error_of([&] { parse_npy("PK\x03\x04 not an npy", "f.npy"); }).find("missing the \\x93NUMPY magic"),
            std::string::npos);
}

TEST(Npy, RefusesUnsupportedDtype) {
  std::string bytes = serialize_npy(NpyArray::from_doubles({2}, {1, 2}));
  const auto pos = bytes.find("<f8");
  bytes.replace(pos, 3, "<c8");  // complex64, same item size as two float32
  const std::string message = error_of([&] { parse_npy(bytes, "f.npz, key 'data'"); });
  EXPECT_NE(message.find("f.npz, key 'data': unsupported dtype '<c8'"), std::string::npos) << message;
}

TEST(Npy, RefusesAbsurdShapesAndItemSizes) {
  std::string bytes = serialize_npy(NpyArray::from_doubles({2}, {1, 2}));
  std::string huge = bytes;
  huge.replace(huge.find("(2,)"), 4, "(999999999999999, 999999999999999)");
  EXPECT_NE(error_of([&] { parse_npy(huge, "f.npy"); }).find("is too large"), std::string::npos)
      << error_of([&] { parse_npy(huge, "f.npy"); });
  std::string longer = bytes;
  longer.replace(longer.find("(2,)"), 4, "(99999999999999999999,)");
  EXPECT_NE(error_of([&] { parse_npy(longer, "f.npy"); }).find("not a whole number"), std::string::npos);
  std::string wide = bytes;
  wide.replace(wide.find("<f8"), 3, "<U99999999999");
  EXPECT_NE(error_of([&] { parse_npy(wide, "f.npy"); }).find("unsupported dtype"), std::string::npos);
}

TEST(Npz, RefusesCorruptAndTruncatedArchives) {
  const fs::path junk = temp_path("junk.npz");
  write_file_atomic(junk, "this is not a zip archive at all");
  EXPECT_NE(error_of([&] { read_npz(junk); }).find("not a readable .npz (zip) archive"), std::string::npos);

  const std::string whole = read_file(fixture("dataset_deflated.npz"));
  const fs::path cut = temp_path("cut.npz");
  write_file_atomic(cut, whole.substr(0, whole.size() / 2));
  const std::string message = error_of([&] { read_npz(cut); });
  EXPECT_NE(message.find(cut.string()), std::string::npos) << message;
  EXPECT_NE(message.find("archive"), std::string::npos) << message;

  EXPECT_NE(error_of([&] { read_npz(temp_path("missing.npz")); }).find("file not found"), std::string::npos);
}

}  // namespace
}  // namespace ltrnn
