#include "conveyor/registry/registry.hpp"
namespace conveyor::plugins {
void register_stdout(Registry&) {}
}
