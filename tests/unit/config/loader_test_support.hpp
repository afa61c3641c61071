#pragma once

// What the loader's tests share (loader_test.cpp, loader_variables_test.cpp,
// loader_keys_test.cpp, loader_graph_test.cpp): a fixture loading pipeline text with a
// registry of fake functions and a fake environment, and the diagnostics as strings.

#include "conveyor/config/loader.hpp"
#include "conveyor/registry/registry.hpp"
#include "unit/config/fake_functions.hpp"

#include <gtest/gtest.h>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace conveyor::test {

/// Drops the newline after R"( so that the first line of the text is line 1.
inline std::string toml_text(std::string_view raw) {
    if (!raw.empty() && raw.front() == '\n') raw.remove_prefix(1);
    return std::string(raw);
}

inline std::vector<std::string> errors(const LoadResult& r) {
    std::vector<std::string> out;
    for (const Diagnostic& d : r.diagnostics.all())
        if (d.severity == Diagnostic::Severity::Error) out.push_back(d.to_string());
    return out;
}

inline std::vector<std::string> warnings(const LoadResult& r) {
    std::vector<std::string> out;
    for (const Diagnostic& d : r.diagnostics.all())
        if (d.severity == Diagnostic::Severity::Warning) out.push_back(d.to_string());
    return out;
}

class LoaderTest : public ::testing::Test {
protected:
    LoaderTest() { register_test_functions(registry_); }

    LoadResult load(std::string_view raw, LoadOptions options = {},
                    std::string label = "pipe.toml") {
        if (!options.getenv)
            options.getenv = [this](std::string_view name) -> std::optional<std::string> {
                auto it = env_.find(std::string(name));
                if (it == env_.end()) return std::nullopt;
                return it->second;
            };
        return load_pipeline_text(toml_text(raw), std::move(label), registry_, options);
    }

    /// Loads `raw`, expecting failure, and returns the errors.
    std::vector<std::string> load_errors(std::string_view raw, LoadOptions options = {}) {
        LoadResult r = load(raw, std::move(options));
        EXPECT_FALSE(r.pipeline.has_value());
        EXPECT_EQ(r.failure, ErrorKind::Config);
        return errors(r);
    }

    Registry registry_;
    std::map<std::string, std::string> env_;
};

} // namespace conveyor::test
