#pragma once

// The files of a sharded run's output `NAME.EXT` (io only: names, manifests, digests).
//   NAME.part-00003-of-00010.EXT                    shard 3's committed part
//   NAME.part-00003-of-00010.EXT.manifest           its manifest (committed after the part)
//   NAME.part-00003-of-00010.attempt-ID.EXT         an attempt's part before commit
//   NAME.part-00003-of-00010.attempt-ID.EXT.manifest
// NAME ends at the first dot of the file name (out.csv.gz: NAME out, EXT csv.gz), so that a
// part keeps the extensions that say its format and compression.

#include "conveyor/core/result.hpp"
#include "conveyor/core/run_settings.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace conveyor {

/// Shard `id`'s committed part of `target`.
std::string part_path(const std::string& target, ShardId id);
/// Attempt `attempt`'s part of `target` before commit (`attempt`: letters, digits, - and _).
std::string attempt_part_path(const std::string& target, ShardId id, std::string_view attempt);
/// Where `conveyor finalize` puts the parts of `target` together before combining partial
/// results (a hidden file beside it, with its extensions).
std::string partials_path(const std::string& target);
/// The manifest beside a part (committed or not).
std::string manifest_path_of(const std::string& part);

/// What a part holds, written beside it as lines of `key value`.
struct PartManifest {
    ShardId shard;
    std::string attempt;
    std::uint64_t records = 0;
    std::uint64_t bytes = 0;
    std::string sha256; ///< hex
};

std::string manifest_text(const PartManifest& m);
/// Fails (Data) when `text` is not a manifest; `where` names it in the error.
Result<PartManifest> parse_manifest(std::string_view text, const std::string& where);
/// The manifest in file `path` (NoInput when it cannot be read).
Result<PartManifest> read_manifest(const std::string& path);

/// The SHA-256 (hex) and size of a file.
struct FileDigest {
    std::string sha256;
    std::uint64_t bytes = 0;
};
Result<FileDigest> digest_file(const std::string& path);

/// The shard counts of the committed manifests of `target` found in its directory (sorted,
/// distinct): what `conveyor finalize` without --shards goes by.
std::vector<std::uint32_t> committed_shard_counts(const std::string& target);
/// Removes every part and manifest of `target` (committed or not, any shard count); returns
/// how many files it removed.
std::size_t remove_parts(const std::string& target);

} // namespace conveyor
