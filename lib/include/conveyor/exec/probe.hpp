#pragma once

#include "conveyor/config/pipeline_spec.hpp"
#include "conveyor/core/error.hpp"

#include <vector>

namespace conveyor {

/// Opens what can be opened without reading data or writing output: sources over regular
/// files (Stage::can_probe: they read a CSV header or a first JSON record) and the
/// synchronous transforms fed by them, in dependency order, each given the schemas its inputs
/// reported. What only a known input schema shows (a column that is not in a CSV header, in
/// an expression or an option) surfaces as the configuration errors open() returns; they are
/// returned in file order of their stages, each naming its stage. Nothing is run: every
/// opened stage is aborted, sinks are never opened, and other failures (an input file that
/// does not exist yet) are not reported here.
std::vector<Error> probe_pipeline(const PipelineSpec& pipeline);

/// `conveyor validate --connect`: every stage that talks to a database (ConnectionCheck)
/// connects and checks the tables and columns it names, reading and writing no data. Returns
/// their errors in file order, each naming its stage (Config: the pipeline must change;
/// TempFail: the server cannot be reached now).
std::vector<Error> check_connections(const PipelineSpec& pipeline);

} // namespace conveyor
