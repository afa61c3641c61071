#include "conveyor/obs/log.hpp"

#include "conveyor/obs/terminal.hpp"

#include <cstdlib>
#include <memory>
#include <spdlog/sinks/stdout_color_sinks.h>

namespace conveyor {

namespace {

/// The coloured stderr sink, writing through StderrWriter so that a log line never lands in
/// the middle of the progress display.
class ArbitratedStderrSink final : public spdlog::sinks::sink {
public:
    explicit ArbitratedStderrSink(spdlog::color_mode mode)
        : inner_(std::make_unique<spdlog::sinks::stderr_color_sink_mt>(mode)) {}

    void log(const spdlog::details::log_msg& msg) override {
        obs::StderrWriter::instance().exclusive([&] { inner_->log(msg); });
    }
    void flush() override { inner_->flush(); }
    void set_pattern(const std::string& pattern) override { inner_->set_pattern(pattern); }
    void set_formatter(std::unique_ptr<spdlog::formatter> f) override {
        inner_->set_formatter(std::move(f));
    }

private:
    std::unique_ptr<spdlog::sinks::stderr_color_sink_mt> inner_;
};

} // namespace

std::optional<spdlog::level::level_enum> parse_log_level(std::string_view name) {
    if (name == "trace") return spdlog::level::trace;
    if (name == "debug") return spdlog::level::debug;
    if (name == "info") return spdlog::level::info;
    if (name == "warn" || name == "warning") return spdlog::level::warn;
    if (name == "error") return spdlog::level::err;
    if (name == "critical") return spdlog::level::critical;
    if (name == "off") return spdlog::level::off;
    return std::nullopt;
}

void configure_logging(spdlog::level::level_enum level) {
    static bool installed = false;
    if (!installed) {
        // Colour only on a terminal, and never when NO_COLOR is set (https://no-color.org).
        const char* no_color = std::getenv("NO_COLOR");
        const auto mode =
            no_color && *no_color ? spdlog::color_mode::never : spdlog::color_mode::automatic;
        auto logger = std::make_shared<spdlog::logger>(
            "conveyor", std::make_shared<ArbitratedStderrSink>(mode));
        logger->set_pattern("%^[%H:%M:%S.%e %l]%$ %v");
        spdlog::set_default_logger(logger);
        installed = true;
    }
    spdlog::set_level(level);
}

} // namespace conveyor
