#pragma once

// stderr is shared by the log, taps, the progress display and the end-of-run summary. While a
// live display is shown, every other writer goes through StderrWriter, which erases the display,
// writes whole lines and lets the display redraw below them: nothing lands mid-frame.

#include <cstddef>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>

namespace conveyor::obs {

/// What stderr is connected to, decided once from the environment.
struct TerminalInfo {
    bool tty = false;   ///< isatty(2)
    bool live = false;  ///< can redraw in place: a tty and TERM is not "dumb"
    bool color = false; ///< live, and NO_COLOR unset or empty (https://no-color.org)
};
TerminalInfo stderr_terminal();
/// Width of the terminal on `fd`, or `fallback` when unknown.
int terminal_columns(int fd, int fallback = 80);

/// The process's stderr, arbitrated between writers. Thread-safe.
class StderrWriter {
public:
    static StderrWriter& instance();

    /// Writes `text` (whole lines) to stderr, below the live display if one is shown.
    void write(std::string_view text);
    /// Runs `fn` (which writes to stderr itself, e.g. a log sink) with the display erased.
    void exclusive(const std::function<void()>& fn);

    /// Shows `frame` (lines separated by '\n', no trailing newline) in place of the previous
    /// frame. Only the progress display calls this.
    void show_live(const std::string& frame);
    /// Erases the live frame; later writes go straight to stderr.
    void clear_live();

private:
    void erase_locked();
    void draw_locked();

    std::mutex mu_;
    std::string frame_;
    std::size_t lines_shown_ = 0; ///< lines of the frame now on screen (0 = none)
};

/// Writes all of `text` to fd 2, retrying on EINTR and short writes; errors are ignored
/// (there is nowhere left to report them).
void write_stderr(std::string_view text);

} // namespace conveyor::obs
