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

namespace {
struct LevelName {
    std::string_view name;
    spdlog::level::level_enum level;
};
constexpr LevelName kLevels[] = {
    {"trace", spdlog::level::trace},       {"debug", spdlog::level::debug},
    {"info", spdlog::level::info},         {"warn", spdlog::level::warn},
    {"warning", spdlog::level::warn},      {"error", spdlog::level::err},
    {"critical", spdlog::level::critical}, {"off", spdlog::level::off},
};
} // namespace

std::optional<spdlog::level::level_enum> parse_log_level(std::string_view name) {
    for (const LevelName& l : kLevels)
        if (l.name == name) return l.level;
    return std::nullopt;
}

const std::vector<std::string>& log_level_names() {
    static const std::vector<std::string> names = [] {
        std::vector<std::string> v;
        for (const LevelName& l : kLevels)
            v.emplace_back(l.name);
        return v;
    }();
    return names;
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
