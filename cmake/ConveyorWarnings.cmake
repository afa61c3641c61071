# Warning flags shared by every conveyor target (sanitizers: ConveyorSanitizers.cmake).
add_library(conveyor_warnings INTERFACE)
target_compile_options(conveyor_warnings INTERFACE
  -Wall -Wextra -Wpedantic -Wnon-virtual-dtor -Wcast-align -Wno-missing-field-initializers)
if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
  target_compile_options(conveyor_warnings INTERFACE -Wshadow=local)
elseif(CMAKE_CXX_COMPILER_ID MATCHES "Clang")
  # clang's spelling of GCC's -Wshadow=local.
  target_compile_options(conveyor_warnings INTERFACE -Wshadow-uncaptured-local)
endif()
if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU" AND CMAKE_CXX_COMPILER_VERSION VERSION_LESS 13)
  # GCC 12 reports impossible overlaps in inlined std::string concatenation at -O2
  # (GCC bug 105651); the warning is noise there and fixed in GCC 13.
  target_compile_options(conveyor_warnings INTERFACE -Wno-restrict)
endif()
