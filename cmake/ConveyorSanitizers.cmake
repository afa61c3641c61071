# Sanitizer and fuzzing instrumentation for the whole tree (every target, the generated plugin
# list and Asio's compiled sources included: TSan reports races through uninstrumented code as
# false positives, and ASan misses overflows there).
#
# CONVEYOR_SANITIZE: empty/OFF, ON (= address,undefined, the old boolean), or a list for
# -fsanitize= such as "address,undefined" or "thread". UBSan findings abort instead of being
# printed and ignored, so a test that triggers one fails.
# CONVEYOR_FUZZ: libFuzzer targets (tests/fuzz, clang only); the libraries get
# -fsanitize=fuzzer-no-link,address,undefined, the fuzz executables link the fuzzer runtime.
set(CONVEYOR_SANITIZE "" CACHE STRING
  "Sanitizers for every target: address,undefined (ON means the same), thread, or empty")
option(CONVEYOR_FUZZ "Build the libFuzzer targets in tests/fuzz (clang)" OFF)

set(conveyor_sanitize "${CONVEYOR_SANITIZE}")
if(conveyor_sanitize STREQUAL "ON" OR conveyor_sanitize STREQUAL "TRUE" OR conveyor_sanitize STREQUAL "1")
  set(conveyor_sanitize "address,undefined")
elseif(NOT conveyor_sanitize OR conveyor_sanitize STREQUAL "OFF")
  set(conveyor_sanitize "")
endif()

if(CONVEYOR_FUZZ)
  if(NOT CMAKE_CXX_COMPILER_ID MATCHES "Clang")
    message(FATAL_ERROR "CONVEYOR_FUZZ needs clang (libFuzzer), e.g. the 'fuzz' preset")
  endif()
  if(conveyor_sanitize AND NOT conveyor_sanitize STREQUAL "address,undefined")
    message(FATAL_ERROR "CONVEYOR_FUZZ builds with address,undefined; leave CONVEYOR_SANITIZE empty or set it to that")
  endif()
  add_compile_options(-fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=all
    -fno-omit-frame-pointer)
  add_link_options(-fsanitize=address,undefined)
elseif(conveyor_sanitize)
  add_compile_options(-fsanitize=${conveyor_sanitize} -fno-sanitize-recover=all
    -fno-omit-frame-pointer)
  add_link_options(-fsanitize=${conveyor_sanitize})
endif()
