# The libraries ltrnn links besides LibTorch, as targets ltrnn::zip, ltrnn::hdf5 and
# ltrnn::cxxopts, nlohmann_json::nlohmann_json and VALIJSON_INCLUDE_DIR. Debian's packages
# are found through pkg-config and their CMake files; where those are absent (a CUDA
# machine with the -dev packages unpacked into a prefix on CMAKE_PREFIX_PATH, docs/gpu.md),
# the headers and libraries are looked up directly.
find_package(PkgConfig QUIET)

# libzip (.npz archives): header and library looked up directly. Not through Debian's libzip
# CMake config, which also demands libzip's command-line tools, nor pkg-config, whose
# libzip.pc names /usr even when the package is unpacked elsewhere.
find_path(LTRNN_ZIP_INCLUDE_DIR zip.h REQUIRED)
find_path(LTRNN_ZIPCONF_INCLUDE_DIR zipconf.h PATH_SUFFIXES ${CMAKE_LIBRARY_ARCHITECTURE} REQUIRED)
find_library(LTRNN_ZIP_LIBRARY zip REQUIRED)
add_library(ltrnn::zip INTERFACE IMPORTED)
target_include_directories(ltrnn::zip INTERFACE ${LTRNN_ZIP_INCLUDE_DIR} ${LTRNN_ZIPCONF_INCLUDE_DIR})
target_link_libraries(ltrnn::zip INTERFACE ${LTRNN_ZIP_LIBRARY})

# libhdf5-dev (NWB files are HDF5): its C library (FindHDF5 needs the C language enabled).
if(PKG_CONFIG_FOUND)
  pkg_check_modules(HDF5 QUIET IMPORTED_TARGET hdf5-serial)
endif()
add_library(ltrnn::hdf5 INTERFACE IMPORTED)
if(TARGET PkgConfig::HDF5)
  target_link_libraries(ltrnn::hdf5 INTERFACE PkgConfig::HDF5)
else()
  find_path(LTRNN_HDF5_INCLUDE_DIR hdf5.h PATH_SUFFIXES hdf5/serial REQUIRED)
  find_library(LTRNN_HDF5_LIBRARY NAMES hdf5_serial hdf5 PATH_SUFFIXES hdf5/serial REQUIRED)
  target_include_directories(ltrnn::hdf5 INTERFACE ${LTRNN_HDF5_INCLUDE_DIR})
  target_link_libraries(ltrnn::hdf5 INTERFACE ${LTRNN_HDF5_LIBRARY})
endif()

# nlohmann_json and cxxopts: header-only.
find_package(nlohmann_json 3 QUIET)
if(NOT TARGET nlohmann_json::nlohmann_json)
  find_path(LTRNN_JSON_INCLUDE_DIR nlohmann/json.hpp REQUIRED)
  add_library(nlohmann_json::nlohmann_json INTERFACE IMPORTED)
  target_include_directories(nlohmann_json::nlohmann_json INTERFACE ${LTRNN_JSON_INCLUDE_DIR})
endif()
find_package(cxxopts QUIET)
add_library(ltrnn::cxxopts INTERFACE IMPORTED)
if(TARGET cxxopts::cxxopts)
  target_link_libraries(ltrnn::cxxopts INTERFACE cxxopts::cxxopts)
else()
  find_path(LTRNN_CXXOPTS_INCLUDE_DIR cxxopts.hpp REQUIRED)
  target_include_directories(ltrnn::cxxopts INTERFACE ${LTRNN_CXXOPTS_INCLUDE_DIR})
endif()

find_path(VALIJSON_INCLUDE_DIR valijson/validator.hpp REQUIRED)  # libvalijson-dev (header-only)
