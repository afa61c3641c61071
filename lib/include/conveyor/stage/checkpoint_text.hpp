#pragma once

#include "conveyor/core/result.hpp"
#include "conveyor/io/compression.hpp"

#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace conveyor {

class InputFile;

/// The text of a source's checkpoint (SourceOperator::checkpoint): a tag naming the format and
/// its version, then `key=value` fields separated by spaces, e.g.
/// `csv1 offset=4096 line=57 records=55`. Values hold no spaces.
class CheckpointText {
public:
    /// Reads `text`, which must start with `tag` and hold each of `keys` exactly once (and no
    /// other). Errors say what is wrong, naming `what` ("a csv.read checkpoint").
    static Result<CheckpointText> parse(std::string_view text, std::string_view tag,
                                        std::initializer_list<std::string_view> keys,
                                        std::string_view what);

    /// The value of `key` (one of the keys given to parse()).
    [[nodiscard]] std::string_view get(std::string_view key) const;
    /// The value of `key` as an unsigned number in `base`.
    [[nodiscard]] Result<std::uint64_t> number(std::string_view key, int base = 10) const;
    /// An error about this text: "the saved position "..." is not <what>: <why>".
    [[nodiscard]] Error bad(std::string_view why) const;
    /// A well-formed position that does not fit the input any more (`file` changed, another
    /// format): a Config error naming the file. The executor then starts the run over.
    [[nodiscard]] static Error refuse(std::string_view position, std::string_view why,
                                      const std::string& file);
    /// Checks that `file` still holds what the interrupted run had read before byte `offset`:
    /// it is that long, and the bytes checked by InputFile::checksum_before give `check`.
    /// refuse() (for `position`) when not.
    static Status verify_file(InputFile& file, std::uint64_t offset, std::uint64_t check,
                              std::string_view position);
    /// A source over standard input, a followed file or a compressed file (`compressed` says
    /// which compression) was given a position to resume from.
    [[nodiscard]] static Error not_resumable(bool followed, const std::string& path,
                                             std::string_view stage,
                                             Compression compressed = Compression::None);

private:
    std::string text_;
    std::string what_;
    std::vector<std::pair<std::string, std::string>> fields_;
};

} // namespace conveyor
