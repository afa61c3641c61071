#pragma once

#include "conveyor/io/input_file.hpp"
#include "conveyor/stage/stage.hpp"

#include <cstddef>
#include <memory>

namespace conveyor::recordio {

/// Bytes read from the input per block.
inline constexpr std::size_t kLineBlockSize = std::size_t{1} << 20;
/// A line longer than this is an error rather than a reason to hold the whole input.
inline constexpr std::size_t kMaxLineBytes = std::size_t{256} << 20;

/// The schema of `format = "lines"`: one field, `line`.
SchemaRef line_schema();

/// `format = "lines"`: one record {line: "..."} per line of text, without its line end (LF or
/// CRLF). Empty lines are records too. A last line without a line end is a record at the end of
/// the input, but not when the input was interrupted by a stop (it may be half written).
///
/// Zero copy: values view the blocks read, which the batches keep alive. In streaming mode a
/// batch goes out with the lines that have arrived instead of waiting for batch_size of them.
std::unique_ptr<SourceOperator> make_line_source(InputFile file, const OpenContext& ctx,
                                                 std::size_t block_size = kLineBlockSize,
                                                 std::size_t max_line = kMaxLineBytes);

} // namespace conveyor::recordio
