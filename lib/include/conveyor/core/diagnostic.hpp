#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace conveyor {

/// A place in a pipeline file. line/column are 1-based; 0 means unknown.
struct SourceLocation {
    std::string file;
    std::uint32_t line = 0;
    std::uint32_t column = 0;

    /// "pipeline.toml:12:5", "pipeline.toml:12" or "pipeline.toml".
    [[nodiscard]] std::string to_string() const;
};

/// One problem found while loading or validating a pipeline.
struct Diagnostic {
    enum class Severity : std::uint8_t { Error, Warning };
    Severity severity = Severity::Error;
    SourceLocation where;
    std::string stage; ///< stage id, empty when not about a stage
    std::string message;

    /// "pipeline.toml:12:5: error: stage 'load': unknown key 'pth' (did you mean 'path'?)"
    [[nodiscard]] std::string to_string() const;
};

/// Collects every problem so that validation can report them all at once.
class Diagnostics {
public:
    void error(SourceLocation where, std::string stage, std::string message);
    void warning(SourceLocation where, std::string stage, std::string message);
    [[nodiscard]] bool has_errors() const noexcept;
    [[nodiscard]] const std::vector<Diagnostic>& all() const noexcept { return items_; }
    /// Orders by file position (stable), so reports read top to bottom.
    void sort();
    /// Every diagnostic, one per line.
    [[nodiscard]] std::string to_string() const;

private:
    std::vector<Diagnostic> items_;
};

} // namespace conveyor
