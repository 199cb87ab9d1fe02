// HDF5 reading with the C library: each handle closed by a small guard, errors as
// InputError naming the file and the object.
#include "io/hdf5.h"

#include <hdf5.h>

#include <algorithm>
#include <cstring>
#include <memory>
#include <stdexcept>

#include "util/errors.h"

namespace ltrnn {

namespace {

// Closes an HDF5 identifier with the function that matches its kind.
class Handle {
 public:
  Handle(hid_t id, herr_t (*close)(hid_t)) : id_(id), close_(close) {}
  ~Handle() {
    if (id_ >= 0) close_(id_);
  }
  Handle(const Handle&) = delete;
  Handle& operator=(const Handle&) = delete;
  hid_t get() const { return id_; }
  bool ok() const { return id_ >= 0; }

 private:
  hid_t id_;
  herr_t (*close_)(hid_t);
};

// HDF5 prints its error stack on every failed call unless told not to; ltrnn reports its own.
void silence_hdf5() {
  static const bool silenced = [] {
    H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
    return true;
  }();
  (void)silenced;
}

// Whether every link on the way to `object` exists (H5Lexists needs each step).
bool path_exists(hid_t file, const std::string& object) {
  if (object.empty() || object == "/") return true;
  std::string prefix;
  std::size_t start = object[0] == '/' ? 1 : 0;
  while (start <= object.size()) {
    const std::size_t slash = object.find('/', start);
    prefix = object.substr(0, slash == std::string::npos ? object.size() : slash);
    if (H5Lexists(file, prefix.c_str(), H5P_DEFAULT) <= 0) return false;
    if (slash == std::string::npos) break;
    start = slash + 1;
  }
  return true;
}

H5I_type_t object_type(hid_t file, const std::string& object) {
  if (!path_exists(file, object)) return H5I_BADID;
  const Handle opened(H5Oopen(file, object.c_str(), H5P_DEFAULT), H5Oclose);
  return opened.ok() ? H5Iget_type(opened.get()) : H5I_BADID;
}

}  // namespace

Hdf5File::Hdf5File(const std::filesystem::path& path) : path_(path) {
  silence_hdf5();
  if (!std::filesystem::exists(path)) throw InputError(path.string() + ": file not found");
  if (H5Fis_hdf5(path.c_str()) <= 0) throw InputError(path.string() + ": not an HDF5 file (NWB files are HDF5)");
  file_ = H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
  if (file_ < 0) throw InputError(path.string() + ": the HDF5 file cannot be opened");
}

Hdf5File::~Hdf5File() {
  if (file_ >= 0) H5Fclose(file_);
}

std::string Hdf5File::where(const std::string& object) const { return path_.string() + ": " + object; }

bool Hdf5File::is_group(const std::string& object) const { return object_type(file_, object) == H5I_GROUP; }

bool Hdf5File::is_dataset(const std::string& object) const { return object_type(file_, object) == H5I_DATASET; }

std::vector<std::string> Hdf5File::members(const std::string& group) const {
  if (!is_group(group)) throw InputError(where(group) + ": not found (expected a group)");
  std::vector<std::string> names;
  const auto collect = [](hid_t, const char* name, const H5L_info_t*, void* data) -> herr_t {
    static_cast<std::vector<std::string>*>(data)->push_back(name);
    return 0;
  };
  H5Literate_by_name(file_, group.c_str(), H5_INDEX_NAME, H5_ITER_INC, nullptr, collect, &names, H5P_DEFAULT);
  std::sort(names.begin(), names.end());
  return names;
}

namespace {

Handle open_dataset(hid_t file, const Hdf5File& self, const std::string& object) {
  if (!self.is_dataset(object)) throw InputError(self.where(object) + ": not found (expected a dataset)");
  const hid_t id = H5Dopen2(file, object.c_str(), H5P_DEFAULT);
  if (id < 0) throw InputError(self.where(object) + ": cannot be opened");
  return Handle(id, H5Dclose);
}

}  // namespace

Hdf5File::Kind Hdf5File::kind(const std::string& object) const {
  const Handle dataset = open_dataset(file_, *this, object);
  const Handle type(H5Dget_type(dataset.get()), H5Tclose);
  switch (H5Tget_class(type.get())) {
    case H5T_INTEGER:
      return Kind::Integer;
    case H5T_FLOAT:
      return Kind::Float;
    case H5T_STRING:
      return Kind::String;
    default:
      return Kind::Other;
  }
}

std::vector<int64_t> Hdf5File::shape(const std::string& object) const {
  const Handle dataset = open_dataset(file_, *this, object);
  const Handle space(H5Dget_space(dataset.get()), H5Sclose);
  const int rank = H5Sget_simple_extent_ndims(space.get());
  std::vector<hsize_t> dims(static_cast<std::size_t>(std::max(rank, 0)));
  if (rank > 0) H5Sget_simple_extent_dims(space.get(), dims.data(), nullptr);
  return {dims.begin(), dims.end()};
}

namespace {

// Reads `count` elements from `offset` (all when count < 0) of a numeric dataset into
// `out`, converted by HDF5 to `memory_type`.
template <class T>
std::vector<T> read_numbers(hid_t file, const Hdf5File& self, const std::string& object, hid_t memory_type,
                            int64_t offset, int64_t count) {
  const Hdf5File::Kind kind = self.kind(object);
  if (kind != Hdf5File::Kind::Integer && kind != Hdf5File::Kind::Float)
    throw InputError(self.where(object) + ": expected numbers");
  const Handle dataset = open_dataset(file, self, object);
  const Handle space(H5Dget_space(dataset.get()), H5Sclose);
  const hssize_t total = H5Sget_simple_extent_npoints(space.get());
  if (count < 0) {
    std::vector<T> values(static_cast<std::size_t>(total));
    if (total > 0 && H5Dread(dataset.get(), memory_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, values.data()) < 0)
      throw InputError(self.where(object) + ": cannot be read");
    return values;
  }
  if (H5Sget_simple_extent_ndims(space.get()) != 1) throw InputError(self.where(object) + ": expected a 1-D dataset");
  if (offset < 0 || offset + count > total)
    throw InputError(self.where(object) + ": elements " + std::to_string(offset) + ".." +
                     std::to_string(offset + count) + " requested of " + std::to_string(total));
  std::vector<T> values(static_cast<std::size_t>(count));
  if (count == 0) return values;
  const hsize_t start = static_cast<hsize_t>(offset), length = static_cast<hsize_t>(count);
  H5Sselect_hyperslab(space.get(), H5S_SELECT_SET, &start, nullptr, &length, nullptr);
  const Handle memory(H5Screate_simple(1, &length, nullptr), H5Sclose);
  if (H5Dread(dataset.get(), memory_type, memory.get(), space.get(), H5P_DEFAULT, values.data()) < 0)
    throw InputError(self.where(object) + ": cannot be read");
  return values;
}

}  // namespace

std::vector<double> Hdf5File::read_doubles(const std::string& object) const {
  return read_numbers<double>(file_, *this, object, H5T_NATIVE_DOUBLE, 0, -1);
}

std::vector<double> Hdf5File::read_doubles(const std::string& object, int64_t offset, int64_t count) const {
  return read_numbers<double>(file_, *this, object, H5T_NATIVE_DOUBLE, offset, count);
}

std::vector<int64_t> Hdf5File::read_int64s(const std::string& object) const {
  if (kind(object) != Kind::Integer) throw InputError(where(object) + ": expected integers");
  return read_numbers<int64_t>(file_, *this, object, H5T_NATIVE_INT64, 0, -1);
}

std::vector<std::string> Hdf5File::read_strings(const std::string& object) const {
  if (kind(object) != Kind::String) throw InputError(where(object) + ": expected strings");
  const Handle dataset = open_dataset(file_, *this, object);
  const Handle type(H5Dget_type(dataset.get()), H5Tclose);
  const Handle space(H5Dget_space(dataset.get()), H5Sclose);
  const auto n = static_cast<std::size_t>(H5Sget_simple_extent_npoints(space.get()));
  std::vector<std::string> values;
  values.reserve(n);
  if (H5Tis_variable_str(type.get()) > 0) {
    const Handle memory(H5Tcopy(H5T_C_S1), H5Tclose);
    H5Tset_size(memory.get(), H5T_VARIABLE);
    H5Tset_cset(memory.get(), H5Tget_cset(type.get()));
    std::vector<char*> pointers(n, nullptr);
    if (n > 0 && H5Dread(dataset.get(), memory.get(), H5S_ALL, H5S_ALL, H5P_DEFAULT, pointers.data()) < 0)
      throw InputError(where(object) + ": cannot be read");
    for (char* p : pointers) values.emplace_back(p ? p : "");
    if (n > 0) H5Dvlen_reclaim(memory.get(), space.get(), H5P_DEFAULT, pointers.data());
    return values;
  }
  const std::size_t size = H5Tget_size(type.get());
  std::vector<char> buffer(n * size + 1, '\0');
  if (n > 0 && H5Dread(dataset.get(), type.get(), H5S_ALL, H5S_ALL, H5P_DEFAULT, buffer.data()) < 0)
    throw InputError(where(object) + ": cannot be read");
  for (std::size_t i = 0; i < n; ++i) {
    const char* begin = buffer.data() + i * size;
    values.emplace_back(begin, strnlen(begin, size));
  }
  return values;
}

std::string Hdf5File::string_attribute(const std::string& object, const std::string& name) const {
  if (!path_exists(file_, object) || H5Aexists_by_name(file_, object.c_str(), name.c_str(), H5P_DEFAULT) <= 0)
    return "";
  const Handle attribute(H5Aopen_by_name(file_, object.c_str(), name.c_str(), H5P_DEFAULT, H5P_DEFAULT), H5Aclose);
  const Handle type(H5Aget_type(attribute.get()), H5Tclose);
  if (H5Tget_class(type.get()) != H5T_STRING) return "";
  if (H5Tis_variable_str(type.get()) > 0) {
    const Handle memory(H5Tcopy(H5T_C_S1), H5Tclose);
    H5Tset_size(memory.get(), H5T_VARIABLE);
    char* value = nullptr;
    if (H5Aread(attribute.get(), memory.get(), &value) < 0 || !value) return "";
    std::string text = value;
    H5free_memory(value);
    return text;
  }
  const std::size_t size = H5Tget_size(type.get());
  std::vector<char> buffer(size + 1, '\0');
  if (H5Aread(attribute.get(), type.get(), buffer.data()) < 0) return "";
  return std::string(buffer.data(), strnlen(buffer.data(), size));
}

// ---------------------------------------------------------------------------------------
// Writing.

namespace {

[[noreturn]] void write_failed(const std::filesystem::path& path, const std::string& object, const std::string& what) {
  throw std::runtime_error(path.string() + ": " + object + ": could not " + what);
}

// A new variable-length UTF-8 string type (the caller closes it).
hid_t new_string_type() {
  const hid_t type = H5Tcopy(H5T_C_S1);
  H5Tset_size(type, H5T_VARIABLE);
  H5Tset_cset(type, H5T_CSET_UTF8);
  return type;
}

}  // namespace

Hdf5Writer::Hdf5Writer(const std::filesystem::path& path) : path_(path) {
  silence_hdf5();
  file_ = H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
  if (file_ < 0) write_failed(path, "/", "create the HDF5 file");
}

Hdf5Writer::~Hdf5Writer() {
  if (file_ >= 0) H5Fclose(file_);
}

void Hdf5Writer::close() {
  if (file_ < 0) return;
  const herr_t flushed = H5Fflush(file_, H5F_SCOPE_GLOBAL);
  const herr_t closed = H5Fclose(file_);
  file_ = -1;
  if (flushed < 0 || closed < 0) write_failed(path_, "/", "write the HDF5 file");
}

void Hdf5Writer::group(const std::string& group) {
  const Handle properties(H5Pcreate(H5P_LINK_CREATE), H5Pclose);
  H5Pset_create_intermediate_group(properties.get(), 1);
  const Handle created(H5Gcreate2(file_, group.c_str(), properties.get(), H5P_DEFAULT, H5P_DEFAULT), H5Gclose);
  if (!created.ok()) write_failed(path_, group, "create the group");
}

void Hdf5Writer::write(const std::string& dataset, long long type, const void* data,
                       const std::vector<int64_t>& shape) {
  std::vector<hsize_t> dims(shape.begin(), shape.end());
  const Handle space(H5Screate_simple(static_cast<int>(dims.size()), dims.data(), nullptr), H5Sclose);
  const Handle properties(H5Pcreate(H5P_LINK_CREATE), H5Pclose);
  H5Pset_create_intermediate_group(properties.get(), 1);
  const Handle created(H5Dcreate2(file_, dataset.c_str(), static_cast<hid_t>(type), space.get(), properties.get(),
                                  H5P_DEFAULT, H5P_DEFAULT),
                       H5Dclose);
  if (!created.ok()) write_failed(path_, dataset, "create the dataset");
  if (H5Dwrite(created.get(), static_cast<hid_t>(type), H5S_ALL, H5S_ALL, H5P_DEFAULT, data) < 0)
    write_failed(path_, dataset, "write the dataset");
}

void Hdf5Writer::doubles(const std::string& dataset, const std::vector<double>& values, std::vector<int64_t> shape) {
  if (shape.empty()) shape = {static_cast<int64_t>(values.size())};
  write(dataset, H5T_NATIVE_DOUBLE, values.data(), shape);
}

void Hdf5Writer::int64s(const std::string& dataset, const std::vector<int64_t>& values) {
  write(dataset, H5T_NATIVE_INT64, values.data(), {static_cast<int64_t>(values.size())});
}

void Hdf5Writer::uint64s(const std::string& dataset, const std::vector<uint64_t>& values) {
  write(dataset, H5T_NATIVE_UINT64, values.data(), {static_cast<int64_t>(values.size())});
}

void Hdf5Writer::strings(const std::string& dataset, const std::vector<std::string>& values) {
  std::vector<const char*> pointers;
  for (const auto& v : values) pointers.push_back(v.c_str());
  const Handle type(new_string_type(), H5Tclose);
  write(dataset, type.get(), pointers.data(), {static_cast<int64_t>(values.size())});
}

void Hdf5Writer::string_attribute(const std::string& object, const std::string& name, const std::string& value) {
  const Handle opened(H5Oopen(file_, object.c_str(), H5P_DEFAULT), H5Oclose);
  if (!opened.ok()) write_failed(path_, object, "open the object for attribute '" + name + "'");
  const Handle type(new_string_type(), H5Tclose);
  const Handle space(H5Screate(H5S_SCALAR), H5Sclose);
  const Handle attribute(H5Acreate2(opened.get(), name.c_str(), type.get(), space.get(), H5P_DEFAULT, H5P_DEFAULT),
                         H5Aclose);
  const char* text = value.c_str();
  if (!attribute.ok() || H5Awrite(attribute.get(), type.get(), &text) < 0)
    write_failed(path_, object, "write attribute '" + name + "'");
}

void Hdf5Writer::strings_attribute(const std::string& object, const std::string& name,
                                   const std::vector<std::string>& values) {
  const Handle opened(H5Oopen(file_, object.c_str(), H5P_DEFAULT), H5Oclose);
  if (!opened.ok()) write_failed(path_, object, "open the object for attribute '" + name + "'");
  const Handle type(new_string_type(), H5Tclose);
  const hsize_t n = values.size();
  const Handle space(H5Screate_simple(1, &n, nullptr), H5Sclose);
  const Handle attribute(H5Acreate2(opened.get(), name.c_str(), type.get(), space.get(), H5P_DEFAULT, H5P_DEFAULT),
                         H5Aclose);
  std::vector<const char*> pointers;
  for (const auto& v : values) pointers.push_back(v.c_str());
  if (!attribute.ok() || H5Awrite(attribute.get(), type.get(), pointers.data()) < 0)
    write_failed(path_, object, "write attribute '" + name + "'");
}

}  // namespace ltrnn
