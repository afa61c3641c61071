// The pipeline loader (lib/include/conveyor/config/loader.hpp) on arbitrary text: TOML parsing,
// `${NAME}` / `${NAME:-default}` / `[global.variables]` expansion, validation against the
// builtin functions' option tables (a Registry filled like the app fills it), the graph checks
// and the stage factories. Loading must end in a pipeline or in located diagnostics, never in
// a crash, a hang or an escaped exception. The environment is a fixed map so that runs repeat.
//
// Inputs with bytes outside ASCII are skipped: Debian's toml++ 3.3 reaches TOML_UNREACHABLE in
// unicode::is_non_ascii_horizontal_whitespace for U+03BC (`μ = 1`), undefined behaviour that
// conveyor cannot avoid, and the fuzzer would find nothing else. (Its parse_key assertion on
// `[` + line break is compiled out of the fuzz tree: see the top-level CMakeLists.txt.)

#include "conveyor/config/loader.hpp"
#include "conveyor/registry/registry.hpp"

#include <cstdint>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>

namespace {

std::optional<std::string> fake_env(std::string_view name) {
    if (name == "HOME") return std::string("/nonexistent");
    if (name == "DATA_DIR") return std::string("data");
    if (name == "TOKEN") return std::string("${TOKEN}");
    return std::nullopt;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    static const conveyor::Registry* registry = [] {
        auto* r = new conveyor::Registry;
        conveyor::register_builtin_plugins(*r);
        return r;
    }();
    conveyor::LoadOptions options;
    options.getenv = fake_env;
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    for (const char c : text)
        if (static_cast<unsigned char>(c) >= 0x80) return -1; // not added to the corpus
    conveyor::LoadResult result =
        conveyor::load_pipeline_text(text, "fuzz.toml", *registry, options);
    result.diagnostics.sort();
    const std::string report = result.diagnostics.to_string();
    // A failed load always says why.
    if (!result.pipeline && report.empty()) std::abort();
    return 0;
}
