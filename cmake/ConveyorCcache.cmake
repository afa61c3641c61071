# Compiles through ccache when it is installed (CONVEYOR_CCACHE=OFF, or an explicit
# CMAKE_CXX_COMPILER_LAUNCHER, overrides this). Where the cache lives is ccache's business:
# CCACHE_DIR, else ~/.cache/ccache; .ci/run points it into the build directory.
option(CONVEYOR_CCACHE "Compile through ccache when it is found" ON)
if(CONVEYOR_CCACHE AND NOT CMAKE_CXX_COMPILER_LAUNCHER)
  find_program(CONVEYOR_CCACHE_PROGRAM ccache)
  if(CONVEYOR_CCACHE_PROGRAM)
    set(CMAKE_CXX_COMPILER_LAUNCHER ${CONVEYOR_CCACHE_PROGRAM})
  endif()
endif()
