#pragma once
// The host's side of a granted plugin's network (docs/plugin-sandbox.md). The runner's seccomp
// filter turns each connect() into a notification on a listener the runner handed over before
// the plugin loaded. For each, the broker copies the address out of the runner once, decides
// (connect_policy), and either refuses (EACCES) or connects a socket of its own in the host's
// network namespace and puts it in place of the plugin's with SECCOMP_IOCTL_NOTIF_ADDFD. The
// kernel never performs the plugin's own connect(), so a thread racing to change the address
// after the check changes nothing, and the plugin's network namespace (no route anywhere)
// keeps every other socket call (UDP, raw, Fast Open) from going anywhere.
//
//   runner thread: connect(fd, addr) --seccomp--> listener --> broker: copy addr, decide
//                  <-- 0 / EINPROGRESS / error -- ADDFD(host socket -> fd) <-- host connect()

#include <sys/types.h>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <memory>
#include <string>

#include "plugin_host/connect_policy.hpp"
#include "plugin_host/line_budget.hpp"

namespace meshbot::plugins {

// Owns the seccomp listener of one runner and the connections being made for it; io_context
// thread only. Pending connects keep it alive; stop() ends them (the runner is going away).
class NetworkBroker : public std::enable_shared_from_this<NetworkBroker> {
public:
    // Takes `listener`, the seccomp listener of the runner of plugin `id`.
    static std::shared_ptr<NetworkBroker> start(boost::asio::any_io_executor executor, int listener,
                                                ConnectPolicy policy, std::string id);
    void stop();

private:
    struct Connect;
    NetworkBroker(boost::asio::any_io_executor executor, int listener, ConnectPolicy policy,
                  std::string id);
    void wait();
    void receive();
    void handle(std::uint64_t id, pid_t pid, const std::uint64_t* args);
    void finish(const std::shared_ptr<Connect>& connect, int error);
    void respond(std::uint64_t id, int error, std::int64_t value = 0);
    void note(const std::string& target, const std::string& refused_because);

    boost::asio::any_io_executor executor_;
    boost::asio::posix::stream_descriptor listener_;
    ConnectPolicy policy_;
    std::string id_;
    bool stopped_ = false;
    LineBudget log_budget_;
};

}  // namespace meshbot::plugins
