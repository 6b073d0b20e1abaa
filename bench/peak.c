/* A small launcher for `make bench`: runs a command and writes, to the file
 * named by its first argument, one JSON line with the command's exit status,
 * its CPU seconds (user, system) and its peak resident set in KiB.
 *
 *     peak REPORT -- ./pan -c0 ...
 *
 * The peak is ru_maxrss from wait4. Linux carries the high-water mark of the
 * process that forks across exec, so a child forked from Python starts with
 * Python's tens of MiB; forked from this launcher it starts with the
 * launcher's own (its VmHWM, written beside it as "launcher_kib"), and the
 * figure is the command's own peak whenever that is above the launcher's.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

static long own_hwm(void) {
    long kib = 0;
    char line[256];
    FILE *status = fopen("/proc/self/status", "r");
    while (status && fgets(line, sizeof line, status))
        if (!strncmp(line, "VmHWM:", 6)) kib = strtol(line + 6, NULL, 10);
    if (status) fclose(status);
    return kib;
}

int main(int argc, char **argv) {
    if (argc < 4 || strcmp(argv[2], "--")) {
        fprintf(stderr, "usage: peak REPORT -- COMMAND [ARGS...]\n");
        return 2;
    }
    long launcher = own_hwm();
    pid_t pid = fork();
    if (pid < 0) {
        perror("fork");
        return 2;
    }
    if (pid == 0) {
        execvp(argv[3], argv + 3);
        perror(argv[3]);
        _exit(127);
    }
    int status;
    struct rusage usage;
    if (wait4(pid, &status, 0, &usage) < 0) {
        perror("wait4");
        return 2;
    }
    FILE *report = fopen(argv[1], "w");
    if (!report) {
        perror(argv[1]);
        return 2;
    }
    int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    fprintf(report, "{\"status\": %d, \"user\": %.3f, \"system\": %.3f, \"peak_kib\": %ld, \"launcher_kib\": %ld}\n",
            code, usage.ru_utime.tv_sec + usage.ru_utime.tv_usec / 1e6,
            usage.ru_stime.tv_sec + usage.ru_stime.tv_usec / 1e6, usage.ru_maxrss, launcher);
    fclose(report);
    return code;
}
