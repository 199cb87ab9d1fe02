// NumPy .npy I/O: the small header (a Python dict literal) parsed and written here, the
// dtypes ltrnn reads and writes, and the conversions to and from C++ values. The .npz
// container (a zip of .npy entries) is io/npz.cpp.
#include "io/npy.h"

#include <algorithm>
#include <cstring>
#include <sstream>

#include "util/errors.h"
#include "util/files.h"

namespace ltrnn {
namespace {

constexpr char kMagic[] = "\x93NUMPY";
constexpr std::size_t kMagicLength = 6;

struct Descr {
  DType dtype;
  std::size_t item_size;
  bool big_endian;
};

Descr parse_descr(const std::string& descr, const std::string& where) {
  const auto refuse = [&]() -> Descr {
    throw InputError(where + ": unsupported dtype '" + descr +
                     "'; expected one of bool, int32, int64, float32, float64 or a unicode string");
  };
  if (descr.size() < 3) return refuse();
  const char order = descr[0];
  const char kind = descr[1];
  const std::string size_text = descr.substr(2);
  if (size_text.size() > 6 || !std::all_of(size_text.begin(), size_text.end(), ::isdigit)) return refuse();
  const std::size_t size = std::stoul(size_text);
  const bool big = order == '>';
  if (order != '<' && order != '>' && order != '|' && order != '=') return refuse();
  if (kind == 'b' && size == 1) return {DType::Bool, 1, false};
  if (kind == 'i' && size == 4) return {DType::Int32, 4, big};
  if (kind == 'i' && size == 8) return {DType::Int64, 8, big};
  if (kind == 'f' && size == 4) return {DType::Float32, 4, big};
  if (kind == 'f' && size == 8) return {DType::Float64, 8, big};
  if (kind == 'U' && size >= 1) return {DType::Unicode, 4 * size, big};
  return refuse();
}

std::string descr_of(const NpyArray& a) {
  switch (a.dtype) {
    case DType::Bool:
      return "|b1";
    case DType::Int32:
      return "<i4";
    case DType::Int64:
      return "<i8";
    case DType::Float32:
      return "<f4";
    case DType::Float64:
      return "<f8";
    case DType::Unicode:
      return "<U" + std::to_string(a.item_size / 4);
  }
  return "";
}

// Extracts the value text of `key` from the header dict literal: after the first quoted
// key and its colon, a parenthesised tuple or the text up to the next ',', '}' or '('. A
// scan, not std::regex: libstdc++'s regex recurses once per character matched, and a
// header of some 100 kB overflowed the stack.
std::string header_value(const std::string& header, const std::string& key, const std::string& where) {
  const auto is_quote = [](char c) { return c == '\'' || c == '"'; };
  const auto skip_spaces = [&](std::size_t p) {
    while (p < header.size() && std::isspace(static_cast<unsigned char>(header[p]))) ++p;
    return p;
  };
  for (std::size_t at = 0; at + key.size() + 2 <= header.size(); ++at) {
    if (!is_quote(header[at]) || header.compare(at + 1, key.size(), key) != 0 || !is_quote(header[at + key.size() + 1]))
      continue;
    std::size_t p = skip_spaces(at + key.size() + 2);
    if (p == header.size() || header[p] != ':') continue;
    p = skip_spaces(p + 1);
    if (p == header.size()) continue;
    if (header[p] == '(') {
      const std::size_t close = header.find(')', p);
      if (close != std::string::npos) return header.substr(p, close - p + 1);
    } else {
      const std::size_t end = header.find_first_of(",}(", p);
      if (end != p) return header.substr(p, end == std::string::npos ? std::string::npos : end - p);
    }
  }
  throw InputError(where + ": corrupt .npy header, no '" + key + "' entry");
}

std::string strip(std::string s) {
  const auto not_space = [](unsigned char c) { return !std::isspace(c) && c != '\'' && c != '"'; };
  s.erase(s.begin(), std::find_if(s.begin(), s.end(), not_space));
  s.erase(std::find_if(s.rbegin(), s.rend(), not_space).base(), s.end());
  return s;
}

std::vector<int64_t> parse_shape(const std::string& text, const std::string& where) {
  if (text.size() < 2 || text.front() != '(' || text.back() != ')')
    throw InputError(where + ": corrupt .npy header, shape '" + text + "' is not a tuple");
  std::vector<int64_t> shape;
  std::stringstream items(text.substr(1, text.size() - 2));
  std::string item;
  while (std::getline(items, item, ',')) {
    item = strip(item);
    if (item.empty()) continue;
    if (item.size() > 15 || !std::all_of(item.begin(), item.end(), ::isdigit))
      throw InputError(where + ": corrupt .npy header, shape entry '" + item + "' is not a whole number below 10^15");
    shape.push_back(std::stoll(item));
  }
  return shape;
}

int64_t product(const std::vector<int64_t>& shape) {
  int64_t n = 1;
  for (int64_t s : shape) n *= s;
  return n;
}

// Reorders Fortran-order bytes into C order.
std::vector<unsigned char> fortran_to_c(const std::vector<unsigned char>& src, const std::vector<int64_t>& shape,
                                        std::size_t item) {
  const std::size_t ndim = shape.size();
  const int64_t n = product(shape);
  std::vector<int64_t> f_stride(ndim, 1);
  for (std::size_t d = 1; d < ndim; ++d) f_stride[d] = f_stride[d - 1] * shape[d - 1];
  std::vector<unsigned char> dst(src.size());
  std::vector<int64_t> index(ndim, 0);  // C-order odometer
  for (int64_t c = 0; c < n; ++c) {
    int64_t f = 0;
    for (std::size_t d = 0; d < ndim; ++d) f += index[d] * f_stride[d];
    std::memcpy(&dst[c * item], &src[f * item], item);
    for (std::size_t d = ndim; d-- > 0;) {
      if (++index[d] < shape[d]) break;
      index[d] = 0;
    }
  }
  return dst;
}

void byteswap_items(std::vector<unsigned char>& bytes, std::size_t unit) {
  for (std::size_t i = 0; i + unit <= bytes.size(); i += unit) std::reverse(&bytes[i], &bytes[i + unit]);
}

template <typename T>
T load(const unsigned char* p) {
  T v;
  std::memcpy(&v, p, sizeof(T));
  return v;
}

void append_utf8(std::string& out, uint32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

std::vector<uint32_t> utf8_to_code_points(const std::string& s) {
  std::vector<uint32_t> cps;
  for (std::size_t i = 0; i < s.size();) {
    const unsigned char c = s[i];
    int extra = c < 0x80 ? 0 : c < 0xE0 ? 1 : c < 0xF0 ? 2 : 3;
    uint32_t cp = extra == 0 ? c : extra == 1 ? (c & 0x1F) : extra == 2 ? (c & 0x0F) : (c & 0x07);
    for (int k = 1; k <= extra && i + k < s.size(); ++k) cp = (cp << 6) | (s[i + k] & 0x3F);
    cps.push_back(cp);
    i += 1 + extra;
  }
  return cps;
}

}  // namespace

int64_t NpyArray::numel() const { return product(shape); }

std::string NpyArray::dtype_name() const {
  switch (dtype) {
    case DType::Bool:
      return "bool";
    case DType::Int32:
      return "int32";
    case DType::Int64:
      return "int64";
    case DType::Float32:
      return "float32";
    case DType::Float64:
      return "float64";
    case DType::Unicode:
      return "<U" + std::to_string(item_size / 4);
  }
  return "?";
}

std::vector<double> NpyArray::to_doubles() const {
  const int64_t n = numel();
  std::vector<double> out(n);
  for (int64_t i = 0; i < n; ++i) {
    const unsigned char* p = &bytes[i * item_size];
    switch (dtype) {
      case DType::Bool:
        out[i] = p[0] ? 1.0 : 0.0;
        break;
      case DType::Int32:
        out[i] = load<int32_t>(p);
        break;
      case DType::Int64:
        out[i] = static_cast<double>(load<int64_t>(p));
        break;
      case DType::Float32:
        out[i] = load<float>(p);
        break;
      case DType::Float64:
        out[i] = load<double>(p);
        break;
      case DType::Unicode:
        throw std::logic_error("to_doubles on a unicode array");
    }
  }
  return out;
}

std::vector<int64_t> NpyArray::to_int64s() const {
  if (!is_integer()) throw std::logic_error("to_int64s on a non-integer array");
  const int64_t n = numel();
  std::vector<int64_t> out(n);
  for (int64_t i = 0; i < n; ++i) {
    const unsigned char* p = &bytes[i * item_size];
    out[i] = dtype == DType::Bool ? p[0] : dtype == DType::Int32 ? load<int32_t>(p) : load<int64_t>(p);
  }
  return out;
}

std::vector<std::string> NpyArray::to_strings() const {
  if (dtype != DType::Unicode) throw std::logic_error("to_strings on a non-unicode array");
  const int64_t n = numel();
  std::vector<std::string> out(n);
  for (int64_t i = 0; i < n; ++i) {
    for (std::size_t c = 0; c < item_size / 4; ++c) {
      const uint32_t cp = load<uint32_t>(&bytes[i * item_size + 4 * c]);
      if (cp == 0) break;  // numpy pads short strings with NULs
      append_utf8(out[i], cp);
    }
  }
  return out;
}

namespace {
template <typename T>
NpyArray make_array(DType dtype, std::vector<int64_t> shape, const std::vector<T>& values) {
  NpyArray a;
  a.dtype = dtype;
  a.shape = std::move(shape);
  a.item_size = sizeof(T);
  if (static_cast<int64_t>(values.size()) != a.numel()) throw std::logic_error("NpyArray: shape/value count mismatch");
  a.bytes.resize(values.size() * sizeof(T));
  if (!values.empty()) std::memcpy(a.bytes.data(), values.data(), a.bytes.size());
  return a;
}
}  // namespace

NpyArray NpyArray::from_floats(std::vector<int64_t> shape, const std::vector<float>& v) {
  return make_array(DType::Float32, std::move(shape), v);
}
NpyArray NpyArray::from_doubles(std::vector<int64_t> shape, const std::vector<double>& v) {
  return make_array(DType::Float64, std::move(shape), v);
}
NpyArray NpyArray::from_int64s(std::vector<int64_t> shape, const std::vector<int64_t>& v) {
  return make_array(DType::Int64, std::move(shape), v);
}
NpyArray NpyArray::from_strings(std::vector<int64_t> shape, const std::vector<std::string>& values) {
  std::vector<std::vector<uint32_t>> cps;
  std::size_t width = 1;
  for (const auto& s : values) {
    cps.push_back(utf8_to_code_points(s));
    width = std::max(width, cps.back().size());
  }
  NpyArray a;
  a.dtype = DType::Unicode;
  a.shape = std::move(shape);
  a.item_size = 4 * width;
  if (static_cast<int64_t>(values.size()) != a.numel()) throw std::logic_error("NpyArray: shape/value count mismatch");
  a.bytes.assign(values.size() * a.item_size, 0);
  // An empty string stays all zeros (and memcpy must not be given its null data()).
  for (std::size_t i = 0; i < cps.size(); ++i)
    if (!cps[i].empty()) std::memcpy(&a.bytes[i * a.item_size], cps[i].data(), 4 * cps[i].size());
  return a;
}

NpyArray parse_npy(const std::string& payload, const std::string& where) {
  // 1. Magic string and version (NEP 1): "\x93NUMPY", major, minor.
  if (payload.size() < kMagicLength + 2 || payload.compare(0, kMagicLength, kMagic, kMagicLength) != 0)
    throw InputError(where + ": not a .npy array (missing the \\x93NUMPY magic string)");
  const int major = static_cast<unsigned char>(payload[6]);
  if (major < 1 || major > 3) throw InputError(where + ": unsupported .npy format version " + std::to_string(major));
  // 2. Header length: 2 bytes in version 1, 4 bytes in versions 2 and 3.
  const std::size_t length_bytes = major == 1 ? 2 : 4;
  if (payload.size() < 8 + length_bytes) throw InputError(where + ": truncated .npy header");
  std::size_t header_length = 0;
  for (std::size_t b = 0; b < length_bytes; ++b)
    header_length |= static_cast<std::size_t>(static_cast<unsigned char>(payload[8 + b])) << (8 * b);
  const std::size_t data_offset = 8 + length_bytes + header_length;
  if (payload.size() < data_offset) throw InputError(where + ": truncated .npy header");
  const std::string header = payload.substr(8 + length_bytes, header_length);

  // 3. The header dict: descr, fortran_order, shape.
  const std::string descr_text = strip(header_value(header, "descr", where));
  if (descr_text.find('[') != std::string::npos)
    throw InputError(where + ": structured dtypes are not supported; expected a plain numeric or unicode array");
  const Descr descr = parse_descr(descr_text, where);
  const std::string fortran_text = strip(header_value(header, "fortran_order", where));
  if (fortran_text != "True" && fortran_text != "False")
    throw InputError(where + ": corrupt .npy header, fortran_order is '" + fortran_text + "'");
  NpyArray array;
  array.dtype = descr.dtype;
  array.item_size = descr.item_size;
  array.shape = parse_shape(strip(header_value(header, "shape", where)), where);

  // 4. The data block, reordered to little-endian C order.
  // The element count too: with an extent of 0 there are no bytes, but numel() still
  // multiplies the extents in order, and (2^32, 2^32 - 1, 0) overflows int64 on the way.
  std::size_t expected = array.item_size;
  int64_t elements = 1;
  for (int64_t extent : array.shape)
    if (__builtin_mul_overflow(expected, static_cast<std::size_t>(extent), &expected) ||
        __builtin_mul_overflow(elements, extent, &elements))
      throw InputError(where + ": shape " + header_value(header, "shape", where) + " is too large");
  if (payload.size() - data_offset < expected)
    throw InputError(where + ": truncated data: expected " + std::to_string(expected) + " bytes for shape " +
                     header_value(header, "shape", where) + ", found " + std::to_string(payload.size() - data_offset));
  array.bytes.assign(payload.begin() + data_offset, payload.begin() + data_offset + expected);
  if (descr.big_endian) byteswap_items(array.bytes, descr.dtype == DType::Unicode ? 4 : descr.item_size);
  if (fortran_text == "True" && array.shape.size() > 1)
    array.bytes = fortran_to_c(array.bytes, array.shape, array.item_size);
  return array;
}

std::string serialize_npy(const NpyArray& array) {
  std::string shape = "(";
  for (std::size_t d = 0; d < array.shape.size(); ++d) {
    shape += std::to_string(array.shape[d]);
    shape += (array.shape.size() == 1 || d + 1 < array.shape.size()) ? "," : "";
    if (d + 1 < array.shape.size()) shape += " ";
  }
  shape += ")";
  std::string header = "{'descr': '" + descr_of(array) + "', 'fortran_order': False, 'shape': " + shape + ", }";
  // Pad with spaces so the data starts on a 64-byte boundary, as numpy does.
  const bool version2 = header.size() + 11 > 65535;
  const std::size_t preamble = version2 ? 12 : 10;
  const std::size_t total = ((preamble + header.size() + 1 + 63) / 64) * 64;
  header.append(total - preamble - header.size() - 1, ' ');
  header += '\n';
  std::string out(kMagic, kMagicLength);
  out += static_cast<char>(version2 ? 2 : 1);
  out += static_cast<char>(0);
  const std::size_t hl = header.size();
  for (std::size_t b = 0; b < (version2 ? 4u : 2u); ++b) out += static_cast<char>((hl >> (8 * b)) & 0xFF);
  out += header;
  out.append(reinterpret_cast<const char*>(array.bytes.data()), array.bytes.size());
  return out;
}

NpyArray read_npy(const std::filesystem::path& path) { return parse_npy(read_file(path), path.string()); }

void write_npy(const std::filesystem::path& path, const NpyArray& array) {
  write_file_atomic(path, serialize_npy(array));
}

}  // namespace ltrnn
