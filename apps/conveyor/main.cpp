#include "conveyor/registry/registry.hpp"

int main() {
    conveyor::Registry registry;
    conveyor::register_builtin_plugins(registry);
    return 0;
}
