// The fixed sections' option tables: each key's default is its struct's initializer, the
// tables fill the structs the loader hands on, and the byte-size and duration kinds read what
// they say.

#include "conveyor/config/loader.hpp"
#include "conveyor/config/section_options.hpp"
#include "conveyor/registry/registry.hpp"
#include "unit/config/fake_functions.hpp"

#include <gtest/gtest.h>

namespace conveyor {
namespace {

TEST(SectionOptions, DefaultsAreTheStructsInitializers) {
    const GlobalSpec g;
    const auto& global = config::global_options();
    EXPECT_EQ(global.find("channel_buffer_size")->default_value.as_int(),
              static_cast<std::int64_t>(g.channel_buffer_size));
    EXPECT_EQ(global.find("executor")->default_value.as_string(), to_string(g.executor));
    EXPECT_EQ(global.find("checkpoint_interval")->default_value.as_int(),
              static_cast<std::int64_t>(g.checkpoint_interval));
    // Computed at run time: no default value, a note instead.
    EXPECT_TRUE(global.find("memory_limit")->default_value.is_null());
    EXPECT_FALSE(global.find("memory_limit")->default_note.empty());
    EXPECT_TRUE(global.find("timeout_seconds")->default_value.is_null());

    const ErrorHandlingSpec e;
    const auto& eh = config::error_handling_options();
    EXPECT_EQ(eh.find("max_retries")->default_value.as_int(), e.max_retries);
    EXPECT_EQ(eh.find("strategy")->default_value.as_string(), to_string(e.strategy));
    EXPECT_DOUBLE_EQ(eh.find("retry_delay_seconds")->default_value.as_double(),
                     e.retry_delay_seconds);
}

TEST(SectionOptions, EveryKeyHasADescriptionAndTheKeyListsFollowTheTables) {
    auto described = [](const std::vector<OptionSpec>& specs) {
        for (const OptionSpec& o : specs)
            EXPECT_FALSE(o.description.empty()) << o.name;
    };
    described(config::global_options().specs());
    described(config::error_handling_options().specs());
    described(config::pipeline_options().specs());
    described(config::dead_letter_options().specs());
    EXPECT_EQ(config::global_keys().size(), config::global_options().specs().size());
    EXPECT_EQ(config::error_handling_keys().back(), "dead_letter_queue");
}

TEST(SectionOptions, PluginsChooseAmongTheRegistrysPlugins) {
    Registry registry;
    test::register_test_functions(registry);
    for (const OptionSpec& o : config::global_option_specs(registry)) {
        if (o.name != "plugins") continue;
        std::vector<std::string> names;
        for (const PluginInfo& p : registry.plugins())
            names.push_back(p.name);
        EXPECT_EQ(o.choices, names);
        return;
    }
    FAIL() << "no plugins key";
}

TEST(SectionOptions, TheLoaderFillsTheStructsThroughTheTables) {
    Registry registry;
    test::register_test_functions(registry);
    const std::string text = R"(
[pipeline]
name = "p"
version = "2"
[global]
executor = "async"
memory_limit = "2GiB"
max_buffered_bytes = 1000
timeout_seconds = 1.5
workers = 3
lock = true
[error_handling]
strategy = "retry"
on_exhausted = "continue"
retry_delay_seconds = 0
max_retries = 7
[error_handling.dead_letter_queue]
enabled = true
path = "dead.jsonl"
[[stages]]
id = "src"
function = "test.source"
[[stages]]
id = "out"
function = "test.sink"
inputs = ["src"]
[stages.config]
path = "out.txt"
)";
    LoadResult r = load_pipeline_text(text, "p.toml", registry, {});
    ASSERT_TRUE(r.pipeline) << r.diagnostics.to_string();
    const PipelineSpec& p = *r.pipeline;
    EXPECT_EQ(p.name, "p");
    EXPECT_EQ(p.version, "2");
    EXPECT_EQ(p.global.executor, ExecutorKind::Async);
    EXPECT_EQ(p.global.memory_limit, std::uint64_t{2} << 30);
    EXPECT_EQ(p.global.max_buffered_bytes, 1000u);
    ASSERT_TRUE(p.global.timeout_seconds);
    EXPECT_DOUBLE_EQ(*p.global.timeout_seconds, 1.5);
    EXPECT_EQ(p.global.workers, 3u);
    EXPECT_TRUE(p.global.lock);
    EXPECT_EQ(p.error_handling.strategy, ErrorStrategy::Retry);
    EXPECT_EQ(p.error_handling.on_exhausted, ErrorStrategy::Continue);
    EXPECT_EQ(p.error_handling.max_retries, 7u);
    EXPECT_DOUBLE_EQ(p.error_handling.retry_delay_seconds, 0.0);
    EXPECT_TRUE(p.error_handling.dead_letter_enabled);
    EXPECT_EQ(p.error_handling.dead_letter_path, "dead.jsonl");
}

TEST(SectionOptions, DurationsInSecondsAlsoTakeTextWithAUnit) {
    Registry registry;
    test::register_test_functions(registry);
    auto load = [&](const std::string& lines) {
        return load_pipeline_text("[global]\n" + lines + R"(
[[stages]]
id = "src"
function = "test.source"
[[stages]]
id = "out"
function = "test.sink"
inputs = ["src"]
[stages.config]
path = "out.txt"
)",
                                  "p.toml", registry, {});
    };
    LoadResult r = load("timeout_seconds = \"30s\"\nshutdown_timeout_seconds = \"500ms\"\n"
                        "[error_handling]\nretry_delay_seconds = \"2m\"\n"
                        "max_retry_delay_seconds = \"1h\"");
    ASSERT_TRUE(r.pipeline) << r.diagnostics.to_string();
    ASSERT_TRUE(r.pipeline->global.timeout_seconds);
    EXPECT_DOUBLE_EQ(*r.pipeline->global.timeout_seconds, 30.0);
    EXPECT_DOUBLE_EQ(r.pipeline->global.shutdown_timeout_seconds, 0.5);
    EXPECT_DOUBLE_EQ(r.pipeline->error_handling.retry_delay_seconds, 120.0);
    EXPECT_DOUBLE_EQ(r.pipeline->error_handling.max_retry_delay_seconds, 3600.0);
    // A unit it does not know, and bounds as for numbers.
    LoadResult bad = load("timeout_seconds = \"2y\"");
    EXPECT_FALSE(bad.pipeline);
    EXPECT_EQ(bad.diagnostics.to_string(),
              "p.toml:2:19: error: [global] timeout_seconds must be a number of seconds or a "
              "duration such as \"30s\", \"5m\" or \"1h\", not string \"2y\"\n");
    LoadResult zero = load("timeout_seconds = \"0s\"");
    EXPECT_FALSE(zero.pipeline);
}

} // namespace
} // namespace conveyor
