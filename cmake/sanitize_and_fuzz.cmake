# Fuzz targets (fuzz/) and the sanitizer build; included once, at the end of CMakeLists.txt,
# so that it sees every target the project defines.
#
# Every build compiles the targets' bodies (ltrnn_fuzz_targets) into the test suite, which
# replays their corpus and crash inputs (tests/fuzz/corpus_replay_test.cpp). Two options
# turn a build directory of its own into the sanitizer build (scripts/setup --sanitize
# configures build-sanitize/ with clang and both):
#   LTRNN_SANITIZE  every library and executable built with AddressSanitizer and
#                   UndefinedBehaviorSanitizer (-O1, line tables for the reports)
#   LTRNN_FUZZ      also the libFuzzer executables fuzz_<target> (clang; needs LTRNN_SANITIZE)
# One directory serves the sanitized test suite and the fuzzers, so LibTorch-heavy sources
# are compiled once for both.

option(LTRNN_SANITIZE "Build every target with -fsanitize=address,undefined" OFF)
option(LTRNN_FUZZ "Build the libFuzzer executables of fuzz/ (clang, with LTRNN_SANITIZE)" OFF)
set(LTRNN_FUZZ_TARGETS npy npz experiment nwb)

add_library(ltrnn_fuzz_targets STATIC fuzz/support.cpp fuzz/npy_target.cpp fuzz/experiment_target.cpp
                                      fuzz/nwb_target.cpp)
target_include_directories(ltrnn_fuzz_targets PUBLIC ${CMAKE_CURRENT_SOURCE_DIR})
target_link_libraries(ltrnn_fuzz_targets PUBLIC ltrnn_experiment)
target_precompile_headers(ltrnn_fuzz_targets REUSE_FROM ltrnn_data)
if(TARGET ltrnn_tests)
  target_link_libraries(ltrnn_tests PRIVATE ltrnn_fuzz_targets)
endif()

if(LTRNN_FUZZ AND NOT LTRNN_SANITIZE)
  message(FATAL_ERROR "LTRNN_FUZZ needs LTRNN_SANITIZE=ON: a fuzzer finds memory errors through the sanitizers")
endif()
if(LTRNN_FUZZ AND NOT CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
  message(FATAL_ERROR "LTRNN_FUZZ needs clang (libFuzzer): configure with CC=clang CXX=clang++")
endif()
if(NOT LTRNN_SANITIZE)
  return()
endif()

# Undefined behaviour stops the program (it would only be printed otherwise, and pass).
# -gline-tables-only: file:line in every report at a fraction of -g's build time and size.
set(LTRNN_SANITIZERS -fsanitize=address,undefined -fno-sanitize-recover=undefined)
set(LTRNN_SANITIZE_COMPILE ${LTRNN_SANITIZERS} -O1 -gline-tables-only -fno-omit-frame-pointer)
if(LTRNN_FUZZ)
  # Coverage for libFuzzer in every library; only the fuzz executables link libFuzzer itself.
  list(APPEND LTRNN_SANITIZE_COMPILE -fsanitize=fuzzer-no-link)
  # ...but not in the integrator's kernels, which no fuzz target reaches and which the fits
  # of the tests spend most of their time in.
  set_property(SOURCE src/model/fused_kernels.cpp src/model/fused_kernels_avx2.cpp
                      src/model/fused_integration.cpp APPEND PROPERTY COMPILE_OPTIONS -fno-sanitize=fuzzer-no-link)
  foreach(target ${LTRNN_FUZZ_TARGETS})
    add_executable(fuzz_${target} fuzz/${target}_main.cpp)
    target_link_libraries(fuzz_${target} PRIVATE ltrnn_fuzz_targets)
    target_link_options(fuzz_${target} PRIVATE -fsanitize=fuzzer)
    ltrnn_prefer_openmp_openblas(fuzz_${target})
  endforeach()
endif()

# The sanitizers' options (cmake/sanitizer_options.cpp.in) and leak suppressions
# (scripts/sanitizer/lsan.supp) compiled into every executable, so they hold wherever it
# runs: ctest, gtest's test discovery at build time, the ltrnn processes the tests start.
# ASAN_OPTIONS, UBSAN_OPTIONS and LSAN_OPTIONS still override them.
file(READ ${CMAKE_CURRENT_SOURCE_DIR}/scripts/sanitizer/lsan.supp LTRNN_LSAN_SUPPRESSIONS)
set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS scripts/sanitizer/lsan.supp)
configure_file(cmake/sanitizer_options.cpp.in ${CMAKE_CURRENT_BINARY_DIR}/generated/sanitizer_options.cpp @ONLY)
set_source_files_properties(${CMAKE_CURRENT_BINARY_DIR}/generated/sanitizer_options.cpp PROPERTIES
                            SKIP_PRECOMPILE_HEADERS ON)

# Sanitized tests run several times slower (a fit-heavy test 12x, each process starts
# LibTorch under ASan's allocator): ctest reads this after gtest's list of the tests and
# raises their timeout from 600 s.
file(WRITE ${CMAKE_CURRENT_BINARY_DIR}/sanitizer_test_timeouts.cmake
     "foreach(test \${ltrnn_tests_TESTS})\n  set_tests_properties(\${test} PROPERTIES TIMEOUT 6000)\nendforeach()\n")
set(LTRNN_ALL_TARGETS "")
foreach(directory ${CMAKE_CURRENT_SOURCE_DIR} ${CMAKE_CURRENT_SOURCE_DIR}/tests)
  if(EXISTS ${directory}/CMakeLists.txt AND (directory STREQUAL CMAKE_CURRENT_SOURCE_DIR OR BUILD_TESTING))
    set_property(DIRECTORY ${directory} APPEND PROPERTY TEST_INCLUDE_FILES
                 ${CMAKE_CURRENT_BINARY_DIR}/sanitizer_test_timeouts.cmake)
    get_property(targets DIRECTORY ${directory} PROPERTY BUILDSYSTEM_TARGETS)
    list(APPEND LTRNN_ALL_TARGETS ${targets})
  endif()
endforeach()
foreach(target ${LTRNN_ALL_TARGETS})
  get_target_property(type ${target} TYPE)
  if(type STREQUAL "STATIC_LIBRARY" OR type STREQUAL "EXECUTABLE")
    target_compile_options(${target} PRIVATE ${LTRNN_SANITIZE_COMPILE})
  endif()
  if(type STREQUAL "EXECUTABLE")
    target_link_options(${target} PRIVATE ${LTRNN_SANITIZERS})
    target_sources(${target} PRIVATE ${CMAKE_CURRENT_BINARY_DIR}/generated/sanitizer_options.cpp)
  endif()
endforeach()
