// NumPy .npz I/O: a zip archive (libzip, Debian's libzip-dev) of .npy entries, each parsed
// and written by io/npy.cpp.
#include <zip.h>

#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "io/npy.h"
#include "util/errors.h"
#include "util/files.h"

namespace ltrnn {

namespace {

std::string zip_error_text(zip_error_t* error) { return zip_error_strerror(error); }

}  // namespace

std::map<std::string, NpyArray> read_npz(const std::filesystem::path& path) {
  const std::string where = path.string();
  if (!std::filesystem::exists(path)) throw InputError(where + ": file not found");
  int error_code = 0;
  std::unique_ptr<zip_t, decltype(&zip_discard)> archive(
      zip_open(where.c_str(), ZIP_RDONLY | ZIP_CHECKCONS, &error_code), &zip_discard);
  if (!archive) {
    zip_error_t error;
    zip_error_init_with_code(&error, error_code);
    const std::string reason = zip_error_text(&error);
    zip_error_fini(&error);
    throw InputError(where + ": not a readable .npz (zip) archive: " + reason + " (truncated or corrupt file?)");
  }
  std::map<std::string, NpyArray> arrays;
  const zip_int64_t entries = zip_get_num_entries(archive.get(), 0);
  for (zip_int64_t i = 0; i < entries; ++i) {
    zip_stat_t stat;
    if (zip_stat_index(archive.get(), i, 0, &stat) != 0)
      throw InputError(where + ": corrupt .npz archive: " + zip_strerror(archive.get()));
    std::string name = stat.name;
    if (name.size() > 4 && name.compare(name.size() - 4, 4, ".npy") == 0) name.resize(name.size() - 4);
    const std::string member = where + ", key '" + name + "'";
    std::unique_ptr<zip_file_t, decltype(&zip_fclose)> file(zip_fopen_index(archive.get(), i, 0), &zip_fclose);
    if (!file) throw InputError(member + ": cannot open archive member: " + zip_strerror(archive.get()));
    // Read to the end in chunks rather than allocating stat.size bytes up front: that is
    // the size the archive claims (a 200-byte file can claim 2^62), and libzip checks the
    // member's CRC only when a read reaches its end.
    std::string payload;
    std::vector<char> chunk(1 << 16);
    zip_int64_t got = 0;
    while (payload.size() <= stat.size && (got = zip_fread(file.get(), chunk.data(), chunk.size())) > 0)
      payload.append(chunk.data(), static_cast<std::size_t>(got));
    if (got < 0) throw InputError(member + ": truncated or corrupt archive member: " + zip_file_strerror(file.get()));
    if (payload.size() != stat.size)
      throw InputError(member + ": truncated or corrupt archive member: " + std::to_string(payload.size()) +
                       " bytes, but the archive's directory says " + std::to_string(stat.size));
    arrays.emplace(name, parse_npy(payload, member));
  }
  return arrays;
}

void write_npz(const std::filesystem::path& path, const NpzContents& arrays, bool compressed, int level) {
  write_via_temp(path, [&](const std::filesystem::path& tmp) {
    int error_code = 0;
    zip_t* archive = zip_open(tmp.string().c_str(), ZIP_CREATE | ZIP_TRUNCATE, &error_code);
    if (!archive) throw std::runtime_error("cannot create " + tmp.string());
    // Payloads must outlive zip_close, which is when libzip reads them.
    std::vector<std::string> payloads;
    payloads.reserve(arrays.size());
    for (const auto& [key, array] : arrays) {
      payloads.push_back(serialize_npy(array));
      zip_source_t* source = zip_source_buffer(archive, payloads.back().data(), payloads.back().size(), 0);
      const zip_int64_t index =
          source ? zip_file_add(archive, (key + ".npy").c_str(), source, ZIP_FL_ENC_UTF_8 | ZIP_FL_OVERWRITE) : -1;
      if (index < 0) {
        if (source) zip_source_free(source);
        const std::string reason = zip_strerror(archive);
        zip_discard(archive);
        throw std::runtime_error("cannot add '" + key + "' to " + tmp.string() + ": " + reason);
      }
      zip_set_file_compression(archive, index, compressed ? ZIP_CM_DEFLATE : ZIP_CM_STORE,
                               static_cast<zip_uint32_t>(level));
    }
    if (zip_close(archive) != 0) {
      // A failed write (a full disk) carries the system's errno: name the file the user asked for.
      const int error_number = zip_error_code_system(zip_get_error(archive));
      const bool system_error = zip_error_system_type(zip_get_error(archive)) == ZIP_ET_SYS;
      const std::string reason = zip_strerror(archive);
      zip_discard(archive);
      if (system_error && error_number != 0) throw write_error(path, error_number);
      throw std::runtime_error("cannot write " + tmp.string() + ": " + reason);
    }
  });
}

}  // namespace ltrnn
