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
#include <unistd.h>

namespace conveyor::test {

namespace {

const std::string kInstall = "the Slurm test needs munge and slurm-wlm: apt-get install -y munge "
                             "slurm-wlm (see .ci/run)";

std::string read_text(const std::string& path) {
    std::ifstream in(path);
    return {std::istreambuf_iterator<char>(in), {}};
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

StreamReader* SlurmCluster::spawn(const std::vector<std::string>& argv, const std::string& log) {
    const std::string conf = dir_ + "/slurm.conf";
    ServerProcess daemon = spawn_server(
        argv, log, SIGTERM, [&conf] { return ::setenv("SLURM_CONF", conf.c_str(), 1) == 0; });
    if (daemon.pid < 0) return nullptr;
    daemons_.push_back(daemon.pid);
    outputs_.push_back(std::move(daemon.output));
    return outputs_.back().get();
}

bool SlurmCluster::wait_for(StreamReader* daemon, const std::string& line,
                            const std::string& what) {
    if (daemon && daemon->wait_for(line, std::chrono::seconds(60))) return true;
    error_ = !daemon            ? "cannot fork to start " + what
             : daemon->closed() ? what + " exited before saying \"" + line + "\"" + logs()
                                : what + " did not say \"" + line + "\" within 60 s" + logs();
    return false;
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
    // Each daemon runs in the foreground, its output (copied to daemons.out) read through a
    // pipe: the next step starts when the line saying the last one is ready has come.
    const std::string out = dir_ + "/daemons.out";
    // munged listens on its socket before it says it created it.
    if (!wait_for(
            spawn({"/usr/sbin/munged", "--foreground", "--force", "--socket=" + socket,
                   "--key-file=" + dir_ + "/munge.key", "--log-file=" + dir_ + "/munged.log",
                   "--pid-file=" + dir_ + "/munged.pid", "--seed-file=" + dir_ + "/munged.seed"},
                  out),
            "Created socket \"" + socket + "\"", "munged"))
        return;
    if (const ProcessResult m = run_process({"/usr/bin/munge", "-n", "-S", socket});
        m.exit_code != 0) {
        error_ = "munged said it was listening but `munge -n` failed: " + m.err + logs();
        return;
    }
    // -vv (debug) for slurmd's log of slurmctld's answer to its registration, which slurmctld
    // sends once it has taken the node in (idle: ReturnToService=2).
    StreamReader* ctld_out =
        spawn({"/usr/sbin/slurmctld", "-D", "-c", "-f", dir_ + "/slurm.conf"}, out);
    if (!wait_for(ctld_out, "Running as primary controller", "slurmctld")) return;
    StreamReader* slurmd_out = spawn(
        {"/usr/sbin/slurmd", "-D", "-vv", "-f", dir_ + "/slurm.conf", "-N", "localhost"}, out);
    if (!wait_for(slurmd_out, "_handle_node_reg_resp", "slurmd")) return;
    ProcessOptions o;
    o.env = env();
    o.timeout = std::chrono::seconds(10);
    const ProcessResult r = run_process({"/usr/bin/sinfo", "-h", "-N", "-o", "%T"}, o);
    if (r.exit_code != 0 || !r.out.starts_with("idle"))
        error_ =
            "the Slurm node was not idle once slurmctld had answered its registration (sinfo: " +
            r.out + r.err + ")" + logs();
}

} // namespace conveyor::test
