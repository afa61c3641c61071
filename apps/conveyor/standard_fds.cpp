// Standard descriptors a script closed (`conveyor run p.toml <&- >&-`, a daemon that closed
// them): the next file opened takes the lowest free number, so without this the pipeline file,
// the event loop's eventfd or an output file became descriptor 0, 1 or 2. Records meant for
// standard output then went into that file (an eventfd refused them with EINVAL), and reading
// standard input (path = "-") waited forever on the eventfd.

#include "commands.hpp"

#include <cerrno>
#include <fcntl.h>
#include <unistd.h>

namespace conveyor::cli {

namespace {

/// Opens /dev/null as descriptor `fd` when it is closed.
void reserve(int fd, int flags) {
    if (::fcntl(fd, F_GETFD) != -1 || errno != EBADF) return;
    const int got = ::open("/dev/null", flags);
    if (got >= 0 && got != fd) { // a lower one was closed as well and took it
        ::dup2(got, fd);
        ::close(got);
    }
}

} // namespace

void reserve_standard_fds() {
    // stdin and stdout open the wrong way round, so that reading or writing them fails (EBADF:
    // "<stdin>: cannot read", "<stdout>: write failed") instead of reading nothing or losing
    // the records; stderr takes what is logged and drops it.
    reserve(STDIN_FILENO, O_WRONLY);
    reserve(STDOUT_FILENO, O_RDONLY);
    reserve(STDERR_FILENO, O_WRONLY);
}

} // namespace conveyor::cli
