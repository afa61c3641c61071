#include "conveyor/core/diagnostic.hpp"

#include <algorithm>

namespace conveyor {

std::string SourceLocation::to_string() const {
    std::string s = file;
    if (line) {
        s += ':' + std::to_string(line);
        if (column) s += ':' + std::to_string(column);
    }
    return s;
}

std::string Diagnostic::to_string() const {
    std::string s = where.to_string();
    if (!s.empty()) s += ": ";
    s += severity == Severity::Error ? "error: " : "warning: ";
    if (!stage.empty()) s += "stage '" + stage + "': ";
    s += message;
    return s;
}

void Diagnostics::error(SourceLocation where, std::string stage, std::string message) {
    items_.push_back(
        {Diagnostic::Severity::Error, std::move(where), std::move(stage), std::move(message)});
}

void Diagnostics::warning(SourceLocation where, std::string stage, std::string message) {
    items_.push_back(
        {Diagnostic::Severity::Warning, std::move(where), std::move(stage), std::move(message)});
}

bool Diagnostics::has_errors() const noexcept {
    return std::any_of(items_.begin(), items_.end(), [](const Diagnostic& d) {
        return d.severity == Diagnostic::Severity::Error;
    });
}

void Diagnostics::sort() {
    std::stable_sort(items_.begin(), items_.end(), [](const Diagnostic& a, const Diagnostic& b) {
        if (a.where.file != b.where.file) return a.where.file < b.where.file;
        if (a.where.line != b.where.line) return a.where.line < b.where.line;
        return a.where.column < b.where.column;
    });
}

std::string Diagnostics::to_string() const {
    std::string s;
    for (const Diagnostic& d : items_) {
        s += d.to_string();
        s += '\n';
    }
    return s;
}

} // namespace conveyor
