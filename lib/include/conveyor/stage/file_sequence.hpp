#pragma once

#include "conveyor/core/result.hpp"
#include "conveyor/core/run_settings.hpp"
#include "conveyor/stage/stage.hpp"

#include <functional>
#include <memory>
#include <optional>
#include <string>

namespace conveyor {

/// Builds the stage that reads one file of a glob as if its `path` named only that file (no
/// sharding: the sequence applies partition = "files", the caller "hash").
using FileStageFactory = std::function<std::unique_ptr<Stage>(const std::string& path)>;

/// Opens a file source whose `path` is a glob (io/file_glob.hpp), or whose partition is
/// "files": the matched files (shard `files_of`'s share of them under partition = "files")
/// are read one after the other, in path order, as one stream. Each file is opened by its own
/// stage from `make` when the one before it ends, so errors, dead letters and warnings name
/// the file and its own lines, a CSV file's header is its own, and a compressed file is
/// undone on its own.
///
/// - Files with a fixed schema (CSV) must all have the first one's columns: a later file with
///   others fails with a data error naming it and what differs. Files without records are
///   skipped.
/// - Checkpoints: taken only when every file can be read again from a position (no
///   compressed file). The position is `files1 file=I before=H name=P inner=T`: the file's
///   index in the list, a checksum of the names before it, its name and its own stage's
///   position (percent-encoded). A resumed run refuses it (Config: the run starts over) when
///   the pattern now matches other files up to that one.
/// - `path` without glob characters (partition = "files" of one file) is that one file: a
///   missing one fails as a single file's open does (NoInput naming it).
///
/// A stop request ends the stream after the current file's records, as at the end of input.
Result<OpenedStage> open_file_sequence(const std::string& path, std::optional<ShardId> files_of,
                                       const OpenContext& ctx, const FileStageFactory& make);

} // namespace conveyor
