# Compiles through ccache when it is installed (CONVEYOR_CCACHE=OFF, or an explicit
# CMAKE_CXX_COMPILER_LAUNCHER, overrides this). Where the cache lives is ccache's business:
# CCACHE_DIR, else ~/.cache/ccache; .ci/run points it into the build directory.
#
# The tests compile with precompiled headers, which ccache caches only with the sloppiness
# below (its manual, "Precompiled headers"); ccache 4.7 takes settings from the environment
# alone, hence `cmake -E env`. Clang's PCH carries a timestamp unless told not to.
option(CONVEYOR_CCACHE "Compile through ccache when it is found" ON)
if(CONVEYOR_CCACHE AND NOT CMAKE_CXX_COMPILER_LAUNCHER)
  find_program(CONVEYOR_CCACHE_PROGRAM ccache)
  if(CONVEYOR_CCACHE_PROGRAM)
    set(CMAKE_CXX_COMPILER_LAUNCHER ${CMAKE_COMMAND} -E env
      CCACHE_SLOPPINESS=pch_defines,time_macros,include_file_mtime,include_file_ctime
      ${CONVEYOR_CCACHE_PROGRAM})
    if(CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
      add_compile_options("$<$<COMPILE_LANGUAGE:CXX>:SHELL:-Xclang -fno-pch-timestamp>")
    endif()
  endif()
endif()
