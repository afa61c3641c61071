// The one translation unit that compiles toml++ (the build sets TOML_HEADER_ONLY=0 for the core
// library). Only lib/src/config/*.cpp include toml++; nothing outside config/ sees it.
#define TOML_IMPLEMENTATION
#include <toml++/toml.h>
