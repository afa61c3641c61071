#pragma once

// Helpers for http.fetch pipeline tests: write a CSV into a TempDir, build the pipeline text
// (csv.read -> http.fetch -> json.write as JSON Lines), load it with the real registry, run
// it, and read back the output, the stage's counters (its StageMetrics and HTTP series) and
// the dead-letter file. A fake clock, given to the run through RunContext::stage_time,
// records every sleep instead of sleeping.

#include "conveyor/config/loader.hpp"
#include "conveyor/core/run_context.hpp"
#include "conveyor/exec/executor.hpp"
#include "conveyor/net/clock.hpp"
#include "conveyor/obs/http_metrics.hpp"
#include "conveyor/obs/metrics.hpp"
#include "conveyor/registry/registry.hpp"
#include "http_fetch.hpp"
#include "support/http_test_server.hpp"
#include "support/paths.hpp"
#include "support/process.hpp"

#include <algorithm>
#include <boost/asio/post.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <fstream>
#include <gtest/gtest.h>
#include <memory>
#include <mutex>
#include <sstream>
#include <string>
#include <vector>

namespace conveyor::plugins::http::test_util {

inline std::string executor_name(ExecutorKind k) {
    switch (k) {
    case ExecutorKind::Dag:
        return "dag";
    case ExecutorKind::Channel:
        return "channel";
    case ExecutorKind::Async:
        return "async";
    }
    return "dag";
}

/// "id,name\n1,n1\n2,n2\n..." with ids 1..n.
inline std::string ids_csv(std::size_t n) {
    std::string s = "id,name\n";
    for (std::size_t i = 1; i <= n; ++i)
        s += std::to_string(i) + ",n" + std::to_string(i) + "\n";
    return s;
}

/// The record id in a path like "/users/17" or "/users/17/profile".
inline int id_in_path(const std::string& path) {
    const std::size_t at = path.find("/users/");
    if (at == std::string::npos) return -1;
    return std::atoi(path.c_str() + at + 7);
}

/// What the fake clock saw. Shared with the test; thread-safe.
struct ClockLog {
    std::mutex mu;
    std::vector<std::chrono::milliseconds> sleeps;
    std::vector<std::chrono::milliseconds> snapshot() {
        std::lock_guard lock(mu);
        return sleeps;
    }
};

/// Virtual time: wait_for() records the duration, moves virtual time to the wake-up point and
/// returns at once (after a post to the caller's executor, so other coroutines run as they
/// would while sleeping).
class FakeClock final : public net::Clock {
public:
    explicit FakeClock(std::shared_ptr<ClockLog> log) : log_(std::move(log)) {}
    std::chrono::steady_clock::time_point now() const override {
        return std::chrono::steady_clock::time_point{} + std::chrono::hours{1000} + virtual_;
    }
    std::chrono::system_clock::time_point system_now() const override {
        return system_epoch() + virtual_;
    }
    boost::asio::awaitable<bool> wait_for(std::chrono::nanoseconds d) override {
        {
            std::lock_guard lock(log_->mu);
            log_->sleeps.push_back(std::chrono::duration_cast<std::chrono::milliseconds>(d));
        }
        const auto wake = virtual_ + d;
        co_await boost::asio::post(co_await boost::asio::this_coro::executor,
                                   boost::asio::use_awaitable);
        virtual_ = std::max(virtual_, wake);
        co_return !cancelled_;
    }
    void cancel_all() override { cancelled_ = true; }

    /// The fake wall clock starts here (for Retry-After dates).
    static std::chrono::system_clock::time_point system_epoch() {
        using namespace std::chrono;
        return sys_days{year{2030} / January / 2} + hours{3};
    }

private:
    std::shared_ptr<ClockLog> log_;
    std::chrono::nanoseconds virtual_{0};
    bool cancelled_ = false;
};

/// A fake clock per stage run, every one logging into one ClockLog, and a random source that
/// always returns the top of the jitter range (so delays are exact). PipelineFixture gives
/// them to its runs once use_fake_time() was called.
class FakeTime {
public:
    FakeTime() : log_(std::make_shared<ClockLog>()) {}
    FakeTime(const FakeTime&) = delete;
    FakeTime& operator=(const FakeTime&) = delete;

    /// Makes the stages of a run with `ctx` wait on this fake time.
    void install(RunContext& ctx) const {
        auto log = log_;
        ctx.stage_time.make_clock = [log] {
            return std::unique_ptr<net::Clock>(std::make_unique<FakeClock>(log));
        };
        ctx.stage_time.random = [](std::uint64_t max) { return max; };
    }
    /// Every sleep asked for so far, in order.
    std::vector<std::chrono::milliseconds> sleeps() { return log_->snapshot(); }

private:
    std::shared_ptr<ClockLog> log_;
};

struct Outcome {
    RunReport report;
    std::vector<std::string> lines; ///< JSON Lines written by the sink (empty if none)
    bool output_exists = false;
    std::unique_ptr<MetricsRegistry> metrics = std::make_unique<MetricsRegistry>();
    /// The counters of stage "fetch" (in `metrics`); null when the run never got to it.
    StageMetrics* fetch = nullptr;
    std::string dead_letters; ///< content of the DLQ file, if any
    Diagnostics diagnostics;
    bool loaded = false;

    /// The HTTP series of stage "fetch" (the ones its runs published). Needs `fetch`.
    [[nodiscard]] obs::HttpMetrics http() const { return obs::HttpMetrics(*fetch); }
};

inline std::vector<std::string> read_lines(const std::string& path) {
    std::vector<std::string> out;
    std::ifstream in(path);
    std::string line;
    while (std::getline(in, line))
        if (!line.empty()) out.push_back(line);
    return out;
}

/// A pipeline test: a temp dir with input.csv, a pipeline text, and a way to run it.
class PipelineFixture {
public:
    explicit PipelineFixture(std::size_t rows = 10) {
        csv_ = dir_.write("input.csv", ids_csv(rows));
    }

    void write_csv(const std::string& content) { csv_ = dir_.write("input.csv", content); }
    /// From now on the runs wait on fake time (see FakeTime), which the returned object logs.
    FakeTime& use_fake_time() {
        if (!time_) time_ = std::make_unique<FakeTime>();
        return *time_;
    }
    [[nodiscard]] const test::TempDir& dir() const { return dir_; }
    [[nodiscard]] std::string out_path() const { return dir_.file("out.jsonl"); }
    [[nodiscard]] std::string dlq_path() const { return dir_.file("dead.jsonl"); }

    /// csv.read -> http.fetch ("fetch", `fetch_config` lines under [stages.config]) ->
    /// json.write. `global` lines go under [global]; `tail` is appended (more sections).
    [[nodiscard]] std::string pipeline(ExecutorKind executor, const std::string& fetch_config,
                                       const std::string& global = "",
                                       const std::string& tail = "") const {
        std::string t = "[pipeline]\nname = \"http-test\"\n\n[global]\nexecutor = \"" +
                        executor_name(executor) + "\"\n" + global + "\n";
        t += tail + "\n";
        t += "[[stages]]\nid = \"load\"\nfunction = \"csv.read\"\ninputs = "
             "[]\n[stages.config]\npath = \"" +
             csv_ + "\"\n\n";
        t += "[[stages]]\nid = \"fetch\"\nfunction = \"http.fetch\"\ninputs = "
             "[\"load\"]\n[stages.config]\n" +
             fetch_config + "\n\n";
        t += "[[stages]]\nid = \"save\"\nfunction = \"json.write\"\ninputs = "
             "[\"fetch\"]\n[stages.config]\npath = \"" +
             out_path() + "\"\n";
        return t;
    }

    /// Loads and runs `text`; `setup` runs before the run (e.g. to give it a stdin pipe);
    /// `during` runs on another thread while the run goes on (e.g. to cancel it) and is joined
    /// before returning.
    Outcome run(const std::string& text, const std::function<void(RunContext&)>& during = {},
                const std::function<void(RunContext&)>& setup = {}) const {
        Outcome o;
        Registry registry;
        register_builtin_plugins(registry);
        LoadResult lr = load_pipeline_text(text, "pipeline.toml", registry);
        o.diagnostics = lr.diagnostics;
        if (!lr.pipeline) return o;
        o.loaded = true;
        RunContext ctx;
        if (time_) time_->install(ctx);
        if (setup) setup(ctx);
        RunOptions opts;
        opts.metrics = o.metrics.get();
        std::thread side;
        if (during) side = std::thread([&] { during(ctx); });
        o.report = run_pipeline(*lr.pipeline, ctx, opts);
        if (side.joinable()) side.join();
        o.fetch = o.metrics->find("fetch");
        o.output_exists = test::file_exists(out_path());
        if (o.output_exists) o.lines = read_lines(out_path());
        if (test::file_exists(dlq_path())) o.dead_letters = test::read_file(dlq_path());
        return o;
    }

private:
    test::TempDir dir_;
    std::string csv_;
    std::unique_ptr<FakeTime> time_;
};

/// Records the stage passed on with a response: the ones it passed on, less the nulled ones.
/// (records_nulled counts records when they fail, so this holds once the run has emitted them.)
inline std::uint64_t records_ok(const Outcome& o) {
    EXPECT_NE(o.fetch, nullptr);
    if (!o.fetch) return 0;
    const std::uint64_t out = o.fetch->records_out.load();
    const std::uint64_t nulled = o.fetch->records_nulled.load();
    EXPECT_LE(nulled, out);
    return out - std::min(nulled, out);
}

/// The records whose failure the stage noted with a message containing `text` (the failed
/// records behind the run summary's first errors).
inline std::uint64_t failures_noted(const Outcome& o, const std::string& text) {
    EXPECT_NE(o.fetch, nullptr);
    if (!o.fetch) return 0;
    std::uint64_t n = 0;
    for (const auto& e : o.fetch->first_errors().entries())
        if (e.message.find(text) != std::string::npos) n += e.count;
    return n;
}

/// Every record the stage took in is accounted for exactly once in its StageMetrics:
///   records_in = records_out + records_dropped + records_dead_lettered + given up
///                + records_pending
/// where "given up" (on_error = "fail") = records_failed - nulled - dropped - dead-lettered;
/// and its HTTP series agree: no attempt left in flight, failures by cause add up to the
/// class="error" responses.
inline void expect_accounting(const Outcome& o, std::size_t records_in) {
    ASSERT_NE(o.fetch, nullptr);
    const StageMetrics& m = *o.fetch;
    EXPECT_EQ(m.records_in.load(), records_in);
    const std::uint64_t left_out =
        m.records_nulled.load() + m.records_dropped.load() + m.records_dead_lettered.load();
    ASSERT_GE(m.records_failed.load(), left_out);
    const std::uint64_t given_up = m.records_failed.load() - left_out;
    EXPECT_EQ(m.records_in.load(), m.records_out.load() + m.records_dropped.load() +
                                       m.records_dead_lettered.load() + given_up +
                                       m.records_pending.load());
    obs::HttpMetrics http = o.http();
    EXPECT_EQ(http.in_flight.value(), 0);
    std::uint64_t by_cause = 0;
    for (std::size_t c = 0; c < obs::HttpMetrics::kFailures; ++c)
        by_cause += http.errors_by(static_cast<obs::HttpMetrics::Failure>(c)).value();
    EXPECT_EQ(by_cause, http.errors.value());
}

inline std::string errors_of(const Outcome& o) {
    return o.diagnostics.to_string();
}

} // namespace conveyor::plugins::http::test_util
