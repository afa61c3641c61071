#pragma once

// A run that reads what it writes: checked before any stage opens, from the stages' `path`s and
// the files they name now.

#include "conveyor/core/result.hpp"

namespace conveyor {

struct PipelineSpec;

/// Fails (ErrorKind::Config, in the writing stage, its text starting with "path: ") when an
/// output of `pipeline` is also one of its inputs in a way that changes the records:
/// - a file sink appends (`append = true`) to a file a source reads, by the same path, a link
///   or a hard link: the records it writes are read again (a file that grows is read to its
///   new end), a varying number of times;
/// - a file sink or the dead-letter queue writes a file a source's glob matches (now, or once
///   it exists): every run after the first would read the last one's output as input.
/// A sink replacing the very file a source reads without a glob (`in.csv` -> `in.csv`) is
/// fine: the source reads the old file, which the new one replaces when the run commits.
Status check_outputs_are_not_inputs(const PipelineSpec& pipeline);

} // namespace conveyor
