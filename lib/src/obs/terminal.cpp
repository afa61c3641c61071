#include "conveyor/obs/terminal.hpp"

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fmt/format.h>
#include <sys/ioctl.h>
#include <unistd.h>

namespace conveyor::obs {

TerminalInfo stderr_terminal() {
    TerminalInfo t;
    t.tty = ::isatty(2) == 1;
    const char* term = std::getenv("TERM");
    t.live = t.tty && !(term && std::strcmp(term, "dumb") == 0);
    const char* no_color = std::getenv("NO_COLOR");
    t.color = t.live && !(no_color && *no_color);
    return t;
}

int terminal_columns(int fd, int fallback) {
    winsize ws{};
    if (::ioctl(fd, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0) return ws.ws_col;
    return fallback;
}

void write_stderr(std::string_view text) {
    std::fflush(stderr); // anything stdio buffered goes first
    while (!text.empty()) {
        const ssize_t n = ::write(2, text.data(), text.size());
        if (n < 0) {
            if (errno == EINTR) continue;
            return;
        }
        text.remove_prefix(static_cast<std::size_t>(n));
    }
}

StderrWriter& StderrWriter::instance() {
    static StderrWriter writer;
    return writer;
}

void StderrWriter::erase_locked() {
    if (lines_shown_ == 0) return;
    // Back to the first line of the frame, then clear to the end of the screen.
    std::string seq = "\r";
    if (lines_shown_ > 1) seq += fmt::format("\x1b[{}A", lines_shown_ - 1);
    seq += "\x1b[J";
    write_stderr(seq);
    lines_shown_ = 0;
}

void StderrWriter::draw_locked() {
    if (frame_.empty()) return;
    write_stderr(frame_);
    lines_shown_ = 1;
    for (char c : frame_)
        lines_shown_ += c == '\n';
}

void StderrWriter::write(std::string_view text) {
    std::lock_guard lock(mu_);
    erase_locked();
    write_stderr(text);
    draw_locked();
}

void StderrWriter::exclusive(const std::function<void()>& fn) {
    std::lock_guard lock(mu_);
    erase_locked();
    fn();
    std::fflush(stderr);
    draw_locked();
}

void StderrWriter::show_live(const std::string& frame) {
    std::lock_guard lock(mu_);
    // One write per frame (erase + draw) keeps the display from flickering.
    std::string seq;
    if (lines_shown_ > 0) {
        seq = "\r";
        if (lines_shown_ > 1) seq += fmt::format("\x1b[{}A", lines_shown_ - 1);
        seq += "\x1b[J";
    }
    frame_ = frame;
    lines_shown_ = 0;
    if (!frame_.empty()) {
        lines_shown_ = 1;
        for (char c : frame_)
            lines_shown_ += c == '\n';
    }
    write_stderr(seq + frame_);
}

void StderrWriter::clear_live() {
    std::lock_guard lock(mu_);
    erase_locked();
    frame_.clear();
}

} // namespace conveyor::obs
