#pragma once

// A source that emits the records of one spill run file (exec/spill.hpp's format, without
// keys), in order. `conveyor replay` writes the dead-lettered records it replays into such a
// file and reads them back through this source: JSON lines would lose what the spill format
// keeps (bare-empty fields, text that is not UTF-8), so the replayed stage sees each record as
// it first did.

#include "conveyor/stage/stage.hpp"

#include <memory>
#include <string>

namespace conveyor {

/// The stage reading the run at `path`. The file is the caller's: the source does not remove it.
std::unique_ptr<Stage> make_run_source(std::string path);

} // namespace conveyor
