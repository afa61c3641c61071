#include "support/slurm_cluster.hpp"

#include "support/process.hpp"

#include <chrono>
#include <csignal>
#include <cstdlib>
#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <netinet/in.h>
#include <random>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

namespace conveyor::test {

namespace {

const std::string kInstall = "the Slurm test needs munge and slurm-wlm: apt-get install -y munge "
                             "slurm-wlm (see .ci/run)";

std::string read_text(const std::string& path) {
    std::ifstream in(path);
    return {std::istreambuf_iterator<char>(in), {}};
}

/// Polls `ready` (a quick command) until it returns true or 60 s pass.
template <class Ready>
bool wait_until(Ready ready) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (!ready()) {
        if (std::chrono::steady_clock::now() > deadline) return false;
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return true;
}

} // namespace

SlurmCluster::SlurmCluster() {
    start();
}

SlurmCluster::~SlurmCluster() {
    for (auto it = daemons_.rbegin(); it != daemons_.rend(); ++it) {
        ::kill(*it, SIGTERM);
        int status = 0;
        ::waitpid(*it, &status, 0);
    }
    if (!dir_.empty()) {
        std::error_code ec;
        std::filesystem::remove_all(dir_, ec);
    }
}

std::map<std::string, std::string> SlurmCluster::env() const {
    return {{"SLURM_CONF", dir_ + "/slurm.conf"}};
}

pid_t SlurmCluster::spawn(const std::vector<std::string>& argv, const std::string& log) {
    const std::string conf = dir_ + "/slurm.conf";
    const pid_t pid = spawn_server(
        argv, log, SIGTERM, [&conf] { return ::setenv("SLURM_CONF", conf.c_str(), 1) == 0; });
    if (pid > 0) daemons_.push_back(pid);
    return pid;
}

std::string SlurmCluster::logs() const {
    std::string all;
    for (const char* name : {"munged.log", "slurmctld.log", "slurmd.log", "daemons.out"})
        all += std::string("\n--- ") + name + "\n" + read_text(dir_ + "/" + name);
    return all;
}

void SlurmCluster::start() {
    if (::geteuid() != 0) {
        error_ = "the Slurm test starts slurmd, which must run as root (CI runs as root): run "
                 "the tests as root";
        return;
    }
    for (const char* bin :
         {"/usr/sbin/munged", "/usr/sbin/slurmctld", "/usr/sbin/slurmd", "/usr/bin/sbatch"})
        if (::access(bin, X_OK) != 0) {
            error_ = std::string(bin) + " is missing: " + kInstall;
            return;
        }
    char tmpl[] = "/tmp/conveyor-slurm-XXXXXX";
    if (!::mkdtemp(tmpl)) {
        error_ = "mkdtemp failed";
        return;
    }
    dir_ = tmpl;
    // munged wants its directories to be no one else's to write, and its key private.
    ::chmod(dir_.c_str(), 0755);
    for (const char* sub : {"/state", "/spool"})
        std::filesystem::create_directories(dir_ + sub);
    {
        std::mt19937_64 rng{std::random_device{}()};
        std::ofstream key(dir_ + "/munge.key", std::ios::binary);
        for (int i = 0; i < 128; ++i) {
            const std::uint64_t v = rng();
            key.write(reinterpret_cast<const char*>(&v), sizeof v);
        }
    }
    ::chmod((dir_ + "/munge.key").c_str(), 0400);
    const std::string socket = dir_ + "/munge.socket";
    const int ctld = free_loopback_port();
    const int slurmd = free_loopback_port();
    {
        std::ofstream conf(dir_ + "/slurm.conf");
        conf << "ClusterName=conveyortest\nSlurmctldHost=localhost(127.0.0.1)\n"
             << "SlurmctldPort=" << ctld << "\nSlurmdPort=" << slurmd << "\n"
             << "AuthType=auth/munge\nCredType=cred/munge\nAuthInfo=socket=" << socket << "\n"
             << "SlurmUser=root\nSlurmdUser=root\n"
             << "StateSaveLocation=" << dir_ << "/state\nSlurmdSpoolDir=" << dir_ << "/spool\n"
             << "SlurmctldPidFile=" << dir_ << "/slurmctld.pid\n"
             << "SlurmdPidFile=" << dir_ << "/slurmd.pid\n"
             << "SlurmctldLogFile=" << dir_ << "/slurmctld.log\n"
             << "SlurmdLogFile=" << dir_ << "/slurmd.log\n"
             << "ProctrackType=proctrack/linuxproc\nTaskPlugin=task/none\n"
             << "JobAcctGatherType=jobacct_gather/none\n"
             << "AccountingStorageType=accounting_storage/none\n"
             << "SelectType=select/cons_tres\nSelectTypeParameters=CR_CPU\n"
             << "SchedulerType=sched/builtin\nReturnToService=2\nMpiDefault=none\n"
             << "NodeName=localhost NodeAddr=127.0.0.1 CPUs=2 State=UNKNOWN\n"
             << "PartitionName=test Nodes=localhost Default=YES MaxTime=INFINITE State=UP "
                "OverSubscribe=FORCE\n";
    }
    const std::string out = dir_ + "/daemons.out";
    spawn({"/usr/sbin/munged", "--foreground", "--force", "--socket=" + socket,
           "--key-file=" + dir_ + "/munge.key", "--log-file=" + dir_ + "/munged.log",
           "--pid-file=" + dir_ + "/munged.pid", "--seed-file=" + dir_ + "/munged.seed"},
          out);
    if (!wait_until([&] {
            return run_process({"/usr/bin/munge", "-n", "-S", socket}).exit_code == 0;
        })) {
        error_ = "munged did not answer within 60 s" + logs();
        return;
    }
    spawn({"/usr/sbin/slurmctld", "-D", "-c", "-f", dir_ + "/slurm.conf"}, out);
    spawn({"/usr/sbin/slurmd", "-D", "-f", dir_ + "/slurm.conf", "-N", "localhost"}, out);
    ProcessOptions o;
    o.env = env();
    o.timeout = std::chrono::seconds(10);
    const bool idle = wait_until([&] {
        for (const pid_t pid : daemons_) {
            int status = 0;
            if (::waitpid(pid, &status, WNOHANG) == pid) return true; // reported below
        }
        const ProcessResult r = run_process({"/usr/bin/sinfo", "-h", "-N", "-o", "%T"}, o);
        return r.exit_code == 0 && r.out.starts_with("idle");
    });
    const ProcessResult r = run_process({"/usr/bin/sinfo", "-h", "-N", "-o", "%T"}, o);
    if (!idle || !r.out.starts_with("idle"))
        error_ = "the Slurm node did not become idle within 60 s (sinfo: " + r.out + r.err + ")" +
                 logs();
}

} // namespace conveyor::test
