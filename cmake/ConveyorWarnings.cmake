# Warning and sanitizer flags shared by every conveyor target.
add_library(conveyor_warnings INTERFACE)
target_compile_options(conveyor_warnings INTERFACE
  -Wall -Wextra -Wpedantic -Wshadow=local -Wnon-virtual-dtor -Wcast-align
  -Wno-missing-field-initializers)
if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU" AND CMAKE_CXX_COMPILER_VERSION VERSION_LESS 13)
  # GCC 12 reports impossible overlaps in inlined std::string concatenation at -O2
  # (GCC bug 105651); the warning is noise there and fixed in GCC 13.
  target_compile_options(conveyor_warnings INTERFACE -Wno-restrict)
endif()
if(CONVEYOR_SANITIZE)
  target_compile_options(conveyor_warnings INTERFACE -fsanitize=address,undefined -fno-omit-frame-pointer)
  target_link_options(conveyor_warnings INTERFACE -fsanitize=address,undefined)
endif()
