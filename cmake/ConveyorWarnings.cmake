# Warning and sanitizer flags shared by every conveyor target.
add_library(conveyor_warnings INTERFACE)
target_compile_options(conveyor_warnings INTERFACE
  -Wall -Wextra -Wpedantic -Wshadow=local -Wnon-virtual-dtor -Wcast-align
  -Wno-missing-field-initializers)
if(CONVEYOR_SANITIZE)
  target_compile_options(conveyor_warnings INTERFACE -fsanitize=address,undefined -fno-omit-frame-pointer)
  target_link_options(conveyor_warnings INTERFACE -fsanitize=address,undefined)
endif()
