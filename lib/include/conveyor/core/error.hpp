#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace conveyor {

/// What went wrong, in the terms a scheduler acts on. Each kind maps to one documented
/// exit code (see exit_code()); the mapping lives in exactly one place.
enum class ErrorKind : std::uint8_t {
    Usage,      ///< bad command line                         -> 64
    Config,     ///< invalid pipeline file                    -> 78
    Data,       ///< malformed input data                     -> 65
    NoInput,    ///< an input file is missing or unreadable   -> 66
    CantCreate, ///< an output cannot be created or written   -> 73
    TempFail,   ///< transient failure worth retrying         -> 75
    Timeout,    ///< [global] timeout_seconds elapsed         -> 75
    Cancelled,  ///< stopped by a signal or by another stage's failure
    Busy,       ///< another run of the pipeline holds its lock (--lock)   -> 4
    Runtime,    ///< any other failure of a stage             -> 1
    Internal,   ///< a bug in conveyor                        -> 70
};

std::string_view to_string(ErrorKind kind) noexcept;

/// Documented process exit codes (sysexits style).
namespace exit_codes {
inline constexpr int kOk = 0;
inline constexpr int kFailed = 1;
inline constexpr int kCompletedWithFailures = 3;
inline constexpr int kAlreadyRunning = 4;
inline constexpr int kUsage = 64;
inline constexpr int kData = 65;
inline constexpr int kNoInput = 66;
inline constexpr int kSoftware = 70;
inline constexpr int kCantCreate = 73;
inline constexpr int kTempFail = 75;
inline constexpr int kConfig = 78;
inline constexpr int kSigint = 130;
inline constexpr int kSigterm = 143;
} // namespace exit_codes

int exit_code(ErrorKind kind) noexcept;

/// An error as a value. `where` is a position such as "data.csv:17:4" or "data.json: byte 812";
/// `stage` is the id of the stage it happened in, when there is one.
struct Error {
    ErrorKind kind = ErrorKind::Runtime;
    std::string message;
    std::string where;
    std::string stage;

    Error() = default;
    Error(ErrorKind k, std::string msg, std::string at = {}, std::string stage_id = {})
        : kind(k), message(std::move(msg)), where(std::move(at)), stage(std::move(stage_id)) {}

    /// "stage 'load': data.csv:17: row has 4 fields, expected 3"
    [[nodiscard]] std::string to_string() const;

    /// Returns a copy that names `stage_id` unless a stage is already named.
    [[nodiscard]] Error in_stage(std::string_view stage_id) const&;
    [[nodiscard]] Error in_stage(std::string_view stage_id) &&;
};

} // namespace conveyor
