// Options counted in milliseconds (http.fetch timeout_ms, gather.apply timeout_ms, sinks'
// flush_interval_ms, ...) take a duration written with its unit, as the options counted in
// seconds do since "30s" was allowed there.

#include "conveyor/config/loader.hpp"
#include "conveyor/registry/registry.hpp"

#include <gtest/gtest.h>
#include <string>

namespace conveyor::config {
namespace {

const Registry& registry() {
    static const Registry r = [] {
        Registry reg;
        register_builtin_plugins(reg);
        return reg;
    }();
    return r;
}

LoadResult with_fetch(const std::string& fetch_lines) {
    return load_pipeline_text(R"([[stages]]
id = "in"
function = "csv.read"
[stages.config]
path = "in.csv"
[[stages]]
id = "call"
function = "http.fetch"
inputs = ["in"]
[stages.config]
url = "http://127.0.0.1:1/{{ id }}"
)" + fetch_lines + R"(
[[stages]]
id = "out"
function = "json.write"
inputs = ["call"]
[stages.config]
path = "out.jsonl"
flush_interval_ms = "2s"
)",
                              "p.toml", registry(), {});
}

TEST(MillisecondOptions, TakeADurationWithItsUnit) {
    // Before: 'key 'timeout_ms' must be an integer, not string "300ms"'.
    LoadResult r = with_fetch("timeout_ms = \"300ms\"\nretry_base_delay_ms = \"1.5s\"\n"
                              "max_retry_delay_ms = \"1m\"");
    ASSERT_TRUE(r.pipeline) << r.diagnostics.to_string();
    const StageSpec& call = r.pipeline->stages[1];
    EXPECT_EQ(call.config.get_int("timeout_ms"), 300);
    EXPECT_EQ(call.config.get_int("retry_base_delay_ms"), 1500);
    EXPECT_EQ(call.config.get_int("max_retry_delay_ms"), 60000);
    EXPECT_EQ(r.pipeline->stages[2].config.get_int("flush_interval_ms"), 2000);
    // A number is still milliseconds.
    LoadResult n = with_fetch("timeout_ms = 250");
    ASSERT_TRUE(n.pipeline) << n.diagnostics.to_string();
    EXPECT_EQ(n.pipeline->stages[1].config.get_int("timeout_ms"), 250);
}

TEST(MillisecondOptions, TextWithoutAUnitOrOutOfBoundsIsRefused) {
    // A quoted number has no unit: it is refused as before, not read as seconds.
    LoadResult quoted = with_fetch("timeout_ms = \"300\"");
    EXPECT_FALSE(quoted.pipeline);
    EXPECT_NE(quoted.diagnostics.to_string().find("must be an integer"), std::string::npos)
        << quoted.diagnostics.to_string();
    LoadResult unknown = with_fetch("timeout_ms = \"3 parsecs\"");
    EXPECT_FALSE(unknown.pipeline);
    EXPECT_NE(unknown.diagnostics.to_string().find("a duration such as \"300ms\""),
              std::string::npos)
        << unknown.diagnostics.to_string();
    // Bounds apply to the milliseconds: timeout_ms is at most 86400000 (a day).
    LoadResult long_one = with_fetch("timeout_ms = \"2d\"");
    EXPECT_FALSE(long_one.pipeline);
    EXPECT_NE(long_one.diagnostics.to_string().find("got 172800000"), std::string::npos)
        << long_one.diagnostics.to_string();
}

} // namespace
} // namespace conveyor::config
