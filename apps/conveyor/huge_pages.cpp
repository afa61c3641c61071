// Transparent huge pages for the memory malloc hands out, on machines where THP is
// "madvise" (Debian's default): a run that holds its input (a 5M-row sort holds 1.4 GB) takes
// hundreds of thousands of 4 KiB page faults otherwise, 40% of its time under a hypervisor
// (pipelines/bench, W4). glibc does the madvise with its tunable glibc.malloc.hugetlb=1, read
// only when a process starts, so `conveyor run` of a pipeline that holds data starts itself
// again once with it set, after loading the pipeline (start-up of the others stays as it is).
// The second start loads the pipeline again without printing its warnings a second time.

#include "commands.hpp"

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>
#include <unistd.h>

namespace conveyor::cli {

namespace {
char** g_argv = nullptr;
bool g_restarted = false;
constexpr const char* kRestarted = "CONVEYOR_RESTARTED_FOR_HUGE_PAGES";
} // namespace

char** start_argv() {
    return g_argv;
}

void note_start(char** argv) {
    g_argv = argv;
    if (std::getenv(kRestarted) != nullptr) {
        g_restarted = true;
        ::unsetenv(kRestarted); // not for the processes this one starts
    }
}

bool restarted_for_huge_pages() {
    return g_restarted;
}

void use_huge_pages() {
#ifdef __GLIBC__
    if (g_argv == nullptr || g_restarted) return;
    // Set already (by us before the exec, or by the user: theirs stands), or turned off.
    if (std::getenv("GLIBC_TUNABLES") != nullptr) return;
    if (const char* v = std::getenv("CONVEYOR_HUGE_PAGES"); v && std::strcmp(v, "0") == 0) return;
    // Under valgrind /proc/self/exe is the tool: an exec would leave it.
    if (const char* pre = std::getenv("LD_PRELOAD"); pre && std::strstr(pre, "vgpreload")) return;
    std::ifstream thp("/sys/kernel/mm/transparent_hugepage/enabled");
    std::string mode;
    std::getline(thp, mode);
    if (mode.find("[madvise]") == std::string::npos) return; // "always" needs no help, "never" none
    if (::setenv("GLIBC_TUNABLES", "glibc.malloc.hugetlb=1", 1) != 0) return;
    ::setenv(kRestarted, "1", 1);
    std::fflush(nullptr);
    ::execv("/proc/self/exe", g_argv);
    ::unsetenv("GLIBC_TUNABLES"); // the exec failed: go on as we are
    ::unsetenv(kRestarted);
#endif
}

} // namespace conveyor::cli
