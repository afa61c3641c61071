/* measure: runs a command and writes "wall_s max_rss_kb user_s sys_s exit_code" to REPORT. bench.py launches every measured command through it so that
 * the peak RSS is the command's own: a child forked from a large process (Python) carries
 * that process's resident size in ru_maxrss until it execs. RUSAGE_CHILDREN covers the whole
 * process tree (e.g. a shell running `mlr ... > file`), like GNU time.
 * Usage: measure REPORT CMD [ARGS...]   (CMD is looked up in PATH) */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char** argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: measure REPORT CMD [ARGS...]\n");
        return 64;
    }
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    pid_t pid = fork();
    if (pid < 0) return 71;
    if (pid == 0) {
        execvp(argv[2], argv + 2);
        perror(argv[2]);
        _exit(127);
    }
    int status = 0;
    while (waitpid(pid, &status, 0) < 0) {
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    struct rusage ru;
    getrusage(RUSAGE_CHILDREN, &ru);
    const int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    FILE* out = fopen(argv[1], "w");
    if (!out) {
        perror(argv[1]);
        return 73;
    }
    fprintf(out, "%.6f %ld %.6f %.6f %d\n",
            (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9, ru.ru_maxrss,
            (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6,
            (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6, code);
    fclose(out);
    return code;
}
