#include "conveyor/recordio/csv_read.hpp"
#include "conveyor/recordio/csv_write.hpp"
#include "conveyor/registry/registry.hpp"

namespace conveyor::plugins {

void register_csv(Registry& registry) {
    registry.add("csv.read", recordio::csv::csv_read_descriptor);
    registry.add("csv.write", recordio::csv::csv_write_descriptor);
}

} // namespace conveyor::plugins
